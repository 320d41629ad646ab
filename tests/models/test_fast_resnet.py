"""course_utils.models.fast_resnet: shapes and parameter counts of the fast recipe's network."""

from __future__ import annotations

import pytest
import torch

from course_utils.models import RESNET9_LIKE, FastCifarNet, count_parameters


def test_fast_net_shapes_and_sizes():
    net = FastCifarNet()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count_parameters(net) == 391_456 and count_parameters(FastCifarNet(RESNET9_LIKE)) == 6_573_120
    assert FastCifarNet(widths=(8, 16, 32), stem=4).cfg.widths == (8, 16, 32)  # keyword overrides
    with pytest.raises(ValueError, match=r"expects Tensor\[B, 3, H, W\]"):
        net(torch.randn(2, 1, 32, 32))
