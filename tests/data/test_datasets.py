"""course_utils.data: loaders (mirror, cache, download, errors), ImageDataset, normalisation."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CIFAR_CLASSES, _encode, cifar_pixels, make_cifar_archive

from course_utils import data
from course_utils.data import (
    DatasetNotFoundError,
    ImageDataset,
    channel_mean_std,
    denormalize,
    load_dataset,
    normalize,
)
from course_utils.data import cifar as cifar_module

# --------------------------------------------------------------------------- names and splits


@pytest.mark.parametrize("name", ["imagenet", "cifar100", "", "mnist-fashion"])
def test_unknown_dataset_name_lists_valid_names(name):
    with pytest.raises(ValueError, match=r"unknown dataset .*'mnist', 'cifar10'"):
        load_dataset(name)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_unknown_split_lists_valid_splits(name, fake_mirror):
    with pytest.raises(ValueError, match=r"unknown split 'val'.*'train', 'test'"):
        load_dataset(name, "val")
    loader = data.load_mnist if name == "mnist" else data.load_cifar10
    with pytest.raises(ValueError, match="valid splits"):
        loader("validation")


@pytest.mark.parametrize("name", ["CIFAR-10", "cifar_10", "Cifar10"])
def test_dataset_name_spellings(name, fake_mirror):
    assert load_dataset(name, "test").name == "cifar10"


# --------------------------------------------------------------------------- MNIST


def test_mnist_from_mirror_has_exact_pixels_and_labels(fake_mirror):
    train = load_dataset("mnist", "train")
    assert train.images.shape == (3, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [5, 0, 4]
    assert train.images[:, 0, 0, 0].tolist() == [10, 11, 12]  # image i is filled with 10 + i
    assert train.classes == tuple("0123456789")
    assert train.source == str(fake_mirror)
    test = load_dataset("mnist", "test")
    assert test.labels.tolist() == [7, 2] and int(test.images[1].unique()) == 51
    image, label = test[1]
    assert image.dtype == torch.float32 and label == 2
    assert torch.allclose(image, torch.full((1, 28, 28), 51 / 255))


def test_mnist_missing_without_download_says_which_variable(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="COURSE_DATA_DIR is not set.*download=False.*Set COURSE_DATA_DIR"):
        data.load_mnist("train", download=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(empty))
    with pytest.raises(DatasetNotFoundError, match=r"has no MNIST/raw/train-images-idx3-ubyte"):
        data.load_mnist("train", download=False)


def test_mnist_download_goes_to_cache_folder(monkeypatch, tmp_path):
    calls = []

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.append((Path(root), train, download))
            self.data = torch.full((4, 28, 28), 9, dtype=torch.uint8)
            self.targets = torch.tensor([1, 2, 3, 4])

    monkeypatch.setattr("torchvision.datasets.MNIST", FakeMNIST)
    ds = data.load_mnist("test")
    (root, train, download), = calls
    assert root == Path(os.environ["COURSE_CACHE_DIR"]) / "torchvision" and train is False and download is True
    assert ds.source == "download" and ds.images.shape == (4, 1, 28, 28)


def test_failed_download_reports_the_cause(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no route to host")

    monkeypatch.setattr("torchvision.datasets.MNIST", offline)
    monkeypatch.setattr("torchvision.datasets.CIFAR10", offline)
    for name in ("mnist", "cifar10"):
        with pytest.raises(DatasetNotFoundError, match=r"download into .* failed \(OSError: no route to host\).*COURSE_DATA_DIR"):
            load_dataset(name)


def test_data_dir_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="COURSE_DATA_DIR=.* is not a folder"):
        load_dataset("mnist")


# --------------------------------------------------------------------------- CIFAR-10


def test_cifar_from_archive_is_ordered_by_class_then_number(fake_mirror):
    train = load_dataset("cifar10", "train")
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.classes == CIFAR_CLASSES
    assert train.labels.tolist() == [c for c in range(10) for _ in range(2)]
    # file 0002 before 0010 within each class; red holds cls*20 + number
    assert train.images[:, 0, 5, 5].tolist() == [c * 20 + k for c in range(10) for k in (2, 10)]
    assert train.images[0, 1, 0, :3].tolist() == [100, 101, 102]  # green: 100 + column
    assert train.images[0, 2, :3, 0].tolist() == [7, 8, 9]  # blue: 7 + row (CHW order kept)
    test = load_dataset("cifar10", "test")
    assert test.labels.tolist() == list(range(10)) and (test.images[:, 1, :, 0] == 200).all()
    assert train.class_counts().tolist() == [2] * 10


def test_cifar_is_decoded_once_then_cached(fake_mirror, monkeypatch):
    first = load_dataset("cifar10", "train")
    cached = Path(os.environ["COURSE_CACHE_DIR"]) / "cifar10"
    assert sorted(p.name for p in cached.glob("*.pt")) == ["cifar10-jpeg-test.pt", "cifar10-jpeg-train.pt"]

    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded again although the cache is fresh")

    monkeypatch.setattr(cifar_module, "decode_image_folder", must_not_decode)
    again = load_dataset("cifar10", "train")
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    load_dataset("cifar10", "test")  # the test split was cached by the same pass


def test_cifar_cache_is_refreshed_when_the_archive_changes(fake_mirror):
    archive = fake_mirror / "cifar10-jpeg.tar.gz"
    assert len(load_dataset("cifar10", "train")) == 20
    make_cifar_archive(archive, numbers=(1, 2, 3))
    st = archive.stat()
    os.utime(archive, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert len(load_dataset("cifar10", "train")) == 30


def test_cifar_from_extracted_tree(fake_mirror, tmp_path, monkeypatch):
    mirror = tmp_path / "tree_mirror"
    mirror.mkdir()
    with tarfile.open(fake_mirror / "cifar10-jpeg.tar.gz") as tar:
        tar.extractall(mirror, filter="data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror))
    from_tree = load_dataset("cifar10", "train")
    assert from_tree.source == str(mirror / "cifar10-jpeg")
    monkeypatch.setenv("COURSE_DATA_DIR", str(fake_mirror))
    assert torch.equal(from_tree.images, load_dataset("cifar10", "train").images)


def test_cifar_jpeg_files_decode_close_to_their_pixels(tmp_path, monkeypatch):
    mirror = tmp_path / "jpeg_mirror"
    mirror.mkdir()
    make_cifar_archive(mirror / "cifar10-jpeg.tar.gz", fmt="JPEG")
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror))
    train = load_dataset("cifar10", "train")
    expected = torch.stack([torch.from_numpy(cifar_pixels("train", c, k)).permute(2, 0, 1)
                            for c in range(10) for k in (2, 10)])  # (N, 3, 32, 32)
    # JPEG is lossy: flat colours and one-level ramps come back within a few levels
    assert (train.images.int() - expected.int()).abs().max() <= 8


def test_cifar_unknown_class_folder_is_an_error(tmp_path, monkeypatch):
    mirror = tmp_path / "bad"
    mirror.mkdir()
    extra = {"cifar10-jpeg/train/unicorn/0001.png": _encode(cifar_pixels("train", 0, 1), "PNG")}
    make_cifar_archive(mirror / "cifar10-jpeg.tar.gz", extra=extra)
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror))
    with pytest.raises(ValueError, match="unexpected class folder 'unicorn'"):
        load_dataset("cifar10")


def test_cifar_wrong_image_size_is_an_error(tmp_path, monkeypatch):
    mirror = tmp_path / "bad"
    mirror.mkdir()
    extra = {"cifar10-jpeg/test/cat/0099.png": _encode(np.zeros((16, 32, 3), np.uint8), "PNG")}
    make_cifar_archive(mirror / "cifar10-jpeg.tar.gz", extra=extra)
    monkeypatch.setenv("COURSE_DATA_DIR", str(mirror))
    with pytest.raises(ValueError, match=r"test/cat/0099: expected a 32x32 RGB image, got shape \(16, 32, 3\)"):
        load_dataset("cifar10", "test")


def test_cifar_missing_from_mirror_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=r"has no cifar10-jpeg\.tar\.gz.*download=False"):
        load_dataset("cifar10", download=False)


def test_cifar_download_converts_hwc_to_chw(monkeypatch):
    class FakeCIFAR10:
        classes = list(CIFAR_CLASSES)

        def __init__(self, root, train, download):
            self.data = np.zeros((2, 32, 32, 3), dtype=np.uint8)
            self.data[..., 0] = 255  # red
            self.targets = [3, 8]

    monkeypatch.setattr("torchvision.datasets.CIFAR10", FakeCIFAR10)
    ds = load_dataset("cifar10", "train")
    assert ds.images.shape == (2, 3, 32, 32) and ds.images.is_contiguous()
    assert (ds.images[:, 0] == 255).all() and (ds.images[:, 1:] == 0).all()
    assert ds.labels.tolist() == [3, 8] and ds.source == "download"


# --------------------------------------------------------------------------- ImageDataset


def _toy(n=12, k=3):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageDataset(images, torch.arange(n) % k, tuple("abc"[:k]), "toy", "train")


@pytest.mark.parametrize(
    "images, labels, message",
    [
        (torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.long), "uint8 Tensor"),
        (torch.zeros(2, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), r"shape=\(2, 4, 4\)"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.long), "2 images but 3 labels"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 3]), r"labels must lie in \[0, 3\)"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0.0, 1.0]), "int64"),
    ],
)
def test_image_dataset_rejects_bad_tensors(images, labels, message):
    with pytest.raises(ValueError, match=message):
        ImageDataset(images, labels, ("a", "b", "c"), "toy", "train")


def test_image_dataset_items_and_transform():
    ds = _toy()
    image, label = ds[5]
    assert image.shape == (1, 2, 2) and torch.allclose(image, torch.full((1, 2, 2), 5 / 255)) and label == 2
    doubled = ds.with_transform(lambda x: x * 2)
    assert torch.allclose(doubled[5][0], torch.full((1, 2, 2), 10 / 255))
    assert doubled.images is ds.images  # no copy
    assert torch.equal(ds.targets, ds.labels)


def test_subset_is_balanced_reproducible_and_validated():
    ds = _toy(30, 3)
    sub = ds.subset(7, seed=1)
    assert len(sub) == 7 and sub.class_counts().tolist() == [3, 2, 2]
    assert torch.equal(sub.images, ds.subset(7, seed=1).images)
    assert not torch.equal(sub.images, ds.subset(7, seed=2).images)
    assert len(ds.subset(5, per_class=False)) == 5
    with pytest.raises(ValueError, match=r"subset size must be in \[1, 30\]"):
        ds.subset(31)
    assert ds.select([3, 1]).images[:, 0, 0, 0].tolist() == [3, 1]


def test_per_class_indices_one_class_per_column():
    ds = _toy(9, 3)  # labels 0 1 2 0 1 2 0 1 2
    assert ds.per_class_indices(2).tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="smallest class size 3"):
        ds.per_class_indices(4)


# --------------------------------------------------------------------------- statistics and normalisation


def test_channel_mean_std_hand_computed():
    # channel 0: half the pixels 0, half 255 -> mean 0.5; channel 1: all 51 -> mean 0.2, std 0
    images = torch.zeros(2, 2, 1, 2, dtype=torch.uint8)
    images[:, 0, 0, 1] = 255
    images[:, 1] = 51
    mean, std = channel_mean_std(images)
    assert torch.allclose(mean, torch.tensor([0.5, 0.2], dtype=torch.float64))
    # values 0, 1, 0, 1 (scaled): unbiased variance = 4 * 0.25 / 3
    assert torch.allclose(std, torch.tensor([(1 / 3) ** 0.5, 0.0], dtype=torch.float64))


def test_channel_mean_std_matches_direct_computation_for_any_chunk():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (37, 3, 5, 4), generator=gen, dtype=torch.uint8)
    flat = images.double().div(255).transpose(0, 1).reshape(3, -1)
    for chunk in (1, 5, 64):
        mean, std = channel_mean_std(images, chunk=chunk)
        assert torch.allclose(mean, flat.mean(1)) and torch.allclose(std, flat.std(1))
    mean_f, std_f = channel_mean_std(images.float() / 255, chunk=7)
    assert torch.allclose(mean_f, flat.mean(1), atol=1e-6) and torch.allclose(std_f, flat.std(1), atol=1e-6)


def test_channel_mean_std_rejects_bad_input():
    with pytest.raises(ValueError, match=r"images must be a 4-dimensional Tensor, got Tensor\[3, 4, 4\] uint8"):
        channel_mean_std(torch.zeros(3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="at least two values"):
        channel_mean_std(torch.zeros(1, 1, 1, 1))


def test_normalize_and_denormalize_round_trip():
    x = torch.rand(4, 3, 5, 5)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    y = normalize(x, mean, std)
    assert torch.allclose(y[:, 1], (x[:, 1] - 0.2) / 0.25)
    assert torch.allclose(denormalize(y, mean, std), x, atol=1e-6)
    assert torch.allclose(denormalize(y[0], mean, std), x[0], atol=1e-6)  # CHW works too
    from torchvision.transforms import Normalize

    assert torch.allclose(Normalize(mean, std)(x), y, atol=1e-6)


def test_normalize_rejects_mismatched_channels():
    with pytest.raises(ValueError, match="mean has 1 values but the image has 3 channels"):
        normalize(torch.rand(3, 4, 4), [0.5], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="non-zero"):
        normalize(torch.rand(1, 4, 4), [0.5], [0.0])
    with pytest.raises(ValueError, match="Tensor\\[C, H, W\\]"):
        denormalize(torch.rand(4, 4), [0.5], [0.1])


# --------------------------------------------------------------------------- the real mirror (CI has it)


@pytest.mark.needs_data
def test_real_mirror_cifar10_test_split(real_mirror):
    test = load_dataset("cifar10", "test")
    assert test.images.shape == (10_000, 3, 32, 32) and test.images.dtype == torch.uint8
    assert test.class_counts().tolist() == [1000] * 10
    slice_ = test.images[:500]
    mean, _ = channel_mean_std(slice_)
    assert ((mean > 0.3) & (mean < 0.7)).all()  # natural photos, not blank or saturated


@pytest.mark.needs_data
def test_real_mirror_mnist(real_mirror):
    train = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    assert (len(train), len(test)) == (60_000, 10_000)
    assert int(train.labels[0]) == 5 and int(test.labels[0]) == 7  # the known first labels
    mean, std = channel_mean_std(train.images)
    assert round(mean.item(), 4) == 0.1307 and round(std.item(), 4) == 0.3081


def _labelled_toy(labels: list[int], classes=("a", "b", "c", "d")) -> ImageDataset:
    n = len(labels)
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    return ImageDataset(images, torch.tensor(labels), tuple(classes), "toy", "train")

def test_keep_classes_relabels_in_the_given_order():
    ds = _labelled_toy([0, 1, 2, 3, 2, 0])
    kept = ds.keep_classes(["c", "a"])
    assert kept.classes == ("c", "a")
    assert kept.labels.tolist() == [1, 0, 0, 1]  # items 0, 2, 4, 5 in their original order
    assert kept.images[:, 0, 0, 0].tolist() == [0, 2, 4, 5]
    for bad in (["z"], [], ["a", "a"]):
        with pytest.raises(ValueError, match="distinct classes of toy"):
            ds.keep_classes(bad)

def test_cifar3_on_the_fake_mirror(fake_mirror):
    train = load_dataset("cifar10", "train").keep_classes(["airplane", "automobile", "ship"])
    assert train.classes == ("airplane", "automobile", "ship")
    assert train.class_counts().tolist() == [2, 2, 2]  # the fake mirror has 2 training images per class
    assert set(train.labels.unique().tolist()) == {0, 1, 2}
