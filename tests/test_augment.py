"""course_utils.augment: shifts move pixels by whole steps; flips mirror; shapes and errors."""

from __future__ import annotations

import pytest
import torch

from course_utils.augment import alternating_hflip, cutout, random_hflip, random_translate


def test_translate_moves_a_single_pixel_within_the_limit():
    x = torch.zeros(50, 1, 9, 9)
    x[:, :, 4, 4] = 1.0  # one bright pixel in the centre
    out = random_translate(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(50))  # nothing lost
    pos = torch.nonzero(out[:, 0])[:, 1:]  # (row, col) of the pixel in each image
    assert ((pos - 4).abs() <= 2).all()
    assert len({tuple(p) for p in pos.tolist()}) > 10  # many different shifts were drawn
    assert torch.equal(random_translate(x, 0), x)


def test_translate_keeps_channels_together_and_fills_zeros():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4) + 1
    out = random_translate(x, 1, torch.Generator().manual_seed(3))
    for b in range(2):  # the same shift in every channel: channel differences stay constant where non-zero
        nz = out[b, 0] != 0
        assert torch.equal(out[b, 1][nz] - out[b, 0][nz], torch.full((int(nz.sum()),), 16.0))


def test_reflect_padding_mirrors_the_border_instead_of_zeros():
    x = torch.arange(1.0, 10.0).view(1, 1, 3, 3).repeat(40, 1, 1, 1)  # rows 1 2 3 / 4 5 6 / 7 8 9
    out = random_translate(x, 1, torch.Generator().manual_seed(0), padding="reflect")
    assert (out != 0).all()  # no black stripes
    # reflect padding of [1 2 3]: [2 1 2 3 2]; every output is a 3x3 window of the 5x5 reflected image
    padded = torch.tensor([[5., 4, 5, 6, 5], [2, 1, 2, 3, 2], [5, 4, 5, 6, 5], [8, 7, 8, 9, 8], [5, 4, 5, 6, 5]])
    windows = {tuple(padded[i:i + 3, j:j + 3].flatten().tolist()) for i in range(3) for j in range(3)}
    seen = {tuple(o.flatten().tolist()) for o in out[:, 0]}
    assert seen <= windows and len(seen) > 4


def test_alternating_flips_mirror_each_image_in_every_other_epoch():
    n = 10_000
    x = torch.arange(2.0).view(1, 1, 1, 2).repeat(n, 1, 1, 1)  # each image: [0, 1]; mirrored: [1, 0]
    index = torch.arange(n)
    flipped = [alternating_hflip(x, index, epoch)[:, 0, 0, 0] == 1 for epoch in range(3)]
    assert torch.equal(flipped[0], ~flipped[1]) and torch.equal(flipped[0], flipped[2])  # every other epoch
    assert abs(flipped[0].float().mean().item() - 0.5) < 0.02  # half of them in epoch 0
    order = torch.randperm(n)  # the choice belongs to the image, not to its place in the batch
    assert torch.equal(alternating_hflip(x[order], index[order], 0)[:, 0, 0, 0] == 1, flipped[0][order])
    other = alternating_hflip(x, index, 0, seed=1)[:, 0, 0, 0] == 1
    assert 0.4 < (other == flipped[0]).float().mean().item() < 0.6  # another seed, another choice


def test_hflip():
    x = torch.arange(8.0).view(2, 1, 1, 4)
    assert torch.equal(random_hflip(x, p=1.0), x.flip(3)) and torch.equal(random_hflip(x, p=0.0), x)


@pytest.mark.parametrize("call, message", [
    (lambda: random_translate(torch.zeros(4, 4), 1), r"Tensor\[B, C, H, W\]"),
    (lambda: random_translate(torch.zeros(1, 1, 4, 4), -1), "max_shift"),
    (lambda: random_hflip(torch.zeros(1, 1, 4, 4), p=2.0), r"p must lie in \[0, 1\]"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cutout_blanks_one_clipped_square_per_image():
    x = torch.ones(64, 3, 10, 10)
    fill = torch.tensor([0.1, 0.2, 0.3])
    out = cutout(x, 4, fill=fill, generator=torch.Generator().manual_seed(0))
    blank = out[:, 0] != 1  # (B, H, W)
    for b in range(len(x)):
        rows, cols = torch.nonzero(blank[b], as_tuple=True)
        assert 1 <= len(rows) <= 16  # at most 4x4; clipped at a border, never empty (the centre is inside)
        h, w = int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1
        assert len(rows) == h * w  # a solid rectangle
        assert torch.equal(out[b, :, rows, cols], fill.view(3, 1).expand(3, len(rows)))
    assert blank.sum(dim=(1, 2)).eq(16).float().mean() > 0.25  # 49% lie fully inside (7 of 10 centres per axis)
    assert torch.equal(cutout(x, 0), x)

@pytest.mark.parametrize("call, message", [
    (lambda: cutout(torch.zeros(3, 8, 8), 2), r"Tensor\[B, C, H, W\]"),
    (lambda: cutout(torch.zeros(1, 3, 8, 8), -1), "non-negative"),
    (lambda: cutout(torch.zeros(1, 3, 8, 8), 2, fill=torch.zeros(2)), r"Tensor\[3\]"),
])
def test_cutout_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
