"""course_utils.feature_maps: outputs captured by hooks equal a manual forward pass; hooks are removed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.feature_maps import feature_maps


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 2))


def test_captures_named_layers_equal_to_manual_forward():
    net, x = _net(), torch.randn(2, 1, 8, 8)
    maps = feature_maps(net, x, ["0", "2"])
    assert list(maps) == ["0", "2"]
    assert torch.equal(maps["0"], net[0](x))
    assert torch.equal(maps["2"], net[2](net[1](net[0](x))))
    assert maps["2"].shape == (2, 4, 3, 3)


def test_default_is_every_leaf_in_execution_order_and_hooks_are_removed():
    net = _net()
    maps = feature_maps(net, torch.randn(1, 1, 8, 8))
    assert list(maps) == ["0", "1", "2", "3", "4"] and maps["4"].shape == (1, 2)
    assert all(not m._forward_hooks for m in net.modules())


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['conv9'\]; the model's layers are \['0', '1'"):
        feature_maps(_net(), torch.randn(1, 1, 8, 8), ["conv9"])
