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

from .. import validate
from ..runtime import FLOAT32, Precision
from ..training import History, backward_step, one_cycle
from .metrics import detection_scores

PIXEL_MEAN, PIXEL_STD = 0.5, 0.25  # inputs are (x / 255 - 0.5) / 0.25: roughly zero-mean, unit scale


@dataclass
class DetectionData:
    """Images with their boxes and labels: ``images`` is ``Tensor[N, 3, H, W]`` uint8.

    Raises:
        TypeError: ``images`` is not a tensor, or ``boxes``/``labels`` a single tensor instead of a list.
        ValueError: ``images`` is not uint8 ``Tensor[N, 3, H, W]``, or the three lengths differ.
    """

    images: Tensor
    boxes: list[Tensor]  # per image Tensor[n_i, 4] xyxy pixels
    labels: list[Tensor]  # per image Tensor[n_i] int64

    def __post_init__(self) -> None:
        validate.tensor(self.images, "images")
        if isinstance(self.boxes, Tensor) or isinstance(self.labels, Tensor):
            raise TypeError("boxes and labels must be lists with one tensor per image (images hold different "
                            "numbers of objects), got a single tensor")
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
    """Stack :class:`~course_utils.data.shapes.Scene` objects into :class:`DetectionData`.

    Raises:
        TypeError: ``scenes`` is not a list of shapes-world scenes.
        ValueError: ``scenes`` is empty.
    """
    if isinstance(scenes, (str, Tensor)) or not hasattr(scenes, "__len__"):
        raise TypeError(f"scenes must be a list of shapes-world Scenes, got {validate.describe(scenes)}")
    if not scenes:
        raise ValueError("no scenes")
    if not all(hasattr(s, "image") and hasattr(s, "boxes") for s in scenes):
        raise TypeError("scenes must be shapes-world Scenes (with .image, .boxes and .labels)")
    return DetectionData(torch.stack([s.image for s in scenes]), [s.boxes for s in scenes],
                         [s.labels for s in scenes])


def to_input(images: Tensor) -> Tensor:
    """uint8 images -> the detectors' float input.

    Raises:
        TypeError: ``images`` is not a tensor.
        ValueError: ``images`` is not uint8 (they would be normalised twice).
    """
    validate.tensor(images, "images", hint="(uint8 images Tensor[N, 3, H, W])")
    if images.dtype != torch.uint8:
        raise ValueError(f"images must be uint8 (0-255), got {images.dtype}: they are normalised here once")
    return (images.float() / 255 - PIXEL_MEAN) / PIXEL_STD


def batches(data: DetectionData, batch_size: int, *, shuffle: bool = False, flip: bool = False,
            seed: int = 0, device: torch.device | str = "cpu") -> Iterator[tuple[Tensor, list[Tensor], list[Tensor]]]:
    """Yield ``(inputs Tensor[m, 3, H, W], boxes, labels)``; ``flip`` mirrors half the images (and their boxes).

    Raises:
        TypeError: ``data`` is not :class:`DetectionData`, or ``batch_size`` not an int.
        ValueError: ``batch_size`` is below 1.
    """
    validate.instance(data, "data", DetectionData, "DetectionData (see scenes_to_data)")
    validate.positive_int(batch_size, "batch_size")
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

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``data`` not :class:`DetectionData`, ``precision``
            not a ``Precision``, or a count not an int.
        ValueError: ``epochs`` or ``batch_size`` is below 1.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    validate.instance(data, "data", DetectionData, "DetectionData (see scenes_to_data)")
    validate.positive_int(epochs, "epochs")
    validate.positive_int(batch_size, "batch_size")
    validate.instance(precision, "precision", Precision, "a runtime.Precision (see training_precision)")
    torch.manual_seed(seed)
    model = model.to(device)
    fast = precision.mixed
    if fast:
        model = model.to(memory_format=torch.channels_last)
    scaler = precision.scaler(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = -(-len(data) // batch_size)
    sched = one_cycle(opt, lr, epochs * steps_per_epoch, pct_start=0.2)
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
    """Detections for every image of ``data`` (eval mode).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``postprocess_fn`` not callable, or ``data`` not
            :class:`DetectionData`.
        ValueError: ``batch_size`` is below 1.
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    if not callable(postprocess_fn):
        raise TypeError(f"postprocess_fn must be callable (raw output -> detections), got "
                        f"{validate.describe(postprocess_fn)}")
    model.eval()
    out: list[dict[str, Tensor]] = []
    for x, _, _ in batches(data, batch_size, device=device):
        out += postprocess_fn(_float(model(x)))
    return out


def evaluate_detector(model: nn.Module, data: DetectionData, postprocess_fn: Callable[[Tensor], list[dict]],
                      *, iou_threshold: float = 0.5, device: torch.device | str = "cpu") -> dict:
    """mAP@``iou_threshold`` (VOC, all-point AP) of the model's detections on ``data``, and COCO's mAPs.

    Returns:
        :func:`~course_utils.detection.metrics.detection_scores`' dict: VOC's ``map``, ``ap``,
        ``n_truth``, and COCO's ``map_50_95`` (mAP@[.5:.95]), ``map_75``, ``ap_50_95``.

    Raises:
        TypeError: as :func:`predict_detector`.
        ValueError: ``iou_threshold`` lies outside (0, 1], or the detections break
            :func:`mean_average_precision`'s contract.
    """
    predictions = predict_detector(model, data, postprocess_fn, device=device)
    return detection_scores(predictions, data.targets(), iou_threshold=iou_threshold)
