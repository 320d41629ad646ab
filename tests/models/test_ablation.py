"""course_utils.models.ablation: parameter counts by hand, Kaiming initialisation, errors."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils.models import AblationNet, count_parameters


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
    with pytest.raises(ValueError, match="4 items"):
        AblationNet(widths=(8, 8))
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\)"):
        AblationNet(dropout=1.0)
    with pytest.raises(ValueError, match=r"Tensor\[B, 3, H, W\]"):
        AblationNet()(torch.zeros(1, 1, 32, 32))
