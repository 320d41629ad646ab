"""course_utils.vlm.projector."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm import Projector  # noqa: E402


def test_projector_shapes_and_residual():
    proj = Projector(768, 2560)
    x = torch.randn(2, 49, 768)
    assert proj(x).shape == (2, 49, 2560)
    torch.nn.init.zeros_(proj.mlp[-1].weight)
    torch.nn.init.zeros_(proj.mlp[-1].bias)
    torch.testing.assert_close(proj(x), proj.linear(x))  # the skip: block output = linear output when the MLP is 0
    with pytest.raises(ValueError, match=r"Tensor\[B, N, 768\]"):
        proj(torch.randn(2, 49, 512))
