import json
import subprocess
import types

import pytest
import torch

from common import runs


def test_budget_default_follows_the_hardware(monkeypatch):
    monkeypatch.delenv("METALEARN_BUDGET", raising=False)
    assert runs.choose_budget() == "cpu", "the default is minutes on any machine; `full` only when asked for"
    monkeypatch.setenv("METALEARN_BUDGET", "Smoke")
    assert runs.choose_budget() == "smoke"


def test_unknown_budget_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("METALEARN_BUDGET", "huge")
    with pytest.raises(ValueError, match="smoke, cpu, full"):
        runs.choose_budget()


def test_record_writes_the_agreed_fields(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(runs, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr("common.notebooks.code_sha256", lambda path: "abc")
    run = runs.Run("week1_metric/00_episodes", "smoke", torch.device("cpu"), seed=0)
    run.record({"5w1s": {"acc": 0.9, "ci95": 0.01, "episodes": 600}})
    path = tmp_path / "smoke" / "week1_metric" / "00_episodes.json"
    record = json.loads(path.read_text())
    for key in ("notebook", "budget", "device", "torch", "seed", "date", "wall_time_s", "metrics", "code_sha256"):
        assert key in record
    assert record["budget"] == "smoke" and record["metrics"]["5w1s"]["acc"] == 0.9
    assert runs.load_results("smoke")["week1_metric/00_episodes"]["seed"] == 0


def test_another_seed_is_chosen_by_the_environment_and_recorded_beside_the_own_one(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(runs, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr("common.notebooks.code_sha256", lambda path: "abc")
    monkeypatch.setenv("METALEARN_BUDGET", "smoke")
    monkeypatch.delenv("METALEARN_SEED", raising=False)
    assert runs.choose_seed(3) == 3, "without METALEARN_SEED a notebook keeps its own seed"
    runs.start_run("week3_challenge/01_baseline", seed=0).record({"5w1s": {"acc": 0.9, "ci95": 0.01, "episodes": 600}})
    monkeypatch.setenv("METALEARN_SEED", "2")
    run = runs.start_run("week3_challenge/01_baseline", seed=0)
    assert run.seed == 2 and torch.initial_seed() == 2
    run.record({"5w1s": {"acc": 0.8, "ci95": 0.01, "episodes": 600}})
    assert (tmp_path / "smoke" / "seeds" / "week3_challenge" / "01_baseline.seed2.json").exists()
    assert list(runs.load_results("smoke")) == ["week3_challenge/01_baseline"], "tables read the own seed's run only"
    assert runs.load_results("smoke")["week3_challenge/01_baseline"]["metrics"]["5w1s"]["acc"] == 0.9
    seeds = runs.load_seeds("smoke", "week3_challenge/01_baseline")
    assert list(seeds) == [0, 2] and seeds[2]["metrics"]["5w1s"]["acc"] == 0.8
    monkeypatch.setenv("METALEARN_SEED", "one")
    with pytest.raises(ValueError, match="whole number"):
        runs.choose_seed(0)


def test_a_cpu_record_names_its_processor_cores_and_threads(monkeypatch):
    monkeypatch.setattr(runs, "processor_name", lambda: "AMD EPYC")
    monkeypatch.setattr(runs.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert runs.describe_device(torch.device("cpu")) == "cpu (AMD EPYC, 2 cores, 1 thread)"
    assert runs.processor_name()


def test_expected_duration_reads_the_record_of_the_same_code(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr("common.notebooks.code_sha256", lambda path: "abc")
    estimate = {"smoke": 1, "cpu": 9, "full": 60}
    assert runs.expected_duration("week1_metric/x", "cpu", estimate) == ", about 9 min", "no record: the estimate"
    (tmp_path / "cpu" / "week1_metric").mkdir(parents=True)
    record = {"wall_time_s": 1140.0, "device": "cpu (2 cores, 2 threads)", "code_sha256": "abc"}
    (tmp_path / "cpu" / "week1_metric" / "x.json").write_text(json.dumps(record))
    assert runs.expected_duration("week1_metric/x", "cpu", estimate) == "; its recorded run took 19 min on cpu (2 cores, 2 threads)"
    monkeypatch.setattr("common.notebooks.code_sha256", lambda path: "changed")
    assert runs.expected_duration("week1_metric/x", "cpu", estimate) == ", about 9 min", "a record of other code is not this run's"


def test_start_run_keeps_cuda_float32_exact(monkeypatch, capsys):
    monkeypatch.setenv("METALEARN_BUDGET", "smoke")
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        runs.start_run("week1_metric/no_such_notebook")
        assert not torch.backends.cudnn.allow_tf32, "TF32 convolutions break the checks that compare two routes to a number"
        assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def test_start_run_prints_the_device_as_records_name_it(monkeypatch, capsys):
    monkeypatch.setenv("METALEARN_BUDGET", "smoke")
    monkeypatch.setattr(runs, "course_device", lambda: torch.device("cpu"))
    monkeypatch.setattr(runs, "processor_name", lambda: "AMD EPYC")
    runs.start_run("week1_metric/no_such_notebook")
    assert "budget 'smoke' on cpu (AMD EPYC, " in capsys.readouterr().out, "a CPU's wall time means little without its model"


def test_time_it_takes_the_median_after_a_warm_up_and_waits_for_the_gpu(monkeypatch):
    events, clock = [], iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])

    def reading():
        events.append("clock")
        return next(clock)

    monkeypatch.setattr(runs, "time", types.SimpleNamespace(perf_counter=reading))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: events.append("sync"))
    assert runs.time_it(lambda: events.append("fn")) == 2.0, "the median of 3, 1 and 2 seconds"
    assert events == ["fn"] + ["sync", "clock", "fn", "sync", "clock"] * 3, "warm-up untimed; the GPU waited for before each reading"


def test_pick_follows_the_budget():
    run = runs.Run("x", "cpu", torch.device("cpu"), 0)
    assert run.pick({"smoke": 1, "cpu": 2, "full": 3}) == 2


def test_smoke_results_are_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "results/smoke/week1_metric/00_episodes.json"], cwd=runs.PROJECT_ROOT)
    assert ignored.returncode == 0, "results/smoke/ must be git-ignored, so that the tests never commit a result"


def test_readme_results_table_is_generated_from_results():
    """Re-generate it with `python -m common.runs` after recording a run."""
    readme = runs.README.read_text()
    assert runs.results_table(columns=runs.README_COLUMNS) in readme, "README's results table is out of date with results/"


def test_every_cpu_record_of_an_omniglot_model_has_the_banks_week_3_reads():
    """Week 3's table and plot read, for every method, the course's 5-way banks at 1, 5 and 10 shots, the papers'
    test classes and clothing; a notebook that scores the course's bank must record them all."""
    needed = ("5w1s", "5w5s", "5w10s", "vinyals_5w1s", "vinyals_5w5s", "fashion_5w1s", "fashion_5w5s")
    for notebook, record in runs.load_results("cpu").items():
        if "5w1s" in record["metrics"]:
            missing = [name for name in needed if name not in record["metrics"]]
            assert not missing, f"{notebook}'s cpu record lacks {missing}: re-run it at cpu"


def test_results_table_keeps_a_week_and_skips_runs_without_bank_accuracy(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "RESULTS_DIR", tmp_path)
    for name, metrics in (("week1_metric/03_protonet", {"5w1s": {"acc": 0.97, "ci95": 0.003, "episodes": 600}}),
                          ("week2_optimization/02_sine", {"mse": {"mse": 0.4}}),
                          ("week2_optimization/03_maml", {"5w1s": {"acc": 0.95, "ci95": 0.004, "episodes": 600}})):
        path = tmp_path / "cpu" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"metrics": metrics, "device": "cpu", "seed": 0, "wall_time_s": 60}))
    rows = runs.results_table(("cpu",), prefix="week2_optimization/").splitlines()[2:]
    assert len(rows) == 1 and rows[0].startswith("| week2_optimization/03_maml | cpu | 95.0 ± 0.4 |")
    assert len(runs.results_table(("cpu",)).splitlines()) == 4


def test_result_cells_name_a_partial_bank():
    assert runs.result_cell({"acc": 0.9781, "ci95": 0.0031, "episodes": 600}) == "97.8 ± 0.3"
    assert runs.result_cell({"acc": 0.931, "ci95": 0.009, "episodes": 300}) == "93.1 ± 0.9 (300 ep.)"
    assert runs.result_cell({"acc": 0.9, "ci95": 0.05, "episodes": 20}, full=20) == "90.0 ± 5.0"
    assert runs.result_cell(None) == ""
