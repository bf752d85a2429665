"""Fashion-MNIST's test set (Xiao et al., 2017) as the course's cross-domain pool: clothing instead of characters.

Nothing is trained on it: a model meta-trained on Omniglot is scored on 5-way episodes of clothing (week 3,
05_beyond_one_distribution). Each class's 1,000 images are cut into a validation half (the first 500, for choices
such as how long to fine-tune) and a test half (the last 500, for the fixed bank). Where the files come from:
1. the folder named by ``FASHION_MNIST_DIR`` (the two `t10k-*-ubyte.gz` files, or torchvision's folders);
2. the project's `data/` folder, where a download lands;
3. otherwise a download with torchvision from the dataset's public source.
"""

import gzip
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .omniglot import DATA_DIR

ENV_VAR = "FASHION_MNIST_DIR"
FILES = {"images": ("t10k-images-idx3-ubyte", 2051), "labels": ("t10k-labels-idx1-ubyte", 2049)}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PER_CLASS, VALIDATION_PER_CLASS = 1000, 500
HELP = (
    "Download t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from "
    f"https://github.com/zalandoresearch/fashion-mnist (data/fashion) into one folder, then set {ENV_VAR} to that folder."
)


class FashionDataError(RuntimeError):
    """The Fashion-MNIST files are missing, partial or corrupt; the message says which file and what to do."""


def _find(stem: str) -> Path | None:
    roots = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    for root in roots + [DATA_DIR]:
        for candidate in (root / f"{stem}.gz", root / stem, root / "FashionMNIST" / "raw" / stem):
            if candidate.exists():
                return candidate
    if os.environ.get(ENV_VAR):
        raise FashionDataError(f"{ENV_VAR}={os.environ[ENV_VAR]} holds no {stem}.gz. {HELP}")
    return None


def _download() -> None:
    from torchvision.datasets import FashionMNIST

    try:
        FashionMNIST(str(DATA_DIR), train=False, download=True)
    except Exception as error:
        raise FashionDataError(f"Fashion-MNIST is not on this machine and downloading it failed ({error}). {HELP}") from error


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """The array of an IDX file (plain or gzipped), its header checked."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise FashionDataError(f"Cannot read {path} ({error}). The file is corrupt or partial: {HELP}") from error
    dims = raw[3] if len(raw) >= 4 else 0
    header = np.frombuffer(raw[: 4 + 4 * dims], dtype=">u4") if len(raw) >= 4 + 4 * dims else np.zeros(1)
    shape = tuple(int(n) for n in header[1:])
    if header[0] != magic or len(raw) != 4 + 4 * dims + int(np.prod(shape)):
        raise FashionDataError(f"{path} is not a complete IDX file of the Fashion-MNIST test set. {HELP}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


@lru_cache(maxsize=1)
def load_fashion_mnist() -> torch.Tensor:
    """The 10,000 test images as a class pool: uint8 [10, 1000, 28, 28], bright object on a dark background."""
    if _find(FILES["images"][0]) is None or _find(FILES["labels"][0]) is None:
        _download()
    images, labels = (_read_idx(_find(stem), magic) for stem, magic in FILES.values())
    counts = np.bincount(labels, minlength=len(CLASSES))
    if images.shape != (len(labels), 28, 28) or labels.max() >= len(CLASSES) or (counts != PER_CLASS).any():
        raise FashionDataError(f"The Fashion-MNIST test set should hold {PER_CLASS} images of each of 10 classes. {HELP}")
    order = np.argsort(labels, kind="stable")
    return torch.from_numpy(images[order].copy()).view(len(CLASSES), PER_CLASS, 28, 28)


def fashion_splits() -> dict:
    """{'val': [10, 500, 28, 28], 'test': [10, 500, 28, 28]}: each class's images cut in two, in file order."""
    pool = load_fashion_mnist()
    return {"val": pool[:, :VALIDATION_PER_CLASS], "test": pool[:, VALIDATION_PER_CLASS:]}
