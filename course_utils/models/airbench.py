"""An airbench-style CIFAR-10 network, sized for two CPU cores.

Jordan's airbench (*94% on CIFAR-10 in 3.29 seconds on a single GPU*, 2024) starts with
a convolution that is not learned: its 2x2 filters *whiten* the training images'
2x2 patches (Coates & Ng's patch whitening, as in tysam-code's hlb-CIFAR10), so the
next layer sees decorrelated inputs of unit variance from the first step. Three
blocks follow, each a 3x3 convolution, a 2x2 max-pool, batch norm and GELU, then a
second convolution at the pooled size, initialised as the identity (Dirac). Batch
norm keeps its scales at 1 and learns only its shifts. The logits are scaled down.

:data:`AIRBENCH_CPU` has a quarter of airbench94's widths (64, 256, 256); on two
cores its 0.30 M parameters train at about 2,000 images a second in bfloat16.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .. import validate

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


@dataclass(frozen=True)
class AirbenchConfig:
    """Widths and settings of :class:`AirbenchNet`.

    Raises:
        TypeError: a field has another type than annotated (a float width, a list for a tuple).
        ValueError: a width, the patch size or the class count is not positive, or an unknown activation.
    """

    widths: tuple[int, int, int] = (32, 64, 128)  # the three blocks, at 31x31 -> 15x15, 7x7, 3x3
    patch: int = 2  # side of the whitening filters; 2 * 3 * patch**2 output channels
    head_scale: float = 1 / 9  # logits are scaled down, as airbench's
    activation: str = "gelu"
    batch_norm_momentum: float = 0.4  # PyTorch's convention: the weight of the new batch (airbench: 0.6 of the old)
    num_classes: int = 10

    def __post_init__(self) -> None:
        validate.fields(self)
        if min(self.widths) < 1 or self.patch < 1 or self.num_classes < 1:
            raise ValueError(f"widths, patch and num_classes must be positive, got {self.widths}, {self.patch} and "
                             f"{self.num_classes}")
        validate.choice(self.activation, "activation", tuple(ACTIVATIONS))
        if not 0 < self.batch_norm_momentum <= 1:
            raise ValueError(f"batch_norm_momentum must lie in (0, 1], got {self.batch_norm_momentum}")

    @property
    def whitening_channels(self) -> int:
        """Output channels of the whitening layer: each patch direction, and its negative."""
        return 2 * 3 * self.patch**2


AIRBENCH_CPU = AirbenchConfig()
"""The ``cpu`` profile's network: widths 32, 64, 128 (0.30 M trainable parameters)."""

AIRBENCH94 = AirbenchConfig(widths=(64, 256, 256))
"""airbench94's widths (1.97 M trainable parameters), for the ``gpu`` profile."""


def patch_whitening_filters(images: Tensor, patch: int = 2, eps: float = 5e-4) -> Tensor:
    """Filters that whiten an image set's ``patch`` x ``patch`` patches: ``Tensor[2 * C * p * p, C, p, p]``.

    The patches' covariance ``S = V diag(lambda) V^T`` is eigendecomposed; filter ``k`` is
    ``v_k / sqrt(lambda_k + eps)``, so the filter outputs of the (mean-removed) patches
    are uncorrelated with variance ``lambda_k / (lambda_k + eps)``, about 1. Each filter
    comes twice, with both signs, so that a GELU after it keeps both halves.

    Args:
        images: ``Tensor[N, C, H, W]`` float, normalised as the network will see them.
        patch: the filters' side.
        eps: added to each eigenvalue, so that near-constant directions are not blown up.

    Raises:
        TypeError: ``images`` is not a float tensor, or ``patch`` not an int.
        ValueError: ``images`` is not ``Tensor[N, C, H, W]`` with ``H, W >= patch``, holds NaN or infinity,
            or ``eps`` is not positive.
    """
    validate.tensor(images, "images", ndim=4, dtype="float", finite=True, hint="(normalised images Tensor[N, C, H, W])")
    validate.positive_int(patch, "patch")
    validate.number(eps, "eps", low=0, low_open=True)
    n, c, h, w = images.shape
    if min(h, w) < patch:
        raise ValueError(f"images of {h}x{w} pixels have no {patch}x{patch} patches")
    patches = images.unfold(2, patch, 1).unfold(3, patch, 1)  # [N, C, H', W', p, p]
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * patch * patch).double()
    patches = patches - patches.mean(0)
    cov = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending; columns are the directions
    filters = (eigenvectors.T / torch.sqrt(eigenvalues.clamp_min(0) + eps).unsqueeze(1)).reshape(-1, c, patch, patch)
    return torch.cat([filters, -filters]).to(images.dtype)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight.data[:min(c_in, c_out)])  # the first outputs start as copies of the inputs
    return conv


def _batch_norm(c: int, momentum: float) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c, momentum=momentum, eps=1e-12)
    bn.weight.requires_grad_(False)  # scales stay at 1; only the shifts learn
    return bn


class AirbenchNet(nn.Module):
    """``Tensor[B, 3, 32, 32]`` -> logits ``Tensor[B, classes]``.

    ``features`` holds four blocks: the whitening conv (2x2, no padding: 32 -> 31) and
    GELU, then three of conv -> max-pool -> batch norm -> GELU -> conv -> batch norm ->
    GELU (31 -> 15 -> 7 -> 3); global max-pool; a linear head without bias, scaled by
    ``head_scale``. The whitening layer is learnable until :meth:`whiten_` sets and
    freezes it.

    Raises:
        TypeError: ``cfg`` is not an :class:`AirbenchConfig`, or an override has the wrong type.
        ValueError: an override is out of range.
    """

    def __init__(self, cfg: AirbenchConfig = AIRBENCH_CPU, **overrides) -> None:
        super().__init__()
        validate.instance(cfg, "cfg", AirbenchConfig)
        if overrides:
            cfg = AirbenchConfig(**{**cfg.__dict__, **overrides})
        self.cfg = cfg
        act = ACTIVATIONS[cfg.activation]
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, cfg.whitening_channels, cfg.patch), act())]
        c_in = cfg.whitening_channels
        for c in cfg.widths:
            blocks.append(nn.Sequential(_conv(c_in, c), nn.MaxPool2d(2), _batch_norm(c, cfg.batch_norm_momentum),
                                        act(), _conv(c, c), _batch_norm(c, cfg.batch_norm_momentum), act()))
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(c_in, cfg.num_classes, bias=False)
        self.register_buffer("whitened", torch.tensor(False))  # saved with the weights: a loaded model stays frozen
        self.register_load_state_dict_post_hook(lambda module, _keys: module._freeze_whitening())

    def _freeze_whitening(self) -> None:
        if bool(self.whitened):
            self.whitening.weight.requires_grad_(False)

    @property
    def whitening(self) -> nn.Conv2d:
        """The first convolution (``features[0][0]``)."""
        return self.features[0][0]

    @torch.no_grad()
    def whiten_(self, images: Tensor, eps: float = 5e-4) -> "AirbenchNet":
        """Set the first layer to :func:`patch_whitening_filters` of ``images`` and freeze its weights.

        Its bias stays learnable (the training loop freezes it after a few epochs). The
        ``whitened`` buffer records it, so a model loaded from a checkpoint is frozen too.

        Raises:
            TypeError, ValueError: as :func:`patch_whitening_filters`.
        """
        filters = patch_whitening_filters(images, self.cfg.patch, eps)
        self.whitening.weight.copy_(filters.to(self.whitening.weight))
        self.whitened.fill_(True)
        self._freeze_whitening()
        return self

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``Tensor[B, classes]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float batch ``Tensor[B, 3, H, W]``.
        """
        validate.tensor(x, "x", ndim=4, dtype="float", hint="(images as a float batch Tensor[B, C, H, W])")
        if x.shape[1] != 3:
            raise ValueError(f"AirbenchNet expects Tensor[B, 3, H, W], got {tuple(x.shape)}")
        return self.head(self.pool(self.features(x)).flatten(1)) * self.cfg.head_scale


__all__ = ["AIRBENCH94", "AIRBENCH_CPU", "AirbenchConfig", "AirbenchNet", "patch_whitening_filters"]
