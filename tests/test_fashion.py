import gzip

import numpy as np
import pytest
import torch

from common import fashion
from common.fashion import FashionDataError, fashion_splits, load_fashion_mnist


def test_pool_shape_polarity_and_halves():
    pool = load_fashion_mnist()
    assert pool.shape == (10, 1000, 28, 28) and pool.dtype == torch.uint8
    assert pool.float().mean() < 128, "objects should be bright on a dark background, like the Omniglot tensors"
    halves = fashion_splits()
    assert halves["val"].shape == halves["test"].shape == (10, 500, 28, 28)
    assert torch.equal(torch.cat([halves["val"], halves["test"]], dim=1), pool)


def _write_idx(path, array, magic):
    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    load_fashion_mnist.cache_clear()
    monkeypatch.setattr(fashion, "DATA_DIR", tmp_path / "data")
    yield tmp_path
    load_fashion_mnist.cache_clear()


def test_partial_and_corrupt_files_give_clear_errors(fresh, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fresh))
    _write_idx(fresh / "t10k-images-idx3-ubyte.gz", np.zeros((20, 28, 28)), 2051)
    _write_idx(fresh / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 10, 2049)
    with pytest.raises(FashionDataError, match="1000 images of each of 10 classes.*FASHION_MNIST_DIR"):
        load_fashion_mnist()
    (fresh / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(FashionDataError, match="t10k-images-idx3-ubyte.gz.*corrupt"):
        load_fashion_mnist()


def test_missing_folder_and_no_network_say_what_to_do(fresh, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fresh / "empty"))
    with pytest.raises(FashionDataError, match="FASHION_MNIST_DIR=.*holds no t10k-images"):
        load_fashion_mnist()
    monkeypatch.delenv("FASHION_MNIST_DIR")

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("torchvision.datasets.FashionMNIST.download", offline)
    with pytest.raises(FashionDataError, match="downloading it failed.*Name or service"):
        load_fashion_mnist()
