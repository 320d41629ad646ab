"""course_utils.models.design_target: the design exercise's rules, checked on the network."""

from __future__ import annotations

import pytest
import torch

from course_utils.models import count_parameters


def test_design_target_net_follows_the_rules():
    from torch import nn

    from course_utils.checkpoint import ARCHITECTURES
    from course_utils.models import DesignTargetNet
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
