"""course_utils.models.mnist: the large-kernel and the compact MNIST networks."""

from __future__ import annotations

import pytest
import torch

from course_utils.models import count_parameters


def test_mnist_models_parameter_counts_and_shapes():
    from course_utils.models import CompactConfig, CompactMNIST, large_kernel_mnist

    # seed: 3x3x1x32 + 32, 1x1x32x10 + 10, 26x26x10x10 + 10
    assert count_parameters(large_kernel_mnist()) == (9 * 32 + 32) + (32 * 10 + 10) + (26 * 26 * 10 * 10 + 10) == 68_260
    net = CompactMNIST()
    # by hand: convs 9*1*8 + 9*8*12 + 1*12*8 + 9*8*14 + 3 * 9*14*14, batch norms 2 * (8 + 12 + 4*14),
    # head 14*10 + 10
    assert count_parameters(net) == 72 + 864 + 96 + 1008 + 5292 + 152 + 150 == 7_634 < 8_000
    x = torch.randn(3, 1, 28, 28)
    assert large_kernel_mnist()(x).shape == (3, 10) and net(x).shape == (3, 10)
    assert not any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    assert sum(isinstance(m, torch.nn.Dropout) for m in CompactMNIST(CompactConfig(dropout=0.1)).modules()) == 6
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 1, H, W\]"):
        net(torch.randn(3, 3, 28, 28))

def test_compact_mnist_sees_the_whole_digit_before_gap():
    from course_utils.models import CompactMNIST
    from course_utils.receptive_field import receptive_field

    table = receptive_field(CompactMNIST().features, 28, in_channels=1)
    assert table.final.rf == (22, 22) and table.final.size == (6, 6)
