import io
import zipfile

import pytest
import torch
from PIL import Image

from common import omniglot
from common.omniglot import OmniglotDataError, load_lake_runs, load_omniglot, omniglot_splits


@pytest.fixture(scope="module")
def data():
    return load_omniglot()


def test_counts_and_format(data):
    assert data.images.shape == (1623, 20, 28, 28) and data.images.dtype == torch.uint8
    assert data.background.sum() == 964 and (~data.background).sum() == 659
    assert data.images.float().mean() < 64, "strokes should be bright on a dark background"


def test_splits_share_no_character_rotations_included(data):
    splits = omniglot_splits(data)
    characters = {name: set(split.character.tolist()) for name, split in splits.items()}
    assert not characters["train"] & characters["val"]
    assert not characters["train"] & characters["test"]
    assert not characters["val"] & characters["test"]
    assert len(characters["test"]) == 659 and len(splits["test"]) == 659
    assert len(characters["train"]) + len(characters["val"]) == 964
    assert len(splits["train"]) == 4 * len(characters["train"]) and set(splits["train"].rotation.tolist()) == {0, 1, 2, 3}


def test_rotated_class_is_the_turned_character(data):
    train = omniglot_splits(data)["train"]
    quarter = (train.rotation == 1).nonzero()[0, 0]
    upright = ((train.character == train.character[quarter]) & (train.rotation == 0)).nonzero()[0, 0]
    assert torch.equal(train.images[quarter], torch.rot90(train.images[upright], 1, dims=(1, 2)))


def test_lake_runs():
    runs = load_lake_runs()
    assert len(runs) == 20
    assert runs[0].support_x.shape == (20, 1, 28, 28) and sorted(runs[0].query_y.tolist()) == list(range(20))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (105, 105), 1).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(path, characters: int, drawings: int = 20, corrupt: bool = False):
    with zipfile.ZipFile(path, "w") as archive:
        for c in range(characters):
            for d in range(drawings):
                data = b"not a png" if corrupt and c == d == 0 else _png()
                archive.writestr(f"images_background/Alphabet/character{c:02d}/{c:04d}_{d:02d}.png", data)


def test_partial_zip_names_the_file(tmp_path):
    _zip(tmp_path / "images_background.zip", characters=3)
    with pytest.raises(OmniglotDataError, match=r"images_background\.zip holds 3 characters.*OMNIGLOT_DIR"):
        omniglot._read_set(tmp_path / "images_background.zip", "images_background")


def test_corrupt_image_and_zip_give_clear_errors(tmp_path):
    with pytest.raises(OmniglotDataError, match="corrupt"):
        omniglot._to_28(b"not a png", "images_background.zip:Alphabet/character00")
    (tmp_path / "images_background.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(OmniglotDataError, match=r"images_background\.zip.*corrupt"):
        omniglot._read_set(tmp_path / "images_background.zip", "images_background")


def test_missing_data_says_what_to_do_and_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIGLOT_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(omniglot, "DATA_DIR", tmp_path / "cache")
    with pytest.raises(OmniglotDataError, match="OMNIGLOT_DIR=.*holds no images_background"):
        load_omniglot(tmp_path / "cache" / "omniglot28.pt")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_no_network_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OMNIGLOT_DIR", raising=False)
    monkeypatch.setattr(omniglot, "DATA_DIR", tmp_path)

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("torchvision.datasets.Omniglot.download", offline)
    with pytest.raises(OmniglotDataError, match="downloading images_background failed.*Name or service"):
        load_omniglot(tmp_path / "omniglot28.pt")
    assert not (tmp_path / "omniglot28.pt").exists()


def test_vinyals_split_counts_rotations_and_no_leak_into_the_course(data):
    from common.omniglot import vinyals_splits

    paper, course = vinyals_splits(data), omniglot_splits(data)
    assert {name: len(pool) for name, pool in paper.items()} == {"train": 4112, "val": 688, "test": 1692}
    assert {name: len(set(pool.character.tolist())) for name, pool in paper.items()} == {"train": 1028, "val": 172, "test": 423}
    assert not data.background[paper["test"].character].any(), "every test character is an evaluation-set character"
    assert not set(paper["test"].character.tolist()) & set(course["train"].character.tolist())
    assert not set(paper["train"].character.tolist()) & set(paper["test"].character.tolist())
    turned = ((paper["test"].character == paper["test"].character[0]) & (paper["test"].rotation == 1)).nonzero()[0, 0]
    assert torch.equal(paper["test"].images[turned], torch.rot90(data.images[paper["test"].character[0]], 1, dims=(1, 2)))


def test_unknown_protocol_names_the_choices():
    from common.omniglot import protocol_splits

    with pytest.raises(ValueError, match="'course' or 'paper'"):
        protocol_splits("vinyals")


def test_broken_deflate_stream_gives_the_clear_error(tmp_path):
    path = tmp_path / "images_background.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images_background/Alphabet/character00/0000_00.png", _png() * 50)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"0000_00.png") + len(b"0000_00.png")
    raw[start + 10 : start + 40] = b"\xff" * 30  # corrupt the compressed bytes, not the headers
    path.write_bytes(bytes(raw))
    with pytest.raises(OmniglotDataError, match=r"images_background\.zip.*corrupt"):
        omniglot._read_set(path, "images_background")


def test_crop_loads_like_closer_look_larger_characters_without_the_border():
    """Closer Look resizes to 32x32 and keeps the centre 28x28: a stroke along the border is cut off, and a
    centred square comes out about 32/28 times as wide."""
    drawing = Image.new("L", (105, 105), 255)
    drawing.paste(0, (0, 0, 4, 105))  # a stroke along the left border
    drawing.paste(0, (31, 31, 74, 74))  # a centred square, 43 pixels wide
    png = io.BytesIO()
    drawing.save(png, format="PNG")
    whole, cropped = omniglot._to_28(png.getvalue(), "test"), omniglot._to_28(png.getvalue(), "test", crop=True)
    assert whole.shape == cropped.shape == (28, 28)
    assert whole[:, 0].min() > 128 and cropped[:, 0].max() == 0
    widths = [image[14].sum() / 255 for image in (whole, cropped)]  # ink across the middle row, in pixels
    assert abs(widths[1] - 43 * 32 / 105) < 0.3 and widths[0] < widths[1], f"square widths {widths} (whole, cropped)"
