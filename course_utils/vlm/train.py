"""Every training stage of the multimodal LLM, 0 to 2.

* Stage 0: :func:`pretrain_lm` (next-token prediction on text) and :func:`train_clip`
  (the contrastive vision tower, optionally with :mod:`.grounding`'s patch-phrase term).
* Stage 1: :func:`train_projection` -- only the projector trains, on captions.
* Stage 2: :func:`train_instruction` -- LoRA adapters (or every LM weight) and the
  projector, on questions and answers.

Stages 1 and 2 read precomputed patch features (the vision tower is frozen) and
collated token batches (:func:`.batches.collate`); the loss is the LM's own
cross-entropy over the label positions only. Every stage returns a
:class:`~course_utils.training.History` of its loss per optimiser step
(``unit="step"``) and its seconds; every update goes through :func:`optimiser_step`.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Iterable, Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .. import validate
from ..runtime import FLOAT32, Precision
from ..training import History, backward_step, one_cycle
from .batches import _check_tokenizer, bucket_batches, caption_features, collate, qa_features
from .config import VLMConfig
from .grounding import grounding_loss
from .language_model import add_lora
from .model import VisionLanguageModel
from .vision import clip_loss, preprocess, rows_padded_to_longest


def _check_loop(epochs: int, lr: float, precision: Precision, batch_size: int | None = None) -> None:
    """The arguments every stage shares: positive epochs (and batch size, if any), a positive learning rate."""
    validate.positive_int(epochs, "epochs")
    if batch_size is not None:
        validate.positive_int(batch_size, "batch_size")
    validate.number(lr, "lr", low=0.0, low_open=True)
    validate.instance(precision, "precision", Precision, "a runtime.Precision (runtime.training_precision(device))")


def optimiser_step(loss: Tensor, opt: torch.optim.Optimizer, sched, losses: list[float], bar, *,
                   clip_params: Iterable[torch.nn.Parameter] | None = None,
                   scaler: torch.amp.GradScaler | None = None) -> None:
    """Backward, optional gradient clipping to norm 1, step, schedule; log the loss and advance ``bar``.

    The update itself is :func:`course_utils.training.backward_step` (with ``scaler`` for
    float16 training).

    Raises:
        ValueError: ``loss`` is not a scalar tensor.
        TypeError: ``opt`` is not a ``torch.optim.Optimizer``, or ``losses`` not a list.
    """
    validate.instance(losses, "losses", list)
    backward_step(loss, opt, scaler, clip_params=clip_params)
    sched.step()
    losses.append(loss.item())
    bar.update()
    bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)


def pretrain_lm(lm, tokenizer, texts: Sequence[str], *, epochs: int = 2, batch_size: int = 64,
                lr: float = 3e-3, seed: int = 0, progress: bool = True, precision: Precision = FLOAT32) -> History:
    """Stage 0 for the LM: next-token prediction on ``texts`` (each ends with end-of-text).

    AdamW with a one-cycle schedule; padding is masked out of the loss. Returns the loss per step.
    ``precision``: the forward pass's autocast and gradient scaling (:mod:`course_utils.runtime`).
    Fewer texts than ``batch_size`` train as one batch per epoch.

    Raises:
        TypeError: ``lm`` is not a module, ``tokenizer`` not a tokenizer, ``texts`` not a list of str, a size
            not an int, or ``precision`` not a :class:`~course_utils.runtime.Precision`.
        ValueError: no text; a size below 1 or a learning rate that is not positive; a tokenizer without an
            end-of-text token.
    """
    validate.instance(lm, "lm", torch.nn.Module, "a causal LM (torch.nn.Module)")
    _check_tokenizer(tokenizer)
    validate.sequence_of(texts, "texts", str)
    if not texts:
        raise ValueError("no text to pretrain on")
    _check_loop(epochs, lr, precision, batch_size)
    start = time.perf_counter()
    device = next(lm.parameters()).device
    feats = [{"input_ids": tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id],
              "prompt_len": 0} for t in texts]
    g = torch.Generator().manual_seed(seed)
    per_epoch = max(1, len(feats) // batch_size)
    steps = epochs * per_epoch
    opt = torch.optim.AdamW(lm.parameters(), lr=lr, weight_decay=0.05, foreach=True)
    sched = one_cycle(opt, lr, steps, pct_start=0.1)
    lm.train()
    losses: list[float] = []
    scaler = precision.scaler(device)
    bar = tqdm(total=steps, desc="stage 0: LM", disable=not progress, mininterval=1.0)
    for _ in range(epochs):
        perm = torch.randperm(len(feats), generator=g).tolist()
        for s in range(0, per_epoch * batch_size, batch_size):
            batch = collate(tokenizer, [feats[i] for i in perm[s:s + batch_size]])
            with precision.autocast(device):
                out = lm(**{k: v.to(device) for k, v in batch.items()})
            optimiser_step(out.loss.float(), opt, sched, losses, bar, clip_params=lm.parameters(), scaler=scaler)
    bar.close()
    lm.eval()
    return History(train_loss=losses, seconds=[time.perf_counter() - start], unit="step")


def train_clip(clip, tokenizer, images: Tensor, captions: Sequence[str], cfg: VLMConfig, *, epochs: int = 4,
               batch_size: int = 128, lr: float = 2e-3, seed: int = 0, progress: bool = True,
               negatives: Callable[[int, random.Random], str] | None = None,
               grounding: tuple[Sequence[str], Tensor] | None = None, grounding_weight: float = 1.0,
               precision: Precision = FLOAT32) -> History:
    """Contrastive training of a two-tower CLIP on image-caption pairs; returns the loss per step.

    ``images``: ``Tensor[N, 3, S, S]`` uint8; ``captions``: ``N`` strings.
    ``negatives(i, rng)``, if given, returns a hard-negative caption for image ``i``
    (see :func:`clip_loss`). ``grounding``, if given, is ``(phrases, targets)`` from
    :func:`grounding.patch_phrase_targets` (``targets``: ``Tensor[N, P]``), and
    ``grounding_weight`` times :func:`.grounding.grounding_loss` is added to CLIP's
    loss at every step, each patch choosing among all ``phrases``. AdamW with a
    one-cycle schedule. ``precision``: the forward pass's autocast and gradient scaling
    (:mod:`course_utils.runtime`).

    Raises:
        TypeError: ``clip`` is not a module; ``tokenizer`` not a tokenizer; ``images`` not a tensor;
            ``captions`` not a list of str; ``cfg`` not a VLMConfig; ``negatives`` not callable; ``grounding``
            not a ``(phrases, targets)`` pair; a size not an int.
        ValueError: ``images`` not uint8 Tensor[N, 3, S, S]; not one caption per image; grounding targets not
            [N, patches]; fewer images than one batch; a size below 1 or a learning rate that is not positive.
    """
    validate.instance(clip, "clip", torch.nn.Module, "a transformers CLIPModel (vision.build_clip)")
    _check_tokenizer(tokenizer)
    validate.tensor(images, "images", ndim=4, hint="(uint8 Tensor[N, 3, S, S])")
    if images.dtype != torch.uint8 or images.shape[1] != 3:
        raise ValueError(f"images must be uint8 Tensor[N, 3, S, S], got {validate.describe(images)}")
    validate.sequence_of(captions, "captions", str)
    validate.instance(cfg, "cfg", VLMConfig)
    _check_loop(epochs, lr, precision, batch_size)
    if negatives is not None and not callable(negatives):
        raise TypeError(f"negatives must be a function (i, rng) -> caption, got {validate.describe(negatives)}")
    if grounding is not None:
        if not isinstance(grounding, (tuple, list)) or len(grounding) != 2:
            raise TypeError(f"grounding must be (phrases, targets) from grounding.patch_phrase_targets, got "
                            f"{validate.describe(grounding)}")
        validate.sequence_of(grounding[0], "grounding phrases", str)
        validate.tensor(grounding[1], "grounding targets", ndim=2, dtype="int")
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if grounding is not None and grounding[1].shape != (len(images), cfg.n_patches):
        raise ValueError(f"grounding targets must be [{len(images)}, {cfg.n_patches}] (images, patches), "
                         f"got {tuple(grounding[1].shape)}")
    start = time.perf_counter()
    device = next(clip.parameters()).device
    g = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)

    def encode(texts):
        enc = tokenizer([t + tokenizer.eos_token for t in texts], padding=True, return_tensors="pt",
                        add_special_tokens=False)
        return enc["input_ids"].to(device), enc["attention_mask"].to(device)

    phrase_pool = encode(list(grounding[0])) if grounding is not None else None
    caption_ids, caption_mask = encode(list(captions))  # tokenised once; each batch is cut to its longest
    steps = epochs * (len(images) // batch_size)
    if steps == 0:
        raise ValueError(f"{len(images)} images is less than one batch of {batch_size}")
    opt = torch.optim.AdamW(clip.parameters(), lr=lr, weight_decay=0.05, foreach=True)
    sched = one_cycle(opt, lr, steps, pct_start=0.15)
    clip.train()
    losses = []
    scaler = precision.scaler(device)
    bar = tqdm(total=steps, desc="stage 0: CLIP", disable=not progress, mininterval=1.0)
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=g)
        for s in range(0, len(images) - batch_size + 1, batch_size):
            idx = perm[s:s + batch_size]
            x = preprocess(images[idx], cfg).to(device)  # no flips: positions are part of the captions
            neg = encode([negatives(int(i), rng) for i in idx]) if negatives else (None, None)
            with precision.autocast(device):
                out = clip.vision_model(pixel_values=x)
                loss = clip_loss(clip, *rows_padded_to_longest(caption_ids, caption_mask, idx,
                                                               tokenizer.padding_side),
                                 None, *neg, vision_outputs=out)
                if grounding is not None:
                    loss = loss + grounding_weight * grounding_loss(clip, out.last_hidden_state,
                                                                    grounding[1][idx].to(device), *phrase_pool)
            optimiser_step(loss.float(), opt, sched, losses, bar, scaler=scaler)
    bar.close()
    clip.eval()
    return History(train_loss=losses, seconds=[time.perf_counter() - start], unit="step")


def _fit(vlm: VisionLanguageModel, params: list[torch.nn.Parameter], features: Tensor | None, feats: list[dict],
         batches: list[list[int]], *, epochs: int, lr: float, desc: str, progress: bool,
         precision: Precision = FLOAT32) -> History:
    start = time.perf_counter()
    steps = epochs * len(batches)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, foreach=True)
    sched = one_cycle(opt, lr, steps, pct_start=0.1)
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
    return History(train_loss=losses, seconds=[time.perf_counter() - start], unit="step")


def train_projection(vlm: VisionLanguageModel, features: Tensor, captions: Sequence[str], *, epochs: int = 3,
                     batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = True,
                     precision: Precision = FLOAT32) -> History:
    """Stage 1: only the projector trains; the LM is frozen; loss on caption tokens only (teacher forcing).

    Args:
        features: ``Tensor[N, n_patches, d_vision]`` patch features of the N images.
        captions: their N captions.

    Returns the loss per step and the stage's seconds.

    Raises:
        TypeError: ``vlm`` is not a :class:`VisionLanguageModel`, ``features`` not a tensor, ``captions`` not a
            list of str, a size not an int, or ``precision`` not a Precision.
        ValueError: ``features`` is not Tensor[N, P, d_vision] of floats with one row per caption; a size below 1
            or a learning rate that is not positive.
    """
    validate.instance(vlm, "vlm", VisionLanguageModel)
    validate.tensor(features, "features", shape=(None, None, vlm.cfg.d_vision), dtype="float")
    validate.sequence_of(captions, "captions", str)
    _check_loop(epochs, lr, precision, batch_size)
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
    return _fit(vlm, params, features, feats, batches, epochs=epochs, lr=lr, desc="stage 1: projection",
                progress=progress, precision=precision)


def train_instruction(vlm: VisionLanguageModel, features: Tensor | None, qas: Sequence[tuple[int, str, str]], *,
                      buckets: Sequence[tuple[int, int, int]], epochs: int = 3, lr: float = 2e-3, seed: int = 0,
                      tuning: str = "lora", qa_feats: list[dict] | None = None, progress: bool = True,
                      precision: Precision = FLOAT32) -> History:
    """Stage 2: LoRA adapters on the LM (or all its weights) plus the projector, on (image, question, answer).

    One forward pass per batch over ``[image][EOI][question][EOQ][answer][end-of-text]``
    with the loss on the answer and end-of-text only; batches bucketed by answer length
    (:func:`data.bucket_batches`). ``features=None`` trains the text-only baseline
    (no image tokens, and no projector to train).

    ``tuning="lora"`` (the seed's recipe) wraps the LM with LoRA here if it is not
    already a peft model; the base weights stay frozen. ``tuning="full"`` trains every
    LM weight instead: for a tiny LM trained from scratch, which has no pretrained
    skills for adapters to steer (see ``notes/vlm-recipe.md``). It needs a plain,
    full-precision LM.

    ``qa_feats``, if given, are ``qas`` already tokenised by :func:`data.qa_features`
    (to tokenise once for several runs on the same records).

    Returns the loss per step and the stage's seconds; what trained keeps ``requires_grad``.

    Raises:
        TypeError: ``vlm`` is not a VisionLanguageModel, ``features`` not a tensor or None, ``qas`` not a list of
            ``(index, question, answer)`` triples, a size not an int, or ``precision`` not a Precision.
        ValueError: ``tuning`` other than ``"lora"`` or ``"full"`` (or ``"full"`` on a LoRA or 4-bit LM);
            ``features`` not Tensor[N, P, d_vision] of floats; an index past ``features``; ``qa_feats`` of
            another length; a malformed bucket or an answer that fits none; an epoch count below 1 or a learning
            rate that is not positive.
    """
    from peft import PeftModel

    validate.instance(vlm, "vlm", VisionLanguageModel)
    validate.sequence_of(qas, "qas", (tuple, list))
    bad = next((k for k, qa in enumerate(qas) if len(qa) != 3 or isinstance(qa[0], bool) or not isinstance(qa[0], int)
                or not all(isinstance(t, str) for t in qa[1:])), None)
    if bad is not None:
        raise TypeError(f"qas must hold (scene index, question, answer) triples, got {qas[bad]!r} at index {bad}")
    if features is not None:
        validate.tensor(features, "features", shape=(None, None, vlm.cfg.d_vision), dtype="float")
        lo, hi = min((i for i, _, _ in qas), default=0), max((i for i, _, _ in qas), default=0)
        if qas and (lo < 0 or hi >= len(features)):
            raise ValueError(f"qas must index rows 0..{len(features) - 1} of features, got indices {lo}..{hi}")
    _check_loop(epochs, lr, precision)  # its batch sizes come from the buckets
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
    return _fit(vlm, params, features, feats, batches, epochs=epochs, lr=lr,
                desc="stage 2: instructions" + ("" if features is not None else " (text only)"), progress=progress,
                precision=precision)
