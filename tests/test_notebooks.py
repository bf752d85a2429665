"""Guards on the notebooks: shared Colab cell, committed outputs that match the code, and real exercises."""

import json
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from common.notebooks import (COLAB_CELL, PROJECT_ROOT, SELF_CHECK, WIDGET_VIEW, code_sha256, colab_url, course_notebooks,
                              execute, exercises, grade, grade_paths, points_table, saved_session_problems, student_version,
                              write_student_versions)

NOTEBOOKS = course_notebooks()
IDS = [str(path.relative_to(PROJECT_ROOT)) for path in NOTEBOOKS]


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_first_code_cell_is_the_shared_colab_cell(path):
    assert code_cells(nbformat.read(path, as_version=4))[0].source == COLAB_CELL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_come_from_a_real_run_of_this_code(path):
    """Outputs must be those of a `cpu` or `full` run of exactly this code: re-run with
    `python -m common.notebooks execute NOTEBOOK --budget cpu` after changing a code cell."""
    notebook = nbformat.read(path, as_version=4)
    stamp = notebook.metadata.get("metalearn", {})
    assert stamp.get("budget") in ("cpu", "full"), "notebook not executed with a cpu or full budget"
    assert stamp["code_sha256"] == code_sha256(path), "code changed since the outputs were made"
    assert all(cell.execution_count is not None for cell in code_cells(notebook))
    assert not [out for cell in code_cells(notebook) for out in cell.outputs if out.output_type == "error"]
    result = PROJECT_ROOT / "results" / stamp["budget"] / path.relative_to(PROJECT_ROOT).with_suffix(".json")
    assert json.loads(result.read_text())["code_sha256"] == stamp["code_sha256"], f"{result} is from other code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_was_not_saved_from_a_live_session(path):
    """Re-run with `python -m common.notebooks execute` rather than committing a notebook saved from JupyterLab."""
    assert saved_session_problems(nbformat.read(path, as_version=4)) == []


def test_live_session_guard_catches_widgets_without_pictures_another_budget_and_saved_widget_state():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("run = start_run(...)"), nbformat.v4.new_code_cell("interact")])
    notebook.metadata["metalearn"] = {"budget": "cpu"}
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="week1: budget 'smoke' on cpu (torch 2), seed 0\n")]
    widget = {WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0}, "text/plain": "interactive(...)"}
    notebook.cells[1].outputs = [nbformat.v4.new_output("display_data", data=widget)]
    assert len(saved_session_problems(notebook)) == 2
    notebook.cells[0].outputs[0].text = "week1: budget 'cpu' on cpu (torch 2), seed 0\n"
    notebook.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})]
    assert saved_session_problems(notebook) == []
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "state": {}}}
    assert saved_session_problems(notebook) == ["the notebook's metadata saves widget state"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_fails_at_its_first_self_check(path):
    student = student_version(nbformat.read(path, as_version=4))
    sources = [cell.source for cell in code_cells(student)]
    assert "### BEGIN SOLUTION" not in "".join(sources) and "NotImplementedError" in "".join(sources)
    first_check = next(i for i, cell in enumerate(student.cells) if cell.cell_type == "code" and cell.source.startswith(SELF_CHECK))
    student.cells = student.cells[: first_check + 1]
    client = NotebookClient(student, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        client.execute()
    failed = [cell for cell in code_cells(student) if any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
    assert failed and failed[0].source.startswith(SELF_CHECK), "the student version failed before its first self-check"


def test_student_version_asks_for_the_students_reading_instead_of_our_findings():
    from common.notebooks import FINDINGS, YOUR_TURN

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"{FINDINGS}\n**What we found**: 97%."),
                                               nbformat.v4.new_markdown_cell("## Step 1")])
    student = student_version(notebook)
    assert [cell.source for cell in student.cells] == [YOUR_TURN, "## Step 1"]
    marked = [path for path in NOTEBOOKS if FINDINGS in "".join(cell.source for cell in nbformat.read(path, as_version=4).cells)]
    assert len(marked) >= 10, "the notebooks' findings cells are marked"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_keeps_the_summary_questions_and_exercises(path):
    """A findings cell is replaced whole, so the sections a student works from must sit in cells of their own."""
    def headings(notebook):
        return {line for cell in notebook.cells if cell.cell_type == "markdown" for line in cell.source.splitlines()}

    notebook = nbformat.read(path, as_version=4)
    expected = {"## Questions", "## Exercises"} | ({"## Summary"} & headings(notebook))
    missing = expected - headings(student_version(notebook))
    assert not missing, f"lost in the student version: {missing}"


def test_execute_into_another_folder_keeps_the_committed_outputs(tmp_path, monkeypatch):
    """A `full` run beside a committed `cpu` run: the executed copy goes to `out`, stamped; the notebook is untouched."""
    import nbclient

    monkeypatch.setattr(nbclient, "NotebookClient", lambda notebook, **options: type("Ran", (), {"execute": lambda self: None})())
    for name in ("METALEARN_BUDGET", "METALEARN_STATIC"):
        monkeypatch.setenv(name, "")  # execute sets both; monkeypatch restores them afterwards
    path, out = tmp_path / "nb.ipynb", tmp_path / "full"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    before = path.read_text()
    execute(path, "full", out=out)
    assert path.read_text() == before, "the notebook given must keep its committed outputs and stamp"
    assert nbformat.read(out / "nb.ipynb", as_version=4).metadata["metalearn"] == {"budget": "full", "code_sha256": code_sha256(path)}


def test_tidy_streams_keeps_the_last_state_of_a_progress_bar():
    from common.notebooks import tidy_streams

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="\rtrain: 0%"),
        nbformat.v4.new_output("stream", name="stderr", text="\rtrain: 50%\rtrain: 100%\n"),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
    ]
    tidy_streams(notebook)
    assert [(out.name, out.text) for out in notebook.cells[0].outputs] == [("stderr", "train: 100%\n"), ("stdout", "done\n")]


def test_colab_cell_fetches_the_course_or_stops_with_a_clear_message(monkeypatch):
    """On Colab (simulated): a failed clone stops the notebook with a message; a good one puts the course on the path."""
    import os
    import subprocess
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    failed = lambda command, **kwargs: subprocess.CompletedProcess(command, 128, "", "fatal: unable to access")
    monkeypatch.setattr(subprocess, "run", failed)
    with pytest.raises(RuntimeError, match="Could not fetch the course .*unable to access.*internet access"):
        exec(COLAB_CELL, {})
    cloned = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: cloned.append(command) or subprocess.CompletedProcess(command, 0))
    exec(COLAB_CELL, {})
    assert cloned[0][:2] == ["git", "clone"] and sys.path[0] == "/content/course"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_grading_a_student_version_gives_no_points(path, tmp_path):
    target = tmp_path / path.relative_to(PROJECT_ROOT)
    target.parent.mkdir(parents=True)
    nbformat.write(student_version(nbformat.read(path, as_version=4)), target)
    rows = grade(target)
    assert rows and not any(row["passed"] for row in rows)
    assert len(rows) == sum(cell.source.startswith(SELF_CHECK) for cell in code_cells(nbformat.read(path, as_version=4)))


def test_grading_the_solutions_gives_full_marks_and_a_csv(tmp_path):
    """Two quick notebooks; every solution's self-checks also pass in the nbval run of the notebooks themselves."""
    quick = [PROJECT_ROOT / "week1_metric" / "00_episodes.ipynb", PROJECT_ROOT / "week2_optimization" / "05_gradient_relations.ipynb"]
    rows = grade_paths(quick, tmp_path / "grades.csv")
    expected = sum(len(exercises(nbformat.read(path, as_version=4))) for path in quick)
    assert len(rows) == expected and all(row["passed"] for row in rows)
    assert (tmp_path / "grades.csv").read_text().splitlines()[0] == "notebook,exercise,points,passed,hidden_check"


def test_committed_student_versions_are_those_of_the_solutions(tmp_path):
    """student/ holds what `python -m common.notebooks student` writes: run it again after changing a notebook."""
    fresh = {path.relative_to(tmp_path): path.read_text() for path in write_student_versions(tmp_path)}
    committed = {path.relative_to(PROJECT_ROOT / "student"): path.read_text() for path in (PROJECT_ROOT / "student").rglob("*.ipynb")}
    assert sorted(committed) == sorted(fresh), "student/ has other notebooks than the course"
    stale = [str(path) for path in fresh if fresh[path] != committed[path]]
    assert not stale, f"student versions out of date: {stale}; run `python -m common.notebooks student`"


@pytest.mark.parametrize("document", ["README.md", "instructors/README.md"])
def test_every_link_of_a_guide_resolves_to_a_file_of_the_repository(document):
    """Colab badges for every notebook and its student version (README), and relative links that exist."""
    text = (PROJECT_ROOT / document).read_text()
    if document == "README.md":
        missing = [path for path in IDS for url in (colab_url(path), colab_url(f"student/{path}")) if url not in text]
        assert not missing, f"no Colab badge for {missing}"
    targets = re.findall(re.escape(colab_url("")) + r"([^)\s]+)", text)
    folder = (PROJECT_ROOT / document).parent
    targets += [str((folder / link.split("#")[0]).resolve().relative_to(PROJECT_ROOT))
                for link in re.findall(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)", text)]
    broken = [target for target in targets if not (PROJECT_ROOT / target).exists()]
    assert targets and not broken, f"links to files that do not exist: {broken}"


def test_instructors_guide_lists_the_points_of_every_exercise():
    """Regenerate the table between the points markers with common.notebooks.points_table() after changing exercises."""
    assert points_table() in (PROJECT_ROOT / "instructors" / "README.md").read_text()
