"""The course's networks, and a helper to describe any model.

* :func:`count_parameters` -- weights and biases of a module.
* :mod:`.tanh_cnn` -- the CIFAR-10 walk-through's fully connected network and small
  tanh CNN (3,738,506 vs 18,354 parameters).
* :mod:`.mnist` -- the large-kernel MNIST network and the compact one (7,634 parameters).
* :mod:`.ablation` -- a small CNN whose ingredients switch on one at a time.
* :mod:`.design_target` -- the "85% with under 200,000 parameters" design exercise.
* :mod:`.fast_resnet` -- the first edition's fast ResNet-9-style network.
* :mod:`.airbench` -- the fast recipe's airbench-style network, with its patch-whitening layer.

Checkpoints name these by :data:`course_utils.checkpoint.ARCHITECTURES`.
"""

from __future__ import annotations

from torch import nn

from .ablation import AblationConfig, AblationNet
from .airbench import AIRBENCH94, AIRBENCH_CPU, AirbenchConfig, AirbenchNet, patch_whitening_filters
from .design_target import DesignConfig, DesignTargetNet
from .fast_resnet import RESNET9_LIKE, FastCifarConfig, FastCifarNet
from .mnist import CompactConfig, CompactMNIST, large_kernel_mnist
from .tanh_cnn import TanhCNN, fully_connected_cifar, tanh_cnn


def count_parameters(module: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of parameters of a module (weights and biases), by default only the trainable ones.

    Raises:
        TypeError: ``module`` is not an ``nn.Module``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "AIRBENCH94", "AIRBENCH_CPU", "AblationConfig", "AblationNet", "AirbenchConfig", "AirbenchNet", "CompactConfig", "CompactMNIST", "DesignConfig", "DesignTargetNet",
    "FastCifarConfig", "FastCifarNet", "RESNET9_LIKE", "TanhCNN", "count_parameters", "fully_connected_cifar",
    "large_kernel_mnist", "patch_whitening_filters", "tanh_cnn",
]
