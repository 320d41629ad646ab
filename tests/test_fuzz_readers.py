"""Fuzz the readers: truncated, byte-flipped and wrong-kind files load or raise the documented error.

Every reader of a file the course touches (an image for ``predict`` and the chat app, a checkpoint, the
CIFAR-10 archive, MNIST's IDX files, a WAV, COCO and LLaVA JSON) gets a small, fixed
corpus of mutations of a valid file: truncations, flipped bytes (a seeded generator) and
a header from another kind of file. Each must return a result or raise its documented
error, never something else, and never hang (an alarm stops a call after 20 s).
"""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cifar_meta
from PIL import Image

from course_utils.checkpoint import load_checkpoint, save_checkpoint
from course_utils.data import DatasetNotFoundError, load_dataset
from course_utils.models import FastCifarNet
from course_utils.predict import PredictError, read_image

N_FLIPS = 8  # flipped-byte variants per file
HEADERS = {"png": b"\x89PNG\r\n\x1a\n", "gzip": b"\x1f\x8b\x08\x00", "zip": b"PK\x03\x04", "json": b'{"a": [1, 2',
           "riff": b"RIFF\x00\x00\x00\x00WAVE"}


def mutations(data: bytes, seed: int = 0) -> list[tuple[str, bytes]]:
    """A fixed corpus: truncations, flipped bytes, foreign headers (about 20 variants)."""
    rng = random.Random(seed)
    out = [(f"truncated to {n} bytes", data[:n]) for n in sorted({0, 1, 8, len(data) // 10, len(data) // 2,
                                                                   len(data) - 1})]
    for k in range(N_FLIPS):
        mutable = bytearray(data)
        for _ in range(1 + k):
            mutable[rng.randrange(len(mutable))] ^= 1 << rng.randrange(8)
        out.append((f"{1 + k} flipped bytes", bytes(mutable)))
    out += [(f"a {name} header", header + data[len(header):]) for name, header in HEADERS.items()]
    return out


def fuzz(make_valid: Callable[[Path], Path], read: Callable[[Path], object], errors: tuple[type, ...],
         tmp_path: Path) -> dict[str, int]:
    """Run ``read`` on every mutation of the file ``make_valid`` writes; count the outcomes."""
    valid = make_valid(tmp_path / "valid")
    read(valid)  # the unmutated file loads
    counts = {"loaded": 0, "raised": 0}

    def alarm(*_):
        raise TimeoutError("a reader hung on a mutated file")

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        for i, (what, data) in enumerate(mutations(valid.read_bytes())):
            case = tmp_path / f"case{i}" / valid.name
            case.parent.mkdir(parents=True)
            case.write_bytes(data)
            signal.alarm(20)
            try:
                read(case)
                counts["loaded"] += 1
            except errors:
                counts["raised"] += 1
            except Exception as err:  # noqa: BLE001 -- the point: anything else is a bug
                pytest.fail(f"{what}: {type(err).__name__}: {err} (expected one of {[e.__name__ for e in errors]})")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert counts["raised"] > 0, "no mutation was refused: the corpus does not reach the reader's checks"
    return counts


def _png(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "photo.png"
    Image.fromarray(np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)).save(path)
    return path


def _checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(folder / "model.pt", FastCifarNet(widths=(8, 8, 8), stem=4),
                           cifar_meta(config={"widths": [8, 8, 8], "stem": 4}))


def _wav(folder: Path) -> Path:
    from course_utils.vlm.audio import write_wav

    folder.mkdir(parents=True)
    return write_wav(folder / "q.wav", (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16))


def _coco(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "captions.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
                                "annotations": [{"image_id": 1, "caption": "a cat"},
                                                {"image_id": 2, "caption": "two dogs"}]}))
    return path


def _llava(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "llava.json"
    path.write_text(json.dumps([{"id": "1", "image": "a.jpg", "conversations": [
        {"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A cat."}]}]))
    return path


def test_fuzz_the_predict_clis_image_reader(tmp_path):
    counts = fuzz(_png, lambda p: read_image(str(p)), (PredictError,), tmp_path)
    assert counts["raised"] >= 6  # every truncation and the foreign headers


def test_fuzz_the_chat_apps_uploaded_image_reader(tmp_path):
    """The chat app decodes an upload's bytes (vlm.app.load_image): the same corpus as predict's reader."""
    from course_utils.vlm.app import load_image

    counts = fuzz(_png, lambda p: load_image(p.read_bytes()), (ValueError,), tmp_path)
    assert counts["raised"] >= 6  # every truncation and the foreign headers


def test_fuzz_checkpoints(tmp_path):
    fuzz(_checkpoint, load_checkpoint, (ValueError,), tmp_path)


def test_fuzz_wav(tmp_path):
    pytest.importorskip("scipy")
    from course_utils.vlm.audio import read_wav

    fuzz(_wav, read_wav, (ValueError,), tmp_path)


def test_fuzz_coco_and_llava_json(tmp_path):
    from course_utils.vlm.full_data import coco_captions, llava_instruct_records

    fuzz(_coco, coco_captions, (ValueError,), tmp_path / "coco")
    fuzz(_llava, llava_instruct_records, (ValueError,), tmp_path / "llava")


def test_fuzz_the_cifar_archive(fake_mirror, tmp_path, monkeypatch):
    archive = fake_mirror / "cifar10-jpeg.tar.gz"
    original = archive.read_bytes()
    tried = 0

    def read(path: Path):
        nonlocal tried
        tried += 1
        archive.write_bytes(path.read_bytes())
        monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / f"cache{tried}"))  # nothing decoded before
        return load_dataset("cifar10", "train")

    def valid(folder: Path) -> Path:
        folder.mkdir(parents=True)
        (folder / archive.name).write_bytes(original)
        return folder / archive.name

    fuzz(valid, read, (ValueError, DatasetNotFoundError), tmp_path)


@pytest.mark.parametrize("member", ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
def test_fuzz_mnist_idx_files(fake_mirror, tmp_path, member):
    target = fake_mirror / "MNIST" / "raw" / member
    original = target.read_bytes()

    def read(path: Path):
        target.write_bytes(path.read_bytes())
        return load_dataset("mnist", "train")

    def valid(folder: Path) -> Path:
        folder.mkdir(parents=True)
        (folder / member).write_bytes(original)
        return folder / member

    fuzz(valid, read, (ValueError, DatasetNotFoundError), tmp_path)


def test_a_killed_cache_writer_leaves_nothing_a_later_run_trusts(fake_mirror, monkeypatch):
    """Kill the CIFAR-10 cache writer mid-way (in torch.save), then load again: it decodes afresh."""
    from course_utils.data import cache_dir
    from course_utils.data import cifar as cifar_module

    real_save = torch.save

    def dies_half_way(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        Path(f).write_bytes(Path(f).read_bytes()[: Path(f).stat().st_size // 2])  # half of it reached the disk
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(cifar_module.torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("cifar10", "train")
    monkeypatch.setattr(cifar_module.torch, "save", real_save)
    assert not list(cache_dir("cifar10").glob("cifar10-jpeg-*.pt")), "a half-written cache file under its real name"
    # a damaged cache file under the real name (e.g. an older, non-atomic writer): detected and rebuilt
    train = load_dataset("cifar10", "train")
    cached = cache_dir("cifar10") / "cifar10-jpeg-train.pt"
    cached.write_bytes(cached.read_bytes()[:100])
    again = load_dataset("cifar10", "train")
    assert torch.equal(again.images, train.images) and torch.equal(again.labels, train.labels)


def test_a_damaged_shapes_cache_is_rebuilt():
    from course_utils.data import cache_dir
    from course_utils.data.shapes import shapes_split

    first = shapes_split("val", 4, 32, cache=True)
    (path,) = cache_dir("shapes").glob("val-4-32-*.pt")
    path.write_bytes(path.read_bytes()[:64])
    again = shapes_split("val", 4, 32, cache=True)
    assert all(torch.equal(a.image, b.image) for a, b in zip(first, again))
