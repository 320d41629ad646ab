"""MNIST: 70,000 handwritten digits, 28x28 grayscale (LeCun et al., 1998).

Where it comes from, in order:
1. the offline mirror ``$COURSE_DATA_DIR/MNIST/raw/*-ubyte`` (torchvision's layout);
2. torchvision's download into the cache folder (needs the internet);
3. otherwise :class:`DatasetNotFoundError`, saying which variable to set.
"""

from __future__ import annotations

from pathlib import Path

from ._paths import DATA_DIR_ENV, data_dir, download_or_fail
from .dataset import ImageDataset

MNIST_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
"""The training set's per-channel mean and std of pixel values in [0, 1] (chapter 1 computes them)."""
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _check_split(split: str) -> None:
    if split not in _FILES:
        raise ValueError(f"unknown split {split!r} for MNIST; valid splits: {tuple(_FILES)}")


def _from_torchvision(root: Path, split: str, download: bool) -> ImageDataset:
    from torchvision import datasets  # imported lazily: keeps `import course_utils` light

    ds = datasets.MNIST(str(root), train=split == "train", download=download)
    images = ds.data.unsqueeze(1).contiguous()  # (N, 28, 28) -> (N, 1, 28, 28)
    source = str(root) if not download else "download"
    return ImageDataset(images, ds.targets.long(), MNIST_CLASSES, "mnist", split, source)


def load_mnist(split: str = "train", *, download: bool = True) -> ImageDataset:
    """Load MNIST's ``"train"`` (60,000) or ``"test"`` (10,000) split.

    Returns:
        An :class:`ImageDataset` with ``images`` ``Tensor[N, 1, 28, 28]`` uint8 and
        ``classes`` ``("0", ..., "9")``.

    Raises:
        ValueError: unknown split, or mirror files that are not MNIST's IDX files.
        DatasetNotFoundError: not in the mirror and the download failed or was disabled.
    """
    _check_split(split)
    tried: list[str] = []
    mirror = data_dir()
    if mirror is not None:
        raw = mirror / "MNIST" / "raw"
        if all((raw / f).is_file() for f in _FILES[split]):
            try:
                return _from_torchvision(mirror, split, download=False)
            except (AssertionError, RuntimeError, ValueError, OSError, IndexError) as err:  # torchvision's reader
                raise ValueError(f"{raw / _FILES[split][0]} (or its labels) is not a readable MNIST IDX file: "
                                 f"expected torchvision's MNIST/raw layout ({type(err).__name__}: {err})") from err
        tried.append(f"{DATA_DIR_ENV}={mirror} has no MNIST/raw/{_FILES[split][0]}")
    else:
        tried.append(f"{DATA_DIR_ENV} is not set")
    return download_or_fail(
        "MNIST", split, tried, download, lambda root: _from_torchvision(root, split, download=True), "MNIST/raw/*-ubyte"
    )


__all__ = ["MNIST_CLASSES", "MNIST_MEAN", "MNIST_STD", "load_mnist"]
