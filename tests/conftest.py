"""Shared fixtures: a tiny fake data mirror with known pixel values, and an isolated cache."""

from __future__ import annotations

import io
import os
import struct
import tarfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")  # tests never open windows

ROOT = Path(__file__).resolve().parents[1]
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache folder and no mirror unless it asks for one."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def write_idx_images(path: Path, images: np.ndarray) -> None:
    """MNIST's IDX format: magic 2051, count, rows, cols (big-endian int32), then uint8 pixels."""
    n, h, w = images.shape
    path.write_bytes(struct.pack(">iiii", 2051, n, h, w) + images.astype(np.uint8).tobytes())


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    path.write_bytes(struct.pack(">ii", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def mnist_pixels(n: int, offset: int) -> np.ndarray:
    """Image i is filled with the value offset + i, so every pixel is known."""
    return np.stack([np.full((28, 28), offset + i, dtype=np.uint8) for i in range(n)])


def cifar_pixels(split: str, cls: int, number: int) -> np.ndarray:
    """A 32x32 RGB image with known pixels: red is cls*20 + number everywhere, green is the split's
    code (100 train, 200 test) plus the column, blue is 7 plus the row (so no channel is constant)."""
    img = np.empty((32, 32, 3), dtype=np.uint8)
    img[..., 0] = cls * 20 + number
    img[..., 1] = (100 if split == "train" else 200) + np.arange(32)[None, :]
    img[..., 2] = 7 + np.arange(32)[:, None]
    return img


def _encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def make_cifar_archive(path: Path, *, numbers=(2, 10), test_numbers=(1,), fmt="PNG", extra: dict | None = None) -> None:
    """A tar.gz in the mirror's layout, cifar10-jpeg/{split}/{class}/{NNNN}.png, lossless by default."""
    suffix = "png" if fmt == "PNG" else "jpg"
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for split, nums in (("train", numbers), ("test", test_numbers)):
            for c, cls in enumerate(CIFAR_CLASSES):
                for k in nums:
                    add(f"cifar10-jpeg/{split}/{cls}/{k:04d}.{suffix}", _encode(cifar_pixels(split, c, k), fmt))
        for name, data in (extra or {}).items():
            add(name, data)


@pytest.fixture
def fake_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mirror folder with 3 train / 2 test MNIST digits and 2 train / 1 test CIFAR images per class."""
    mirror = tmp_path / "mirror"
    raw = mirror / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx_images(raw / "train-images-idx3-ubyte", mnist_pixels(3, 10))
    write_idx_labels(raw / "train-labels-idx1-ubyte", np.array([5, 0, 4]))
    write_idx_images(raw / "t10k-images-idx3-ubyte", mnist_pixels(2, 50))
    write_idx_labels(raw / "t10k-labels-idx1-ubyte", np.array([7, 2]))
    make_cifar_archive(mirror / "cifar10-jpeg.tar.gz")
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror))
    return mirror


# Read before the autouse fixture clears it: CI and `make test` point it at ../shared/data.
_OUTER_DATA_DIR = os.environ.get("COURSE_DATA_DIR")
_OUTER_CACHE_DIR = os.environ.get("COURSE_CACHE_DIR")


@pytest.fixture
def real_mirror(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real offline mirror, when the run was given one (CI always is)."""
    if not _OUTER_DATA_DIR or not Path(_OUTER_DATA_DIR).is_dir():
        pytest.skip("no offline data mirror: set COURSE_DATA_DIR to run the real-data tests")
    monkeypatch.setenv("COURSE_DATA_DIR", _OUTER_DATA_DIR)
    # the real decoded cache, shared with the notebooks, so CIFAR-10 is decoded once per machine
    if _OUTER_CACHE_DIR:
        monkeypatch.setenv("COURSE_CACHE_DIR", _OUTER_CACHE_DIR)
    else:
        monkeypatch.delenv("COURSE_CACHE_DIR", raising=False)
    return Path(_OUTER_DATA_DIR)


def cifar_meta(**overrides):
    """A CheckpointMeta for a small FastCifarNet (overrides replace fields)."""
    from course_utils.checkpoint import CheckpointMeta

    base = dict(arch="fast_cifar", config={"widths": [16, 32, 64], "stem": 8}, mean=(0.49, 0.48, 0.45),
                std=(0.25, 0.24, 0.26), classes=CIFAR_CLASSES, input_size=(3, 32, 32),
                metrics={"test_accuracy": 0.5}, profile="cpu", data_source="test")
    return CheckpointMeta(**{**base, **overrides})


@pytest.fixture
def cifar_checkpoint(tmp_path) -> Path:
    """A saved small FastCifarNet (seed 0) with :func:`cifar_meta`."""
    import torch

    from course_utils.checkpoint import save_checkpoint
    from course_utils.models import FastCifarNet

    torch.manual_seed(0)
    model = FastCifarNet(widths=(16, 32, 64), stem=8)
    return save_checkpoint(tmp_path / "ckpt" / "model.pt", model, cifar_meta())

