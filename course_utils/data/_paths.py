"""Where the course finds offline data and where it caches decoded tensors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .dataset import DatasetNotFoundError

T = TypeVar("T")

DATA_DIR_ENV = "COURSE_DATA_DIR"
"""Environment variable naming an offline mirror folder.

It may hold ``MNIST/raw/*-ubyte`` (torchvision's MNIST layout) and CIFAR-10 as
``cifar10-jpeg.tar.gz``, an extracted ``cifar10-jpeg/`` ImageFolder tree, or
torchvision's original ``cifar-10-batches-py/``. On the course's CI machines it
is ``../shared/data``.
"""

CACHE_DIR_ENV = "COURSE_CACHE_DIR"
"""Environment variable for the cache folder (downloads, decoded tensors).

Default: ``$XDG_CACHE_HOME/course_utils`` or ``~/.cache/course_utils``.
"""


def data_dir() -> Path | None:
    """The offline mirror folder from ``COURSE_DATA_DIR``, or None when unset.

    Raises:
        FileNotFoundError: the variable is set but names no existing folder.
    """
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{DATA_DIR_ENV}={raw!r} is not a folder; point it at the offline data mirror "
            f"(the folder that holds MNIST/ and cifar10-jpeg.tar.gz) or unset it to download"
        )
    return path


def cache_dir(*parts: str) -> Path:
    """The cache folder (created on demand), optionally a sub-folder of it."""
    raw = os.environ.get(CACHE_DIR_ENV, "").strip()
    if raw:
        root = Path(raw).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "course_utils"
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_or_fail(
    name: str,
    split: str,
    tried: list[str],
    download: bool,
    fetch: Callable[[Path], T],
    expected: str,
) -> T:
    """The loaders' last resort: ``fetch(cache_dir("torchvision"))`` when downloads are allowed, else fail.

    Args:
        name, split: for the message, e.g. ``"MNIST"``, ``"train"``.
        tried: what was already tried and why it did not work (extended here).
        fetch: downloads into the given folder and returns the dataset.
        expected: what the mirror folder should hold, for the message.

    Raises:
        DatasetNotFoundError: the download was disabled or failed; the message lists
            every attempt and names ``COURSE_DATA_DIR``.
    """
    if download:
        root = cache_dir("torchvision")
        try:
            return fetch(root)
        except Exception as err:  # network errors come in many types
            tried.append(f"download into {root} failed ({type(err).__name__}: {err})")
    else:
        tried.append("download=False")
    raise DatasetNotFoundError(
        f"{name} ({split}) not found: " + "; ".join(tried) + ". "
        f"Set {DATA_DIR_ENV} to a folder holding {expected} (on the course machines: "
        f"../shared/data), or run where the internet is reachable."
    )
