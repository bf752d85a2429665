import matplotlib

matplotlib.use("Agg")

import torch

from common.episodes import sample_episode
import common.plots
from common.plots import LiveCurve, has_live_frontend, interactive_or_static, show_episode


def test_live_curve_runs_without_a_front_end():
    curve = LiveCurve(["loss", "acc"], every=2)
    for step in range(5):
        curve.add(step, loss=1 / (step + 1), acc=step / 5)
    curve.close()
    assert curve.history["loss"][1][-1] == 0.2


def test_episode_grid_marks_right_and_wrong():
    pool = torch.randint(0, 255, (10, 20, 28, 28), dtype=torch.uint8)
    support_x, support_y, query_x, query_y = sample_episode(pool, 3, 2, 4, torch.Generator().manual_seed(0))
    axes = show_episode(support_x, support_y, query_x, query_y, prediction=torch.zeros_like(query_y))
    assert len(axes) == 2 and axes[1].texts


def test_tests_draw_static_pictures():
    assert not has_live_frontend()


class FakeClock:
    """time.monotonic for common.plots, moved forward by hand."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


def count_frames(curve, clock, additions, seconds_apart):
    frames = []
    curve.draw = lambda: (frames.append(clock.now), setattr(curve, "last_frame", clock.now))
    for step in range(additions):
        clock.now += seconds_apart
        curve.add(step, loss=1.0)
    return len(frames)


def test_live_curve_redraws_while_training_even_when_fed_rarely(monkeypatch):
    """The sine notebook's bug: redraw every 400 additions, 100 additions in all, so the curve stayed empty."""
    clock = FakeClock()
    monkeypatch.setattr(common.plots, "time", clock)
    monkeypatch.setattr(common.plots, "has_live_frontend", lambda: True)
    assert count_frames(LiveCurve(["loss"], every=400), clock, additions=100, seconds_apart=0.1) >= 9
    monkeypatch.setattr(common.plots, "has_live_frontend", lambda: False)
    assert count_frames(LiveCurve(["loss"], every=400), clock, additions=100, seconds_apart=0.1) == 0


def test_the_function_handed_to_interact_returns_nothing(monkeypatch):
    """`interact` prints what its function returns: a tuple there showed as a stray line under the widget."""
    import ipywidgets

    handed = {}
    monkeypatch.setattr(common.plots, "has_live_frontend", lambda: True)
    monkeypatch.setattr(ipywidgets, "interact", lambda function, **controls: handed.update(function=function, controls=controls))
    interactive_or_static(lambda n_way=5: matplotlib.pyplot.gca(), n_way=(5, [2, 5]))
    assert set(handed["controls"]) == {"n_way"}
    assert handed["function"](n_way=2) is None
