"""Every algorithm notebook shows its diagram before its math, drawn by common.diagrams and embedded as a PNG."""

import base64

import nbformat
import pytest

from common.diagrams import DIAGRAMS, IMAGE, diagram_names, embed, png_base64
from common.notebooks import course_notebooks

WITHOUT_ALGORITHM = {"00_episodes", "04_results", "05_beyond_one_distribution"}
ALGORITHM_NOTEBOOKS = [path for path in course_notebooks() if path.stem not in WITHOUT_ALGORITHM]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", sorted(DIAGRAMS))
def test_every_diagram_draws_a_png(name):
    assert base64.b64decode(png_base64(name)).startswith(PNG)


def test_embedding_replaces_the_address_and_can_be_repeated():
    once = embed("before ![a twin network](diagram:siamese) after")
    assert once.startswith("before ![a twin network](data:image/png;base64,") and once.endswith(' "diagram:siamese") after')
    assert embed(once) == once and diagram_names(once) == ["siamese"]


@pytest.mark.parametrize("path", ALGORITHM_NOTEBOOKS, ids=[path.stem for path in ALGORITHM_NOTEBOOKS])
def test_algorithm_notebook_shows_its_diagram_before_its_math(path):
    text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")
    images = [image for image in IMAGE.finditer(text) if image["data"]]
    assert images, "no embedded diagram: put ![what it shows](diagram:NAME) in the notebook and run python -m common.diagrams"
    assert images[0]["named"] in DIAGRAMS and base64.b64decode(images[0]["data"]).startswith(PNG)
    math = text.find("$$")
    assert math == -1 or images[0].start() < math, "the diagram comes before the first displayed equation"
