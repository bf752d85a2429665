"""Scoring a few-shot method: accuracy over the fixed test bank as a mean with its 95% confidence interval."""

import math

import torch
from tqdm.auto import tqdm

from .episodes import MAIN_SETTINGS, SETTINGS, gather_episode, setting_bank
from .runs import course_device


T95_19_DEGREES = 2.093  # Student's t, two-sided 95%, 19 degrees of freedom: Lake's 20 runs are too few for 1.96


def mean_ci95(values, critical: float = 1.96) -> tuple:
    """Mean of per-episode accuracies and the half-width of its 95% confidence interval (normal by default, right for
    600 episodes; pass Student's t value for a handful, like T95_19_DEGREES for 20)."""
    values = torch.as_tensor(values, dtype=torch.float64)
    if len(values) < 2:
        return values.mean().item(), float("nan")
    return values.mean().item(), critical * values.std().item() / math.sqrt(len(values))


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
def evaluate_bank(predict, pool: torch.Tensor, bank, device=None, n_episodes: int | None = None, progress: bool = False) -> dict:
    """Score `predict(support_x, support_y, query_x, n_way) -> logits or labels` on the first `n_episodes` of a bank.

    Returns {'acc': mean accuracy as a fraction, 'ci95': half-width of its 95% CI, 'episodes': how many were scored}.
    """
    accuracies = episode_accuracies(predict, pool, bank[:n_episodes] if n_episodes else bank, device, progress)
    acc, ci95 = mean_ci95(accuracies)
    return {"acc": round(acc, 4), "ci95": round(ci95, 4), "episodes": len(accuracies)}


@torch.no_grad()
def episode_accuracies(predict, pool: torch.Tensor, bank, device=None, progress: bool = False) -> torch.Tensor:
    """The accuracy of `predict` on each episode of `bank`, in order [n_episodes]: what a paired comparison needs.
    Episodes are moved to `device`; by default they stay where `pool` is (where the model usually is too)."""
    accuracies = []
    for index in tqdm(bank, disable=not progress, leave=False):
        support_x, support_y, query_x, query_y = (t.to(device or pool.device) for t in gather_episode(pool, index))
        accuracies.append(accuracy(predict(support_x, support_y, query_x, len(index.classes)), query_y))
    return torch.tensor(accuracies, dtype=torch.float64)


def paired_difference(baseline: list, variant: list) -> dict:
    """Compare two variants trained from the same seeds and scored on the same episodes (one per-episode accuracy
    tensor per seed each): the per-seed mean difference variant - baseline, its mean, and its spread (standard
    deviation) over seeds. Training randomness shows in the spread, which an interval over episodes cannot show."""
    per_seed = torch.stack([(v - b).mean() for b, v in zip(baseline, variant, strict=True)])
    return {"per_seed": [round(d, 4) for d in per_seed.tolist()], "mean": round(per_seed.mean().item(), 4),
            "std": round(per_seed.std().item(), 4) if len(per_seed) > 1 else float("nan")}


def evaluate_settings(predict, pool: torch.Tensor, device=None, n_episodes: int | dict | None = None,
                      settings=MAIN_SETTINGS) -> dict:
    """`evaluate_bank` on each of `settings` (by default MAIN_SETTINGS, not the 10-shot ones); {setting: result}.
    `n_episodes` is one prefix length for every bank, or {setting: length} where the settings cost differently."""
    lengths = n_episodes if isinstance(n_episodes, dict) else dict.fromkeys(settings, n_episodes)
    return {name: evaluate_bank(predict, pool, setting_bank(name, len(pool), n_examples=pool.shape[1]), device, lengths[name])
            for name in settings}


def beyond_course_pools() -> dict:
    """The two other test pools every course-trained model is scored on (week 3 reads them side by side):
    'vinyals', the 1,692 test classes of Vinyals et al.'s split (423 evaluation characters in four rotations), and
    'fashion', the cross-domain test half of Fashion-MNIST."""
    from .fashion import fashion_splits
    from .omniglot import vinyals_splits

    return {"vinyals": vinyals_splits()["test"].images, "fashion": fashion_splits()["test"]}


EXTRA_SETTINGS = {"vinyals": ("5w1s", "5w5s", "20w1s", "20w5s"), "fashion": ("5w1s", "5w5s")}


def evaluate_beyond_course(predict, device=None, pools: dict | None = None, n_episodes: int | dict | None = None,
                           encoder=None, ways: tuple = (5, 20)) -> dict:
    """Score a course-trained `predict` on the papers' test classes and the cross-domain bank:
    {'vinyals_5w1s': ..., 'vinyals_20w5s': ..., 'fashion_5w1s': ..., 'fashion_5w5s': ...}, the names every record uses.
    With an `encoder`, each pool is embedded once (`embed_pool`) and `predict` receives features, not images;
    `ways=(5,)` keeps the 5-way settings only (a model with a fixed 5-way head). `device` defaults to the course's
    (CUDA when there is one), where the notebooks put their models."""
    pools, device = pools or beyond_course_pools(), device or course_device()
    if encoder is not None:
        pools = {name: embed_pool(encoder, pool.to(device)) for name, pool in pools.items()}
    return {f"{name}_{setting}": result for name, settings in EXTRA_SETTINGS.items()
            for setting, result in evaluate_settings(predict, pools[name], device, n_episodes,
                                                     [s for s in settings if SETTINGS[s][0] in ways]).items()}


@torch.no_grad()
def evaluate_lake_runs(predict, runs, device=None) -> dict:
    """Score `predict` on Lake's 20 original 20-way one-shot runs; the CI is over the 20 runs, with Student's t."""
    device = device or course_device()
    accuracies = []
    for run in runs:
        support_y = torch.arange(len(run.support_x), device=device)
        prediction = predict(run.support_x.to(device), support_y, run.query_x.to(device), len(run.support_x))
        accuracies.append(accuracy(prediction, run.query_y))
    acc, ci95 = mean_ci95(accuracies, critical=T95_19_DEGREES if len(accuracies) == 20 else 1.96)
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
