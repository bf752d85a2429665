import pytest
import torch

from common import episodes
from common.episodes import gather_episode, sample_episode, sample_episode_index, setting_bank

# `episodes.test_bank`, not an imported `test_bank`: pytest would collect a module-level name starting with test_.


def pool(n_classes=30):
    """Fake pool whose every pixel holds its class index, so labels can be checked from the images."""
    return torch.arange(n_classes, dtype=torch.uint8).view(-1, 1, 1, 1).expand(n_classes, 20, 28, 28).contiguous()


def test_shapes_labels_and_order():
    generator = torch.Generator().manual_seed(0)
    support_x, support_y, query_x, query_y = sample_episode(pool(), 5, 2, 3, generator)
    assert support_x.shape == (10, 1, 28, 28) and query_x.shape == (15, 1, 28, 28)
    assert support_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and query_y.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    support_classes = (support_x[:, 0, 0, 0] * 255).round().view(5, 2)
    query_classes = (query_x[:, 0, 0, 0] * 255).round().view(5, 3)
    assert (support_classes == support_classes[:, :1]).all() and torch.equal(support_classes[:, 0], query_classes[:, 0])


def test_support_and_query_drawings_are_distinct():
    index = sample_episode_index(30, 5, 5, 15, torch.Generator().manual_seed(1))
    assert all(len(set(row.tolist())) == 20 for row in index.drawings)
    assert len(set(index.classes.tolist())) == 5


def test_reproducible_with_the_same_seed():
    a = sample_episode(pool(), 5, 1, 5, torch.Generator().manual_seed(3))
    b = sample_episode(pool(), 5, 1, 5, torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_impossible_requests_raise_value_error():
    generator = torch.Generator()
    with pytest.raises(ValueError, match="more ways than"):
        sample_episode_index(4, 5, 1, 1, generator)
    with pytest.raises(ValueError, match="only 20 examples"):
        sample_episode_index(30, 5, 10, 11, generator)


def test_bank_is_fixed_and_depends_on_its_seed():
    first, again, other = (episodes.test_bank(659, 5, 1, 15, 0), episodes.test_bank(659, 5, 1, 15, 0, 600),
                           episodes.test_bank(659, 5, 1, 15, 1))
    assert len(first) == 600
    assert all(torch.equal(a.classes, b.classes) and torch.equal(a.drawings, b.drawings) for a, b in zip(first, again))
    assert not all(torch.equal(a.classes, b.classes) for a, b in zip(first, other))
    assert setting_bank("20w5s", 659)[0].drawings.shape == (20, 10)


def test_gather_passes_features_through():
    features = torch.randn(30, 20, 8)
    index = sample_episode_index(30, 3, 1, 2, torch.Generator().manual_seed(0))
    support_x, _, query_x, _ = gather_episode(features, index)
    assert support_x.shape == (3, 8) and torch.equal(support_x[0], features[index.classes[0], index.drawings[0, 0]])


def test_course_bank_fingerprint():
    """The tasks every recorded number was scored on: a change of torch or of the sampler must not move them."""
    import hashlib

    digest = hashlib.sha256()
    for setting in ("5w1s", "5w5s", "20w1s", "20w5s"):
        for index in setting_bank(setting, 659):
            digest.update(index.classes.numpy().tobytes() + index.drawings.numpy().tobytes())
    assert digest.hexdigest() == "ec0cbb0a4607164c15b39f2d1b8cd4a166f11b438e77e6da0c253a8bf25dc86e"


def test_pools_with_more_examples_per_class():
    wide = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 500, 28, 28).contiguous()
    support_x, _, query_x, _ = sample_episode(wide, 5, 5, 100, torch.Generator().manual_seed(0))
    assert support_x.shape == (25, 1, 28, 28) and query_x.shape == (500, 1, 28, 28)
    bank = setting_bank("5w5s", 10, n_examples=500)
    assert int(bank[0].drawings.max()) < 500 and len(set(bank[0].drawings[0].tolist())) == 20
    with pytest.raises(ValueError, match="only 500 examples"):
        sample_episode_index(10, 5, 1, 500, torch.Generator(), n_examples=500)


def test_pool_batches_visit_every_example_once_with_its_class():
    from common.episodes import pool_batches

    seen = [((images[:, 0, 0, 0] * 255).round().long(), labels) for images, labels in pool_batches(pool(7), 16, torch.Generator())]
    images, labels = (torch.cat(parts) for parts in zip(*seen))
    assert len(labels) == 7 * 20 and torch.equal(images, labels) and torch.equal(labels.bincount(), torch.full((7,), 20))


def test_validation_bank_is_the_seeded_bank_of_its_pool():
    bank = episodes.validation_bank("5w1s", 189, n_episodes=50)
    assert len(bank) == 50 and bank == setting_bank("5w1s", 189)[:50]
    assert all(int(index.classes.max()) < 189 for index in bank)


def test_ten_shot_settings_fit_twenty_drawings_and_stay_out_of_the_main_four():
    from common.evaluation import evaluate_settings

    for setting, n_way in (("5w10s", 5), ("20w10s", 20)):
        index = setting_bank(setting, 659)[0]
        assert index.drawings.shape == (n_way, 20) and index.k_shot == 10
        assert all(len(set(row.tolist())) == 20 for row in index.drawings), "support and queries share no drawing"
    scored = evaluate_settings(lambda sx, sy, qx, n_way: torch.zeros(len(qx), n_way), pool(), n_episodes=2)
    assert list(scored) == list(episodes.MAIN_SETTINGS), "a notebook scores the 10-shot banks only when it asks for them"
