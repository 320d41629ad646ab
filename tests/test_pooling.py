"""course_utils.pooling: Lp pooling between average and max, and spatial pyramid pooling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.pooling import SpatialPyramidPool, lp_pool2d, spatial_pyramid_pool


def test_lp_pool_of_one_window_by_hand():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    assert lp_pool2d(x, 1, 2).item() == pytest.approx(2.5)  # the average
    assert lp_pool2d(x, 2, 2).item() == pytest.approx(math.sqrt(30 / 4))  # root mean square
    assert lp_pool2d(x, 2, 2, mean=False).item() == pytest.approx(math.sqrt(30))  # the sum form
    assert lp_pool2d(x, float("inf"), 2).item() == 4.0
    assert lp_pool2d(torch.zeros(1, 1, 2, 2), 3, 2).item() == 0.0  # an all-zero window, no 0/0


def test_lp_pool_equals_torch_s_sum_form_and_average_pooling():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    for p in (1, 2, 3.5):
        assert torch.allclose(lp_pool2d(x, p, 2, mean=False), F.lp_pool2d(x, p, 2), atol=1e-5)
        assert torch.allclose(lp_pool2d(x, p, 3, 1, mean=False), F.lp_pool2d(x, p, 3, 1), atol=1e-5)
    assert torch.allclose(lp_pool2d(x, 1, 2), F.avg_pool2d(x, 2), atol=1e-6)


def test_lp_pool_rises_from_average_to_max_as_p_grows():
    x = torch.rand(1, 4, 6, 6, generator=torch.Generator().manual_seed(1)) * 10  # 10^64 would overflow float32
    avg, mx = F.avg_pool2d(x, 2), F.max_pool2d(x, 2)
    previous = avg
    for p in (2, 4, 16, 64):
        out = lp_pool2d(x, p, 2)
        assert (out >= previous - 1e-5).all() and (out <= mx + 1e-5).all()  # the power mean grows with p
        previous = out
    assert torch.isfinite(previous).all()
    assert torch.allclose(lp_pool2d(x, 1000, 2), mx, rtol=2e-3)  # bounded by max * 4^(-1/p)


@pytest.mark.parametrize("call, error, message", [
    (lambda: lp_pool2d(-torch.ones(1, 1, 2, 2), 2, 2), ValueError, "non-negative"),
    (lambda: lp_pool2d(torch.ones(1, 1, 2, 2), 0.5, 2), ValueError, "p"),
    (lambda: lp_pool2d(torch.ones(1, 2, 2), 2, 2), ValueError, r"Tensor\[N, C, H, W\]"),
    (lambda: lp_pool2d(torch.full((1, 1, 2, 2), float("nan")), 2, 2), ValueError, "x"),
    (lambda: lp_pool2d(torch.ones(1, 1, 2, 2), 2, 3), ValueError, "does not fit"),
    (lambda: lp_pool2d(torch.ones(1, 1, 2, 2, dtype=torch.long), 2, 2), ValueError, "x"),
    (lambda: lp_pool2d([[1.0]], 2, 2), TypeError, "x"),
])
def test_lp_pool_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_spatial_pyramid_pool_by_hand():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = spatial_pyramid_pool(x, (1, 2))
    # level 1: the global max; level 2: the max of each 2x2 quarter, row by row
    assert out.tolist() == [[15.0, 5.0, 7.0, 13.0, 15.0]]
    avg = spatial_pyramid_pool(x, (1, 2), mode="avg")
    assert avg.tolist() == [[7.5, 2.5, 4.5, 10.5, 12.5]]


def test_spatial_pyramid_pool_has_a_fixed_length_for_any_input_size():
    layer = SpatialPyramidPool((1, 2, 4))
    lengths = {tuple(layer(torch.rand(2, 8, s, s + 3)).shape) for s in (4, 7, 14, 28)}
    assert lengths == {(2, 8 * 21)} and layer.features(8) == 168
    x = torch.rand(3, 5, 9, 9)
    assert torch.equal(spatial_pyramid_pool(x, (1,)), F.adaptive_max_pool2d(x, 1).flatten(1))
    assert torch.allclose(spatial_pyramid_pool(x, (1,), "avg"), x.mean((2, 3)))
    assert "levels=(1, 2, 4)" in repr(layer)


@pytest.mark.parametrize("call, error, message", [
    (lambda: spatial_pyramid_pool(torch.rand(1, 1, 3, 3), (1, 4)), ValueError, "cannot be split into 4x4"),
    (lambda: spatial_pyramid_pool(torch.rand(1, 1, 4, 4), ()), ValueError, "levels"),
    (lambda: spatial_pyramid_pool(torch.rand(1, 1, 4, 4), (1, 0)), ValueError, "each level"),
    (lambda: spatial_pyramid_pool(torch.rand(1, 1, 4, 4), (1, 2.0)), TypeError, "levels"),
    (lambda: spatial_pyramid_pool(torch.rand(1, 1, 4, 4), mode="median"), ValueError, "mode"),
    (lambda: spatial_pyramid_pool(torch.rand(4, 4)), ValueError, r"Tensor\[N, C, H, W\]"),
    (lambda: SpatialPyramidPool(levels=4), TypeError, "levels"),
])
def test_spatial_pyramid_pool_rejects_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
