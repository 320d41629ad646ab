"""Checks for the chapters' exercises.

Each check takes the learner's function (or answer), compares it with a
reference on fresh inputs, prints a short confirmation when it agrees and
raises ``AssertionError`` with a hint when it does not. References come from
torchvision where it has the operation, so the checks test against a library,
not against the course's own solution.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def _check_fn(fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"pass your function itself, not its result: fn must be callable, got {type(fn).__name__}")


def check_to_grayscale(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn``: ``Tensor[B, 3, H, W]`` float in [0, 1] -> ``Tensor[B, 1, H, W]`` luma (ITU-R BT.601).

    The reference is ``torchvision.transforms.functional.rgb_to_grayscale``
    (weights 0.2989, 0.587, 0.114).

    Raises:
        TypeError: ``fn`` is not callable (its result was passed instead of the function).
        AssertionError: ``fn``'s output differs from the reference; the message says how.
    """
    _check_fn(fn)
    from torchvision.transforms.functional import rgb_to_grayscale

    gen = torch.Generator().manual_seed(1234)
    x = torch.rand(4, 3, 7, 5, generator=gen)
    out = fn(x)
    assert isinstance(out, Tensor), f"expected a Tensor, got {type(out).__name__}"
    assert out.shape == (4, 1, 7, 5), f"expected shape (B, 1, H, W) = (4, 1, 7, 5), got {tuple(out.shape)}"
    ref = rgb_to_grayscale(x)
    err = float((out - ref).abs().max())
    assert err < 2e-3, (
        f"largest difference from BT.601 luma is {err:.4f}; weight R, G, B by 0.299, 0.587, 0.114 "
        "and keep the channel dimension"
    )
    print(f"check_to_grayscale: correct (max difference {err:.1e} from torchvision)")


def check_batch_bytes(n_images: int, uint8_bytes: int, float32_bytes: int, *, shape: tuple[int, int, int] = (3, 32, 32)) -> None:
    """Check the memory of ``n_images`` images of ``shape`` (C, H, W) stored as uint8 and as float32.

    Raises:
        TypeError: a byte count is not an int.
        AssertionError: a count is wrong; the message gives the expected number.
    """
    for name, value in (("n_images", n_images), ("uint8_bytes", uint8_bytes), ("float32_bytes", float32_bytes)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int (a number of bytes), got {value!r}")
    expected = torch.zeros(n_images, *shape, dtype=torch.uint8)
    want_u8 = expected.numel() * expected.element_size()
    want_f32 = expected.numel() * torch.empty(0, dtype=torch.float32).element_size()
    assert uint8_bytes == want_u8, f"uint8: expected {want_u8:,} bytes (one byte per value), got {uint8_bytes:,}"
    assert float32_bytes == want_f32, f"float32: expected {want_f32:,} bytes (four bytes per value), got {float32_bytes:,}"
    print(f"check_batch_bytes: correct ({want_u8:,} B as uint8, {want_f32:,} B as float32)")


def check_output_size(fn: Callable[..., int]) -> None:
    """Check ``fn(W, k, s, p, d)`` -> output width of a convolution, against ``F.conv2d`` on many cases.

    Raises:
        TypeError: ``fn`` is not callable.
        AssertionError: ``fn`` gives another size than ``F.conv2d`` for a case the message names.
    """
    _check_fn(fn)
    import itertools

    import torch.nn.functional as F

    tried = 0
    for w, k, s, p, d in itertools.product([5, 8, 13, 32], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]):
        if d * (k - 1) + 1 > w + 2 * p:
            continue
        want = F.conv2d(torch.zeros(1, 1, w, w), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]
        got = fn(w, k, s, p, d)
        assert got == want, f"for W={w}, k={k}, s={s}, p={p}, d={d}: expected {want}, got {got}"
        tried += 1
    print(f"check_output_size: correct on all {tried} cases")


def check_softmax(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn``: a 1-D tensor of logits -> probabilities, equal to ``torch.softmax`` and safe for huge logits.

    Raises:
        TypeError: ``fn`` is not callable.
        AssertionError: ``fn`` gives wrong probabilities, another shape, or NaN for large logits.
    """
    _check_fn(fn)
    gen = torch.Generator().manual_seed(7)
    cases = [torch.randn(5, generator=gen), torch.tensor([1000.0, 1001.0, 999.0]), torch.tensor([-1000.0, -1000.0])]
    for z in cases:
        got = fn(z)
        assert isinstance(got, Tensor) and got.shape == z.shape, f"expected a tensor of shape {tuple(z.shape)}"
        assert not torch.isnan(got).any(), f"NaN for logits {z.tolist()}: subtract the largest logit before exp"
        assert torch.allclose(got, torch.softmax(z, dim=0), atol=1e-6), f"wrong probabilities for {z.tolist()}"
    print("check_softmax: correct, and stable for large logits")
