"""Tools for the notebooks themselves: the shared Colab cell, exercise stripping, and executing with a budget.

    python -m common.notebooks student [--out student]     write the student version of every notebook
    python -m common.notebooks execute NOTEBOOK... --budget cpu
                                                           run notebooks in place, keep their outputs, stamp them
    python -m common.notebooks grade PATH... [--csv grades.csv]
                                                           grade students' notebooks (files or folders) at `smoke`

Exercise regions sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines; the student version replaces
each region by a stub that raises NotImplementedError. A cell whose first line is ``# Self-check`` tests the
exercise above it on a small fixed input, so it fails on the stub. What passing it is worth sits in that cell's
metadata, ``points`` (1 when absent). A markdown cell that starts with ``<!-- findings -->`` tells what our run found
(it answers questions a student should answer from their own run); the student version asks for their reading instead.
"""

import argparse
import csv
import hashlib
import os
import re
import sys
import textwrap
from pathlib import Path

import nbformat

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEEKS = ("week1_metric", "week2_optimization", "week3_challenge")
REPO_URL = "https://github.com/learning-to-learn-course/meta-learning-notebooks"
COLAB_CELL = f"""# Works as it is in a local checkout and under the tests. On Colab it fetches the course first (Colab already has
# torch, torchvision, matplotlib, ipywidgets and tqdm, so nothing is installed) and stops with a clear message if it cannot.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("/content/course/common"):
        clone = subprocess.run(["git", "clone", "-q", "{REPO_URL}", "/content/course"], capture_output=True, text=True)
        if clone.returncode != 0:
            raise RuntimeError(f"Could not fetch the course from {REPO_URL}: {{clone.stderr.strip()}}. "
                               "Check that the runtime has internet access, then run this cell again.")
    sys.path.insert(0, "/content/course")"""


def colab_url(relative_path: str) -> str:
    """The address that opens a notebook of this repository (path from its root) in Colab, from the main branch."""
    return REPO_URL.replace("https://github.com/", "https://colab.research.google.com/github/", 1) + f"/blob/main/{relative_path}"


SOLUTION = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.MULTILINE | re.DOTALL)
STUB = '{indent}raise NotImplementedError("Exercise: write this part, then run the self-check below.")\n'
SELF_CHECK = "# Self-check"
FINDINGS = "<!-- findings -->"
YOUR_TURN = ("**Your turn: what does your run show?** Before you read what our run found (this cell of the solution "
             "notebook), write here in two or three sentences what your outputs above say, and what you expected.")


def course_notebooks() -> list:
    """Every solution notebook of the course, in teaching order."""
    return sorted(path for week in WEEKS for path in (PROJECT_ROOT / week).glob("*.ipynb"))


def code_sha256(path: Path) -> str:
    """Hash of a notebook's code, the first code cell (the Colab cell, tested on its own) left out: it changes when
    the code that made the outputs changes, not when the Colab cell does."""
    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"][1:]
    return hashlib.sha256("\n# ---- cell ----\n".join(sources).encode()).hexdigest()


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy with every solution region replaced by a stub, every output cleared, and every findings cell replaced
    by a request for the student's own reading."""
    student = nbformat.from_dict(notebook)
    for cell in student.cells:
        if cell.cell_type == "markdown" and cell.source.startswith(FINDINGS):
            cell.source = YOUR_TURN
        elif cell.cell_type == "code":
            cell.source = SOLUTION.sub(lambda m: STUB.format(indent=m["indent"]), cell.source + "\n").rstrip("\n")
            cell.outputs, cell.execution_count = [], None
    student.metadata.pop("metalearn", None)
    return student


def write_student_versions(out: Path) -> list:
    """Write the student version of every notebook under `out`, keeping the week folders."""
    written = []
    for path in course_notebooks():
        target = out / path.relative_to(PROJECT_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


def tidy_streams(notebook: nbformat.NotebookNode) -> None:
    """Merge each cell's consecutive stream outputs and keep only the last state of carriage-return lines
    (progress bars), as a live front end shows them."""
    for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
        merged = []
        for output in cell.outputs:
            if output.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == output.name:
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = "\n".join(line.rstrip("\r").split("\r")[-1] for line in output.text.split("\n"))
        cell.outputs = merged


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PRINTED_BUDGET = re.compile(r": budget '(\w+)' on ")


def saved_session_problems(notebook: nbformat.NotebookNode) -> list:
    """What is wrong with a notebook saved from a live session, as a committed notebook: widget outputs without their
    static picture (they show "Error displaying widget" on reopening and on GitHub), and a set-up cell that printed
    another budget than the stamp (smoke outputs under a cpu stamp), and saved widget state (widgets of one ipywidgets
    version, which a front end of the other, Colab's 7 say, fails to load on opening). Empty for a notebook made by
    `execute`."""
    problems, stamp = [], notebook.metadata.get("metalearn", {}).get("budget")
    if "widgets" in notebook.metadata:
        problems.append("the notebook's metadata saves widget state")
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "image/png" not in data:
                problems.append(f"cell {index}: a widget output without its static picture")
            printed = PRINTED_BUDGET.search(output.get("text", "")) if output.get("output_type") == "stream" else None
            if printed and printed.group(1) != stamp:
                problems.append(f"cell {index}: printed budget '{printed.group(1)}' under a '{stamp}' stamp")
    return problems


def execute(path: Path, budget: str, timeout: int | None = None, out: Path | None = None) -> None:
    """Run a notebook top to bottom with `budget`, save its outputs in place (or into the folder `out`, which keeps the
    committed outputs, e.g. those of `cpu` beside a `full` record), and stamp its code hash and budget."""
    from nbclient import NotebookClient

    os.environ.update(METALEARN_BUDGET=budget, METALEARN_STATIC="1")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    tidy_streams(notebook)
    notebook.metadata["metalearn"] = {"budget": budget, "code_sha256": code_sha256(path)}
    if out:
        out.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out / path.name if out else path)


DEFINED = re.compile(r"^(?:def|class) (\w+)", re.MULTILINE)
GRADE_FIELDS = ("notebook", "exercise", "points", "passed", "hidden_check")


def exercises(notebook: nbformat.NotebookNode) -> list:
    """(exercise, points, self-check cell) for each self-check of a notebook, in order. An exercise is named after
    what the code cell before its self-check defines; its points are the self-check's metadata `points` (1 if absent)."""
    found, exercise = [], "exercise"
    for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
        if cell.source.startswith(SELF_CHECK):
            found.append((exercise, cell.metadata.get("points", 1), cell))
        elif DEFINED.search(cell.source):
            exercise = "+".join(DEFINED.findall(cell.source))
    return found


def points_table() -> str:
    """A markdown table of every notebook's exercises and points, for the instructors' guide."""
    lines = ["| notebook | exercises (points) | total |", "| --- | --- | --- |"]
    for path in course_notebooks():
        found = exercises(nbformat.read(path, as_version=4))
        names = ", ".join(f"`{name}` ({points})" for name, points, _ in found)
        lines.append(f"| `{path.relative_to(PROJECT_ROOT).with_suffix('')}` | {names} | {sum(points for _, points, _ in found)} |")
    return "\n".join(lines)


def hidden_check_cell(exercise: str):
    """The grader's extra check of `exercise` as a code cell (see common.hidden_checks), or None if it has none: run
    inside a function, so that it leaves no names behind, with the random state forked, so that later cells draw the
    same numbers."""
    from .hidden_checks import HIDDEN_CHECKS

    if exercise not in HIDDEN_CHECKS:
        return None
    body = textwrap.indent(HIDDEN_CHECKS[exercise].strip(), " " * 8)
    source = f"def _hidden_check():\n    import torch\n\n    with torch.random.fork_rng():\n        torch.manual_seed(0)\n{body}\n\n\n_hidden_check()\ndel _hidden_check"
    return nbformat.v4.new_code_cell(source, metadata={"hidden_check": exercise})


def ran_cleanly(cell) -> bool:
    """Whether an executed code cell ran and raised nothing."""
    return cell.execution_count is not None and not any(out.output_type == "error" for out in cell.outputs)


def grade(path: Path, cell_timeout: int = 600) -> list:
    """Run a notebook (a student's, or the solution) at the `smoke` budget, errors allowed, each cell within
    `cell_timeout` seconds, and score its exercises: one row per exercise, passed when its self-check and the
    grader's hidden check (where it has one) ran without an error."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    checks = [(exercise, points, cell, hidden_check_cell(exercise)) for exercise, points, cell in exercises(notebook)]
    for _, _, cell, hidden in checks:
        if hidden is not None:
            notebook.cells.insert(next(i for i, other in enumerate(notebook.cells) if other is cell) + 1, hidden)
    os.environ.update(METALEARN_BUDGET="smoke", METALEARN_STATIC="1")
    NotebookClient(notebook, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return [{"notebook": str(path), "exercise": exercise, "points": points,
             "passed": ran_cleanly(cell) and (hidden is None or ran_cleanly(hidden)),
             "hidden_check": "" if hidden is None else ("passed" if ran_cleanly(hidden) else "failed")}
            for exercise, points, cell, hidden in checks]


def grade_paths(paths: list, out_csv: Path) -> list:
    """Grade every notebook under `paths` (files or folders), print one line per exercise, write all rows to a CSV."""
    notebooks = sorted({file for path in paths for file in ([path] if path.is_file() else path.rglob("*.ipynb"))})
    rows = []
    for notebook in notebooks:
        graded = grade(notebook.resolve())
        rows += graded
        for row in graded:
            print(f"{notebook}  {row['exercise']:40} {'passed' if row['passed'] else 'FAILED':6}  {row['points'] * row['passed']}/{row['points']}")
        print(f"{notebook}  total {sum(r['points'] * r['passed'] for r in graded)}/{sum(r['points'] for r in graded)}")
    with open(out_csv, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=GRADE_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write the student version of every notebook")
    student.add_argument("--out", type=Path, default=PROJECT_ROOT / "student")
    run = commands.add_parser("execute", help="run notebooks in place with a budget and keep their outputs")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--budget", default="cpu", choices=("smoke", "cpu", "full"))
    run.add_argument("--out", type=Path, help="write the executed notebooks into this folder instead of in place "
                     "(their records still go to results/<budget>/)")
    marks = commands.add_parser("grade", help="grade students' notebooks at the smoke budget; writes a CSV")
    marks.add_argument("paths", nargs="+", type=Path)
    marks.add_argument("--csv", type=Path, default=Path("grades.csv"))
    args = parser.parse_args(argv)
    if args.command == "grade":
        grade_paths(args.paths, args.csv)
    elif args.command == "student":
        for target in write_student_versions(args.out):
            print(f"wrote {target}")
    else:
        for path in args.notebooks:
            print(f"executing {path} with budget {args.budget}", file=sys.stderr)
            execute(path.resolve(), args.budget, out=args.out)


if __name__ == "__main__":
    main()
