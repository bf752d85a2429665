"""Scoring a few-shot method: accuracy over the fixed test bank as a mean with its 95% confidence interval."""

import math

import torch
from tqdm.auto import tqdm

from .episodes import SETTINGS, gather_episode, setting_bank


def mean_ci95(values) -> tuple:
    """Mean of per-episode accuracies and the half-width of its 95% normal confidence interval."""
    values = torch.as_tensor(values, dtype=torch.float64)
    if len(values) < 2:
        return values.mean().item(), float("nan")
    return values.mean().item(), 1.96 * values.std().item() / math.sqrt(len(values))


@torch.no_grad()
def embed_pool(encoder, pool: torch.Tensor, batch: int = 100) -> torch.Tensor:
    """Encode every drawing of a class pool once: uint8 [n_classes, 20, 28, 28] -> [n_classes, 20, *encoder output].

    Valid when the encoder treats each image on its own (batch norm in eval mode): then episodes can index these
    features instead of re-encoding images, which makes scoring a 600-episode bank almost free (notebook 01).
    """
    images = pool.flatten(0, 1).unsqueeze(1).float() / 255
    features = torch.cat([encoder(images[i : i + batch]) for i in range(0, len(images), batch)])
    return features.view(len(pool), pool.shape[1], *features.shape[1:])


def accuracy(prediction: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions; `prediction` holds labels [n] or logits [n, n_way]."""
    if prediction.dim() == 2:
        prediction = prediction.argmax(dim=1)
    return (prediction.cpu() == labels.cpu()).float().mean().item()


@torch.no_grad()
def evaluate_bank(predict, pool: torch.Tensor, bank, device="cpu", n_episodes: int | None = None, progress: bool = False) -> dict:
    """Score `predict(support_x, support_y, query_x, n_way) -> logits or labels` on the first `n_episodes` of a bank.

    Returns {'acc': mean accuracy as a fraction, 'ci95': half-width of its 95% CI, 'episodes': how many were scored}.
    """
    episodes = bank[:n_episodes] if n_episodes else bank
    accuracies = []
    for index in tqdm(episodes, disable=not progress, leave=False):
        support_x, support_y, query_x, query_y = (t.to(device) for t in gather_episode(pool, index))
        accuracies.append(accuracy(predict(support_x, support_y, query_x, len(index.classes)), query_y))
    acc, ci95 = mean_ci95(accuracies)
    return {"acc": round(acc, 4), "ci95": round(ci95, 4), "episodes": len(accuracies)}


def evaluate_settings(predict, pool: torch.Tensor, device="cpu", n_episodes: int | None = None, settings=tuple(SETTINGS)) -> dict:
    """`evaluate_bank` on each of the course's settings ('5w1s', '5w5s', '20w1s', '20w5s'); {setting: result}."""
    return {name: evaluate_bank(predict, pool, setting_bank(name, len(pool), n_examples=pool.shape[1]), device, n_episodes)
            for name in settings}


def beyond_course_pools() -> dict:
    """The two other test pools every course-trained model is scored on (week 3 reads them side by side):
    'vinyals', the papers' 1,692 test classes (evaluation characters in four rotations), and 'fashion', the
    cross-domain test half of Fashion-MNIST."""
    from .fashion import fashion_splits
    from .omniglot import vinyals_splits

    return {"vinyals": vinyals_splits()["test"].images, "fashion": fashion_splits()["test"]}


EXTRA_SETTINGS = {"vinyals": ("5w1s", "5w5s", "20w1s", "20w5s"), "fashion": ("5w1s", "5w5s")}


def evaluate_beyond_course(predict, device="cpu", pools: dict | None = None, n_episodes: int | None = None) -> dict:
    """Score a course-trained `predict` on the papers' test classes and the cross-domain bank:
    {'vinyals_5w1s': ..., 'vinyals_20w5s': ..., 'fashion_5w1s': ..., 'fashion_5w5s': ...}, the names every record uses."""
    pools = pools or beyond_course_pools()
    return {f"{name}_{setting}": result for name, settings in EXTRA_SETTINGS.items()
            for setting, result in evaluate_settings(predict, pools[name], device, n_episodes, settings).items()}


@torch.no_grad()
def evaluate_lake_runs(predict, runs, device="cpu") -> dict:
    """Score `predict` on Lake's 20 original 20-way one-shot runs; the CI is over the 20 runs."""
    accuracies = []
    for run in runs:
        support_y = torch.arange(len(run.support_x), device=device)
        prediction = predict(run.support_x.to(device), support_y, run.query_x.to(device), len(run.support_x))
        accuracies.append(accuracy(prediction, run.query_y))
    acc, ci95 = mean_ci95(accuracies)
    return {"acc": round(acc, 4), "ci95": round(ci95, 4), "episodes": len(accuracies)}


def davies_bouldin(features: torch.Tensor) -> float:
    """Davies-Bouldin index of features [n_classes, n_examples, dim] grouped by class: for each class, the worst
    ratio (spread_i + spread_j) / distance between centres over the other classes, averaged. Lower means tighter
    classes relative to their separation; it does not change when every feature is scaled (week 3, notebooks 01-02)."""
    features = features.double()
    centres = features.mean(dim=1)
    spread = (features - centres[:, None]).norm(dim=2).mean(dim=1)
    ratio = (spread[:, None] + spread[None, :]) / torch.cdist(centres, centres)
    ratio.fill_diagonal_(float("-inf"))
    return ratio.max(dim=1).values.mean().item()
