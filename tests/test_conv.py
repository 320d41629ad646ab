"""course_utils.conv: the hand-written convolution equals F.conv2d; the output-size formula."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from course_utils.conv import conv2d_naive, conv_output_size


def test_vertical_edge_by_hand():
    # the seed's dark-to-light 6x6 example: left half 0 (dark), right half 10 (bright)
    x = torch.tensor([[0.0] * 3 + [10.0] * 3] * 6).view(1, 1, 6, 6)
    kernel = torch.tensor([[1.0, 0, -1]] * 3).view(1, 1, 3, 3)
    out = conv2d_naive(x, kernel)
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0].tolist() == [[0.0, -30.0, -30.0, 0.0]] * 4  # a two-column edge, three times as strong


def test_dot_product_of_one_window():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    out = conv2d_naive(x, w, bias=torch.tensor([0.5]), stride=2)
    # window at (0, 0) is [[0, 1], [4, 5]]: 0*1 + 1*2 + 4*3 + 5*4 + 0.5 = 34.5
    assert out.shape == (1, 1, 2, 2) and out[0, 0, 0, 0].item() == 34.5
    assert out[0, 0, 1, 1].item() == 10 * 1 + 11 * 2 + 14 * 3 + 15 * 4 + 0.5


SWEEP = list(itertools.product(
    [1, 2, (2, 1)],  # stride
    [0, 1, (2, 0)],  # padding
    [1, 2],  # dilation
    [1, 2],  # groups
    [True, False],  # bias
))


@pytest.mark.parametrize("stride, padding, dilation, groups, bias", SWEEP)
def test_matches_torch_for_every_argument(stride, padding, dilation, groups, bias):
    gen = torch.Generator().manual_seed(hash((str(stride), str(padding), dilation, groups, bias)) % 2**31)
    x = torch.randn(2, 4, 9, 8, generator=gen, dtype=torch.float64)
    w = torch.randn(6, 4 // groups, 3, 2, generator=gen, dtype=torch.float64)
    b = torch.randn(6, generator=gen, dtype=torch.float64) if bias else None
    ours = conv2d_naive(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    ref = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert ours.shape == ref.shape
    assert torch.allclose(ours, ref, atol=1e-10)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), 1), ((2, 4), 1), ((3, 2), 2), ((4, 3), (1, 2))])
@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_same_and_valid_padding_match_torch(kernel, dilation):
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    w = torch.randn(3, 2, *kernel, dtype=torch.float64)
    for padding in ("same", "valid"):
        ours = conv2d_naive(x, w, padding=padding, dilation=dilation)
        ref = F.conv2d(x, w, padding=padding, dilation=dilation)
        assert ours.shape == ref.shape and torch.allclose(ours, ref, atol=1e-10)
    assert conv2d_naive(x, w, padding="same", dilation=dilation).shape[-2:] == (7, 6)


def test_depthwise_and_unbatched_match_torch():
    x = torch.randn(3, 5, 5, dtype=torch.float64)  # unbatched (C, H, W)
    w = torch.randn(3, 1, 3, 3, dtype=torch.float64)  # one kernel per channel
    assert torch.allclose(conv2d_naive(x, w, groups=3, padding=1), F.conv2d(x, w, groups=3, padding=1))


def test_gradients_flow_like_torch():
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    conv2d_naive(x, w, padding=1).square().sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    F.conv2d(x, w, padding=1).square().sum().backward()
    assert torch.allclose(gx, x.grad) and torch.allclose(gw, w.grad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": torch.zeros(4, 4)}, r"x must be Tensor\[B, C, H, W\]"),
        ({"weight": torch.zeros(3, 3)}, r"weight must be a 4-dimensional Tensor.*Tensor\[C_out, C_in/groups, kH, kW\]"),
        ({"weight": torch.zeros(2, 3, 3, 3)}, "x has 2 channels but weight expects 3 per group"),
        ({"groups": 2, "weight": torch.zeros(3, 1, 3, 3)}, "3 output channels cannot be split into 2 groups"),
        ({"bias": torch.zeros(5)}, r"bias must be Tensor\[2\]"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"padding": -1}, "padding must be >= 0"),
        ({"padding": "full"}, "'valid' or 'same'"),
        ({"padding": "same", "stride": 2}, "needs stride 1"),
        ({"weight": torch.zeros(2, 2, 9, 9)}, "larger than the padded input"),
        ({"dilation": (1, 2, 3)}, "pair of ints"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    args = {"x": torch.zeros(1, 2, 6, 6), "weight": torch.zeros(2, 2, 3, 3)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        conv2d_naive(**args)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((6, 3), 4),  # the 6x6 edge example
        ((28, 3), 26),
        ((5, 3), 3),
        ((32, 3, 1, 1), 32),  # "same" padding for a 3x3
        ((32, 2, 2), 16),  # 2x2 max-pool, stride 2
        ((7, 3, 2), 3),  # floor((7 - 3) / 2) + 1
        ((8, 3, 2), 3),  # floor((8 - 3) / 2) + 1 = 3: the last column is never visited
        ((10, 3, 1, 0, 2), 6),  # dilation 2: span 5
        ((224, 11, 4, 2), 55),  # AlexNet's first layer
    ],
)
def test_conv_output_size(args, expected):
    assert conv_output_size(*args) == expected


def test_conv_output_size_agrees_with_torch():
    for size, k, s, p, d in itertools.product([5, 8, 13], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]):
        if d * (k - 1) + 1 > size + 2 * p:
            continue
        out = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert conv_output_size(size, k, s, p, d) == out.shape[-1]


@pytest.mark.parametrize(
    "args, message",
    [((0, 3), "size must be an int >= 1"), ((5, 3, 0), "stride"), ((5, 3, 1, -1), "padding"),
     ((4, 7), "spans 7 pixels but the padded input has only 4"), ((5.0, 3), "size")],
)
def test_conv_output_size_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        conv_output_size(*args)
