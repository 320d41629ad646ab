"""YOLOv2 (Redmon & Farhadi, 2017) at a small scale: network, targets, loss, decoding.

The image is divided into an S x S grid (one cell per ``stride`` pixels). Each
cell predicts B boxes, one per anchor, and each box is a vector
``(tx, ty, tw, th, to, class scores...)``: the output is ``Tensor[m, S, S, B, 5 + C]``.
Decoding (in pixels, cell column ``cx`` and row ``cy``)::

    x = (sigmoid(tx) + cx) * stride      w = anchor_w * exp(tw)
    y = (sigmoid(ty) + cy) * stride      h = anchor_h * exp(th)
    objectness = sigmoid(to)             class probabilities = softmax(class scores)

The cell that holds a ground-truth box's centre, with the anchor whose shape
overlaps it best, is *responsible* for it; every other predictor should say
"no object". Anchors are ``(width, height)`` in pixels here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import validate
from .anchors import wh_iou
from .boxes import _check_xyxy, _xyxy_to_cxcywh, batched_nms, box_convert, box_iou


@dataclass(frozen=True)
class YoloConfig:
    """A small YOLOv2 for the shapes world.

    Raises:
        TypeError: a field has another type (a float class count, anchors as a list).
        ValueError: a size, width or class count is not positive, there is no anchor, or an anchor is not
            positive.
    """

    image_size: int = 64  # square input, a multiple of the stride
    num_classes: int = 5
    anchors: tuple[tuple[float, float], ...] = ((10.0, 10.0), (16.0, 26.0), (26.0, 16.0), (30.0, 30.0))  # (w, h) px
    widths: tuple[int, int, int, int] = (16, 32, 64, 128)  # Darknet-style stages; 3 max-pools: stride 8
    passthrough: bool = True  # YOLOv2's reorg of the stride-4 features into the last stage

    def __post_init__(self) -> None:
        validate.fields(self)
        if self.image_size < 1 or self.num_classes < 1 or min(self.widths) < 1 or not self.anchors:
            raise ValueError(f"image_size, num_classes and widths must be positive, with one anchor or more; "
                             f"got {self}")
        if min(v for a in self.anchors for v in a) <= 0:
            raise ValueError(f"anchors must be positive (w, h) pairs in pixels, got {self.anchors}")

    @property
    def stride(self) -> int:
        return 8

    @property
    def grid(self) -> int:
        return self.image_size // self.stride


def space_to_depth(x: Tensor, block: int = 2) -> Tensor:
    """``Tensor[B, C, H, W]`` -> ``Tensor[B, C * block^2, H / block, W / block]``: YOLOv2's passthrough "reorg".

    Every ``block x block`` patch becomes one pixel with ``block^2`` times the channels,
    so fine-grained features can be concatenated with a coarser map. Equal to
    ``F.pixel_unshuffle``.

    Raises:
        TypeError: ``x`` is not a tensor, or ``block`` not an int.
        ValueError: ``x`` is not ``Tensor[B, C, H, W]``, or H and W are not multiples of ``block``.
    """
    validate.tensor(x, "x", ndim=4, hint="(a batch Tensor[B, C, H, W])")
    validate.positive_int(block, "block")
    b, c, h, w = x.shape
    if h % block or w % block:
        raise ValueError(f"height and width ({h}, {w}) must be multiples of the block {block}")
    x = x.view(b, c, h // block, block, w // block, block)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(b, c * block * block, h // block, w // block)


def _cbl(c_in: int, c_out: int, k: int = 3) -> nn.Sequential:
    """Darknet's unit: convolution, batch norm, leaky ReLU (slope 0.1)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.1))


class YoloV2(nn.Module):
    """``Tensor[m, 3, H, W]`` -> raw predictions ``Tensor[m, S, S, B, 5 + C]`` (S = H / 8).

    A Darknet-19-like backbone shrunk for 64x64 images: 3x3 convolutions that double
    the channels after each max-pool, 1x1 convolutions that squeeze them, batch norm
    and leaky ReLU; the passthrough layer brings the stride-4 features, reorganised
    by :func:`space_to_depth`, into the last stage; a 1x1 convolution predicts
    B * (5 + C) numbers per cell.

    Raises:
        TypeError: ``cfg`` is not a :class:`YoloConfig`, or an override has the wrong type.
        ValueError: the image size is not a multiple of the stride, or a field is out of range.
    """

    def __init__(self, cfg: YoloConfig = YoloConfig(), **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", YoloConfig)
        if overrides:
            cfg = YoloConfig(**{**cfg.__dict__, **overrides})
        if cfg.image_size % cfg.stride:
            raise ValueError(f"image_size must be a multiple of {cfg.stride}, got {cfg.image_size}")
        self.cfg = cfg
        w1, w2, w3, w4 = cfg.widths
        self.stage1 = nn.Sequential(_cbl(3, w1), nn.MaxPool2d(2), _cbl(w1, w2), nn.MaxPool2d(2))  # stride 4
        self.stage2 = nn.Sequential(_cbl(w2, w3), _cbl(w3, w2, 1), _cbl(w2, w3))  # stride 4, fine-grained
        self.stage3 = nn.Sequential(nn.MaxPool2d(2), _cbl(w3, w4), _cbl(w4, w3, 1), _cbl(w3, w4))  # stride 8
        self.reduce = _cbl(w3, w3 // 4, 1) if cfg.passthrough else None  # 1x1 before the reorg, as YOLOv2's 64
        merged = w4 + (w3 // 4) * 4 if cfg.passthrough else w4
        self.neck = _cbl(merged, w4)
        b, c = len(cfg.anchors), cfg.num_classes
        self.head = nn.Conv2d(w4, b * (5 + c), 1)

    def forward(self, x: Tensor) -> Tensor:
        """Raw predictions ``Tensor[m, S, S, B, 5 + C]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float ``Tensor[m, 3, H, W]`` with H and W multiples of 8.
        """
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(f"YoloV2 expects Tensor[m, 3, H, W] with H and W multiples of 8, got {tuple(x.shape)}")
        fine = self.stage2(self.stage1(x))  # (m, w3, H/4, W/4)
        coarse = self.stage3(fine)  # (m, w4, H/8, W/8)
        if self.reduce is not None:
            coarse = torch.cat([coarse, space_to_depth(self.reduce(fine))], 1)
        out = self.head(self.neck(coarse))  # (m, B * (5 + C), S, S)
        m, _, s1, s2 = out.shape
        b = len(self.cfg.anchors)
        return out.view(m, b, 5 + self.cfg.num_classes, s1, s2).permute(0, 3, 4, 1, 2)  # (m, S, S, B, 5 + C)


def _grid(s: int, device: torch.device) -> tuple[Tensor, Tensor]:
    rows, cols = torch.meshgrid(torch.arange(s, device=device), torch.arange(s, device=device), indexing="ij")
    return cols[None, :, :, None].float(), rows[None, :, :, None].float()  # (1, S, S, 1) each


def decode(raw: Tensor, anchors: Tensor, stride: int) -> dict[str, Tensor]:
    """Raw predictions ``Tensor[m, S, S, B, 5 + C]`` -> boxes and probabilities.

    Returns:
        ``{"boxes": Tensor[m, S, S, B, 4] xyxy pixels, "objectness": Tensor[m, S, S, B],
        "class_probs": Tensor[m, S, S, B, C]}``.

    Raises:
        TypeError: ``raw`` or ``anchors`` is not a tensor, or ``stride`` not an int.
        ValueError: ``raw`` is not float ``Tensor[m, S, S, B, 5 + C]`` for ``B = len(anchors)``, or
            ``anchors`` not ``Tensor[B, 2]``.
    """
    validate.tensor(raw, "raw", dtype="float", hint="(the head's output Tensor[m, S, S, B, 5 + C])")
    validate.tensor(anchors, "anchors", shape=(None, 2), dtype="float", hint="((w, h) in pixels)")
    validate.positive_int(stride, "stride")
    if raw.ndim != 5 or raw.shape[1] != raw.shape[2] or raw.shape[3] != len(anchors) or raw.shape[4] < 6:
        raise ValueError(f"raw must be Tensor[m, S, S, B={len(anchors)}, 5 + C], got {tuple(raw.shape)}")
    cols, rows = _grid(raw.shape[1], raw.device)
    anchors = anchors.to(raw.device, raw.dtype)
    cx = (torch.sigmoid(raw[..., 0]) + cols) * stride
    cy = (torch.sigmoid(raw[..., 1]) + rows) * stride
    w = anchors[:, 0] * torch.exp(raw[..., 2].clamp(max=8))  # clamp: exp must not overflow early in training
    h = anchors[:, 1] * torch.exp(raw[..., 3].clamp(max=8))
    boxes = box_convert(torch.stack([cx, cy, w, h], -1).view(-1, 4), "cxcywh", "xyxy").view(*raw.shape[:4], 4)
    return {"boxes": boxes, "objectness": torch.sigmoid(raw[..., 4]), "class_probs": F.softmax(raw[..., 5:], -1)}


@dataclass
class YoloTargets:
    """Training targets for a batch, in the layout of the predictions."""

    responsible: Tensor  # (m, S, S, B) bool: this predictor has an object
    xy: Tensor  # (m, S, S, B, 2): centre offsets within the cell, in [0, 1)
    wh: Tensor  # (m, S, S, B, 2): width and height in pixels
    labels: Tensor  # (m, S, S, B) int64 (0 where not responsible)
    boxes: Tensor  # (m, S, S, B, 4) xyxy pixels of the assigned ground truth
    collisions: int  # objects that lost their best anchor to another object of the same cell
    dropped: int  # objects left without a predictor: more objects in a cell than anchors


def assign_in_cell(shape_iou: Tensor) -> list[int | None]:
    """The anchor each object of one cell gets: pairs taken by decreasing IoU, one object per anchor.

    Args:
        shape_iou: ``Tensor[N, B]``, the IoU of each object's (w, h) with each anchor's, both centred.

    Returns:
        For each of the N objects, its anchor's index, or ``None`` when more objects than anchors
        left it without one. An object whose best anchor went to a better-matching object gets its
        best free anchor (a *collision*).

    Raises:
        TypeError: ``shape_iou`` is not a tensor.
        ValueError: ``shape_iou`` is not a float ``Tensor[N, B]`` of values in [0, 1].
    """
    validate.tensor(shape_iou, "shape_iou", ndim=2, dtype="float", finite=True,
                    hint="(IoU of N objects' shapes with B anchors)")
    if shape_iou.numel() and (shape_iou.min() < 0 or shape_iou.max() > 1):
        raise ValueError(f"shape_iou must hold IoUs in [0, 1], got values from {shape_iou.min().item():g} "
                         f"to {shape_iou.max().item():g}")
    return _assign(shape_iou.tolist())


def _assign(rows: list[list[float]]) -> list[int | None]:
    """:func:`assign_in_cell` on checked rows of plain floats (``build_targets`` calls it once per cell)."""
    # ties go to the later object and anchor, as the course's targets always have
    pairs = sorted(((v, k, a) for k, row in enumerate(rows) for a, v in enumerate(row)), reverse=True)
    choice: list[int | None] = [None] * len(rows)
    taken: set[int] = set()
    for _, k, a in pairs:
        if choice[k] is None and a not in taken:
            choice[k] = a
            taken.add(a)
    return choice


def build_targets(boxes: Sequence[Tensor], labels: Sequence[Tensor], anchors: Tensor, grid: int,
                  stride: int) -> YoloTargets:
    """Assign each ground-truth box to one predictor: its centre's cell and an anchor.

    Within a cell, (object, anchor) pairs are taken by decreasing IoU of their shapes:
    each object gets its best anchor unless a better-matching object of the same
    cell claimed it first (a *collision*); then it gets its best free anchor. With
    more objects in a cell than anchors, the extra ones are *dropped*.

    Raises:
        TypeError: a box, label or anchor tensor is not a tensor, or ``grid``/``stride`` not an int.
        ValueError: boxes and labels differ in count, a box is NaN or inverted, a label is not an integer
            class, or the anchors are not ``Tensor[B, 2]``.
    """
    if len(boxes) != len(labels):
        raise ValueError(f"{len(boxes)} box tensors for {len(labels)} label tensors")
    validate.positive_int(grid, "grid")
    validate.positive_int(stride, "stride")
    validate.tensor(anchors, "anchors", shape=(None, 2), dtype="float", finite=True, hint="((w, h) in pixels)")
    for i, (bx, lb) in enumerate(zip(boxes, labels)):  # shapes per image; values once, on the whole batch
        validate.tensor(bx, f"boxes[{i}]", shape=(None, 4), dtype="float")
        validate.tensor(lb, f"labels[{i}]", shape=(len(bx),), dtype="int", hint="(one class per box)")
    if boxes:
        try:
            _check_xyxy(torch.cat([bx.detach().float().cpu() for bx in boxes]), "boxes")
        except ValueError:
            for i, bx in enumerate(boxes):  # say which image and which box
                _check_xyxy(bx, f"boxes[{i}]")
            raise
        validate.class_indices(torch.cat([lb.cpu() for lb in labels]), "labels")
    m, b = len(boxes), len(anchors)
    responsible = torch.zeros(m, grid, grid, b, dtype=torch.bool)
    xy = torch.zeros(m, grid, grid, b, 2)
    wh = torch.ones(m, grid, grid, b, 2)
    lab = torch.zeros(m, grid, grid, b, dtype=torch.long)
    assigned = torch.zeros(m, grid, grid, b, 4)
    collisions = dropped = 0
    for i, (bx, lb) in enumerate(zip(boxes, labels)):
        if len(bx) == 0:
            continue
        cxcywh = _xyxy_to_cxcywh(bx.float().cpu())  # checked above, for the whole batch at once
        shape_iou = wh_iou(cxcywh[:, 2:].clamp(min=1e-3), anchors.float().cpu())  # (N, B)
        iou_rows = shape_iou.tolist()
        cells: dict[tuple[int, int], list[int]] = {}
        for k in range(len(bx)):
            cx, cy = cxcywh[k, :2].tolist()
            cells.setdefault((min(int(cy // stride), grid - 1), min(int(cx // stride), grid - 1)), []).append(k)
        for (row, col), members in cells.items():
            choice = _assign([iou_rows[k] for k in members])
            for k, a in zip(members, choice):
                if a is None:
                    dropped += 1
                    continue
                collisions += int(a != int(shape_iou[k].argmax()))
                cx, cy, w, h = cxcywh[k].tolist()
                responsible[i, row, col, a] = True
                xy[i, row, col, a] = torch.tensor([cx / stride - col, cy / stride - row])
                wh[i, row, col, a] = torch.tensor([w, h])
                lab[i, row, col, a] = int(lb[k])
                assigned[i, row, col, a] = bx[k].float().cpu()
    return YoloTargets(responsible, xy, wh, lab, assigned, collisions, dropped)


def yolo_loss(
    raw: Tensor,
    targets: YoloTargets,
    anchors: Tensor,
    image_size: int,
    *,
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
    objectness_target: str = "one",
    ignore_iou: float | None = None,
    gt_boxes: Sequence[Tensor] | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """The five-part sum-squared YOLO loss, per image of the batch.

    ``lambda_coord * [xy error + sqrt-wh error] + objectness error (responsible)
    + lambda_noobj * objectness error (the rest) + class error (responsible)``.
    Widths and heights enter as square roots of their fraction of the image, so a
    2-pixel error costs more on a small box than on a large one. Classes use
    softmax cross-entropy, as the seed's YOLOv2 code does.

    Args:
        objectness_target: ``"one"`` (YOLOv1) or ``"iou"``: the IoU of the predicted
            box with its ground truth (YOLOv2 and the seed's code).
        ignore_iou: predictors that are not responsible but whose box overlaps some
            ground truth (``gt_boxes``) by more than this are not pushed to "no object"
            (the seed's code uses 0.6).

    Returns:
        ``(loss, {"xy", "wh", "obj", "noobj", "cls"})`` with the parts as floats.

    Raises:
        TypeError: ``raw`` is not a tensor.
        ValueError: ``raw`` is not ``Tensor[m, S, S, B, 5 + C]`` on the targets' grid, an unknown
            ``objectness_target``, or ``ignore_iou`` without ``gt_boxes``.
    """
    if objectness_target not in ("one", "iou"):
        raise ValueError(f"objectness_target must be 'one' or 'iou', got {objectness_target!r}")
    if ignore_iou is not None and gt_boxes is None:
        raise ValueError("ignore_iou needs gt_boxes (the ground-truth boxes of each image)")
    validate.tensor(raw, "raw", ndim=5, dtype="float", hint="(the head's output Tensor[m, S, S, B, 5 + C])")
    if raw.shape[:4] != targets.responsible.shape:
        raise ValueError(f"raw predictions Tensor[{', '.join(map(str, raw.shape))}] and the targets' grid "
                         f"{tuple(targets.responsible.shape)} (m, S, S, B) must match: build the targets with "
                         "the model's grid and anchors")
    device = raw.device
    m = raw.shape[0]
    resp = targets.responsible.to(device)
    anchors = anchors.to(device, raw.dtype)
    pred_xy = torch.sigmoid(raw[..., :2])
    pred_wh = anchors * torch.exp(raw[..., 2:4].clamp(max=8))  # (m, S, S, B, 2) pixels
    obj = torch.sigmoid(raw[..., 4])
    t_xy, t_wh = targets.xy.to(device), targets.wh.to(device)
    loss_xy = ((pred_xy - t_xy) ** 2).sum(-1)[resp].sum()
    loss_wh = ((torch.sqrt(pred_wh / image_size) - torch.sqrt(t_wh / image_size)) ** 2).sum(-1)[resp].sum()
    decoded = None
    if objectness_target == "iou" or ignore_iou is not None:
        decoded = decode(raw, anchors, image_size // raw.shape[1])["boxes"].detach()
    if objectness_target == "iou":
        t_boxes = targets.boxes.to(device)
        iou = torch.zeros_like(obj)
        if resp.any():  # IoU of each responsible prediction with its own ground truth
            iou[resp] = torch.diagonal(box_iou(decoded[resp], t_boxes[resp]))  # type: ignore[index]
        t_obj = iou
    else:
        t_obj = resp.to(raw.dtype)
    loss_obj = ((obj - t_obj) ** 2)[resp].sum()
    noobj = ~resp
    if ignore_iou is not None:
        for i in range(m):
            if len(gt_boxes[i]):  # type: ignore[index]
                best = box_iou(decoded[i].view(-1, 4), gt_boxes[i].to(device).float()).max(1).values  # type: ignore[index]
                noobj[i] &= (best <= ignore_iou).view(noobj[i].shape)
    loss_noobj = (obj**2)[noobj].sum()
    loss_cls = F.cross_entropy(raw[..., 5:][resp], targets.labels.to(device)[resp], reduction="sum") \
        if resp.any() else raw.sum() * 0
    total = (lambda_coord * (loss_xy + loss_wh) + loss_obj + lambda_noobj * loss_noobj + loss_cls) / m
    parts = {k: float(v.detach()) / m for k, v in
             {"xy": loss_xy, "wh": loss_wh, "obj": loss_obj, "noobj": loss_noobj, "cls": loss_cls}.items()}
    return total, parts


@torch.no_grad()
def postprocess(raw: Tensor, anchors: Tensor, stride: int, *, conf_threshold: float = 0.05,
                iou_threshold: float = 0.45, max_detections: int = 100) -> list[dict[str, Tensor]]:
    """Raw predictions -> one ``{"boxes", "scores", "labels"}`` dict per image.

    Score = objectness x class probability of the best class; keep scores above
    ``conf_threshold``, then per-class NMS at ``iou_threshold``; at most
    ``max_detections`` per image, best first.

    Raises:
        TypeError: as :func:`decode`, or a threshold or count is not a number.
        ValueError: as :func:`decode`, ``conf_threshold`` outside [0, 1], or ``max_detections`` below 1.
    """
    validate.number(conf_threshold, "conf_threshold", low=0.0, high=1.0)
    validate.positive_int(max_detections, "max_detections")
    out = decode(raw, anchors, stride)
    results = []
    for i in range(raw.shape[0]):
        probs, labels = out["class_probs"][i].max(-1)  # (S, S, B)
        scores = (out["objectness"][i] * probs).flatten()
        boxes = out["boxes"][i].reshape(-1, 4)
        labels = labels.flatten()
        keep = scores > conf_threshold
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        kept = batched_nms(boxes, scores, labels, iou_threshold)[:max_detections]
        results.append({"boxes": boxes[kept].cpu(), "scores": scores[kept].cpu(), "labels": labels[kept].cpu()})
    return results


def output_shape(image_size: int, num_anchors: int, num_classes: int, stride: int = 32) -> tuple[int, int, int, int]:
    """``(S, S, B, 5 + C)`` of one image's YOLOv2 output (the real network's stride is 32).

    Raises:
        TypeError: a size or count is not an int.
        ValueError: one is below 1, or ``image_size`` is not a multiple of ``stride``.
    """
    for name, value in (("image_size", image_size), ("num_anchors", num_anchors), ("num_classes", num_classes),
                        ("stride", stride)):
        validate.positive_int(value, name)
    if image_size % stride:
        raise ValueError(f"image_size {image_size} must be a multiple of the stride {stride}")
    s = image_size // stride
    return (s, s, num_anchors, 5 + num_classes)
