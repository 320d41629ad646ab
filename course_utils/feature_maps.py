"""Capture what the layers of a model output, with forward hooks.

Computing only: :func:`feature_maps` returns tensors; ``plotting.show_feature_maps``
draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from . import validate


def feature_maps(model: nn.Module, x: Tensor, layers: Sequence[str] | None = None) -> dict[str, Tensor]:
    """Run ``model(x)`` once and return the outputs of the named sub-modules.

    Args:
        model: any ``nn.Module``; layer names are those of ``model.named_modules()``
            (``"0"``, ``"3"`` in an ``nn.Sequential``; ``"conv1"``, ``"layer1.0.conv2"``...).
        x: the input batch, e.g. ``Tensor[B, C, H, W]``.
        layers: names to capture; default: every leaf module (one without children).

    Returns:
        ``{name: output}`` in the order the layers ran, each output detached
        (e.g. ``Tensor[B, C_l, H_l, W_l]`` for a convolution).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``x`` not a tensor, or ``layers`` one string.
        ValueError: a name that is not a sub-module (the message lists the valid ones).
    """
    validate.instance(model, "model", nn.Module, "a torch.nn.Module")
    validate.tensor(x, "x")
    if isinstance(layers, str):
        raise TypeError(f"layers must be a list of layer names, got the str {layers!r} (wrap it: [{layers!r}])")
    modules = dict(model.named_modules())
    if layers is None:
        layers = [name for name, m in modules.items() if name and not any(m.children())]
    unknown = [name for name in layers if name not in modules or not name]
    if unknown:
        valid = [n for n in modules if n]
        raise ValueError(f"unknown layer(s) {unknown}; the model's layers are {valid}")
    captured: dict[str, Tensor] = {}

    def hook(name: str):
        def store(module: nn.Module, inputs: tuple, output: Tensor) -> None:
            if isinstance(output, Tensor):
                captured[name] = output.detach()

        return store

    handles = [modules[name].register_forward_hook(hook(name)) for name in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return captured
