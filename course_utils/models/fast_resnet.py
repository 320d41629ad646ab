"""A small, fast CIFAR-10 network for the CPU budget, in the spirit of the speed records.

Page's ResNet-9 (DAWNBench) and Jordan's airbench train to 94% in seconds on a
GPU with wide 3x3 convolutions, batch norm, max-pool downsampling, a residual
stage and a scaled linear head. On two CPU cores the budget is about 10^4 times
smaller, so this network keeps the design and shrinks the widths: most of the
compute happens at 16x16 and below.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .. import validate


@dataclass(frozen=True)
class FastCifarConfig:
    """Widths of :class:`FastCifarNet`.

    The defaults (0.39 M parameters, about 12 M multiply-adds per image) fit the ``cpu``
    profile: 5 epochs in about 120 s on two cores. :data:`RESNET9_LIKE` is the
    full-size variant for a GPU.

    Raises:
        TypeError: a field has another type than annotated (a float width, a list for a tuple).
        ValueError: a width or the class count is not positive, a tuple has the wrong length, or a dropout
            lies outside [0, 1).
    """

    stem: int = 32  # channels of the first conv at full resolution (32x32): kept small, it is the costliest
    widths: tuple[int, int, int] = (64, 128, 256)  # the three stages at 16x16, 8x8, 4x4
    residual: bool = False  # a residual pair of 3x3 convs after stages 1 and 3 (ResNet-9 style)
    head_scale: float = 0.125  # logits are scaled down: a cheap temperature that steadies early training
    num_classes: int = 10

    def __post_init__(self) -> None:
        validate.fields(self)
        if min(self.stem, *self.widths) < 1 or self.num_classes < 1:
            raise ValueError(f"stem, widths and num_classes must be positive, got {self.stem}, {self.widths} and "
                             f"{self.num_classes}")


RESNET9_LIKE = FastCifarConfig(stem=64, widths=(128, 256, 512), residual=True)
"""Page's ResNet-9 widths and residual stages (6.5 M parameters), for the ``gpu`` profile."""


def _conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU())


class _Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c, c), _conv_bn(c, c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class FastCifarNet(nn.Module):
    """``Tensor[B, 3, 32, 32]`` -> logits ``Tensor[B, classes]``.

    stem 32x32 -> pool -> stage 1 (16x16, residual) -> pool -> stage 2 (8x8) -> pool
    -> stage 3 (4x4, residual) -> global max-pool -> linear.

    Raises:
        TypeError: ``cfg`` is not a :class:`FastCifarConfig`, or an override has the wrong type.
        ValueError: a width or the class count is not positive, or a dropout lies outside [0, 1).
    """

    def __init__(self, cfg: FastCifarConfig = FastCifarConfig(), **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", FastCifarConfig)
        if overrides:
            cfg = FastCifarConfig(**{**cfg.__dict__, **overrides})
        self.cfg = cfg
        w1, w2, w3 = cfg.widths
        stage1 = [_conv_bn(cfg.stem, w1)] + ([_Residual(w1)] if cfg.residual else [])
        stage3 = [_conv_bn(w2, w3)] + ([_Residual(w3)] if cfg.residual else [])
        self.features = nn.Sequential(
            _conv_bn(3, cfg.stem), nn.MaxPool2d(2),  # 32 -> 16
            *stage1, nn.MaxPool2d(2),  # 16 -> 8
            _conv_bn(w1, w2), nn.MaxPool2d(2),  # 8 -> 4
            *stage3,
        )
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(w3, cfg.num_classes, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``Tensor[B, classes]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float batch ``Tensor[B, 3, H, W]``.
        """
        validate.tensor(x, "x", ndim=4, dtype="float", hint="(images as a float batch Tensor[B, C, H, W])")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"FastCifarNet expects Tensor[B, 3, H, W], got {tuple(x.shape)}")
        return self.head(self.pool(self.features(x)).flatten(1)) * self.cfg.head_scale
