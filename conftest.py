"""The tests always run the `smoke` budget, and widgets draw static pictures (no front end is watching)."""

import os

os.environ["METALEARN_BUDGET"] = "smoke"
os.environ["METALEARN_STATIC"] = "1"
