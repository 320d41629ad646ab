"""The two CIFAR-10 models of the seed walk-through (source: seed 001).

A fully connected network sees a 32x32x3 image as 3,072 unrelated numbers; the
small CNN shares 3x3 kernels across positions. Same task, 3,738,506 against
18,354 parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import validate


def fully_connected_cifar(num_classes: int = 10) -> nn.Sequential:
    """3072 -> 1024 -> 512 -> 128 -> classes with tanh: 3,738,506 parameters for 10 classes.

    Input: ``Tensor[B, 3, 32, 32]`` (flattened inside). Output: logits ``Tensor[B, classes]``.

    Raises:
        TypeError: ``num_classes`` is not an int.
        ValueError: ``num_classes`` is below 1.
    """
    validate.positive_int(num_classes, "num_classes")
    return nn.Sequential(
        nn.Flatten(),  # (B, 3, 32, 32) -> (B, 3072)
        nn.Linear(3 * 32 * 32, 1024), nn.Tanh(),
        nn.Linear(1024, 512), nn.Tanh(),
        nn.Linear(512, 128), nn.Tanh(),
        nn.Linear(128, num_classes),
    )


def tanh_cnn(num_classes: int = 10) -> nn.Sequential:
    """The seed's small CNN as ``nn.Sequential``: two 3x3 conv + tanh + 2x2 max-pool stages, then 2 linear layers.

    ``Tensor[B, 3, 32, 32]`` -> 16x32x32 -> pool 16x16x16 -> 8x16x16 -> pool 8x8x8 -> 512 -> 32 -> classes.
    18,354 parameters for 10 classes.

    Raises:
        TypeError: ``num_classes`` is not an int.
        ValueError: ``num_classes`` is below 1.
    """
    validate.positive_int(num_classes, "num_classes")
    return nn.Sequential(
        nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, kernel_size=3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(),  # (B, 8, 8, 8) -> (B, 512)
        nn.Linear(8 * 8 * 8, 32), nn.Tanh(),
        nn.Linear(32, num_classes),
    )


class TanhCNN(nn.Module):
    """The same small CNN as an ``nn.Module`` subclass using the functional API in ``forward``.

    Raises:
        TypeError: ``num_classes`` is not an int.
        ValueError: ``num_classes`` is below 1.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        validate.positive_int(num_classes, "num_classes")
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 8, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(8 * 8 * 8, 32)
        self.fc2 = nn.Linear(32, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``Tensor[B, classes]`` for a batch of images.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not a float batch ``Tensor[B, 3, H, W]`` of 32x32 images.
        """
        validate.tensor(x, "x", ndim=4, dtype="float", hint="(images as a float batch Tensor[B, C, H, W])")
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"TanhCNN expects Tensor[B, 3, 32, 32], got {tuple(x.shape)}")
        out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)  # (B, 16, 16, 16)
        out = F.max_pool2d(torch.tanh(self.conv2(out)), 2)  # (B, 8, 8, 8)
        out = torch.tanh(self.fc1(out.flatten(1)))  # (B, 32)
        return self.fc2(out)  # (B, classes)
