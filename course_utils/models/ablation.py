"""A small plain CNN whose training ingredients can be switched on one at a time.

The CIFAR-10 chapter's ablation table trains it with and without batch norm,
dropout, Kaiming initialisation and a residual block (the data-side switches,
augmentation, label smoothing and the learning-rate schedule, live in
:func:`course_utils.classification.train_cifar`). Widths are small so that one row of
the table costs seconds on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .. import validate


@dataclass(frozen=True)
class AblationConfig:
    """Switches of :class:`AblationNet`; the defaults are the plain baseline.

    Raises:
        TypeError: a field has another type than annotated (a float width, a list for a tuple).
        ValueError: a width or the class count is not positive, a tuple has the wrong length, or a dropout
            lies outside [0, 1).
    """

    widths: tuple[int, int, int, int] = (16, 32, 64, 64)  # stages at 32, 16, 8 and 4 pixels: cheap on a CPU
    batch_norm: bool = False  # BatchNorm2d after every convolution (Ioffe & Szegedy, 2015)
    dropout: float = 0.0  # Dropout2d after stages 1-3; per channel, because element-wise dropout is slow on CPUs
    kaiming_init: bool = False  # He et al. (2015) normal init; False keeps PyTorch's default (variance 1/(3 fan_in))
    residual: bool = False  # one residual pair of 3x3 convs at 8x8 (He et al., 2016)
    num_classes: int = 10

    def __post_init__(self) -> None:
        validate.fields(self)
        if min(self.widths) < 1 or self.num_classes < 1:
            raise ValueError(f"widths and num_classes must be positive, got {self.widths} and {self.num_classes}")


class _ResidualPair(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class AblationNet(nn.Module):
    """``Tensor[B, 3, 32, 32]`` -> logits ``Tensor[B, classes]``.

    conv 32x32 -> max-pool -> conv 16x16 -> max-pool -> conv 8x8 [-> residual pair]
    -> max-pool -> conv 4x4 -> global average pool -> linear. ReLU after every conv.

    Raises:
        TypeError: ``cfg`` is not a :class:`AblationConfig`, or an override has the wrong type.
        ValueError: a width or the class count is not positive, or a dropout lies outside [0, 1).
    """

    def __init__(self, cfg: AblationConfig = AblationConfig(), **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", AblationConfig)
        if overrides:
            cfg = AblationConfig(**{**cfg.__dict__, **overrides})
        if len(cfg.widths) != 4:
            raise ValueError(f"widths must name 4 stages, got {cfg.widths}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {cfg.dropout}")
        self.cfg = cfg

        def conv(c_in: int, c_out: int) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not cfg.batch_norm)]
            if cfg.batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            return nn.Sequential(*layers, nn.ReLU())

        def drop() -> list[nn.Module]:
            return [nn.Dropout2d(cfg.dropout)] if cfg.dropout > 0 else []

        w1, w2, w3, w4 = cfg.widths
        stage3: list[nn.Module] = [conv(w2, w3)]
        if cfg.residual:
            stage3.append(_ResidualPair(nn.Sequential(conv(w3, w3), conv(w3, w3))))
        self.features = nn.Sequential(
            conv(3, w1), nn.MaxPool2d(2), *drop(),  # 32 -> 16
            conv(w1, w2), nn.MaxPool2d(2), *drop(),  # 16 -> 8
            *stage3, nn.MaxPool2d(2), *drop(),  # 8 -> 4
            conv(w3, w4),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w4, cfg.num_classes))
        if cfg.kaiming_init:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``Tensor[B, classes]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float batch ``Tensor[B, 3, H, W]``.
        """
        validate.tensor(x, "x", ndim=4, dtype="float", hint="(images as a float batch Tensor[B, C, H, W])")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"AblationNet expects Tensor[B, 3, H, W], got {tuple(x.shape)}")
        return self.head(self.features(x))
