"""course_utils.receptive_field: hand-computed tables, published values, and a gradient cross-check."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from course_utils.receptive_field import effective_receptive_field, receptive_field


def conv(k=3, p=0, s=1, d=1, c=1):
    return nn.Conv2d(c, c, k, stride=s, padding=p, dilation=d)


def vgg_style_mnist():
    """The seed's 28x28 ten-class network: conv, conv, pool, conv, conv, pool, 7x7 conv."""
    return nn.Sequential(conv(p=1), nn.ReLU(), conv(p=1), nn.ReLU(), nn.MaxPool2d(2),
                         conv(p=1), nn.ReLU(), conv(p=1), nn.ReLU(), nn.MaxPool2d(2), conv(k=7))


def test_seed_28x28_table_by_hand():
    table = receptive_field(vgg_style_mnist(), 28, in_channels=1).spatial()
    assert [r.layer for r in table] == ["Conv2d", "Conv2d", "MaxPool2d", "Conv2d", "Conv2d", "MaxPool2d", "Conv2d"]
    assert [r.rf[0] for r in table] == [3, 5, 6, 10, 14, 16, 40]  # the seed says 28 for the last
    assert [r.size[0] for r in table] == [28, 28, 14, 14, 14, 7, 1]
    assert [r.jump[0] for r in table] == [1, 1, 2, 2, 2, 4, 4]
    # the centre of the first output's field: padding 1 keeps it at 0; pooling moves it by half a jump
    assert [r.start[0] for r in table] == [0.0, 0.0, 0.5, 0.5, 0.5, 1.5, 13.5]
    assert table.covers(table.final) and not table.covers(table[4])


def test_two_3x3_on_5x5_see_everything():
    table = receptive_field(nn.Sequential(conv(), conv()), 5, in_channels=1)
    assert [(r.size[0], r.rf[0]) for r in table] == [(3, 3), (1, 5)]


def test_399_pixels_without_and_with_pooling():
    plain = receptive_field(nn.Sequential(*[conv() for _ in range(199)]), 399, in_channels=1)
    assert plain.final.rf == (399, 399) and plain.final.size == (1, 1)
    layers = []
    for _ in range(4):
        layers += [conv() for _ in range(5)] + [nn.MaxPool2d(2)]
    layers += [conv() for _ in range(7)]
    pooled = receptive_field(nn.Sequential(*layers), 399, in_channels=1)
    # by hand: 11, 12, 32, 34, 74, 78, 158, 166, then 7 convs of jump 16: 166 + 7 * 2 * 16 = 390
    assert pooled.final.size == (1, 1) and pooled.final.rf == (390, 390)
    assert [r.size[0] for r in pooled if r.layer == "MaxPool2d"] == [194, 92, 41, 15]


def test_dilation_grows_the_field_exponentially():
    table = receptive_field(nn.Sequential(conv(d=1), conv(d=2), conv(d=4)), 32, in_channels=1)
    assert [r.rf[0] for r in table] == [3, 7, 15]
    assert [r.size[0] for r in table] == [30, 26, 18]


def test_stride_and_non_square():
    table = receptive_field(nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=(2, 1)), conv()), (17, 20), in_channels=1)
    first, second = table
    assert first.size == (8, 16) and first.rf == (3, 5) and first.jump == (2, 1)
    assert second.rf == (3 + 2 * 2, 5 + 2 * 1) and second.size == (6, 14)


def test_global_layers_see_the_whole_map():
    net = nn.Sequential(conv(c=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    table = receptive_field(net, 10, in_channels=2)
    gap, flat, lin = table[1:]
    assert gap.size == (1, 1) and gap.rf == (3 + 7, 3 + 7)  # a window of 8 positions, jump 1
    assert flat.rf == lin.rf == gap.rf and lin.jump is None
    no_gap = receptive_field(nn.Sequential(conv(c=2), nn.Flatten(), nn.Linear(2 * 8 * 8, 3)), 10, in_channels=2)
    assert no_gap[1].rf == (10, 10) and no_gap[2].rf == (10, 10)


@pytest.mark.parametrize("builder, published", [(torchvision.models.alexnet, 195), (torchvision.models.vgg16, 212)])
def test_torchvision_classifiers_match_published_values(builder, published):
    # published values: Araujo, Norris & Sim, Distill 2019 (the last convolutional stage)
    table = receptive_field(builder(weights=None), 224)
    last_pool = [r for r in table if r.layer == "MaxPool2d"][-1]
    assert last_pool.rf == (published, published)
    assert last_pool.name == "features.12" if builder is torchvision.models.alexnet else "features.30"


def _support(grad: torch.Tensor) -> tuple[range, range]:
    rows = torch.nonzero(grad.sum(dim=1)).flatten()
    cols = torch.nonzero(grad.sum(dim=0)).flatten()
    return range(int(rows.min()), int(rows.max()) + 1), range(int(cols.min()), int(cols.max()) + 1)


def test_resnet_matches_gradient_support():
    """An independent check: with positive weights and inputs nothing cancels, so the input pixels that
    influence the centre output are exactly its receptive field (where it fits inside the image).
    float64, because float32 convolution kernels leave round-off crumbs outside the field."""
    torch.manual_seed(0)
    r = torchvision.models.resnet18(weights=None).eval()
    trunk = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2).double().eval()
    with torch.no_grad():
        for m in trunk.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
    table = receptive_field(trunk, 224)
    assert any(row.name.endswith("downsample.0") for row in table)  # the shortcut was traced
    final = table.final
    assert final.size == (28, 28) and final.rf == (99, 99)  # by hand: 7, 11, 43, 51, 67, 99
    trunk[3] = nn.AvgPool2d(3, 2, 1)  # same geometry as the max-pool, gradient to every window pixel
    x = torch.rand(1, 3, 224, 224, dtype=torch.float64) + 0.1
    rows, cols = _support(effective_receptive_field(trunk, x, position=(14, 14)))
    centre = final.start[0] + 14 * final.jump[0]  # 0 + 14 * 8 = 112
    assert len(rows) == len(cols) == 99
    assert (rows.start + rows.stop - 1) / 2 == centre == (cols.start + cols.stop - 1) / 2


def test_resnet50_full_table_runs():
    table = receptive_field(torchvision.models.resnet50(weights=None), 224)
    assert table.final.layer == "Linear" and table.final.jump is None
    convs = [row for row in table if row.layer == "Conv2d" and "downsample" not in row.name]
    assert len(convs) == 49  # 1 stem + 16 blocks x 3
    assert convs[-1].size == (7, 7) and convs[-1].rf[0] > 224


@pytest.mark.parametrize(
    "layer, message",
    [(nn.Upsample(scale_factor=2), "'1' \\(Upsample\\) is not supported"),
     (nn.ConvTranspose2d(1, 1, 2), "ConvTranspose2d"),
     (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
     (nn.AdaptiveAvgPool2d(4), "not a whole-number downsampling")],
)
def test_unsupported_layers_are_named(layer, message):
    with pytest.raises(ValueError, match=message):
        receptive_field(nn.Sequential(conv(), layer), 8, in_channels=1)


def test_bad_sizes_and_positions():
    with pytest.raises(ValueError, match="input_size must be positive"):
        receptive_field(conv(), 0, in_channels=1)
    with pytest.raises(ValueError, match="outside"):
        effective_receptive_field(conv(), torch.rand(1, 1, 8, 8), position=(9, 0))
    with pytest.raises(ValueError, match="Tensor\\[B, C, H, W\\]"):
        effective_receptive_field(conv(), torch.rand(8, 8))


def test_table_prints_and_training_mode_is_restored():
    net = vgg_style_mnist().train()
    table = receptive_field(net, 28, in_channels=1)
    text = str(table)
    assert "RF" in text.splitlines()[0] and "MaxPool2d" in text and net.training
