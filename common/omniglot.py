"""Omniglot (Lake et al., 2015) at 28x28, offline first, plus the course's one split protocol.

Where the images come from, in order:
1. the processed cache `data/omniglot28.pt` in the project (made on first use, loads in about a second;
   `data/omniglot28_crop.pt` for the images cropped the way Closer Look loads them);
2. the folder named by the environment variable ``OMNIGLOT_DIR``: the official zips
   (`images_background.zip`, `images_evaluation.zip`) or the folders torchvision extracts;
3. the project's `data/` folder, where a torchvision download lands;
4. a download with torchvision from the dataset's public source.
"""

import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CACHE_FILE = DATA_DIR / "omniglot28.pt"
CROP_CACHE_FILE = DATA_DIR / "omniglot28_crop.pt"
ENV_VAR = "OMNIGLOT_DIR"
IMAGE_SIZE = 28
SETS = {"images_background": 964, "images_evaluation": 659}  # characters per official set
DRAWINGS = 20
LAKE_RUNS_URL = "https://github.com/brendenlake/omniglot/raw/master/python/one-shot-classification/all_runs.zip"
HELP = (
    f"Download images_background.zip and images_evaluation.zip (and all_runs.zip for Lake's runs) from "
    f"https://github.com/brendenlake/omniglot/tree/master/python into one folder, then set {ENV_VAR} to that folder."
)

# Meta-validation: a fixed subset of the 30 background alphabets, used for model selection only.
VALIDATION_ALPHABETS = ("Bengali", "Futurama", "Hebrew", "Korean", "Tifinagh")


class OmniglotDataError(RuntimeError):
    """The Omniglot files are missing, partial or corrupt; the message says which file and what to do."""


@dataclass
class Omniglot:
    """All 1,623 characters: `images` uint8 [1623, 20, 28, 28], strokes bright (255) on black (0).

    The first 964 characters are the background set, the last 659 the evaluation set.
    """

    images: torch.Tensor
    alphabets: list  # alphabet name of each character
    characters: list  # character folder name of each character
    background: torch.Tensor  # bool [1623]: True for the background set


def _to_28(png_bytes: bytes, name: str, crop: bool = False) -> np.ndarray:
    """Decode one 105x105 Omniglot PNG to 28x28, strokes bright: the whole drawing resized (the course), or with
    `crop` the way Closer Look loads it: resized to 32x32 (bilinear), then its centre 28x28 kept."""
    try:
        image = Image.open(io.BytesIO(png_bytes)).convert("L")
    except Exception as error:
        raise OmniglotDataError(f"Cannot decode {name} ({error}). The file is corrupt: {HELP}") from error
    if crop:
        image = image.resize((32, 32), Image.Resampling.BILINEAR).crop((2, 2, 30, 30))
    else:
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return 255 - np.asarray(image, dtype=np.uint8)


def _read_set(source: Path, set_name: str) -> dict:
    """{(alphabet, character): [png bytes...]} from a zip or an extracted folder."""
    characters = {}
    if source.suffix == ".zip":
        try:
            with zipfile.ZipFile(source) as archive:
                for member in archive.namelist():
                    parts = member.split("/")
                    if member.endswith(".png") and len(parts) >= 4:
                        characters.setdefault((parts[-3], parts[-2]), []).append((parts[-1], archive.read(member)))
        except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as error:
            raise OmniglotDataError(f"Cannot read {source} ({error}). The zip is corrupt or partial: {HELP}") from error
    else:
        for png in source.glob("*/*/*.png"):
            characters.setdefault((png.parent.parent.name, png.parent.name), []).append((png.name, png.read_bytes()))
    expected = SETS[set_name]
    complete = {key: sorted(files) for key, files in characters.items() if len(files) == DRAWINGS}
    if len(characters) != expected or len(complete) != expected:
        raise OmniglotDataError(
            f"{source} holds {len(characters)} characters ({len(complete)} with {DRAWINGS} drawings); "
            f"{set_name} should hold {expected} with {DRAWINGS} drawings each. The file is partial: {HELP}"
        )
    return {key: [data for _, data in complete[key]] for key in sorted(complete)}


def _find_set(set_name: str) -> Path | None:
    """The zip or folder holding one official set, looked for in OMNIGLOT_DIR then in data/."""
    roots = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    roots.append(DATA_DIR)
    for root in roots:
        for candidate in (root / f"{set_name}.zip", root / set_name, root / "omniglot-py" / set_name):
            if candidate.exists():
                return candidate
    if os.environ.get(ENV_VAR):
        raise OmniglotDataError(f"{ENV_VAR}={os.environ[ENV_VAR]} holds no {set_name}.zip or {set_name}/ folder. {HELP}")
    return None


def _download_set(set_name: str) -> Path:
    """Download one official set with torchvision into data/; a clear error when there is no network."""
    from torchvision.datasets import Omniglot as TorchvisionOmniglot

    try:
        TorchvisionOmniglot(str(DATA_DIR), background=set_name == "images_background", download=True)
    except Exception as error:
        raise OmniglotDataError(f"Omniglot is not on this machine and downloading {set_name} failed ({error}). {HELP}") from error
    return DATA_DIR / "omniglot-py" / set_name


def _atomic_save(obj, path: Path) -> None:
    """Write to a temporary file, then rename, so that no half-written file is ever left at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def _build_cache(crop: bool = False) -> dict:
    images, alphabets, characters, background = [], [], [], []
    for set_name in SETS:
        source = _find_set(set_name) or _download_set(set_name)
        for (alphabet, character), pngs in _read_set(source, set_name).items():
            images.append(np.stack([_to_28(png, f"{source}:{alphabet}/{character}", crop) for png in pngs]))
            alphabets.append(alphabet)
            characters.append(character)
            background.append(set_name == "images_background")
    return {
        "images": torch.from_numpy(np.stack(images)),
        "alphabets": alphabets,
        "characters": characters,
        "background": torch.tensor(background),
    }


def load_omniglot(cache_file: Path | None = None, crop: bool = False) -> Omniglot:
    """Load all of Omniglot at 28x28, building the cache on first use (about 10 s), then from the cache.
    `crop`: the images as Closer Look loads them (see `_to_28`), in their own cache."""
    cache_file = cache_file or (CROP_CACHE_FILE if crop else CACHE_FILE)
    if cache_file.exists():
        try:
            cached = torch.load(cache_file, weights_only=True)
            if cached["images"].shape == (sum(SETS.values()), DRAWINGS, IMAGE_SIZE, IMAGE_SIZE):
                return Omniglot(**cached)
        except Exception:
            pass  # an unreadable or outdated cache is rebuilt below
    cached = _build_cache(crop)
    _atomic_save(cached, cache_file)
    return Omniglot(**cached)


@dataclass
class Split:
    """A pool of classes: `images` uint8 [n_classes, 20, 28, 28]; `character` and `rotation` (0-3, quarter turns) per class."""

    images: torch.Tensor
    character: torch.Tensor
    rotation: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)


def _pool(data: Omniglot, keep: torch.Tensor, rotations: bool) -> Split:
    index = keep.nonzero().squeeze(1)
    turns = range(4) if rotations else range(1)
    images = torch.cat([torch.rot90(data.images[index], k, dims=(2, 3)) for k in turns])
    character = index.repeat(len(turns))
    rotation = torch.arange(len(turns)).repeat_interleave(len(index))
    return Split(images, character, rotation)


def omniglot_splits(data: Omniglot | None = None, rotate_train: bool = True) -> dict:
    """The course's protocol: {'train', 'val', 'test'} class pools.

    train = background alphabets minus VALIDATION_ALPHABETS (each rotated by 0/90/180/270 degrees into 4 classes
    when `rotate_train`); val = VALIDATION_ALPHABETS, unrotated; test = all 659 evaluation characters, unrotated.
    """
    data = data or load_omniglot()
    in_val = torch.tensor([alphabet in VALIDATION_ALPHABETS for alphabet in data.alphabets])
    return {
        "train": _pool(data, data.background & ~in_val, rotate_train),
        "val": _pool(data, data.background & in_val, False),
        "test": _pool(data, ~data.background, False),
    }


VINYALS_DIR = Path(__file__).resolve().parent / "splits" / "vinyals"


def _class_list_pool(data: Omniglot, lines: list) -> Split:
    """A pool from lines `Alphabet/characterNN/rotDDD`: that character turned counter-clockwise by DDD degrees."""
    where = {(alphabet, character): i for i, (alphabet, character) in enumerate(zip(data.alphabets, data.characters))}
    character, rotation = [], []
    for line in lines:
        alphabet, name, turn = line.split("/")
        character.append(where[(alphabet, name)])
        rotation.append(int(turn.removeprefix("rot")) // 90)
    character, rotation = torch.tensor(character), torch.tensor(rotation)
    images = torch.stack([torch.rot90(data.images[c], int(k), dims=(1, 2)) for c, k in zip(character, rotation)])
    return Split(images, character, rotation)


def vinyals_splits(data: Omniglot | None = None) -> dict:
    """The papers' protocol (Vinyals et al., 2016; the split files of Snell et al. that Closer Look reads):
    {'train': 4,112 classes, 'val': 688, 'test': 1,692}, each a character in one of four rotations.

    Every test character is an evaluation-set character, so a model of the course's protocol (trained on
    background characters only) can be scored on the test classes without leakage; the train classes are not.
    """
    data = data or load_omniglot()
    return {name: _class_list_pool(data, (VINYALS_DIR / f"{name}.txt").read_text().split()) for name in ("train", "val", "test")}


def protocol_splits(protocol: str, data: Omniglot | None = None) -> dict:
    """{'train', 'val', 'test'} pools of one protocol: 'course' (`omniglot_splits`) or 'paper' (`vinyals_splits`)."""
    if protocol == "course":
        return omniglot_splits(data)
    if protocol == "paper":
        return vinyals_splits(data)
    raise ValueError(f"protocol={protocol!r}: choose 'course' or 'paper'.")


@dataclass
class LakeRun:
    """One of Lake's 20-way within-alphabet one-shot runs: 20 support images (one per class), 20 queries."""

    support_x: torch.Tensor  # float [20, 1, 28, 28]
    query_x: torch.Tensor  # float [20, 1, 28, 28]
    query_y: torch.Tensor  # long [20]: the index of each query's class among the support images


def _find_lake_runs() -> Path:
    roots = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    for root in roots + [DATA_DIR]:
        for name in ("one_shot_runs.zip", "all_runs.zip"):
            if (root / name).exists():
                return root / name
    from torchvision.datasets.utils import download_url

    try:
        download_url(LAKE_RUNS_URL, str(DATA_DIR), "all_runs.zip")
    except Exception as error:
        raise OmniglotDataError(f"Lake's one-shot runs are not on this machine and downloading them failed ({error}). {HELP}") from error
    return DATA_DIR / "all_runs.zip"


def load_lake_runs() -> list:
    """The 20 original 20-way one-shot runs of Lake et al. (2015), as 28x28 float images in [0, 1]."""
    path = _find_lake_runs()
    try:
        with zipfile.ZipFile(path) as archive:
            files = {match.group(0): name for name in archive.namelist() if (match := re.search(r"run\d\d/.+", name))}
            runs = []
            for number in range(1, 21):
                labels = archive.read(files[f"run{number:02d}/class_labels.txt"]).decode().split()
                pairs = list(zip(labels[::2], labels[1::2]))
                support_names = [f"run{number:02d}/training/class{c:02d}.png" for c in range(1, 21)]
                query_names = [query for query, _ in pairs]
                load = lambda names: torch.from_numpy(np.stack([_to_28(archive.read(files[n]), n) for n in names]))
                support_x, query_x = load(support_names), load(query_names)
                query_y = torch.tensor([support_names.index(match) for _, match in pairs])
                runs.append(LakeRun(support_x[:, None].float() / 255, query_x[:, None].float() / 255, query_y))
    except (zipfile.BadZipFile, KeyError, ValueError, zlib.error, EOFError) as error:
        raise OmniglotDataError(f"Cannot read Lake's runs from {path} ({error!r}). The zip is corrupt or partial: {HELP}") from error
    return runs
