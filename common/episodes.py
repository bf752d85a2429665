"""N-way K-shot episodes (introduced in week1_metric/00_episodes) and the course's fixed bank of test episodes.

An episode's tensors always come in one order: support_x [n_way * k_shot, 1, 28, 28], support_y [n_way * k_shot],
query_x [n_way * n_query, 1, 28, 28], query_y [n_way * n_query]; labels 0..n_way-1, grouped by class.
"""

from dataclasses import dataclass
from functools import lru_cache

import torch

from .omniglot import DRAWINGS

# The course's settings, (n_way, k_shot, n_query), and the size of each bank. Every method is scored on the first
# four (MAIN_SETTINGS); the 10-shot ones (10 queries: a character has 20 drawings) feed week 3's accuracy against
# shots, and a notebook scores them by passing settings=tuple(SETTINGS).
SETTINGS = {"5w1s": (5, 1, 15), "5w5s": (5, 5, 15), "20w1s": (20, 1, 5), "20w5s": (20, 5, 5),
            "5w10s": (5, 10, 10), "20w10s": (20, 10, 10)}
MAIN_SETTINGS = ("5w1s", "5w5s", "20w1s", "20w5s")
BANK_EPISODES = 600


@dataclass
class EpisodeIndex:
    """Which classes of a pool (`classes` [n_way]) and which drawings of each (`drawings` [n_way, k_shot + n_query])."""

    classes: torch.Tensor
    drawings: torch.Tensor
    k_shot: int


def sample_episode_index(n_classes: int, n_way: int, k_shot: int, n_query: int, generator: torch.Generator,
                         n_examples: int = DRAWINGS) -> EpisodeIndex:
    """Draw n_way distinct classes, and k_shot + n_query distinct examples of each (of the `n_examples` every class
    of the pool has: Omniglot's 20 drawings by default), reproducibly from `generator`."""
    if n_way > n_classes:
        raise ValueError(f"n_way={n_way} is more ways than the {n_classes} classes in this pool.")
    if k_shot + n_query > n_examples:
        raise ValueError(f"k_shot + n_query = {k_shot + n_query}, but each class of this pool has only {n_examples} examples"
                         + (" (an Omniglot character has 20 drawings)." if n_examples == DRAWINGS else "."))
    if n_way < 1 or k_shot < 1 or n_query < 0:
        raise ValueError("n_way and k_shot must be at least 1, n_query at least 0.")
    classes = torch.randperm(n_classes, generator=generator)[:n_way]
    drawings = torch.rand(n_way, n_examples, generator=generator).argsort(dim=1)[:, : k_shot + n_query]
    return EpisodeIndex(classes, drawings, k_shot)


def gather_episode(pool: torch.Tensor, index: EpisodeIndex):
    """Cut one episode out of `pool` [n_classes, 20, ...]: uint8 images become floats in [0, 1] with a channel axis.

    `pool` may also hold precomputed features [n_classes, 20, dim]; they are gathered as they are.
    Returns support_x, support_y, query_x, query_y.
    """
    items = pool[index.classes[:, None], index.drawings]  # [n_way, k_shot + n_query, ...]
    if items.dtype == torch.uint8:
        items = items.unsqueeze(2).float() / 255
    n_way, k_shot = len(index.classes), index.k_shot
    labels = torch.arange(n_way, device=items.device).unsqueeze(1)
    support_x = items[:, :k_shot].flatten(0, 1)
    query_x = items[:, k_shot:].flatten(0, 1)
    support_y = labels.expand(n_way, k_shot).flatten()
    query_y = labels.expand(n_way, items.shape[1] - k_shot).flatten()
    return support_x, support_y, query_x, query_y


def sample_episode(pool: torch.Tensor, n_way: int, k_shot: int, n_query: int, generator: torch.Generator):
    """One random episode from a class pool; see `gather_episode` for what comes back."""
    return gather_episode(pool, sample_episode_index(len(pool), n_way, k_shot, n_query, generator, pool.shape[1]))


@lru_cache(maxsize=32)
def test_bank(n_classes: int, n_way: int, k_shot: int, n_query: int, seed: int = 0, n_episodes: int = BANK_EPISODES,
              n_examples: int = DRAWINGS) -> tuple:
    """A fixed bank of episode indices: the same tasks for every notebook and algorithm given the same arguments."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(sample_episode_index(n_classes, n_way, k_shot, n_query, generator, n_examples) for _ in range(n_episodes))


def setting_bank(setting: str, n_classes: int, seed: int = 0, n_examples: int = DRAWINGS) -> tuple:
    """The bank of one of the course's SETTINGS ('5w1s', ...) over a pool of n_classes with n_examples each
    (the 659 test characters with 20 drawings, for the course's test bank)."""
    n_way, k_shot, n_query = SETTINGS[setting]
    return test_bank(n_classes, n_way, k_shot, n_query, seed, BANK_EPISODES, n_examples)


def validation_bank(setting: str, n_classes: int, n_episodes: int = 200, n_examples: int = DRAWINGS) -> tuple:
    """The fixed meta-validation bank of a setting, seeded like the test bank: every choice (checkpoint,
    hyper-parameter, variant) is scored here, so the test bank is touched once per method, for the final numbers."""
    return setting_bank(setting, n_classes, n_examples=n_examples)[:n_episodes]


def pool_batches(pool: torch.Tensor, batch_size: int, generator: torch.Generator):
    """One epoch over every example of a class pool in a random order, for plain classification over all its
    classes at once (week 3's Baseline): yields images float [batch, 1, 28, 28] in [0, 1] and class labels [batch]."""
    n_classes, n_examples = pool.shape[:2]
    order = torch.randperm(n_classes * n_examples, generator=generator)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        yield pool.flatten(0, 1)[chosen].unsqueeze(1).float() / 255, chosen // n_examples
