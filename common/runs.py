"""One run of a notebook: its budget, device and seed, chosen once in the set-up cell, and its recorded result.

Budgets say how long training runs: `smoke` (seconds, for the tests), `cpu` (minutes on a laptop), `full` (the
papers' training length, for a GPU). The default is `cpu` everywhere, a GPU included; ``METALEARN_BUDGET`` chooses.
``METALEARN_SEED`` repeats a run with another training seed; its record goes beside the notebook's own, under seeds/.
"""

import json
import os
import platform
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from .episodes import BANK_EPISODES

BUDGETS = ("smoke", "cpu", "full")
BUDGET_VAR = "METALEARN_BUDGET"
SEED_VAR = "METALEARN_SEED"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "results"
SEEDS_DIR = "seeds"


def choose_budget() -> str:
    """The budget named by METALEARN_BUDGET, else `cpu` (minutes, on a laptop or a GPU alike): `full`, the papers'
    training length, takes hours and runs only when asked for."""
    name = os.environ.get(BUDGET_VAR, "").strip().lower()
    if not name:
        return "cpu"
    if name not in BUDGETS:
        raise ValueError(f"{BUDGET_VAR}={name!r} is not a budget; choose one of {', '.join(BUDGETS)}.")
    return name


def choose_seed(own_seed: int) -> int:
    """The seed named by METALEARN_SEED, else the notebook's own: a comparison of two methods rests on several
    training seeds, and this repeats a notebook with another one without editing it."""
    name = os.environ.get(SEED_VAR, "").strip()
    if not name:
        return own_seed
    if not name.isdigit():
        raise ValueError(f"{SEED_VAR}={name!r} is not a seed; give a whole number such as 1.")
    return int(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a run repeats."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Run:
    """What a notebook's set-up cell decided; `record` writes the result beside it."""

    notebook: str  # path from the project root without suffix, e.g. 'week1_metric/01_siamese_networks'
    budget: str
    device: torch.device
    seed: int
    reseeded: bool = False  # run with METALEARN_SEED's seed instead of the notebook's own
    started: float = field(default_factory=time.perf_counter)

    def pick(self, per_budget: dict):
        """The entry of `per_budget` ({'smoke': ..., 'cpu': ..., 'full': ...}) for this run's budget."""
        return per_budget[self.budget]

    @property
    def result_path(self) -> Path:
        if self.reseeded:
            return RESULTS_DIR / self.budget / SEEDS_DIR / f"{self.notebook}.seed{self.seed}.json"
        return RESULTS_DIR / self.budget / f"{self.notebook}.json"

    def record(self, metrics: dict, **details) -> dict:
        """Write metrics ({'5w1s': {'acc', 'ci95', 'episodes'}, ...}) to results/<budget>/<notebook>.json (a run
        with another seed: results/<budget>/seeds/<notebook>.seed<N>.json).

        Smoke runs go to results/smoke/, which git ignores, so the tests never touch a recorded cpu or full result.
        """
        from .notebooks import code_sha256

        record = {
            "notebook": f"{self.notebook}.ipynb",
            "budget": self.budget,
            "device": describe_device(self.device),
            "torch": torch.__version__,
            "seed": self.seed,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - self.started, 1),
            "code_sha256": code_sha256(PROJECT_ROOT / f"{self.notebook}.ipynb"),
            "metrics": metrics,
            **details,
        }
        self.result_path.parent.mkdir(parents=True, exist_ok=True)
        self.result_path.write_text(json.dumps(record, indent=2) + "\n")
        return record


def processor_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else what `platform` knows): CPU wall times are only
    comparable on the same processor."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_device(device: torch.device) -> str:
    """A record's device: the GPU's name, or the CPU's model, cores and the threads torch uses."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"cpu ({processor_name()}, {os.cpu_count()} cores, {threads} thread{'s' * (threads > 1)})"


def course_device() -> torch.device:
    """CUDA when there is one, else the CPU: the one device every notebook and helper uses."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def time_it(fn, repeats: int = 3) -> float:
    """Median wall seconds of `fn()` over `repeats` calls, after one warm-up call that pays for lazy set-up. On CUDA
    it waits for the GPU before each reading of the clock: kernels run asynchronously, so the call alone returns early."""
    def finished():
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        return time.perf_counter()

    fn()
    times = []
    for _ in range(repeats):
        start = finished()
        fn()
        times.append(finished() - start)
    return sorted(times)[len(times) // 2]


def full_float32() -> None:
    """Make CUDA convolutions and matrix products compute in full float32. By default PyTorch lets cuDNN use TF32
    (a 10-bit mantissa) on Ampere and newer GPUs, so two routes to the same number can differ by 1e-4 and more,
    enough to fail the course's checks that compare them (the likeliest reason three MAML++ checks failed on an H100)."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def start_run(notebook: str, seed: int = 0, minutes: dict | None = None) -> Run:
    """Choose the budget, the device and the seed (the notebook's own unless METALEARN_SEED names another) once, seed
    everything, keep float32 exact, and print what this run will be."""
    run_seed = choose_seed(seed)
    run = Run(notebook, choose_budget(), course_device(), run_seed, reseeded=run_seed != seed)
    seed_everything(run_seed)
    full_float32()
    print(f"{notebook}: budget '{run.budget}' on {describe_device(run.device)} (torch {torch.__version__}), seed {run_seed}"
          f"{expected_duration(notebook, run.budget, minutes)}")
    return run


def expected_duration(notebook: str, budget: str, minutes: dict | None = None) -> str:
    """How long the run should take: the wall time of the recorded run of this very code and budget when there is one
    (with its device), else the notebook's own estimate in `minutes`."""
    from .notebooks import code_sha256

    path = RESULTS_DIR / budget / f"{notebook}.json"
    record = json.loads(path.read_text()) if path.exists() else None
    if record and record.get("code_sha256") == code_sha256(PROJECT_ROOT / f"{notebook}.ipynb"):
        return f"; its recorded run took {record['wall_time_s'] / 60:.0f} min on {record['device']}"
    return f", about {minutes[budget]} min" if minutes else ""


def load_results(budget: str) -> dict:
    """{notebook: record} for every recorded run of a budget with the notebook's own seed, read from results/<budget>/."""
    folder = RESULTS_DIR / budget
    paths = [path for path in sorted(folder.rglob("*.json")) if path.relative_to(folder).parts[0] != SEEDS_DIR]
    return {str(path.relative_to(folder).with_suffix("")): json.loads(path.read_text()) for path in paths}


def load_seeds(budget: str, notebook: str) -> dict:
    """{seed: record} for every recorded run of one notebook at a budget: its own seed's and those of METALEARN_SEED."""
    own = RESULTS_DIR / budget / f"{notebook}.json"
    others = sorted((RESULTS_DIR / budget / SEEDS_DIR).glob(f"{notebook}.seed*.json"))
    records = [json.loads(path.read_text()) for path in ([own] if own.exists() else []) + others]
    return {record["seed"]: record for record in sorted(records, key=lambda record: record["seed"])}


README = PROJECT_ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- results:start -->", "<!-- results:end -->"
COLUMNS = ("5w1s", "5w5s", "20w1s", "20w5s", "lake20")
README_COLUMNS = COLUMNS + ("vinyals_5w1s", "vinyals_5w5s", "paper_5w1s", "paper_5w5s", "fashion_5w1s", "fashion_5w5s")


TRANSDUCTIVE = {  # notebooks whose recorded numbers normalise an episode's queries with their own batch statistics
    "week2_optimization/03_maml_omniglot", "week2_optimization/04_reptile", "week3_challenge/03_maml",
    "week3_challenge/06_how_to_train_your_maml",
}


def result_cell(result: dict | None, full: int = BANK_EPISODES) -> str:
    """'97.8 ± 0.3' for a result over its whole bank (`full` episodes); a shorter prefix says how many it scored:
    '93.1 ± 0.9 (300 ep.)'."""
    if not result:
        return ""
    count = "" if result["episodes"] == full else f" ({result['episodes']} ep.)"
    return f"{100 * result['acc']:.1f} ± {100 * result['ci95']:.1f}{count}"


def results_table(budgets=("cpu", "full"), prefix: str = "", columns=COLUMNS) -> str:
    """A markdown table of the recorded runs scored on the test bank: accuracy ± 95% CI per setting, with budget,
    whether the queries were normalised together (transductive) or each on its own, device, seed and time.
    `prefix` keeps the notebooks whose name starts with it (a week's close: 'week1_metric/');
    `columns` are metric names of the records (`paper_5w1s`: trained and tested on the papers' protocol, week 3)."""
    lines = ["| notebook | budget | " + " | ".join(columns) + " | queries | device | seed | wall time |", "|---" * (len(columns) + 6) + "|"]
    for budget in budgets:
        for notebook, record in load_results(budget).items():
            if not notebook.startswith(prefix) or not any(c in record["metrics"] for c in columns):
                continue
            cells = [result_cell(record["metrics"].get(c), 20 if c == "lake20" else BANK_EPISODES) for c in columns]
            queries = "transductive" if notebook in TRANSDUCTIVE else "inductive"
            lines.append(f"| {notebook} | {budget} | " + " | ".join(cells)
                         + f" | {queries} | {record['device']} | {record['seed']} | {record['wall_time_s'] / 60:.1f} min |")
    return "\n".join(lines)


def update_readme() -> None:
    """Rewrite the results table of README.md from results/ (it is never edited by hand)."""
    text = README.read_text()
    head, rest = text.split(TABLE_START)
    _, tail = rest.split(TABLE_END)
    README.write_text(f"{head}{TABLE_START}\n{results_table(columns=README_COLUMNS)}\n{TABLE_END}{tail}")


if __name__ == "__main__":
    update_readme()
