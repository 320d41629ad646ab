"""course_utils.models: parameter counts of the seed's CIFAR models (hand-computed), three equal APIs."""

from __future__ import annotations

import pytest
import torch

from course_utils.models import SeedNet, count_parameters, fully_connected_cifar, seed_net_sequential


def test_fully_connected_parameter_count():
    # (3072*1024 + 1024) + (1024*512 + 512) + (512*128 + 128) + (128*10 + 10)
    expected = 3072 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 128 + 128 + 128 * 10 + 10
    assert expected == 3_738_506
    assert count_parameters(fully_connected_cifar()) == expected


def test_seed_cnn_parameter_count_and_shapes():
    # conv1 16*3*9 + 16, conv2 8*16*9 + 8, fc1 512*32 + 32, fc2 32*10 + 10
    expected = 16 * 27 + 16 + 8 * 144 + 8 + 512 * 32 + 32 + 32 * 10 + 10
    assert expected == 18_354
    assert count_parameters(seed_net_sequential()) == expected == count_parameters(SeedNet())
    x = torch.randn(2, 3, 32, 32)
    assert seed_net_sequential()(x).shape == (2, 10) and SeedNet()(x).shape == (2, 10)


def test_sequential_and_subclass_compute_the_same_function():
    seq, sub = seed_net_sequential(3), SeedNet(3)
    sub.load_state_dict({k: v for k, v in zip(sub.state_dict(), seq.state_dict().values())})
    x = torch.randn(4, 3, 32, 32)
    assert torch.allclose(seq(x), sub(x), atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 3, 32, 32\]"):
        SeedNet()(torch.zeros(1, 3, 28, 28))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        count_parameters("model")  # type: ignore[arg-type]
    frozen = fully_connected_cifar()
    frozen[1].requires_grad_(False)
    assert count_parameters(frozen) == 3_738_506 - (3072 * 1024 + 1024)
    assert count_parameters(frozen, trainable_only=False) == 3_738_506


def test_mnist_models_parameter_counts_and_shapes():
    from course_utils.models import CompactConfig, CompactMNIST, seed_mnist_net

    # seed: 3x3x1x32 + 32, 1x1x32x10 + 10, 26x26x10x10 + 10
    assert count_parameters(seed_mnist_net()) == (9 * 32 + 32) + (32 * 10 + 10) + (26 * 26 * 10 * 10 + 10) == 68_260
    net = CompactMNIST()
    assert count_parameters(net) == 10_392 < 20_000
    x = torch.randn(3, 1, 28, 28)
    assert seed_mnist_net()(x).shape == (3, 10) and net(x).shape == (3, 10)
    assert not any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    assert sum(isinstance(m, torch.nn.Dropout) for m in CompactMNIST(CompactConfig(dropout=0.1)).modules()) == 6
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 1, H, W\]"):
        net(torch.randn(3, 3, 28, 28))


def test_compact_mnist_sees_the_whole_digit_before_gap():
    from course_utils.models import CompactMNIST
    from course_utils.receptive_field import receptive_field

    table = receptive_field(CompactMNIST().features, 28, in_channels=1)
    assert table.final.rf == (22, 22) and table.final.size == (6, 6)


def test_design_target_net_follows_the_rules():
    from torch import nn

    from course_utils.models import ARCHITECTURES, DesignTargetNet
    from course_utils.receptive_field import receptive_field

    net = DesignTargetNet()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count_parameters(net) == 188_362 < 200_000
    modules = list(net.modules())
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in modules), "no pooling but GAP"
    convs = [m for m in modules if isinstance(m, nn.Conv2d)]
    assert any(m.groups == m.in_channels > 1 for m in convs), "a depthwise convolution"
    assert any(m.dilation != (1, 1) for m in convs), "a dilated convolution"
    assert sum(m.stride == (2, 2) for m in convs) == 3, "three strided transitions instead of pooling"
    assert isinstance(net.head[0], nn.AdaptiveAvgPool2d)
    table = receptive_field(net.features, 32)
    assert table.final.rf == (63, 63) and table.final.rf[0] > 44
    rebuilt = ARCHITECTURES["design_cifar"](**{"widths": [24, 48, 64, 96], "dropout": 0.05})
    assert count_parameters(rebuilt) == 188_362
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 3, H, W\]"):
        net(torch.randn(1, 1, 32, 32))
