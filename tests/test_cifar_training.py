"""The CIFAR-10 chapter's helpers: CIFAR-3, cutout, the ablation network and the plain SGD recipe."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import recipes
from course_utils.augment import cutout
from course_utils.data import ImageDataset, load_dataset
from course_utils.models import count_parameters
from course_utils.models.cifar_ablation import AblationConfig, AblationNet


def _toy(labels: list[int], classes=("a", "b", "c", "d")) -> ImageDataset:
    n = len(labels)
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    return ImageDataset(images, torch.tensor(labels), tuple(classes), "toy", "train")


def test_keep_classes_relabels_in_the_given_order():
    ds = _toy([0, 1, 2, 3, 2, 0])
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


def test_cutout_blanks_one_clipped_square_per_image():
    x = torch.ones(64, 3, 10, 10)
    fill = torch.tensor([0.1, 0.2, 0.3])
    out = cutout(x, 4, fill=fill, generator=torch.Generator().manual_seed(0))
    blank = out[:, 0] != 1  # (B, H, W)
    for b in range(len(x)):
        rows, cols = torch.nonzero(blank[b], as_tuple=True)
        assert 1 <= len(rows) <= 16  # at most 4x4; clipped at a border, never empty (the centre is inside)
        h, w = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
        assert len(rows) == h * w  # a solid rectangle
        assert torch.equal(out[b, :, rows, cols], fill.view(3, 1).expand(3, len(rows)))
    assert blank.sum(dim=(1, 2)).eq(16).float().mean() > 0.25  # 49% lie fully inside (7 of 10 centres per axis)
    assert torch.equal(cutout(x, 0), x)


@pytest.mark.parametrize("call, message", [
    (lambda: cutout(torch.zeros(3, 8, 8), 2), r"Tensor\[B, C, H, W\]"),
    (lambda: cutout(torch.zeros(1, 3, 8, 8), -1), "non-negative"),
    (lambda: cutout(torch.zeros(1, 3, 8, 8), 2, fill=torch.zeros(2)), r"Tensor\[3\]"),
])
def test_cutout_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ablation_net_parameter_counts_by_hand():
    convs = [(3, 16), (16, 32), (32, 64), (64, 64)]
    weights = sum(i * o * 9 for i, o in convs)  # 3x3 kernels
    bias = sum(o for _, o in convs)
    head = 64 * 10 + 10
    assert count_parameters(AblationNet()) == weights + bias + head == 61_162
    assert count_parameters(AblationNet(batch_norm=True)) == weights + 2 * bias + head  # BN: scale and shift
    assert count_parameters(AblationNet(residual=True)) == 61_162 + 2 * (64 * 64 * 9 + 64)
    assert count_parameters(AblationNet(dropout=0.2)) == 61_162  # dropout has no parameters
    net = AblationNet(residual=True, batch_norm=True, dropout=0.1)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_kaiming_init_scales_weights_by_fan_in():
    torch.manual_seed(0)
    he, default = AblationNet(kaiming_init=True), AblationNet()
    w_he, w_def = he.features[-1][0].weight, default.features[-1][0].weight  # fan_in = 64 * 9
    fan_in = 64 * 9
    assert w_he.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
    assert w_def.std().item() == pytest.approx(math.sqrt(1 / (3 * fan_in)), rel=0.05)  # PyTorch's default
    assert torch.count_nonzero(he.features[-1][0].bias) == 0


def test_ablation_net_errors():
    with pytest.raises(ValueError, match="4 stages"):
        AblationNet(widths=(8, 8))
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\)"):
        AblationNet(dropout=1.0)
    with pytest.raises(ValueError, match=r"Tensor\[B, 3, H, W\]"):
        AblationNet()(torch.zeros(1, 1, 32, 32))


def test_train_cifar_with_every_switch(fake_mirror):
    train, test = load_dataset("cifar10", "train"), load_dataset("cifar10", "test")
    net = AblationNet(widths=(4, 4, 4, 4), batch_norm=True, dropout=0.1, kaiming_init=True, residual=True)
    history = recipes.train_cifar(net, train, test, epochs=2, batch_size=8, momentum=0.9, schedule="onecycle",
                                  augment=("flip", "translate", "cutout"), label_smoothing=0.1, progress=False)
    assert history.epochs == 2 and len(history.val_acc) == 2
    assert all(0.0 <= a <= 1.0 for a in history.train_acc + history.val_acc)
    quiet = recipes.train_cifar(AblationNet(widths=(4, 4, 4, 4)), train, None, epochs=1, progress=False)
    assert quiet.val_acc == []  # no test set: no evaluation


def test_train_cifar_learns_an_easy_split(fake_mirror):
    # The fake mirror's classes differ in brightness: a few epochs separate two of them.
    train = load_dataset("cifar10", "train").keep_classes(["airplane", "truck"])
    history = recipes.train_cifar(AblationNet(widths=(4, 8, 8, 8), batch_norm=True), train, train, epochs=8,
                                  batch_size=4, lr=0.05, momentum=0.9, progress=False)
    assert history.val_acc[-1] == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": "cosine"}, "schedule must be"),
    ({"augment": ("mixup",)}, r"unknown augmentation\(s\) \['mixup'\]"),
])
def test_train_cifar_rejects_bad_options(fake_mirror, kwargs, message):
    train = load_dataset("cifar10", "train")
    with pytest.raises(ValueError, match=message):
        recipes.train_cifar(AblationNet(), train, None, epochs=1, progress=False, **kwargs)
    with pytest.raises(ValueError, match="same classes"):
        recipes.train_cifar(AblationNet(), train, train.keep_classes(["cat"]), epochs=1, progress=False)
