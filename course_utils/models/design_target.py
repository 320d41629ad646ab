"""The classic CIFAR-10 design exercise: >= 85% with fewer than 200,000 parameters.

The rules: no max-pooling (downsample with strided or dilated convolutions),
at least one depthwise-separable and one dilated convolution, global average
pooling, and a receptive field above 44 pixels at the last convolution.
Four blocks of 3x3 convolutions with batch norm and ReLU, each ending in a
transition that halves the resolution:

    C1 (32x32) -> stride-2 conv -> C2 (16x16, depthwise-separable) -> dilated stride-2 conv
    -> C3 (8x8, depthwise-separable) -> stride-2 conv -> C4 (4x4) -> GAP -> 1x1 conv -> logits
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .. import validate


@dataclass(frozen=True)
class DesignConfig:
    """Widths of :class:`DesignTargetNet` (the defaults give 188,362 parameters).

    Raises:
        TypeError: a field has another type than annotated (a float width, a list for a tuple).
        ValueError: a width or the class count is not positive, a tuple has the wrong length, or a dropout
            lies outside [0, 1).
    """

    widths: tuple[int, int, int, int] = (24, 48, 64, 96)  # channels of blocks C1..C4
    dropout: float = 0.05  # per-channel (Dropout2d): cheap on a CPU, unlike element-wise dropout
    num_classes: int = 10

    def __post_init__(self) -> None:
        validate.fields(self)
        if min(self.widths) < 1 or self.num_classes < 1:
            raise ValueError(f"widths and num_classes must be positive, got {self.widths} and {self.num_classes}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


def _cbr(c_in: int, c_out: int, *, stride: int = 1, dilation: int = 1, groups: int = 1, k: int = 3) -> list[nn.Module]:
    padding = dilation * (k - 1) // 2  # "same" padding before the stride
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(c_out), nn.ReLU()]


def _separable(c_in: int, c_out: int) -> list[nn.Module]:
    """Depthwise 3x3 (one kernel per channel) then pointwise 1x1: MobileNet's factorisation."""
    return [nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False),
            *_cbr(c_in, c_out, k=1)]


class DesignTargetNet(nn.Module):
    """``Tensor[B, 3, 32, 32]`` -> logits ``Tensor[B, classes]``, without any pooling layer but GAP.

    Raises:
        TypeError: ``cfg`` is not a :class:`DesignConfig`, or an override has the wrong type.
        ValueError: a width or the class count is not positive, or a dropout lies outside [0, 1).
    """

    def __init__(self, cfg: DesignConfig = DesignConfig(), **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", DesignConfig)
        if overrides:
            cfg = DesignConfig(**{**cfg.__dict__, **overrides})
        self.cfg = cfg
        w1, w2, w3, w4 = cfg.widths
        drop = nn.Dropout2d(cfg.dropout) if cfg.dropout > 0 else nn.Identity()
        self.features = nn.Sequential(
            *_cbr(3, w1), *_cbr(w1, w1),  # C1: 32x32
            *_cbr(w1, w1, stride=2), drop,  # transition: strided conv, 32 -> 16
            *_separable(w1, w2), *_cbr(w2, w2),  # C2: 16x16
            *_cbr(w2, w2, stride=2, dilation=2), drop,  # transition: dilated strided conv, 16 -> 8
            *_separable(w2, w3), *_cbr(w3, w3),  # C3: 8x8
            *_cbr(w3, w3, stride=2), drop,  # transition: 8 -> 4
            *_cbr(w3, w4),  # C4: 4x4
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(w4, cfg.num_classes, 1), nn.Flatten())

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``Tensor[B, classes]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float batch ``Tensor[B, 3, H, W]``.
        """
        validate.tensor(x, "x", ndim=4, dtype="float", hint="(images as a float batch Tensor[B, C, H, W])")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"DesignTargetNet expects Tensor[B, 3, H, W], got {tuple(x.shape)}")
        return self.head(self.features(x))
