import math

import torch

from common.sine import AMPLITUDE, PHASE, X_RANGE, sample_sine_tasks, sine_mlp, sine_points


def test_tasks_and_points_follow_the_paper():
    generator = torch.Generator().manual_seed(0)
    amplitude, phase = sample_sine_tasks(1000, generator)
    assert AMPLITUDE[0] <= amplitude.min() and amplitude.max() <= AMPLITUDE[1]
    assert PHASE[0] <= phase.min() and phase.max() <= PHASE[1] == math.pi
    x, y = sine_points(amplitude[:3], phase[:3], 10, generator)
    assert x.shape == y.shape == (3, 10, 1) and X_RANGE[0] <= x.min() and x.max() <= X_RANGE[1]
    torch.testing.assert_close(y[2], amplitude[2] * torch.sin(x[2] + phase[2]))


def test_reproducible_and_the_mlp_maps_points_to_points():
    a = sample_sine_tasks(4, torch.Generator().manual_seed(1))
    b = sample_sine_tasks(4, torch.Generator().manual_seed(1))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    x, _ = sine_points(*a, 5, torch.Generator().manual_seed(2))
    assert sine_mlp()(x).shape == (4, 5, 1)
    assert sum(p.numel() for p in sine_mlp().parameters()) == 40 + 40 + 40 * 40 + 40 + 40 + 1
