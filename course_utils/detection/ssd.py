"""SSD (Liu et al., 2016) at a small scale: default boxes, matching, offsets, loss, post-processing.

SSD predicts from several feature maps of decreasing resolution. Every position
of map k carries a few *default boxes* (SSD's anchors) of scale s_k and several
aspect ratios; for each default box the network predicts 4 offsets and C + 1
class scores (class 0 is the background).

Default boxes are ``cxcywh`` in coordinates normalised to [0, 1]; ground-truth
boxes given to :func:`match` and returned by :func:`postprocess` are ``xyxy``,
normalised in :func:`match` and in pixels from :func:`postprocess`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import validate
from .boxes import batched_nms, box_convert, box_iou

SSD300_FEATURE_SIZES = (38, 19, 10, 5, 3, 1)
SSD300_ASPECT_RATIOS = ((2,), (2, 3), (2, 3), (2, 3), (2,), (2,))
"""SSD300's six maps and their extra aspect ratios (each r also gives 1/r; ratio 1 is always there)."""

VARIANCES = (0.1, 0.2)
"""The usual scaling of centre and size offsets (they make the regression targets roughly unit-scale)."""


def scales(m: int, s_min: float = 0.2, s_max: float = 0.9) -> list[float]:
    """``s_k = s_min + (s_max - s_min)(k - 1)/(m - 1)`` for k = 1..m+1 (the last one for the extra box).

    Raises:
        TypeError: ``m`` is not an int, or a scale not a number.
        ValueError: fewer than 2 maps, or not ``0 < s_min <= s_max <= 1``.
    """
    validate.positive_int(m, "m")
    if m < 2:
        raise ValueError(f"need at least 2 feature maps, got {m}")
    validate.number(s_min, "s_min", low=0.0, high=1.0, low_open=True)
    validate.number(s_max, "s_max", low=s_min, high=1.0)
    return [s_min + (s_max - s_min) * (k - 1) / (m - 1) for k in range(1, m + 2)]


def ssd300_scales(min_ratio: int = 20, max_ratio: int = 90, first_ratio: int = 10) -> list[float]:
    """SSD300's seven scales as the paper's reference code sets them, for its six maps and the extra box.

    The paper puts conv4_3's boxes at scale 0.1 (``first_ratio`` percent of the image side) and
    spaces the other five maps' from ``min_ratio`` to ``max_ratio`` percent in steps of whole
    percents, ``(max_ratio - min_ratio) // 4``; the seventh scale, one step further, serves the
    last map's extra box. The defaults give VOC's 0.1, 0.2, 0.37, 0.54, 0.71, 0.88 and 1.05;
    ``ssd300_scales(15, 90, 7)`` gives COCO's 0.07, 0.15, 0.33, 0.51, 0.69, 0.87 and 1.05.

    Raises:
        TypeError: a ratio is not an int.
        ValueError: not ``0 < first_ratio < min_ratio < max_ratio <= 100``, or a range too narrow for
            four whole-percent steps.
    """
    for name, v in (("first_ratio", first_ratio), ("min_ratio", min_ratio), ("max_ratio", max_ratio)):
        validate.positive_int(v, name)
    if not first_ratio < min_ratio < max_ratio <= 100:
        raise ValueError(f"need 0 < first_ratio < min_ratio < max_ratio <= 100 (percent of the image side), "
                         f"got {first_ratio}, {min_ratio}, {max_ratio}")
    step = (max_ratio - min_ratio) // 4
    if step == 0:
        raise ValueError(f"min_ratio {min_ratio} and max_ratio {max_ratio} are too close for 4 steps of a whole "
                         "percent")
    percents = [first_ratio] + [min_ratio + k * step for k in range(5)] + [min_ratio + 5 * step]
    return [p / 100 for p in percents]


def default_boxes(feature_sizes: Sequence[int], aspect_ratios: Sequence[Sequence[float]], *,
                  s_min: float = 0.2, s_max: float = 0.9, clip: bool = False,
                  scales_k: Sequence[float] | None = None) -> Tensor:
    """``Tensor[N, 4]`` cxcywh in [0, 1]: every map, every position (row by row), every box.

    At each position of map k (size f_k): a box of scale s_k for aspect ratio 1, one of
    scale sqrt(s_k s_{k+1}) for ratio 1, and for each r in ``aspect_ratios[k]`` two boxes of
    scale s_k with ratios r and 1/r (width s_k sqrt(r), height s_k / sqrt(r)); the centre
    is ((j + 0.5)/f_k, (i + 0.5)/f_k). SSD300's configuration gives 8732 boxes.

    Args:
        scales_k: the m + 1 scales s_1..s_{m+1} to use instead of :func:`scales` with ``s_min`` and
            ``s_max``, for example :func:`ssd300_scales`.

    Raises:
        TypeError: ``aspect_ratios`` is not one sequence of ratios per map, or a size is not an int.
        ValueError: as many maps as ratio sets are needed; sizes and ratios must be positive; scales as
            :func:`scales`.
    """
    if len(feature_sizes) != len(aspect_ratios):
        raise ValueError(f"{len(feature_sizes)} feature maps but {len(aspect_ratios)} aspect-ratio sets")
    for f in feature_sizes:
        validate.positive_int(f, "each feature size")
    _check_ratios(aspect_ratios)
    if scales_k is None:
        s = scales(len(feature_sizes), s_min, s_max)
    else:
        s = list(scales_k)
        if len(s) != len(feature_sizes) + 1:
            raise ValueError(f"scales_k needs {len(feature_sizes) + 1} scales for {len(feature_sizes)} maps "
                             f"(one more for the last map's extra box), got {len(s)}")
        for v in s:
            validate.number(v, "each scale", low=0.0, low_open=True)
    out = []
    for k, (f, ratios) in enumerate(zip(feature_sizes, aspect_ratios)):
        shapes = [(s[k], s[k]), (math.sqrt(s[k] * s[k + 1]),) * 2]
        for r in ratios:
            shapes += [(s[k] * math.sqrt(r), s[k] / math.sqrt(r)), (s[k] / math.sqrt(r), s[k] * math.sqrt(r))]
        wh = torch.tensor(shapes)  # (A, 2)
        centres = (torch.arange(f, dtype=torch.float32) + 0.5) / f
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")
        c = torch.stack([cx, cy], -1).view(-1, 1, 2).expand(-1, len(shapes), 2)  # (f*f, A, 2)
        out.append(torch.cat([c, wh.view(1, -1, 2).expand(f * f, -1, 2)], -1).reshape(-1, 4))
    boxes = torch.cat(out)
    if clip:
        boxes = box_convert(box_convert(boxes, "cxcywh", "xyxy").clamp(0, 1), "xyxy", "cxcywh")
    return boxes


def _check_ratios(aspect_ratios: Sequence[Sequence[float]]) -> None:
    if isinstance(aspect_ratios, (str, Tensor)) or not all(isinstance(r, (tuple, list)) for r in aspect_ratios):
        raise TypeError(f"aspect_ratios must hold one sequence of ratios per feature map, e.g. ((2,), (2, 3)), "
                        f"got {aspect_ratios!r}")
    for r in (v for ratios in aspect_ratios for v in ratios):
        validate.number(r, "each aspect ratio", low=0.0, low_open=True)


def boxes_per_position(aspect_ratios: Sequence[Sequence[float]]) -> list[int]:
    """Default boxes at one position of each map: 2 + 2 x (number of extra ratios).

    Raises:
        TypeError: ``aspect_ratios`` is not one sequence of ratios per map.
        ValueError: a ratio is not positive.
    """
    _check_ratios(aspect_ratios)
    return [2 + 2 * len(r) for r in aspect_ratios]


def encode(matched: Tensor, defaults: Tensor, variances: tuple[float, float] = VARIANCES) -> Tensor:
    """Offsets of ``cxcywh`` boxes from their default boxes (both ``Tensor[N, 4]``).

    Raises:
        TypeError: ``matched`` or ``defaults`` is not a tensor.
        ValueError: they are not float ``Tensor[N, 4]`` of one length.
    """
    validate.tensor(defaults, "defaults", shape=(None, 4), dtype="float", hint="(cxcywh default boxes)")
    validate.tensor(matched, "matched", shape=(len(defaults), 4), dtype="float", hint="(one box per default box)")
    return _encode(matched, defaults, variances)


def _encode(matched: Tensor, defaults: Tensor, variances: tuple[float, float] = VARIANCES) -> Tensor:
    """:func:`encode` without its checks, for :func:`ssd_loss`, which checked the batch once."""
    return torch.cat([(matched[:, :2] - defaults[:, :2]) / (variances[0] * defaults[:, 2:]),
                      torch.log(matched[:, 2:] / defaults[:, 2:]) / variances[1]], 1)


def decode(offsets: Tensor, defaults: Tensor, variances: tuple[float, float] = VARIANCES) -> Tensor:
    """The inverse of :func:`encode`: ``cxcywh`` boxes from offsets ``Tensor[..., N, 4]``.

    Raises:
        TypeError: ``offsets`` or ``defaults`` is not a tensor.
        ValueError: ``defaults`` is not float ``Tensor[N, 4]``, or ``offsets`` not ``Tensor[..., N, 4]``.
    """
    validate.tensor(defaults, "defaults", shape=(None, 4), dtype="float", hint="(cxcywh default boxes)")
    validate.tensor(offsets, "offsets", dtype="float")
    if offsets.ndim < 2 or offsets.shape[-2:] != defaults.shape:
        raise ValueError(f"offsets must be Tensor[..., {len(defaults)}, 4] (one per default box), got "
                         f"{validate.describe(offsets)}")
    return torch.cat([defaults[:, :2] + offsets[..., :2] * variances[0] * defaults[:, 2:],
                      defaults[:, 2:] * torch.exp(offsets[..., 2:] * variances[1])], -1)


def match(gt_boxes: Tensor, gt_labels: Tensor, defaults: Tensor, threshold: float = 0.5) -> tuple[Tensor, Tensor]:
    """Assign ground truth to default boxes.

    Each ground-truth box gets its best-overlapping default box (so every object has
    at least one), and every default box with IoU >= ``threshold`` with some ground
    truth gets the best such one.

    Args:
        gt_boxes: ``Tensor[M, 4]`` xyxy, normalised to [0, 1].
        gt_labels: ``Tensor[M]`` classes 0..C-1.
        defaults: ``Tensor[N, 4]`` cxcywh, normalised.

    Returns:
        ``(labels Tensor[N] with 0 for background and k + 1 for class k,
        boxes Tensor[N, 4] cxcywh: the matched ground truth, or the default box itself)``.

    Raises:
        TypeError: a box or label tensor is not a tensor.
        ValueError: ``gt_boxes`` is not float ``Tensor[M, 4]``, ``gt_labels`` not ``Tensor[M]`` of integers,
            ``defaults`` not ``Tensor[N, 4]``, or a box is invalid.
    """
    validate.tensor(defaults, "defaults", shape=(None, 4), dtype="float", hint="(cxcywh default boxes)")
    validate.tensor(gt_boxes, "gt_boxes", shape=(None, 4), dtype="float", hint="(xyxy, normalised to [0, 1])")
    validate.tensor(gt_labels, "gt_labels", shape=(len(gt_boxes),), dtype="int", hint="(one class index per box)")
    return _match(gt_boxes, gt_labels, defaults, threshold)


def _match(gt_boxes: Tensor, gt_labels: Tensor, defaults: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """:func:`match` without its checks (``box_iou`` still refuses NaN or inverted boxes)."""
    n = len(defaults)
    if len(gt_boxes) == 0:
        return torch.zeros(n, dtype=torch.long, device=defaults.device), defaults.clone()
    iou = box_iou(gt_boxes, box_convert(defaults, "cxcywh", "xyxy"))  # (M, N)
    best_gt_iou, best_gt = iou.max(0)  # per default box
    best_default = iou.argmax(1)  # per ground truth
    best_gt_iou[best_default] = 2.0  # forced matches always count
    best_gt[best_default] = torch.arange(len(gt_boxes), device=defaults.device)
    labels = gt_labels[best_gt] + 1
    labels[best_gt_iou < threshold] = 0
    boxes = box_convert(gt_boxes[best_gt], "xyxy", "cxcywh")
    return labels, torch.where(labels[:, None] > 0, boxes, defaults)


def ssd_loss(loc: Tensor, conf: Tensor, defaults: Tensor, gt_boxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
             *, image_size: int, neg_pos_ratio: int = 3, threshold: float = 0.5) -> tuple[Tensor, dict[str, float]]:
    """Smooth-L1 localisation loss on matched boxes + softmax confidence loss with hard negative mining.

    Only the ``neg_pos_ratio`` x (number of positives) background boxes with the highest
    confidence loss count as negatives (SSD's 3:1); both parts are divided by the
    number of positives.

    Args:
        loc: ``Tensor[m, N, 4]`` predicted offsets; conf: ``Tensor[m, N, C + 1]`` class scores.
        gt_boxes: per image ``Tensor[M_i, 4]`` xyxy in pixels; gt_labels: per image ``Tensor[M_i]``.

    Raises:
        TypeError: ``loc`` or ``conf`` is not a tensor, or ``image_size`` not an int.
        ValueError: ``loc``, ``conf`` and ``defaults`` disagree on the boxes, the ground truth is not one
            entry per image, or a box or label is invalid.
    """
    validate.tensor(loc, "loc", ndim=3, dtype="float", hint="(predicted offsets Tensor[m, N, 4])")
    validate.tensor(conf, "conf", ndim=3, dtype="float", hint="(class scores Tensor[m, N, C + 1])")
    validate.tensor(defaults, "defaults", shape=(None, 4), dtype="float", hint="(cxcywh default boxes)")
    validate.positive_int(image_size, "image_size")
    m, n, _ = loc.shape
    if defaults.shape != (n, 4) or conf.shape[:2] != (m, n):
        raise ValueError(f"loc {tuple(loc.shape)}, conf {tuple(conf.shape)} and defaults {tuple(defaults.shape)} "
                         "must agree on the number of default boxes")
    validate.same_length(loc=loc, gt_boxes=gt_boxes, gt_labels=gt_labels)
    defaults = defaults.to(loc.device)
    labels, targets = [], []
    for boxes, lab in zip(gt_boxes, gt_labels, strict=True):
        validate.tensor(lab, "gt_labels[i]", shape=(len(boxes),), dtype="int", hint="(one class index per box)")
        lab_i, box_i = _match(boxes.to(loc.device).float() / image_size, lab.to(loc.device), defaults, threshold)
        labels.append(lab_i)
        targets.append(_encode(box_i, defaults))
    labels_t, targets_t = torch.stack(labels), torch.stack(targets)  # (m, N), (m, N, 4)
    pos = labels_t > 0
    n_pos = pos.sum().clamp(min=1)
    loss_loc = F.smooth_l1_loss(loc[pos], targets_t[pos], reduction="sum")
    ce = F.cross_entropy(conf.reshape(-1, conf.shape[-1]), labels_t.view(-1), reduction="none").view(m, n)
    mined = ce.detach().clone()
    mined[pos] = -1.0  # positives are never negatives
    n_neg = (neg_pos_ratio * pos.sum(1, keepdim=True)).clamp(max=n - 1)  # (m, 1)
    rank = mined.argsort(1, descending=True).argsort(1)  # rank of each box's loss within its image
    neg = rank < n_neg
    loss_conf = ce[pos | neg].sum()
    total = (loss_loc + loss_conf) / n_pos
    return total, {"loc": float(loss_loc.detach() / n_pos), "conf": float(loss_conf.detach() / n_pos),
                   "positives": float(pos.sum()) / m}


@torch.no_grad()
def postprocess(loc: Tensor, conf: Tensor, defaults: Tensor, image_size: int, *, conf_threshold: float = 0.01,
                iou_threshold: float = 0.45, top_k: int = 200) -> list[dict[str, Tensor]]:
    """Decode, threshold each class's softmax score, per-class NMS, keep the ``top_k`` best per image.

    Returns one ``{"boxes" (xyxy pixels), "scores", "labels" (0..C-1)}`` dict per image.

    Raises:
        TypeError: ``loc`` or ``conf`` is not a tensor, or a threshold or count is not a number.
        ValueError: ``loc`` and ``conf`` disagree on the images or boxes, ``conf_threshold`` lies outside
            [0, 1], or a count is not positive.
    """
    validate.tensor(loc, "loc", ndim=3, dtype="float", hint="(predicted offsets Tensor[m, N, 4])")
    validate.tensor(conf, "conf", shape=(len(loc), loc.shape[1], None), dtype="float",
                    hint="(class scores Tensor[m, N, C + 1] for the same boxes as loc)")
    validate.positive_int(image_size, "image_size")
    validate.number(conf_threshold, "conf_threshold", low=0.0, high=1.0)
    validate.positive_int(top_k, "top_k")
    defaults = defaults.to(loc.device)
    boxes = box_convert(decode(loc, defaults).reshape(-1, 4), "cxcywh", "xyxy").view(loc.shape) * image_size
    probs = F.softmax(conf, -1)[..., 1:]  # (m, N, C) without the background
    out = []
    for i in range(loc.shape[0]):
        scores, idx = probs[i].flatten(), torch.arange(probs[i].numel(), device=loc.device)
        keep = scores > conf_threshold
        scores, idx = scores[keep], idx[keep]
        box_idx, labels = idx // probs.shape[-1], idx % probs.shape[-1]
        b = boxes[i][box_idx]
        kept = batched_nms(b, scores, labels, iou_threshold)[:top_k]
        out.append({"boxes": b[kept].cpu(), "scores": scores[kept].cpu(), "labels": labels[kept].cpu()})
    return out


@dataclass(frozen=True)
class SSDConfig:
    """A small SSD for 64x64 shapes scenes: four maps at strides 8, 16, 32, 64.

    Raises:
        TypeError: a field has another type (a float size, a list for a tuple).
        ValueError: a size, width or class count is not positive, or a tuple has the wrong length.
    """

    image_size: int = 64
    num_classes: int = 5
    widths: tuple[int, int, int, int] = (16, 32, 64, 128)  # backbone stages (the last one at stride 8)
    feature_sizes: tuple[int, ...] = (8, 4, 2, 1)
    aspect_ratios: tuple[tuple[float, ...], ...] = ((2,), (2, 3), (2, 3), (2,))
    s_min: float = 0.15  # smaller than SSD300's 0.2: our smallest objects are 6% of the image
    s_max: float = 0.9

    def __post_init__(self) -> None:
        validate.fields(self)
        if self.image_size < 1 or self.num_classes < 1 or min(self.widths) < 1 or min(self.feature_sizes) < 1:
            raise ValueError(f"image_size, num_classes, widths and feature_sizes must be positive, got {self}")


def _cbr(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


class SmallSSD(nn.Module):
    """``Tensor[m, 3, 64, 64]`` -> ``(loc Tensor[m, N, 4], conf Tensor[m, N, C + 1])``.

    A VGG-like backbone to stride 8 (the same widths as the chapter's YOLOv2), then
    extra stride-2 layers for the coarser maps, each with a 3x3 prediction head,
    as SSD adds to VGG16.

    Raises:
        TypeError: ``cfg`` is not an :class:`SSDConfig`, or an override has the wrong type.
        ValueError: the maps and aspect-ratio sets differ in number, or a size is not positive.
    """

    def __init__(self, cfg: SSDConfig = SSDConfig(), **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", SSDConfig)
        if overrides:
            cfg = SSDConfig(**{**cfg.__dict__, **overrides})
        if len(cfg.feature_sizes) != len(cfg.aspect_ratios):
            raise ValueError("feature_sizes and aspect_ratios must have one entry per map")
        self.cfg = cfg
        w1, w2, w3, w4 = cfg.widths
        self.backbone = nn.Sequential(_cbr(3, w1), nn.MaxPool2d(2), _cbr(w1, w2), nn.MaxPool2d(2),
                                      _cbr(w2, w3), _cbr(w3, w3), nn.MaxPool2d(2), _cbr(w3, w4))  # stride 8
        self.extras = nn.ModuleList([nn.Sequential(_cbr(w4, w3, 1), _cbr(w3, w4, stride=2))
                                     for _ in cfg.feature_sizes[1:]])
        per_pos = boxes_per_position(cfg.aspect_ratios)
        self.loc_heads = nn.ModuleList([nn.Conv2d(w4, a * 4, 3, padding=1) for a in per_pos])
        self.conf_heads = nn.ModuleList([nn.Conv2d(w4, a * (cfg.num_classes + 1), 3, padding=1) for a in per_pos])
        self.register_buffer("defaults", default_boxes(cfg.feature_sizes, cfg.aspect_ratios, s_min=cfg.s_min,
                                                       s_max=cfg.s_max), persistent=False)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(loc, conf)`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not ``Tensor[m, 3, S, S]`` at the config's image size.
        """
        if x.ndim != 4 or x.shape[1:] != (3, self.cfg.image_size, self.cfg.image_size):
            raise ValueError(f"SmallSSD expects Tensor[m, 3, {self.cfg.image_size}, {self.cfg.image_size}], "
                             f"got {tuple(x.shape)}")
        feats = [self.backbone(x)]
        for extra in self.extras:
            feats.append(extra(feats[-1]))
        m = x.shape[0]
        locs, confs = [], []
        for f, lh, ch in zip(feats, self.loc_heads, self.conf_heads):
            locs.append(lh(f).permute(0, 2, 3, 1).reshape(m, -1, 4))  # (m, f*f*A, 4), positions row by row
            confs.append(ch(f).permute(0, 2, 3, 1).reshape(m, -1, self.cfg.num_classes + 1))
        return torch.cat(locs, 1), torch.cat(confs, 1)
