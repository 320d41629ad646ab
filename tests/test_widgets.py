"""course_utils.widgets: the explorer computes what F.conv2d computes, and reacts to its controls."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils.conv import named_kernels
from course_utils.widgets import ConvExplorer, conv_figure, convolve_image


def test_named_kernels_sobel_is_a_derivative():
    k = named_kernels()
    ramp = torch.arange(5.0).repeat(5, 1)  # brightness grows by 1 per column
    gx = F.conv2d(ramp[None, None], k["sobel x"][None, None])[0, 0]
    gy = F.conv2d(ramp[None, None], k["sobel y"][None, None])[0, 0]
    assert (gx == 8).all() and (gy == 0).all()  # (1 + 2 + 1) x 2 columns apart
    assert torch.isclose(k["box blur"].sum(), torch.tensor(1.0))


def test_convolve_image_matches_conv2d():
    img, ker = torch.rand(9, 7), torch.randn(3, 3)
    out = convolve_image(img, ker, stride=2, padding=1)
    assert torch.allclose(out, F.conv2d(img[None, None], ker[None, None], stride=2, padding=1)[0, 0])
    assert (convolve_image(img, ker, relu=True) >= 0).all()
    with pytest.raises(ValueError, match=r"image must be a 2-dimensional Tensor.*grayscale Tensor\[H, W\]"):
        convolve_image(torch.rand(1, 9, 7), ker)


def test_explorer_reacts_to_its_controls():
    image = torch.rand(12, 10)
    ex = ConvExplorer(image, preset="sobel x")
    assert torch.equal(ex.kernel, named_kernels()["sobel x"])
    assert ex.output.shape == (10, 8)
    ex.padding.value = 1
    assert ex.output.shape == (12, 10)
    ex.stride.value = 2
    assert ex.output.shape == (6, 5)
    ex.cells[4].value = 7.0  # edit the centre of the kernel
    expected = F.conv2d(image[None, None], ex.kernel[None, None], stride=2, padding=1)[0, 0]
    assert ex.kernel[1, 1] == 7.0 and torch.allclose(ex.output, expected)
    ex.preset.value = "identity"
    assert torch.equal(ex.kernel, named_kernels()["identity"])
    with pytest.raises(ValueError, match="unknown preset"):
        ConvExplorer(image, preset="emboss")


def test_conv_figure_has_three_titled_panels():
    fig = conv_figure(torch.rand(8, 8), torch.ones(3, 3), torch.rand(6, 6), title="t")
    assert [ax.get_title() for ax in fig.axes] == ["input (8, 8)", "kernel (3, 3)", "output (6, 6)"]
