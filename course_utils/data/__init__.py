"""Datasets of the course, offline first.

Environment variables (documented in the README and the introduction):

* ``COURSE_DATA_DIR`` -- an offline mirror folder (MNIST/raw, cifar10-jpeg.tar.gz).
* ``COURSE_CACHE_DIR`` -- where downloads and decoded tensors are cached.

>>> from course_utils.data import load_dataset
>>> train = load_dataset("cifar10", "train")      # doctest: +SKIP
>>> train.images.shape, train.classes[:2]          # doctest: +SKIP
(torch.Size([50000, 3, 32, 32]), ('airplane', 'automobile'))
"""

from __future__ import annotations

from collections.abc import Callable

from ._paths import CACHE_DIR_ENV, DATA_DIR_ENV, cache_dir, data_dir
from .cifar import CIFAR10_CLASSES, load_cifar10
from .dataset import DatasetNotFoundError, ImageDataset
from .loader import BatchLoader
from .mnist import MNIST_CLASSES, MNIST_MEAN, MNIST_STD, load_mnist
from .normalize import channel_mean_std, denormalize, normalize

DATASETS: dict[str, Callable[..., ImageDataset]] = {
    "mnist": load_mnist,
    "cifar10": load_cifar10,
}
SPLITS = ("train", "test")


def load_dataset(name: str, split: str = "train", *, download: bool = True) -> ImageDataset:
    """Load a dataset by name: ``"mnist"`` or ``"cifar10"`` (``"CIFAR-10"`` works too).

    Raises:
        ValueError: unknown name or split (the message lists the valid ones).
        DatasetNotFoundError: neither in the offline mirror nor downloadable.
    """
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {tuple(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits: {SPLITS}")
    return DATASETS[key](split, download=download)


__all__ = [
    "BatchLoader",
    "CACHE_DIR_ENV",
    "CIFAR10_CLASSES",
    "DATASETS",
    "DATA_DIR_ENV",
    "DatasetNotFoundError",
    "ImageDataset",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "SPLITS",
    "cache_dir",
    "channel_mean_std",
    "data_dir",
    "denormalize",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "normalize",
]
