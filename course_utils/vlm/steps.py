"""One optimiser step with the bookkeeping every stage shares (stage 0's LM and CLIP, stages 1 and 2)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


def optimiser_step(loss: Tensor, opt: torch.optim.Optimizer, sched, losses: list[float], bar, *,
                   clip_params: Iterable[torch.nn.Parameter] | None = None,
                   scaler: torch.amp.GradScaler | None = None) -> None:
    """Backward, optional gradient clipping to norm 1, step, schedule; log the loss and advance ``bar``.

    With an enabled ``scaler`` (float16 training, :meth:`course_utils.runtime.Precision.scaler`)
    the loss is scaled for the backward pass and the gradients unscaled before clipping, so the
    norm is clipped on their true values; an overflowing step is skipped.
    """
    opt.zero_grad(set_to_none=True)
    scaling = scaler is not None and scaler.is_enabled()
    (scaler.scale(loss) if scaling else loss).backward()
    if clip_params is not None:
        if scaling:
            scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(clip_params, 1.0)
    if scaling:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    sched.step()
    losses.append(loss.item())
    bar.update()
    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
