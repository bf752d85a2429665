"""The sine-regression toy of Finn et al. (2017), shared by week 2's MAML and Reptile notebooks.

A task is y = a sin(x + b) with amplitude a in [0.1, 5] and phase b in [0, pi]; its points have x in [-5, 5].
The model is the paper's MLP: 1 -> 40 -> 40 -> 1 with ReLUs.
"""

import math

import torch
from torch import nn

AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


def sample_sine_tasks(n_tasks: int, generator: torch.Generator) -> tuple:
    """Amplitudes [n_tasks] and phases [n_tasks] of random sine tasks."""
    amplitude = torch.empty(n_tasks).uniform_(*AMPLITUDE, generator=generator)
    phase = torch.empty(n_tasks).uniform_(*PHASE, generator=generator)
    return amplitude, phase


def sine_points(amplitude: torch.Tensor, phase: torch.Tensor, k: int, generator: torch.Generator) -> tuple:
    """k random points of each task: x, y [n_tasks, k, 1], with y = amplitude * sin(x + phase)."""
    x = torch.empty(len(amplitude), k, 1).uniform_(*X_RANGE, generator=generator)
    return x, amplitude.view(-1, 1, 1) * torch.sin(x + phase.view(-1, 1, 1))


def sine_mlp(hidden: int = 40) -> nn.Sequential:
    """The MAML paper's regressor: two hidden layers of 40 ReLU units."""
    return nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
