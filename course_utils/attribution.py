"""Which pixels made the network decide? Attribution maps in captum's shape.

Every function takes a model (any callable ``Tensor[B, C, H, W] -> Tensor[B, K]``
of class scores, i.e. logits), an input batch and the target class per image, and
returns a tensor of the input's shape, like ``captum.attr``:

* :func:`saliency` -- the gradient of the class score with respect to the pixels
  (Simonyan et al., 2013); equal to ``captum.attr.Saliency``.
* :func:`smoothgrad` -- saliency averaged over noisy copies of the input
  (Smilkov et al., 2017); equal to ``NoiseTunnel(Saliency)`` with ``nt_type="smoothgrad"``.
* :func:`occlusion` -- the drop of the class score when a window is blanked out,
  averaged over the windows covering each pixel (Zeiler & Fergus, 2014); equal to
  ``captum.attr.Occlusion``.
* :func:`class_model` -- an input synthesised by gradient ascent on one class score
  (Simonyan et al., 2013).

Helpers to read the maps: :func:`reduce_channels` and :func:`rank_correlation`.
The class *score* is used, never the softmax probability: a probability can also
rise because the other classes' scores fall.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from . import validate

Model = Callable[[Tensor], Tensor]


def _check_batch(x: Tensor, name: str = "x") -> None:
    validate.tensor(x, name, ndim=4, dtype="float", hint="(a float batch Tensor[B, C, H, W]; add a batch "
                                                        "dimension with x[None])")


def _as_classes(target: int | Sequence[int] | Tensor, device: torch.device) -> Tensor:
    """Target classes as int64, refusing floats and bools (``as_tensor(..., long)`` would truncate 2.7 to 2)."""
    if isinstance(target, bool) or (isinstance(target, float)):
        raise TypeError(f"target must be an int class index or one per image, got {target!r}")
    if isinstance(target, Tensor):
        if target.is_floating_point() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got {target.dtype} (cast with .long())")
    elif isinstance(target, (list, tuple)) and not all(isinstance(v, int) and not isinstance(v, bool) for v in target):
        raise TypeError(f"target must hold integer class indices, got {list(target)!r}")
    elif not isinstance(target, (int, list, tuple)):
        raise TypeError(f"target must be an int, a sequence of ints or a Tensor of them, got {type(target).__name__}")
    return torch.as_tensor(target, dtype=torch.long, device=device)


def _targets(target: int | Sequence[int] | Tensor, batch: int, num_classes: int, device: torch.device) -> Tensor:
    t = _as_classes(target, device)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"target must be an int or one class per image (Tensor[{batch}]), got shape {tuple(t.shape)}")
    if int(t.min()) < 0 or int(t.max()) >= num_classes:
        raise ValueError(f"target classes must lie in [0, {num_classes}), got {t.tolist()}")
    return t


def _check_model(model: Model) -> None:
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module or a function of a batch), got "
                        f"{validate.describe(model)}")


def _scores(model: Model, x: Tensor, target: int | Sequence[int] | Tensor) -> Tensor:
    """``Tensor[B]``: each image's score for its target class."""
    _check_model(model)
    logits = model(x)
    if logits.ndim != 2 or logits.shape[0] != x.shape[0]:
        raise ValueError(f"the model must return class scores Tensor[B, K], got {tuple(logits.shape)}")
    t = _targets(target, x.shape[0], logits.shape[1], logits.device)
    return logits.gather(1, t[:, None])[:, 0]


def _gradient(model: Model, x: Tensor, target: int | Sequence[int] | Tensor) -> Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = _scores(model, x, target)
        (grad,) = torch.autograd.grad(scores.sum(), x)  # images do not interact: the sum separates them
    return grad


def saliency(model: Model, x: Tensor, target: int | Sequence[int] | Tensor, *, absolute: bool = True) -> Tensor:
    """``Tensor[B, C, H, W]``: d score_target / d pixel, its absolute value by default.

    Put ``model`` in eval mode first (batch norm and dropout would otherwise mix
    the images of the batch or add noise).

    Raises:
        TypeError: ``model`` is not callable, ``x`` is not a tensor, or ``target`` holds floats or bools
            (class indices are ints).
        ValueError: ``x`` is not a float batch ``Tensor[B, C, H, W]``, the model does not return ``Tensor[B,
            K]``, or ``target`` is not one class in ``[0, K)`` per image.
    """
    _check_batch(x)
    grad = _gradient(model, x, target)
    return grad.abs() if absolute else grad


def smoothgrad(
    model: Model,
    x: Tensor,
    target: int | Sequence[int] | Tensor,
    *,
    n_samples: int = 25,
    noise_level: float = 0.15,
    absolute: bool = True,
    batch_size: int = 64,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``Tensor[B, C, H, W]``: saliency averaged over ``n_samples`` noisy copies of each image.

    Args:
        noise_level: the noise's standard deviation as a fraction of each image's value
            range (max - min); the SmoothGrad paper advises 0.1-0.2.
        absolute: average the absolute gradients (as ``Saliency(abs=True)`` under captum's
            ``NoiseTunnel``); False averages the signed gradients.
        batch_size: noisy copies per backward pass (memory only; the result is the same).
        generator: the noise's random generator; None draws from torch's global one,
            in the same order as captum, so that a seed reproduces captum's result.

    Raises:
        TypeError: ``model`` is not callable, ``x`` is not a tensor, ``target`` holds floats or bools, or a
            count or ``noise_level`` is not a number.
        ValueError: ``x`` is not a float batch ``Tensor[B, C, H, W]``, ``n_samples`` or ``batch_size`` is
            not positive, ``noise_level`` is negative, or ``target`` is not one class per image.
    """
    _check_batch(x)
    _check_model(model)
    validate.positive_int(n_samples, "n_samples")
    validate.positive_int(batch_size, "batch_size")
    validate.number(noise_level, "noise_level", low=0.0)
    b = x.shape[0]
    t = _as_classes(target, x.device)
    if t.ndim > 1 or (t.ndim == 1 and len(t) != b):
        raise ValueError(f"target must be an int or one class per image (Tensor[{b}]), got shape {tuple(t.shape)}")
    t = (t.expand(b) if t.ndim == 0 else t).repeat_interleave(n_samples)  # (B * n,)
    span = (x.flatten(1).amax(1) - x.flatten(1).amin(1)).view(b, 1, 1, 1)  # (B, 1, 1, 1)
    sigma = (noise_level * span).repeat_interleave(n_samples, 0).expand(b * n_samples, *x.shape[1:])
    noise = torch.normal(0.0, sigma.contiguous(), generator=generator)  # (B * n, C, H, W), captum's layout
    noisy = x.detach().repeat_interleave(n_samples, 0) + noise
    grads = torch.cat([saliency(model, noisy[i:i + batch_size], t[i:i + batch_size], absolute=absolute)
                       for i in range(0, len(noisy), batch_size)])
    return grads.view(b, n_samples, *x.shape[1:]).mean(1)


def _window_starts(size: int, window: int, stride: int) -> list[int]:
    # captum's convention: ceil((size - window) / stride) + 1 positions; the last one may
    # stick out past the border and is cropped, so every pixel is covered.
    n = -(-(size - window) // stride) + 1
    return [k * stride for k in range(n)]


@torch.no_grad()
def occlusion(
    model: Model,
    x: Tensor,
    target: int | Sequence[int] | Tensor,
    *,
    window: int | tuple[int, int] = 8,
    stride: int | tuple[int, int] = 4,
    baseline: float | Tensor = 0.0,
    batch_size: int = 256,
) -> Tensor:
    """``Tensor[B, C, H, W]``: score(x) - score(x with a window replaced by ``baseline``), per pixel.

    Each pixel gets the mean drop over all window positions that cover it; all
    channels of a window are blanked together. One forward pass per position, run
    ``batch_size`` occluded copies at a time.

    Args:
        window, stride: the window's height and width, and its step, in pixels.
        baseline: the value put in the window (a number, or a tensor that broadcasts
            to one image ``Tensor[C, H, W]``, e.g. the mean colour).

    Raises:
        TypeError: ``model`` is not callable, ``x`` is not a tensor, or ``target`` holds floats or bools.
        ValueError: ``x`` is not a float batch ``Tensor[B, C, H, W]``, the window does not fit the image,
            the stride is not between 1 and the window, or the model does not return ``Tensor[B,
            K]``.
    """
    _check_batch(x)
    b, c, h, w = x.shape
    wh, ww = (window, window) if isinstance(window, int) else window
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if not (1 <= wh <= h and 1 <= ww <= w):
        raise ValueError(f"window {(wh, ww)} must fit in the image {(h, w)}")
    if not (1 <= sh <= wh and 1 <= sw <= ww):
        raise ValueError(f"stride {(sh, sw)} must lie between 1 and the window {(wh, ww)} (no pixel left uncovered)")
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    if base.ndim == 1:
        base = base.view(-1, 1, 1)  # a per-channel value
    masks = []
    for top in _window_starts(h, wh, sh):
        for left in _window_starts(w, ww, sw):
            m = torch.zeros(1, h, w, dtype=x.dtype, device=x.device)
            m[:, top:top + wh, left:left + ww] = 1
            masks.append(m)
    masks_t = torch.stack(masks)  # (P, 1, H, W)
    counts = masks_t.sum(0)  # (1, H, W): how many windows cover each pixel
    logits = model(x)
    if logits.ndim != 2 or logits.shape[0] != b:
        raise ValueError(f"the model must return class scores Tensor[B, K], got {tuple(logits.shape)}")
    t = _targets(target, b, logits.shape[1], logits.device)
    reference = logits.gather(1, t[:, None])[:, 0]  # (B,)
    out = torch.zeros_like(x)
    for i in range(b):
        drops = []
        for j in range(0, len(masks_t), batch_size):
            m = masks_t[j:j + batch_size]  # (p, 1, H, W)
            occluded = x[i:i + 1] * (1 - m) + base * m  # (p, C, H, W)
            drops.append(reference[i] - _scores(model, occluded, int(t[i])))
        drop = torch.cat(drops)  # (P,)
        out[i] = ((drop.view(-1, 1, 1, 1) * masks_t).sum(0) / counts).expand(c, h, w)
    return out


def reduce_channels(attribution: Tensor, how: str = "max") -> Tensor:
    """``Tensor[B, C, H, W]`` -> ``Tensor[B, H, W]``: one value per pixel for a heatmap.

    ``"max"`` takes the largest absolute value over the channels (Simonyan et al.),
    ``"mean"`` the mean absolute value, ``"sum"`` the signed sum.

    Raises:
        TypeError: ``attribution`` is not a tensor.
        ValueError: ``attribution`` is not a float ``Tensor[B, C, H, W]``, or ``how`` is not ``"max"``,
            ``"mean"`` or ``"sum"``.
    """
    _check_batch(attribution, "attribution")
    if how == "max":
        return attribution.abs().amax(1)
    if how == "mean":
        return attribution.abs().mean(1)
    if how == "sum":
        return attribution.sum(1)
    raise ValueError(f"how must be 'max', 'mean' or 'sum', got {how!r}")


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two maps of the same shape (ties broken by position).

    Raises:
        TypeError: ``a`` or ``b`` is not a tensor.
        ValueError: the maps differ in shape or hold fewer than 2 values.
    """
    validate.tensor(a, "a")
    validate.tensor(b, "b")
    if a.shape != b.shape or a.numel() < 2:
        raise ValueError(f"need two maps of the same shape with 2+ values, got {tuple(a.shape)} and {tuple(b.shape)}")

    def ranks(v: Tensor) -> Tensor:
        r = torch.empty(v.numel(), dtype=torch.float64)
        r[v.flatten().argsort(stable=True)] = torch.arange(v.numel(), dtype=torch.float64)
        return r

    ra, rb = ranks(a.detach().cpu()), ranks(b.detach().cpu())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra @ rb) / (ra.norm() * rb.norm()))


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Blur each channel of ``Tensor[B, C, H, W]`` with a Gaussian of ``sigma`` pixels (reflect padding).

    Raises:
        TypeError: ``x`` is not a tensor, or ``sigma`` not a number.
        ValueError: ``x`` is not a float ``Tensor[B, C, H, W]``, or ``sigma`` is negative or NaN.
    """
    _check_batch(x)
    validate.number(sigma, "sigma", low=0.0)
    if sigma == 0:
        return x
    radius = max(1, int(3 * sigma + 0.5))
    coords = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-coords**2 / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius,) * 4, mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along the width
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along the height


def class_model(
    model: Model,
    target: int,
    *,
    shape: tuple[int, int, int] = (3, 32, 32),
    steps: int = 200,
    lr: float = 0.1,
    l2: float = 1e-3,
    jitter: int = 2,
    blur_every: int = 10,
    blur_sigma: float = 0.5,
    init: Tensor | None = None,
    bounds: tuple[Tensor | float, Tensor | float] | None = None,
    frame_every: int = 0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, list[Tensor]]:
    """Synthesise an input that maximises one class score by gradient ascent on the pixels.

    Maximises ``score_target(x) - l2 * ||x||^2`` with normalised gradient steps; the
    weights stay frozen. Three regularisers keep the image natural-looking: the L2
    decay, random jitter (the image is shifted by up to ``jitter`` pixels before each
    step) and a Gaussian blur every ``blur_every`` steps.

    Args:
        shape: ``(C, H, W)`` of the model's input.
        init: the start, ``Tensor[C, H, W]`` (e.g. the mean image in the model's input
            space); None: zeros (in a normalised input space, the mean colour).
        bounds: ``(low, high)``, numbers or ``Tensor[C]``: clamp the pixels to this box
            after each step (e.g. the normalised images of 0 and 1).
        frame_every: also return a copy of the image every this many steps (0: none).

    Returns:
        ``(image Tensor[C, H, W], frames)`` with frames a list of ``Tensor[C, H, W]``.

    Raises:
        TypeError: ``model`` is not callable, ``target`` is not an int class index, or ``steps`` or ``lr``
            is not a number.
        ValueError: ``shape`` is not ``(C, H, W)``, ``steps`` or ``lr`` is not positive, ``init`` has
            another shape, or ``target`` lies outside the model's classes.
    """
    _check_model(model)
    _as_classes(target, torch.device("cpu"))
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"shape must be (C, H, W), got {shape!r}")
    validate.positive_int(steps, "steps")
    validate.number(lr, "lr", low=0.0, low_open=True)
    params = [p for p in getattr(model, "parameters", lambda: [])()]
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params else torch.float32
    x = torch.zeros(shape, device=device, dtype=dtype) if init is None else init.detach().clone().to(device, dtype)
    if x.shape != tuple(shape):
        raise ValueError(f"init must have shape {tuple(shape)}, got {tuple(x.shape)}")
    x = x[None]  # (1, C, H, W)
    with torch.no_grad():
        num_classes = model(x).shape[1]
    _targets(target, 1, num_classes, device)
    low = high = None
    if bounds is not None:
        low, high = (torch.as_tensor(v, dtype=x.dtype, device=device).view(1, -1, 1, 1) if torch.as_tensor(v).ndim
                     else torch.as_tensor(v, dtype=x.dtype, device=device) for v in bounds)
    frames: list[Tensor] = []
    for step in range(1, steps + 1):
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist() if jitter else (0, 0))
        shifted = torch.roll(x, (dy, dx), dims=(2, 3)).requires_grad_(True)
        with torch.enable_grad():
            objective = _scores(model, shifted, target).sum() - l2 * shifted.pow(2).sum()
            (grad,) = torch.autograd.grad(objective, shifted)
        grad = torch.roll(grad, (-dy, -dx), dims=(2, 3))
        with torch.no_grad():
            x = x + lr * grad / (grad.abs().mean() + 1e-12)  # normalised step: the size is set by lr
            if blur_every and step % blur_every == 0:
                x = gaussian_blur(x, blur_sigma)
            if low is not None:
                x = torch.maximum(torch.minimum(x, high), low)
        if frame_every and (step % frame_every == 0 or step == steps):
            frames.append(x[0].detach().clone())
    return x[0].detach(), frames
