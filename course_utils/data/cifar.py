"""CIFAR-10: 60,000 colour images, 32x32, ten classes (Krizhevsky, 2009).

Where it comes from, in order:
1. the offline mirror ``$COURSE_DATA_DIR``, holding any of
   ``cifar10-jpeg.tar.gz`` (the course machines' JPEG archive, ImageFolder layout
   ``cifar10-jpeg/{train,test}/<class>/NNNN.jpg``), the same tree extracted as
   ``cifar10-jpeg/``, or torchvision's original ``cifar-10-batches-py/``;
2. torchvision's download into the cache folder (needs the internet);
3. otherwise :class:`DatasetNotFoundError`, saying which variable to set.

The JPEG mirror is decoded **once** (about 15 s for all 60,000 images on two
cores) into ``uint8`` tensors and cached as ``.pt`` files in the cache folder;
later loads take well under a second. The cache is keyed by the archive's size
and modification time, so a changed mirror is decoded again.

Note: the JPEG copy is re-compressed, so its pixels differ slightly from the
original binary release (e.g. the training set's per-channel std is about
0.245 instead of 0.247). Results measured on it say so.
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ._paths import DATA_DIR_ENV, cache_dir, data_dir, download_or_fail
from .dataset import DatasetNotFoundError, ImageDataset

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
"""Class names in label order (torchvision's order = sorted folder names)."""

SPLITS = ("train", "test")
_ARCHIVE = "cifar10-jpeg.tar.gz"
_TREE = "cifar10-jpeg"
_CACHE_VERSION = 1  # bump when the cached format changes


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} for CIFAR-10; valid splits: {SPLITS}")


def _parse_member(name: str) -> tuple[str, str, str] | None:
    """``'cifar10-jpeg/train/cat/0042.jpg'`` -> ``('train', 'cat', '0042')``; None otherwise."""
    parts = Path(name).parts
    if len(parts) < 4 or not parts[-1].lower().endswith((".jpg", ".jpeg", ".png")):
        return None
    split, cls, fname = parts[-3], parts[-2], parts[-1]
    if split not in SPLITS:
        return None
    return split, cls, Path(fname).stem


def _iter_archive(path: Path) -> Iterator[tuple[str, str, str, bytes]]:
    with tarfile.open(path, mode="r:*") as tar:  # streamed in one pass
        for member in tar:
            if not member.isfile():
                continue
            key = _parse_member(member.name)
            if key is None:
                continue
            f = tar.extractfile(member)
            assert f is not None  # a regular file always has a stream
            yield (*key, f.read())


def _iter_tree(root: Path) -> Iterator[tuple[str, str, str, bytes]]:
    for file in sorted(root.rglob("*")):
        if file.is_file():
            key = _parse_member(str(file.relative_to(root.parent)))
            if key is not None:
                yield (*key, file.read_bytes())


def _sort_key(stem: str) -> tuple[int, int | str]:
    return (0, int(stem)) if stem.isdigit() else (1, stem)


def decode_image_folder(items: Iterator[tuple[str, str, str, bytes]]) -> dict[str, dict[str, torch.Tensor]]:
    """Decode ``(split, class, stem, encoded bytes)`` records into uint8 tensors.

    Images are ordered by class (in :data:`CIFAR10_CLASSES` order), then by file
    number, so the order is the same on every machine.

    Returns:
        ``{split: {"images": Tensor[N, 3, 32, 32] uint8, "labels": Tensor[N] int64}}``.

    Raises:
        ValueError: a class folder that CIFAR-10 does not have, or an image that is
            not 32x32.
    """
    index = {c: i for i, c in enumerate(CIFAR10_CLASSES)}
    records: dict[str, list[tuple[int, tuple[int, int | str], np.ndarray]]] = {s: [] for s in SPLITS}
    for split, cls, stem, data in items:
        if cls not in index:
            raise ValueError(f"unexpected class folder {cls!r} in the CIFAR-10 mirror; expected {CIFAR10_CLASSES}")
        try:
            with Image.open(io.BytesIO(data)) as im:
                arr = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
        except (OSError, SyntaxError, ValueError) as err:  # not an image, or a damaged one
            raise ValueError(f"{split}/{cls}/{stem}: not a readable image ({err})") from err
        if arr.shape != (32, 32, 3):
            raise ValueError(f"{split}/{cls}/{stem}: expected a 32x32 RGB image, got shape {arr.shape}")
        records[split].append((index[cls], _sort_key(stem), arr))
    out = {}
    for split, recs in records.items():
        recs.sort(key=lambda r: (r[0], r[1]))
        if recs:
            images = torch.from_numpy(np.stack([r[2] for r in recs])).permute(0, 3, 1, 2).contiguous()
            labels = torch.tensor([r[0] for r in recs], dtype=torch.int64)
        else:
            images = torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
            labels = torch.zeros(0, dtype=torch.int64)
        out[split] = {"images": images, "labels": labels}  # images: (N, 3, 32, 32)
    return out


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"v{_CACHE_VERSION}:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _load_jpeg_mirror(source: Path, split: str) -> ImageDataset:
    """Decode (once) and cache the JPEG mirror; return one split."""
    folder = cache_dir("cifar10")
    fingerprint = _fingerprint(source)
    cached = folder / f"cifar10-jpeg-{split}.pt"
    if cached.is_file():
        try:
            blob = torch.load(cached, weights_only=True)
            if blob.get("fingerprint") == fingerprint:
                return ImageDataset(blob["images"], blob["labels"], CIFAR10_CLASSES, "cifar10", split, str(source))
        except Exception:  # a damaged cache file (a killed writer): decode the mirror again
            cached.unlink(missing_ok=True)
    items = _iter_archive(source) if source.is_file() else _iter_tree(source)
    try:
        decoded = decode_image_folder(items)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ValueError(f"{source} is not a readable CIFAR-10 mirror: expected a tar.gz of "
                         f"<split>/<class>/<n>.jpg files ({type(err).__name__}: {err})") from err
    for s, tensors in decoded.items():  # cache both splits: the archive is read in one pass
        _atomic_save({"fingerprint": fingerprint, **tensors}, folder / f"cifar10-jpeg-{s}.pt")
    t = decoded[split]
    if len(t["labels"]) == 0:
        raise DatasetNotFoundError(f"the CIFAR-10 mirror {source} holds no {split!r} images")
    return ImageDataset(t["images"], t["labels"], CIFAR10_CLASSES, "cifar10", split, str(source))


def _from_torchvision(root: Path, split: str, download: bool) -> ImageDataset:
    from torchvision import datasets  # imported lazily: keeps `import course_utils` light

    ds = datasets.CIFAR10(str(root), train=split == "train", download=download)
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # (N, 32, 32, 3) -> (N, 3, 32, 32)
    labels = torch.tensor(ds.targets, dtype=torch.int64)
    source = "download" if download else str(root / "cifar-10-batches-py")
    return ImageDataset(images, labels, tuple(ds.classes), "cifar10", split, source)


def load_cifar10(split: str = "train", *, download: bool = True) -> ImageDataset:
    """Load CIFAR-10's ``"train"`` (50,000) or ``"test"`` (10,000) split.

    Returns:
        An :class:`ImageDataset` with ``images`` ``Tensor[N, 3, 32, 32]`` uint8 and
        ``classes`` = :data:`CIFAR10_CLASSES`.

    Raises:
        ValueError: unknown split, or a malformed mirror.
        DatasetNotFoundError: not in the mirror and the download failed or was disabled.
    """
    _check_split(split)
    tried: list[str] = []
    mirror = data_dir()
    if mirror is not None:
        if (mirror / "cifar-10-batches-py").is_dir():
            try:
                return _from_torchvision(mirror, split, download=False)
            except (RuntimeError, ValueError, OSError, EOFError, KeyError) as err:  # torchvision's own errors
                raise ValueError(f"{mirror / 'cifar-10-batches-py'} is not a readable CIFAR-10 python version "
                                 f"({type(err).__name__}: {err})") from err
        for candidate in (mirror / _TREE, mirror / _ARCHIVE):
            if candidate.exists():
                return _load_jpeg_mirror(candidate, split)
        tried.append(f"{DATA_DIR_ENV}={mirror} has no {_ARCHIVE}, {_TREE}/ or cifar-10-batches-py/")
    else:
        tried.append(f"{DATA_DIR_ENV} is not set")
    return download_or_fail(
        "CIFAR-10", split, tried, download, lambda root: _from_torchvision(root, split, download=True), f"{_ARCHIVE}"
    )


__all__ = ["CIFAR10_CLASSES", "decode_image_folder", "load_cifar10"]
