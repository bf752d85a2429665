import math

import pytest
import torch

from common import episodes
from common.evaluation import evaluate_bank, mean_ci95


def test_mean_ci95_known_values():
    mean, ci95 = mean_ci95([0.0, 1.0, 0.0, 1.0])
    assert mean == 0.5 and ci95 == pytest.approx(1.96 * math.sqrt(1 / 3) / 2)


def test_oracle_scores_one_and_a_guess_scores_chance():
    features = torch.arange(40).float().view(40, 1, 1).expand(40, 20, 1).contiguous()
    bank = episodes.test_bank(40, 5, 1, 15, seed=0, n_episodes=200)

    def nearest(support_x, support_y, query_x, n_way):
        return support_y[(query_x - support_x.T).abs().argmin(dim=1)]

    def guess(support_x, support_y, query_x, n_way):
        return torch.randint(n_way, (len(query_x),))

    assert evaluate_bank(nearest, features, bank) == {"acc": 1.0, "ci95": 0.0, "episodes": 200}
    chance = evaluate_bank(guess, features, bank, n_episodes=100)
    assert chance["episodes"] == 100 and abs(chance["acc"] - 0.2) < 3 * chance["ci95"]


def test_embed_pool_matches_encoding_each_image():
    from torch import nn

    from common.evaluation import embed_pool

    pool = torch.randint(0, 255, (3, 20, 28, 28), dtype=torch.uint8)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    features = embed_pool(encoder, pool, batch=7)
    assert features.shape == (3, 20, 5)
    torch.testing.assert_close(features[2, 4], encoder(pool[2, 4].float().view(1, 1, 28, 28) / 255)[0])


def test_davies_bouldin_by_hand():
    from common.evaluation import davies_bouldin

    two = torch.tensor([[[0.0, 1.0], [0.0, -1.0]], [[4.0, 0.0], [4.0, 0.0]]])  # spreads 1 and 0, centres 4 apart
    assert davies_bouldin(two) == pytest.approx(0.25) and davies_bouldin(10 * two) == pytest.approx(0.25)


def test_every_course_model_is_scored_beyond_the_course_under_one_naming():
    from common.evaluation import evaluate_beyond_course

    def guess(support_x, support_y, query_x, n_way):
        return torch.zeros(len(query_x), dtype=torch.long)

    results = evaluate_beyond_course(guess, n_episodes=3)
    assert sorted(results) == sorted(["vinyals_5w1s", "vinyals_5w5s", "vinyals_20w1s", "vinyals_20w5s", "fashion_5w1s", "fashion_5w5s"])
    assert results["fashion_5w1s"]["acc"] == 0.2 and results["vinyals_20w1s"]["episodes"] == 3
    lengths = {"5w1s": 4, "5w5s": 3, "20w1s": 2, "20w5s": 1}  # a prefix per setting, where settings cost differently
    episodes = {name: result["episodes"] for name, result in evaluate_beyond_course(guess, n_episodes=lengths).items()}
    assert episodes == {f"{pool}_{setting}": n for pool in ("vinyals", "fashion") for setting, n in lengths.items() if pool == "vinyals" or "5w" in setting}


def test_lake_runs_interval_uses_students_t():
    """Twenty runs are too few for the normal 1.96: the interval must use t with 19 degrees of freedom."""
    from types import SimpleNamespace

    from common.evaluation import T95_19_DEGREES, evaluate_lake_runs

    runs = [SimpleNamespace(support_x=torch.zeros(20, 1), query_x=torch.zeros(20, 1),
                            query_y=torch.tensor([0] * (i % 3) + [1] * (20 - i % 3))) for i in range(20)]
    always_one = lambda sx, sy, qx, n_way: torch.ones(len(qx), dtype=torch.long)
    result = evaluate_lake_runs(always_one, runs)
    per_run = torch.tensor([1 - (i % 3) / 20 for i in range(20)], dtype=torch.float64)
    assert result["ci95"] == round(T95_19_DEGREES * per_run.std().item() / math.sqrt(20), 4) > 0


def test_beyond_course_with_an_encoder_scores_features():
    """Embedding each pool once and predicting on features gives the same numbers as predicting on images."""
    from torch import nn

    from common.evaluation import evaluate_beyond_course

    pools = {"vinyals": torch.randint(0, 255, (30, 20, 28, 28), dtype=torch.uint8),
             "fashion": torch.randint(0, 255, (10, 30, 28, 28), dtype=torch.uint8)}
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 8))

    def nearest_mean(support, support_y, query, n_way):
        return -torch.cdist(query, support.view(n_way, -1, support.shape[-1]).mean(1))

    on_images = lambda sx, sy, qx, n_way: nearest_mean(encoder(sx), sy, encoder(qx), n_way)
    with torch.no_grad():
        assert (evaluate_beyond_course(nearest_mean, "cpu", pools=pools, n_episodes=5, encoder=encoder)
                == evaluate_beyond_course(on_images, "cpu", pools=pools, n_episodes=5))


def test_paired_difference_is_per_seed_then_over_seeds():
    from common.evaluation import episode_accuracies, paired_difference

    features = torch.arange(40).float().view(40, 1, 1).expand(40, 20, 1).contiguous()
    bank = episodes.test_bank(40, 5, 1, 15, seed=0, n_episodes=30)
    nearest = lambda sx, sy, qx, n_way: sy[(qx - sx.T).abs().argmin(dim=1)]
    assert episode_accuracies(nearest, features, bank).tolist() == [1.0] * 30
    baseline = [torch.tensor([0.5, 0.7]), torch.tensor([0.6, 0.6]), torch.tensor([0.4, 0.4])]
    variant = [torch.tensor([0.6, 0.8]), torch.tensor([0.6, 0.8]), torch.tensor([0.4, 0.7])]
    result = paired_difference(baseline, variant)
    assert result["per_seed"] == [0.1, 0.1, 0.15] and result["mean"] == pytest.approx(0.1167, abs=1e-4)
    assert result["std"] == pytest.approx(torch.tensor([0.1, 0.1, 0.15]).std().item(), abs=1e-4)
    with pytest.raises(ValueError):
        paired_difference(baseline, variant[:2])
