"""Figures of the course. Plotting only: every function takes computed tensors
and returns a matplotlib ``Figure``; nothing here computes results.

Images are passed as PyTorch tensors in CHW order (``Tensor[C, H, W]`` or a
batch ``Tensor[B, C, H, W]``), the layout the models use; the helpers do the
``permute`` to matplotlib's HWC themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from . import validate
from .data.normalize import denormalize
from .training import History

HEATMAP_CMAP = "magma"
"""The one colour map the course uses for heatmaps (perceptually uniform)."""


def _as_batch(images: Tensor | Sequence[Tensor]) -> Tensor:
    """Accept ``Tensor[B, C, H, W]``, ``Tensor[C, H, W]``, ``Tensor[H, W]`` or a list of CHW tensors."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("no images to show")
        images = torch.stack([_as_batch(im)[0] for im in images])
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim == 2:
        images = images[None, None]  # (H, W) -> (1, 1, H, W)
    elif images.ndim == 3:
        images = images[None]  # (C, H, W) -> (1, C, H, W)
    elif images.ndim != 4:
        raise ValueError(
            f"expected Tensor[B, C, H, W], Tensor[C, H, W] or Tensor[H, W]; got shape {tuple(images.shape)}"
        )
    if images.shape[1] not in (1, 3):
        raise ValueError(
            f"expected 1 (grayscale) or 3 (RGB) channels in dim 1 (CHW order); got shape {tuple(images.shape)}. "
            "An HWC image needs .permute(2, 0, 1) first."
        )
    if images.shape[0] == 0:
        raise ValueError("no images to show")
    return images


def to_display(
    images: Tensor,
    *,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    value_range: tuple[float, float] | str | None = None,
) -> np.ndarray:
    """Turn images into an array matplotlib shows as intended: ``float[B, H, W, C]`` in [0, 1].

    Args:
        images: ``Tensor[B, C, H, W]`` (or CHW / HW), uint8 or float, on any device.
        mean, std: if given, the images were normalised with these per-channel
            values; they are un-normalised first (``x * std + mean``).
        value_range: ``(low, high)`` mapped to [0, 1]. Default: ``(0, 255)`` for
            uint8, ``(0, 1)`` for float images inside [0, 1], and each image's own
            min..max otherwise (so a normalised or feature-map image stays visible);
            ``"each"`` always scales each image to its own min..max.
            Values outside the range are clipped.

    Raises:
        TypeError: ``images`` is not a tensor (or a list of CHW tensors).
        ValueError: ``images`` is not Tensor[B, C, H, W], Tensor[C, H, W] or Tensor[H, W] with 1 or 3
            channels, or is empty; ``mean`` without ``std`` (or either with uint8 images); a
            ``value_range`` that is not ``(low, high)`` with high > low, or ``'each'``.
    """
    x = _as_batch(images).detach().cpu()
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std to un-normalise, or neither")
    if x.dtype == torch.uint8:
        if mean is not None:
            raise ValueError("mean/std un-normalisation expects float images, got uint8")
        x = x.float()
        value_range = value_range or (0.0, 255.0)
    else:
        x = x.float()
        if mean is not None:
            x = denormalize(x, mean, std)  # type: ignore[arg-type]
    if value_range not in (None, "each") and isinstance(value_range, str):
        raise ValueError(f"value_range must be (low, high), 'each' or None; got {value_range!r}")
    if value_range is None or value_range == "each":
        if value_range is None and x.numel() and float(x.min()) >= 0.0 and float(x.max()) <= 1.0:
            value_range = (0.0, 1.0)
        else:  # per-image min..max
            flat = x.flatten(1)
            lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
            hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
            x = (x - lo) / (hi - lo).clamp_min(1e-12)
            value_range = (0.0, 1.0)
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
    x = ((x - lo) / (hi - lo)).clamp(0, 1)
    return x.permute(0, 2, 3, 1).numpy()  # (B, C, H, W) -> (B, H, W, C)


def show_images(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    value_range: tuple[float, float] | str | None = None,
    cmap: str = "gray",
    suptitle: str | None = None,
    size: float = 1.6,
) -> Figure:
    """Show a grid of images, one per panel, with optional titles.

    Args:
        images: ``Tensor[B, C, H, W]`` with C = 1 (grayscale) or 3 (RGB); a single
            ``Tensor[C, H, W]``/``Tensor[H, W]`` or a list of CHW tensors also works.
        titles: one title per image (for example class names).
        ncols: panels per row (fewer if there are fewer images).
        mean, std, value_range: see :func:`to_display`.
        cmap: colour map of single-channel images.
        suptitle: a title over the whole grid.
        size: panel size in inches.

    Returns:
        The matplotlib figure (shown automatically in a notebook).

    Raises:
        TypeError: ``images`` is not a tensor (or a list of CHW tensors).
        ValueError: ``images`` is not Tensor[B, C, H, W], Tensor[C, H, W] or Tensor[H, W] with 1 or 3
            channels, or is empty; ``mean`` without ``std`` (or either with uint8 images); a
            ``value_range`` that is not ``(low, high)`` with high > low, or ``'each'``.
        ValueError: ``titles`` does not hold one title per image; ``ncols`` below 1.
        TypeError: ``ncols`` is not an int.
    """
    arr = to_display(_as_batch(images), mean=mean, std=std, value_range=value_range)
    n = arr.shape[0]
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    validate.positive_int(ncols, "ncols")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if arr.shape[-1] == 1:
            ax.imshow(arr[i, :, :, 0], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(arr[i], interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_channels(
    image: Tensor,
    names: Sequence[str] | None = None,
    *,
    cmap: str = "gray",
    suptitle: str | None = None,
    size: float = 2.6,
) -> Figure:
    """Show each channel of one ``Tensor[C, H, W]`` image as its own grayscale panel, with a colour bar.

    Useful to see that an RGB image is three grayscale images stacked (or, later,
    the C feature maps of a convolution layer).

    Raises:
        ValueError: ``image`` is not one Tensor[C, H, W], or ``names`` does not hold one name per channel.
    """
    if not isinstance(image, Tensor) or image.ndim != 3:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        raise ValueError(f"expected one image Tensor[C, H, W]; got {shape}")
    c = image.shape[0]
    if names is not None and len(names) != c:
        raise ValueError(f"{len(names)} names for {c} channels")
    x = image.detach().cpu().float().numpy()
    fig, axes = plt.subplots(1, c, figsize=(size * c + 0.6, size + (0.4 if suptitle else 0)), squeeze=False)
    vmin, vmax = float(x.min()), float(x.max())
    for k, ax in enumerate(axes.flat):
        im = ax.imshow(x[k], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(names[k] if names is not None else f"channel {k}", fontsize=10)
        ax.set_xlabel("x (column)")
        if k == 0:
            ax.set_ylabel("y (row)")
        ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="value")
    if suptitle:
        fig.suptitle(suptitle)
    return fig



def show_matrix(values: Tensor, *, title: str | None = None, **kwargs) -> Figure:
    """Show a small 2-D ``Tensor[H, W]`` as a grid of cells, each annotated with its value.

    For pixel patches, kernels and small feature maps: the numbers behind an image.
    Keyword arguments are those of :func:`show_matrices`.

    Raises:
        ValueError: ``values`` is not a 2-D Tensor[H, W], or has more than 900 cells to annotate.
    """
    return show_matrices([values], [title] if title else None, **kwargs)


def show_matrices(
    matrices: Sequence[Tensor],
    titles: Sequence[str] | None = None,
    *,
    fmt: str = "{:.0f}",
    cmap: str = "gray",
    value_range: tuple[float, float] | None = None,
    size: float = 0.45,
    suptitle: str | None = None,
    xlabel: str = "x (column)",
    ylabel: str = "y (row)",
) -> Figure:
    """Several small annotated matrices side by side (e.g. input, kernel and output of a convolution).

    Each ``Tensor[H, W]`` is drawn with its own colour scale (or ``value_range``
    for all), every cell labelled with ``fmt``; text is black on light cells and
    white on dark ones.

    Raises:
        ValueError: no matrices; one is not a 2-D Tensor[H, W] or has more than 900 cells; ``titles`` does
            not hold one title per matrix.
    """
    if not matrices:
        raise ValueError("no matrices to show")
    for m in matrices:
        if not isinstance(m, Tensor) or m.ndim != 2:
            shape = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(f"expected 2-D Tensor[H, W] matrices; got {shape}")
        if m.numel() > 900:
            raise ValueError(f"{tuple(m.shape)} is too many cells to annotate (at most 900); show a smaller patch")
    if titles is not None and len(titles) != len(matrices):
        raise ValueError(f"{len(titles)} titles for {len(matrices)} matrices")
    widths = [m.shape[1] for m in matrices]
    height = max(m.shape[0] for m in matrices)
    fig, axes = plt.subplots(
        1, len(matrices), squeeze=False, gridspec_kw={"width_ratios": widths},
        figsize=(max(2.5, size * sum(widths) + 1.2 * len(matrices)), max(2.0, size * height + 1.0)),
    )
    cm = plt.get_cmap(cmap)
    for k, (ax, m) in enumerate(zip(axes.flat, matrices)):
        v = m.detach().cpu().double().numpy()
        lo, hi = value_range if value_range is not None else (float(v.min()), float(v.max()))
        hi = hi if hi > lo else lo + 1
        ax.imshow(v, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        for i in range(v.shape[0]):
            for j in range(v.shape[1]):
                r, g, b, _ = cm((min(max(v[i, j], lo), hi) - lo) / (hi - lo))
                colour = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                ax.text(j, i, fmt.format(v[i, j]), ha="center", va="center", fontsize=7, color=colour)
        ax.set_xticks(range(v.shape[1]))
        ax.set_yticks(range(v.shape[0]))
        ax.tick_params(labelsize=7)
        ax.set_xlabel(xlabel)
        if k == 0:
            ax.set_ylabel(ylabel)
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_feature_maps(
    maps: Tensor,
    *,
    max_maps: int = 32,
    ncols: int = 8,
    cmap: str = "gray",
    suptitle: str | None = None,
    size: float = 1.0,
) -> Figure:
    """One panel per channel of a layer's output ``Tensor[C, H, W]`` (or the first image of ``Tensor[B, C, H, W]``).

    Each map is scaled to its own min..max (the colour bar would differ per panel),
    so a panel shows *where* a channel responds, not how strongly compared with
    the others.

    Raises:
        ValueError: ``maps`` is not a Tensor[C, H, W] or Tensor[B, C, H, W].
    """
    if isinstance(maps, Tensor) and maps.ndim == 4:
        maps = maps[0]
    if not isinstance(maps, Tensor) or maps.ndim != 3:
        shape = tuple(maps.shape) if isinstance(maps, Tensor) else type(maps).__name__
        raise ValueError(f"expected a layer output Tensor[C, H, W] or Tensor[B, C, H, W]; got {shape}")
    shown = maps[:max_maps].detach().float().cpu()
    titles = [f"ch {c}" for c in range(len(shown))]
    return show_images(shown[:, None], titles, ncols=ncols, cmap=cmap, suptitle=suptitle, size=size,
                       value_range="each")


def show_heatmaps(
    maps: Tensor,
    titles: Sequence[str] | None = None,
    *,
    boxes: Sequence[Sequence[float] | None] | None = None,
    suptitle: str | None = None,
    size: float = 3.0,
    colorbar_label: str = "value",
) -> Figure:
    """Heatmaps ``Tensor[N, H, W]`` side by side in the course's colour map, each with a colour bar.

    Args:
        boxes: per map, an optional box ``(x0, y0, x1, y1)`` in pixel coordinates
            (``xyxy``, inclusive pixel edges), drawn as a cyan outline, e.g. a
            theoretical receptive field.

    Raises:
        ValueError: ``maps`` is not a Tensor[N, H, W] or Tensor[H, W]; ``titles`` or ``boxes`` does not hold
            one entry per map.
    """
    if isinstance(maps, Tensor) and maps.ndim == 2:
        maps = maps[None]
    if not isinstance(maps, Tensor) or maps.ndim != 3:
        shape = tuple(maps.shape) if isinstance(maps, Tensor) else type(maps).__name__
        raise ValueError(f"expected heatmaps Tensor[N, H, W] (or one Tensor[H, W]); got {shape}")
    n = maps.shape[0]
    for name, seq in (("titles", titles), ("boxes", boxes)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{len(seq)} {name} for {n} heatmaps")
    fig, axes = plt.subplots(1, n, figsize=(size * n + 0.8 * n, size), squeeze=False)
    for k, ax in enumerate(axes.flat):
        im = ax.imshow(maps[k].detach().cpu().float().numpy(), cmap=HEATMAP_CMAP, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=colorbar_label)
        if boxes is not None and boxes[k] is not None:
            x0, y0, x1, y1 = boxes[k]
            ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1,
                                       fill=False, edgecolor="cyan", linewidth=1.5))
        if titles is not None:
            ax.set_title(titles[k], fontsize=10)
        ax.set_xlabel("x (column)")
        if k == 0:
            ax.set_ylabel("y (row)")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_attributions(
    images: Tensor,
    maps: Tensor,
    titles: Sequence[str] | None = None,
    *,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    alpha: float = 0.6,
    suptitle: str | None = None,
    size: float = 1.8,
) -> Figure:
    """Each image above its attribution map overlaid on a grey copy of it.

    Args:
        images: ``Tensor[N, C, H, W]`` as for :func:`show_images` (uint8, [0, 1], or
            normalised with ``mean``/``std``).
        maps: ``Tensor[N, H, W]``, one value per pixel (e.g. ``attribution.reduce_channels``);
            each map is scaled to its own 0..max for display.
        alpha: opacity of the heatmap over the image.

    Raises:
        TypeError: ``images`` is not a tensor (or a list of CHW tensors).
        ValueError: ``images`` is not Tensor[B, C, H, W], Tensor[C, H, W] or Tensor[H, W] with 1 or 3
            channels, or is empty; ``mean`` without ``std`` (or either with uint8 images); a
            ``value_range`` that is not ``(low, high)`` with high > low, or ``'each'``.
        ValueError: ``maps`` is not a Tensor[N, H, W] matching the images, or ``titles`` does not hold one
            title per image.
    """
    shown = to_display(images, mean=mean, std=std)  # (N, H, W, C)
    if not isinstance(maps, Tensor) or maps.ndim != 3 or maps.shape[0] != shown.shape[0] \
            or tuple(maps.shape[1:]) != shown.shape[1:3]:
        raise ValueError(f"maps must be Tensor[N, H, W] matching the {shown.shape[0]} images of size "
                         f"{shown.shape[1:3]}; got {getattr(maps, 'shape', type(maps).__name__)}")
    n = shown.shape[0]
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    m = maps.detach().cpu().float()
    m = m / m.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1)
    grey = shown.mean(axis=3)  # (N, H, W)
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size + 0.4), squeeze=False)
    for k in range(n):
        top, bottom = axes[0, k], axes[1, k]
        top.imshow(shown[k].squeeze(), cmap="gray" if shown.shape[3] == 1 else None, interpolation="nearest")
        bottom.imshow(grey[k], cmap="gray", interpolation="nearest")
        bottom.imshow(m[k].numpy(), cmap=HEATMAP_CMAP, alpha=alpha, vmin=0, vmax=1, interpolation="nearest")
        if titles is not None:
            top.set_title(titles[k], fontsize=9)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("attribution")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_detections(
    images: Tensor,
    detections: Sequence[dict],
    class_names: Sequence[str],
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    size: float = 2.4,
    suptitle: str | None = None,
    show_labels: bool = True,
) -> Figure:
    """Images with their boxes: one ``{"boxes": Tensor[n, 4] xyxy, "labels": Tensor[n]}`` dict per image.

    A ``"scores"`` entry, when present, is written after the class name
    (``show_labels=False`` draws the boxes only). Each class has its own colour
    (matplotlib's tab10).

    Raises:
        TypeError: ``images`` is not a tensor (or a list of CHW tensors).
        ValueError: ``images`` is not Tensor[B, C, H, W], Tensor[C, H, W] or Tensor[H, W] with 1 or 3
            channels, or is empty; ``mean`` without ``std`` (or either with uint8 images); a
            ``value_range`` that is not ``(low, high)`` with high > low, or ``'each'``.
        TypeError: ``detections`` is not a list, or a dict's boxes or labels are not tensors.
        ValueError: not one detection dict (``boxes`` float Tensor[n, 4], ``labels`` integer Tensor[n]) per
            image; NaN boxes; a label outside ``class_names``; ``titles`` does not hold one title
            per image.
    """
    shown = to_display(images)  # (N, H, W, C)
    n = shown.shape[0]
    validate.instance(detections, "detections", (list, tuple), "a list of one dict per image")
    if len(detections) != n:
        raise ValueError(f"{len(detections)} detection dicts for {n} images")
    for k, det in enumerate(detections):
        if not isinstance(det, Mapping) or "boxes" not in det or "labels" not in det:
            raise ValueError(f"detections[{k}] must be a dict with 'boxes' and 'labels' (and optional 'scores'), "
                             f"got {validate.describe(det) if not isinstance(det, Mapping) else sorted(det)}")
        validate.tensor(det["boxes"], f"detections[{k}]['boxes']", dtype="float", finite=True)
        validate.tensor(det["labels"], f"detections[{k}]['labels']", dtype="int")
        if det["boxes"].numel() != 4 * det["labels"].numel():
            raise ValueError(f"detections[{k}] must have one label per box: {det['boxes'].numel() // 4} boxes, "
                             f"{det['labels'].numel()} labels")
        if det["labels"].numel() and not 0 <= int(det["labels"].min()) <= int(det["labels"].max()) < len(class_names):
            bad = det["labels"][(det["labels"] < 0) | (det["labels"] >= len(class_names))][0]
            raise ValueError(f"label {int(bad)} outside the {len(class_names)} class names")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    colours = plt.get_cmap("tab10")
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(shown[k], interpolation="nearest")
        det = detections[k]
        boxes = det["boxes"].detach().cpu().reshape(-1, 4)
        labels = det["labels"].detach().cpu().reshape(-1)
        scores = det.get("scores")
        for j, (box, lab) in enumerate(zip(boxes.tolist(), labels.tolist())):
            x0, y0, x1, y1 = box
            colour = colours(lab % 10)
            # box edges are pixel edges; imshow's pixel k spans k - 0.5 .. k + 0.5
            ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=colour,
                                       linewidth=1.5))
            if not show_labels:
                continue
            text = class_names[lab] + (f" {float(scores[j]):.2f}" if scores is not None else "")
            ax.text(x0 - 0.5, y0 - 1, text, color="white", fontsize=7, va="bottom",
                    bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def grouped_bars(ax, series: dict[str, Sequence[float]], labels: Sequence[str], *,
                 width: float | None = None) -> None:
    """Draw several series of bars side by side on ``ax``, one group per label.

    ``series`` maps a legend name to one value per label; the bars of a group
    share ``0.8`` of the unit gap (``width`` each, default ``0.8 / len(series)``)
    and the tick sits at the group's centre.

    Raises:
        ValueError: no series, or a series does not hold one value per label.
    """
    if not series:
        raise ValueError("no series to draw")
    bad = {name: len(v) for name, v in series.items() if len(v) != len(labels)}
    if bad:
        raise ValueError(f"each series needs one value per label ({len(labels)}), got {bad}")
    width = width or 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        ax.bar([i + width * k for i in range(len(labels))], list(values), width=width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], list(labels))


def plot_history(history, *, title: str = "Learning curves", size: tuple[float, float] | None = None,
                 log_loss: bool = False) -> Figure:
    """Learning curves from a :class:`~course_utils.training.History`, or from several.

    One history gives its loss panel, and an accuracy panel when it has accuracies (train,
    and test when present); per epoch with markers, or per optimiser step (``unit == "step"``)
    as a thin line. A mapping ``{name: History}`` (the stages of one run) gives one loss panel
    per history, titled by its name. ``log_loss`` draws the losses on a log scale.

    Raises:
        TypeError: ``history`` is neither a ``training.History`` nor a mapping of names to Histories.
        ValueError: a history is empty (nothing was trained).
    """
    histories = {"": history} if isinstance(history, History) else dict(history) if isinstance(history, Mapping) else {}
    if not histories or not all(isinstance(h, History) for h in histories.values()):
        raise TypeError(f"expected a training.History or a mapping of names to Histories, got {type(history).__name__}")
    empty = [name or "the history" for name, h in histories.items() if not h.train_loss]
    if empty:
        raise ValueError(f"{', '.join(empty)} is empty: nothing was trained")
    single = len(histories) == 1 and "" in histories
    with_acc = single and bool(history.train_acc)
    n_panels = 2 if with_acc else len(histories)
    fig, axes = plt.subplots(1, n_panels, figsize=size or ((8.0, 3.0) if with_acc else (max(4.5, 2.8 * n_panels), 3.0)), squeeze=False)
    axes = list(axes[0])
    for ax, (name, h) in zip(axes, histories.items()):
        x = range(1, len(h.train_loss) + 1)
        style = dict(marker="o") if h.unit == "epoch" else dict(lw=0.8)
        ax.plot(x, h.train_loss, label="train", **style)
        if h.val_loss:
            ax.plot(x, h.val_loss, marker="s", label="test")
            ax.legend()
        ax.set_xlabel(h.unit)
        ax.set_ylabel("loss" if h.val_loss or name else "training loss")
        if h.unit == "epoch" and len(h.train_loss) <= 20:
            ax.set_xticks(list(x))
        if log_loss:
            ax.set_yscale("log")
        if name:
            ax.set_title(name)
        ax.grid(alpha=0.3)
    if with_acc:
        ax_acc = axes[1]
        x = range(1, len(history.train_acc) + 1)
        ax_acc.plot(x, [100 * a for a in history.train_acc], marker="o", label="train")
        if history.val_acc:
            ax_acc.plot(x, [100 * a for a in history.val_acc], marker="s", label="test")
        ax_acc.set(xlabel=history.unit, ylabel="accuracy (%)")
        if len(history.train_acc) <= 20:
            ax_acc.set_xticks(list(x))
        ax_acc.legend()
        ax_acc.grid(alpha=0.3)
        axes[0].set_ylabel("cross-entropy loss")
        axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    matrix: Tensor, classes: Sequence[str], *, normalize: bool = True, title: str = "Confusion matrix"
) -> Figure:
    """Draw a ``Tensor[K, K]`` confusion matrix (rows: true class, columns: predicted class).

    Args:
        normalize: show each row as fractions of that class's items (recall on the diagonal).

    Raises:
        ValueError: ``matrix`` is not a square Tensor[K, K], or ``classes`` does not hold one name per row.
    """
    if not isinstance(matrix, Tensor) or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square Tensor[K, K], got {getattr(matrix, 'shape', type(matrix))}")
    if len(classes) != matrix.shape[0]:
        raise ValueError(f"{len(classes)} class names for a {matrix.shape[0]}x{matrix.shape[0]} matrix")
    m = matrix.double()
    if normalize:
        m = m / m.sum(dim=1, keepdim=True).clamp_min(1)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2.2, 0.55 * k + 1.2))
    im = ax.imshow(m.numpy(), cmap=HEATMAP_CMAP, vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class" if normalize else "count")
    for i in range(k):
        for j in range(k):
            v = float(m[i, j])
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="black" if (v > 0.6 if normalize else v > float(m.max()) * 0.6) else "white")
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return fig
