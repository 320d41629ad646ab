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

from .mnist import CompactConfig, CompactMNIST, seed_mnist_net  # noqa: E402

__all__ += ["CompactConfig", "CompactMNIST", "seed_mnist_net"]
