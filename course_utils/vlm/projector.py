"""The projector: CLIP patch features -> the LM's embedding space (LLaVA / LLaVA-1.5)."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from .. import validate


class Projector(nn.Module):
    """A linear map to the LM width, then LLaVA-1.5's "simple res block".

    ``x -> h = W x`` (``d_vision -> d_lm``: 768 -> 2560 in the seed), then
    ``h + MLP(LayerNorm(h))`` with ``MLP = Linear -> GELU -> Linear``. The skip
    lets the block start near the identity, so early training is the plain linear
    projection of LLaVA 1.0.

    ``forward``: ``Tensor[B, N, d_vision]`` -> ``Tensor[B, N, d_lm]``.

    Raises:
        TypeError: a width is not an int.
        ValueError: a width is below 1.
    """

    def __init__(self, d_vision: int, d_lm: int, hidden: int | None = None) -> None:
        validate.positive_int(d_vision, "d_vision")
        validate.positive_int(d_lm, "d_lm")
        if hidden is not None:
            validate.positive_int(hidden, "hidden")
        super().__init__()
        self.d_vision, self.d_lm = d_vision, d_lm
        hidden = hidden or d_lm
        self.linear = nn.Linear(d_vision, d_lm)
        self.norm = nn.LayerNorm(d_lm)
        self.mlp = nn.Sequential(nn.Linear(d_lm, hidden), nn.GELU(), nn.Linear(hidden, d_lm))

    def forward(self, x: Tensor) -> Tensor:
        """Patch features ``Tensor[B, N, d_vision]`` -> image tokens ``Tensor[B, N, d_lm]``.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` is not Tensor[B, N, d_vision] of floats.
        """
        validate.tensor(x, "patch features", dtype="float")
        if x.ndim != 3 or x.shape[-1] != self.d_vision:
            raise ValueError(f"expected patch features Tensor[B, N, {self.d_vision}], got {tuple(x.shape)}")
        h = self.linear(x)  # (B, N, d_lm)
        return h + self.mlp(self.norm(h))
