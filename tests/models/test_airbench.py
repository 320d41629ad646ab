"""course_utils.models.airbench: the whitening filters, the network's shapes, sizes and initialisation."""

from __future__ import annotations

import torch
from torch import nn

from course_utils.models import AIRBENCH94, AirbenchNet, count_parameters, patch_whitening_filters


def _patches(images: torch.Tensor, p: int = 2) -> torch.Tensor:
    """Every p x p patch as a row, in the (channel, row, column) order of a conv filter."""
    return images.unfold(2, p, 1).unfold(3, p, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, images.shape[1] * p * p)


def test_whitening_filters_decorrelate_the_patches():
    gen = torch.Generator().manual_seed(0)
    # strongly correlated images: one smooth random field per image, plus a little noise per channel
    base = torch.nn.functional.avg_pool2d(torch.randn(400, 1, 18, 18, generator=gen), 3, 1)  # 16 x 16, smooth
    images = base.repeat(1, 3, 1, 1) * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1)
    images = images + 0.05 * torch.randn(images.shape, generator=gen)
    filters = patch_whitening_filters(images, patch=2, eps=1e-6)
    assert filters.shape == (24, 3, 2, 2)
    assert torch.equal(filters[12:], -filters[:12])  # each direction with both signs
    x = _patches(images).double()
    x = x - x.mean(0)
    out = x @ filters[:12].reshape(12, -1).double().T  # the first 12 filters' responses to every patch
    cov = out.T @ out / len(out)
    assert torch.allclose(cov, torch.eye(12, dtype=torch.float64), atol=1e-3)  # uncorrelated, unit variance
    before = x.T @ x / len(x)
    assert before[0, 4] / (before[0, 0] * before[4, 4]).sqrt() > 0.95  # red and green were almost copies


def test_eps_damps_the_weak_directions():
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(200, 3, 8, 8, generator=gen) * 0.01  # variance 1e-4 in every direction
    filters = patch_whitening_filters(images, eps=1e-4)
    x = _patches(images).double()
    out = (x - x.mean(0)) @ filters[:12].reshape(12, -1).double().T
    # variance lambda / (lambda + eps) = 1e-4 / 2e-4 = 0.5 in every direction
    assert torch.allclose(out.var(0, unbiased=False), torch.full((12,), 0.5, dtype=torch.float64), atol=0.05)


def test_shapes_and_parameter_counts():
    net = AirbenchNet()
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for m in net.features]
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    for h in hooks:
        h.remove()
    assert sizes == [31, 15, 7, 3]  # 32 -> 31 (2x2 whitening, no padding); each block's max-pool halves it
    # whitening 24*3*2*2 + 24; convs 24*32*9, 32*32*9, 32*64*9, 64*64*9, 64*128*9, 128*128*9;
    # batch norm 2 * (32+32+64+64+128+128); head 128*10
    total = 312 + 9 * (24 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128) + 2 * 448 + 1280
    assert count_parameters(net, trainable_only=False) == total == 295_096
    assert count_parameters(net) == total - 448  # batch-norm scales are frozen at 1
    assert count_parameters(AirbenchNet(AIRBENCH94), trainable_only=False) > 1_900_000
    assert AirbenchNet(widths=(8, 8, 16)).cfg.widths == (8, 8, 16)  # keyword overrides


def test_whiten_sets_and_freezes_the_first_layer_only():
    net = AirbenchNet(widths=(8, 8, 8))
    images = torch.randn(50, 3, 32, 32)
    assert net.whitening.weight.requires_grad
    net.whiten_(images)
    assert torch.equal(net.whitening.weight, patch_whitening_filters(images))
    assert not net.whitening.weight.requires_grad and net.whitening.bias.requires_grad


def test_second_convolutions_start_as_the_identity():
    net = AirbenchNet(widths=(8, 8, 8)).eval()
    conv = net.features[1][4]  # block 1's second convolution, 8 -> 8 channels
    assert isinstance(conv, nn.Conv2d) and conv.in_channels == conv.out_channels == 8
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(conv(x), x, atol=1e-6)
    first = net.features[1][0]  # block 1's first convolution, 24 -> 8: its 8 outputs copy the first 8 inputs
    x = torch.randn(2, 24, 5, 5)
    assert torch.allclose(first(x), x[:, :8], atol=1e-6)
