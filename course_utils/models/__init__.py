"""Small models of the course, and helpers to describe any model.

* :func:`count_parameters` -- weights and biases of a module.
* :mod:`.cifar_seed` -- the fully connected network and the small CNN of the
  CIFAR-10 walk-through (3,738,506 vs 18,354 parameters).
"""

from __future__ import annotations

from torch import nn

from .cifar_seed import SeedNet, fully_connected_cifar, seed_net_sequential


def count_parameters(module: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of parameters of a module (weights and biases), by default only the trainable ones."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


__all__ = ["SeedNet", "count_parameters", "fully_connected_cifar", "seed_net_sequential"]

from .cifar_design import DesignConfig, DesignTargetNet  # noqa: E402
from .cifar_fast import FastCifarConfig, FastCifarNet  # noqa: E402
from .mnist import CompactConfig, CompactMNIST, seed_mnist_net  # noqa: E402


def _compact_mnist(**config) -> CompactMNIST:
    return CompactMNIST(CompactConfig(**config))


def _design_cifar(**config) -> DesignTargetNet:
    if "widths" in config:
        config = {**config, "widths": tuple(config["widths"])}
    return DesignTargetNet(DesignConfig(**config))


def _fast_cifar(**config) -> FastCifarNet:
    if "widths" in config:
        config = {**config, "widths": tuple(config["widths"])}
    return FastCifarNet(FastCifarConfig(**config))


ARCHITECTURES = {
    # name -> builder taking the checkpoint's config as keyword arguments
    "seed_fc": fully_connected_cifar,
    "seed_cnn": seed_net_sequential,
    "seed_mnist": seed_mnist_net,
    "compact_mnist": _compact_mnist,
    "fast_cifar": _fast_cifar,
    "design_cifar": _design_cifar,
}
"""Architectures a checkpoint can name (``course_utils.checkpoint``)."""

__all__ += ["ARCHITECTURES", "DesignConfig", "DesignTargetNet", "CompactConfig", "CompactMNIST", "FastCifarConfig", "FastCifarNet", "seed_mnist_net"]
