"""Training and evaluating detectors on the shapes world (shared by YOLOv2 and SSD).

A detector here is a model plus two functions: ``loss_fn(raw, boxes, labels)``
returning ``(loss, parts)`` and ``postprocess_fn(raw)`` returning one
``{"boxes", "scores", "labels"}`` dict per image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..runtime import FLOAT32, Precision
from ..training import History, backward_step
from .metrics import mean_average_precision

PIXEL_MEAN, PIXEL_STD = 0.5, 0.25  # inputs are (x / 255 - 0.5) / 0.25: roughly zero-mean, unit scale


@dataclass
class DetectionData:
    """Images with their boxes and labels: ``images`` is ``Tensor[N, 3, H, W]`` uint8."""

    images: Tensor
    boxes: list[Tensor]  # per image Tensor[n_i, 4] xyxy pixels
    labels: list[Tensor]  # per image Tensor[n_i] int64

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise ValueError(f"images must be a uint8 Tensor[N, 3, H, W], got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if not len(self.images) == len(self.boxes) == len(self.labels):
            raise ValueError(f"{len(self.images)} images, {len(self.boxes)} box sets, {len(self.labels)} label sets")

    def __len__(self) -> int:
        return len(self.images)

    def targets(self) -> list[dict[str, Tensor]]:
        """Ground truth in the format of :func:`~course_utils.detection.metrics.mean_average_precision`."""
        return [{"boxes": b, "labels": lab} for b, lab in zip(self.boxes, self.labels)]


def scenes_to_data(scenes: Sequence) -> DetectionData:
    """Stack :class:`~course_utils.data.shapes.Scene` objects into :class:`DetectionData`."""
    if not scenes:
        raise ValueError("no scenes")
    return DetectionData(torch.stack([s.image for s in scenes]), [s.boxes for s in scenes],
                         [s.labels for s in scenes])


def to_input(images: Tensor) -> Tensor:
    """uint8 images -> the detectors' float input."""
    return (images.float() / 255 - PIXEL_MEAN) / PIXEL_STD


def batches(data: DetectionData, batch_size: int, *, shuffle: bool = False, flip: bool = False,
            seed: int = 0, device: torch.device | str = "cpu") -> Iterator[tuple[Tensor, list[Tensor], list[Tensor]]]:
    """Yield ``(inputs Tensor[m, 3, H, W], boxes, labels)``; ``flip`` mirrors half the images (and their boxes)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=g) if shuffle else torch.arange(len(data))
    width = data.images.shape[3]
    for start in range(0, len(data), batch_size):
        idx = order[start:start + batch_size]
        x = data.images[idx]
        boxes = [data.boxes[i].clone() for i in idx.tolist()]
        labels = [data.labels[i] for i in idx.tolist()]
        if flip:
            mirror = torch.rand(len(idx), generator=g) < 0.5
            x = torch.where(mirror.view(-1, 1, 1, 1), x.flip(3), x)
            for k in torch.nonzero(mirror).flatten().tolist():
                b = boxes[k]
                boxes[k] = torch.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], 1)
        yield to_input(x).to(device), boxes, labels


def _float(out):
    """A model's output (a tensor, or a tuple of tensors as SSD's) in float32."""
    return tuple(t.float() for t in out) if isinstance(out, tuple) else out.float()


def train_detector(
    model: nn.Module,
    data: DetectionData,
    loss_fn: Callable[..., tuple[Tensor, dict[str, float]]],
    *,
    epochs: int,
    lr: float = 2e-3,
    batch_size: int = 32,
    weight_decay: float = 5e-4,
    flip: bool = True,
    precision: Precision = FLOAT32,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool = True,
) -> History:
    """AdamW with a one-cycle schedule over ``epochs`` passes of ``data``.

    Args:
        precision: the forward pass's mixed precision
            (:func:`~course_utils.runtime.training_precision`; the loss stays in float32):
            bfloat16 autocast, or float16 with a gradient scaler. Mixed precision also puts
            the model in channels_last, which its convolutions need to pay off.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    torch.manual_seed(seed)
    model = model.to(device)
    fast = precision.mixed
    if fast:
        model = model.to(memory_format=torch.channels_last)
    scaler = precision.scaler(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = -(-len(data) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.2)
    history = History()
    for epoch in tqdm(range(epochs), desc="epochs", disable=not progress):
        model.train()
        start, total, n, sums = time.perf_counter(), 0.0, 0, {}
        for x, boxes, labels in batches(data, batch_size, shuffle=True, flip=flip, seed=seed * 1000 + epoch,
                                        device=device):
            with precision.autocast(device):
                raw = model(x.contiguous(memory_format=torch.channels_last) if fast else x)
            loss, parts = loss_fn(_float(raw), boxes, labels)
            backward_step(loss, opt, scaler)
            sched.step()
            total += loss.item() * len(x)
            n += len(x)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * len(x)
        history.seconds.append(time.perf_counter() - start)
        history.train_loss.append(total / n)
        history.parts.append({k: v / n for k, v in sums.items()})
    return history


@torch.no_grad()
def predict_detector(model: nn.Module, data: DetectionData, postprocess_fn: Callable[[Tensor], list[dict]],
                     *, batch_size: int = 64, device: torch.device | str = "cpu") -> list[dict[str, Tensor]]:
    """Detections for every image of ``data`` (eval mode)."""
    model.eval()
    out: list[dict[str, Tensor]] = []
    for x, _, _ in batches(data, batch_size, device=device):
        out += postprocess_fn(_float(model(x)))
    return out


def evaluate_detector(model: nn.Module, data: DetectionData, postprocess_fn: Callable[[Tensor], list[dict]],
                      *, iou_threshold: float = 0.5, device: torch.device | str = "cpu") -> dict:
    """mAP@``iou_threshold`` (all-point AP) of the model's detections on ``data``."""
    predictions = predict_detector(model, data, postprocess_fn, device=device)
    return mean_average_precision(predictions, data.targets(), iou_threshold=iou_threshold)
