import matplotlib

matplotlib.use("Agg")

import torch

from common.episodes import sample_episode
from common.plots import LiveCurve, has_live_frontend, show_episode


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
