"""Stages 1 and 2: train the projector on captions, then instruction-tune with LoRA (or every LM weight).

Both stages read precomputed patch features (the vision tower is frozen) and
collated token batches (:func:`data.collate`); the loss is the LM's own
cross-entropy over the label positions only.
"""

from __future__ import annotations

import time
from typing import Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..runtime import FLOAT32, Precision
from .data import bucket_batches, caption_features, collate, qa_features
from .language_model import add_lora
from .model import VisionLanguageModel
from .steps import optimiser_step


def _fit(vlm: VisionLanguageModel, params: list[torch.nn.Parameter], features: Tensor | None, feats: list[dict],
         batches: list[list[int]], *, epochs: int, lr: float, desc: str, progress: bool,
         precision: Precision = FLOAT32) -> list[float]:
    steps = epochs * len(batches)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, foreach=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    vlm.train()
    losses: list[float] = []
    bar = tqdm(total=steps, desc=desc, disable=not progress, mininterval=1.0)
    collated = [collate(vlm.tokenizer, [feats[i] for i in idx]) for idx in batches]  # once: only the order changes
    device = params[0].device
    scaler = precision.scaler(device)
    for epoch in range(epochs):
        order = torch.randperm(len(batches), generator=torch.Generator().manual_seed(epoch)).tolist()
        for b in order:
            idx = batches[b]
            with precision.autocast(device):
                loss = vlm(None if features is None else features[idx], collated[b])
            optimiser_step(loss.float(), opt, sched, losses, bar, clip_params=params, scaler=scaler)
    bar.close()
    vlm.eval()
    return losses


def train_projection(vlm: VisionLanguageModel, features: Tensor, captions: Sequence[str], *, epochs: int = 3,
                     batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = True,
                     precision: Precision = FLOAT32) -> dict:
    """Stage 1: only the projector trains; the LM is frozen; loss on caption tokens only (teacher forcing).

    Args:
        features: ``Tensor[N, n_patches, d_vision]`` patch features of the N images.
        captions: their N captions.

    Returns ``{"losses": [...], "seconds": s, "trainable": n}``.
    """
    if len(features) != len(captions):
        raise ValueError(f"{len(features)} images but {len(captions)} captions")
    for p in vlm.lm.parameters():
        p.requires_grad_(False)
    params = list(vlm.projector.parameters())
    for p in params:
        p.requires_grad_(True)
    feats = caption_features(vlm.tokenizer, captions)
    perm = torch.randperm(len(feats), generator=torch.Generator().manual_seed(seed)).tolist()
    batches = [perm[s:s + batch_size] for s in range(0, len(perm), batch_size)]
    t0 = time.perf_counter()
    losses = _fit(vlm, params, features, feats, batches, epochs=epochs, lr=lr, desc="stage 1: projection",
                  progress=progress, precision=precision)
    return {"losses": losses, "seconds": time.perf_counter() - t0, "trainable": sum(p.numel() for p in params)}


def train_instruction(vlm: VisionLanguageModel, features: Tensor | None, qas: Sequence[tuple[int, str, str]], *,
                      buckets: Sequence[tuple[int, int, int]], epochs: int = 3, lr: float = 2e-3, seed: int = 0,
                      tuning: str = "lora", qa_feats: list[dict] | None = None, progress: bool = True,
                      precision: Precision = FLOAT32) -> dict:
    """Stage 2: LoRA adapters on the LM (or all its weights) plus the projector, on (image, question, answer).

    One forward pass per batch over ``[image][EOI][question][EOQ][answer][end-of-text]``
    with the loss on the answer and end-of-text only; batches bucketed by answer length
    (:func:`data.bucket_batches`). ``features=None`` trains the text-only baseline
    (no image tokens, and no projector to train).

    ``tuning="lora"`` (the seed's recipe) wraps the LM with LoRA here if it is not
    already a peft model; the base weights stay frozen. ``tuning="full"`` trains every
    LM weight instead: for a tiny LM trained from scratch, which has no pretrained
    skills for adapters to steer (see ``vlm_settings``). It needs a plain,
    full-precision LM.

    ``qa_feats``, if given, are ``qas`` already tokenised by :func:`data.qa_features`
    (to tokenise once for several runs on the same records).

    Returns ``{"losses": [...], "seconds": s, "trainable": n}``.
    """
    from peft import PeftModel

    if tuning == "lora":
        if not isinstance(vlm.lm, PeftModel):
            vlm.lm = add_lora(vlm.lm, vlm.cfg)
    elif tuning == "full":
        if isinstance(vlm.lm, PeftModel) or vlm.cfg.load_in_4bit:
            raise ValueError("tuning='full' needs a plain full-precision LM, not a LoRA-wrapped or 4-bit one; "
                             "use tuning='lora'")
        for p in vlm.lm.parameters():
            p.requires_grad_(True)
    else:
        raise ValueError(f"tuning must be 'lora' or 'full', got {tuning!r}")
    if qa_feats is not None and len(qa_feats) != len(qas):
        raise ValueError(f"qa_feats holds {len(qa_feats)} records for {len(qas)} qas")
    feats = qa_feats if qa_feats is not None else qa_features(vlm.tokenizer, [(q, a) for _, q, a in qas],
                                                               vlm.cfg.eoq)
    index = torch.tensor([i for i, _, _ in qas])
    params = [p for p in vlm.lm.parameters() if p.requires_grad]
    if features is not None:
        for p in vlm.projector.parameters():
            p.requires_grad_(True)
        params += list(vlm.projector.parameters())
        features = features[index]
    batches = list(bucket_batches(feats, buckets, seed=seed))
    t0 = time.perf_counter()
    losses = _fit(vlm, params, features, feats, batches, epochs=epochs, lr=lr,
                  desc="stage 2: instructions" + ("" if features is not None else " (text only)"), progress=progress,
                  precision=precision)
    return {"losses": losses, "seconds": time.perf_counter() - t0, "trainable": sum(p.numel() for p in params)}
