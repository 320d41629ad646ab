"""The whole offline recipe, stage 0 to stage 2 plus baselines, end to end: what ``bench vlm`` runs."""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data.shapes import Scene
from ..runtime import FLOAT32, get_device, training_precision
from ..training import History
from .batches import qa_features
from .config import VLMConfig, tiny_config
from .dataset import SHORT_TYPES, QARecord, caption, image_tensor, qa_records, text_corpus, vlm_scenes
from .evaluate import (answer_all, answer_from_captions, caption_scores, exact_match, exact_match_by_objects,
                       majority_answers)
from .grounding import patch_phrase_targets
from .language_model import build_lm, trainable_parameters
from .model import VisionLanguageModel
from .recipe import STAGE2_BUCKETS, VLMRecipe, stage2_records
from .tokenizer import train_tokenizer
from .train import pretrain_lm, train_clip, train_instruction, train_projection
from .vision import build_clip, encode_images, retrieval_accuracy


@dataclass(frozen=True)
class VLMRun:
    """What :func:`run_vlm` trained, the data it used, and what it measured."""

    cfg: VLMConfig
    recipe: VLMRecipe
    tokenizer: Any
    clip: nn.Module  # the two-tower CLIP of stage 0, frozen
    vlm: VisionLanguageModel  # after stage 2
    lm_after_stage0: nn.Module  # the LM before stages 1-2 (the baselines start from it)
    projector_after_stage1: nn.Module
    train_scenes: list[Scene]
    test_scenes: list[Scene]
    train_features: torch.Tensor  # cached patch features Tensor[N, n_patches, d_vision], on the CPU
    test_features: torch.Tensor
    test_records: list[QARecord]
    stage1_captions: list[str]  # stage 1's captions of the test scenes
    described: list[str]  # stage 2's answers to "describe the image."
    histories: dict[str, History]  # "lm", "clip", "stage1", "stage2": loss per step
    metrics: dict[str, Any]  # QA by type and by objects, baselines, caption attributes, parameters, seconds


def run_vlm(recipe: VLMRecipe | None = None, *, profile: str | None = None, cfg: VLMConfig | None = None,
            progress: bool = True, baselines: bool = True,
            device: str | torch.device | None = None) -> VLMRun:
    """Train every stage on the shapes world and score it: models, data, loss histories and metrics.

    ``recipe`` defaults to :meth:`VLMRecipe.for_profile` of ``profile``. ``metrics`` holds QA
    exact match by type for the model and the baselines (text only, no stage 1, the
    majority answer), the same split by objects per scene, the stage-0 LM's accuracy when
    it reads the captions instead, caption attribute accuracy, parameters per part,
    seconds per stage and the training precision.

    Everything trains on ``device`` (default: :func:`runtime.get_device`, so the
    ``gpu`` profile's much larger run uses the GPU it is named after); the cached
    patch features stay on the CPU and move one batch at a time. On a GPU every stage
    trains in :func:`runtime.training_precision` (bfloat16, or float16 with a gradient
    scaler below compute capability 8.0); on a CPU in float32, the precision its ``cpu``
    results were measured in (``metrics["precision"]`` says which).

    Raises:
        TypeError: ``recipe`` is not a :class:`VLMRecipe`, or ``cfg`` not a :class:`VLMConfig`.
        ValueError: an unknown ``profile``; a ``device`` that is not available here (``"cuda"`` without a GPU).
    """
    rec = recipe if recipe is not None else VLMRecipe.for_profile(profile)
    if not isinstance(rec, VLMRecipe):
        raise TypeError(f"recipe must be a VLMRecipe, got {type(rec).__name__}")
    if cfg is not None and not isinstance(cfg, VLMConfig):
        raise TypeError(f"cfg must be a VLMConfig (see tiny_config), got {type(cfg).__name__}")
    device = get_device(None if device is None else str(device))
    precision = training_precision(device) if device.type == "cuda" else FLOAT32
    cfg = cfg or tiny_config()
    torch.manual_seed(rec.seed)
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    train, test = vlm_scenes("train", rec.n_train, cfg.image_size), vlm_scenes("test", rec.n_test, cfg.image_size)
    seconds["data"] = time.perf_counter() - t

    # Stage 0: tokenizer, LM, CLIP
    t = time.perf_counter()
    corpus = text_corpus(train, cfg.eoi, cfg.eoq)
    tokenizer = train_tokenizer(corpus, cfg.vocab_size)
    random.Random(rec.seed).shuffle(corpus)
    lm = build_lm(cfg, tokenizer).to(device)
    lm_history = pretrain_lm(lm, tokenizer, corpus[:rec.lm_lines], lr=rec.lm_lr, epochs=1, progress=progress,
                             precision=precision)
    seconds["stage0_lm"] = time.perf_counter() - t
    t = time.perf_counter()
    clip = build_clip(cfg, tokenizer).to(device)
    train_images, test_images = image_tensor(train), image_tensor(test)
    train_captions = [caption(sc) for sc in train]
    grounding = (patch_phrase_targets(train, cfg.image_size // cfg.patch_size) if rec.clip_grounding > 0
                 else None)
    clip_history = train_clip(clip, tokenizer, train_images, train_captions, cfg, epochs=rec.clip_epochs,
                              lr=rec.clip_lr, grounding=grounding, grounding_weight=rec.clip_grounding,
                              progress=progress, precision=precision)
    retrieval = retrieval_accuracy(clip, tokenizer, test_images[:100], [caption(sc) for sc in test[:100]], cfg)
    for p in clip.parameters():
        p.requires_grad_(False)
    f_train = encode_images(clip.vision_model, train_images, cfg)
    f_test = encode_images(clip.vision_model, test_images, cfg)
    seconds["stage0_clip"] = time.perf_counter() - t
    lm_after_stage0 = copy.deepcopy(lm)

    # Stage 1: projection only
    vlm = VisionLanguageModel(cfg, tokenizer, lm, vision=clip.vision_model)
    s1 = train_projection(vlm, f_train, train_captions, epochs=rec.stage1_epochs, lr=rec.stage1_lr,
                          progress=progress, precision=precision)
    seconds["stage1"] = s1.train_seconds
    stage1_captions = caption_scores(vlm, f_test, test)
    projector_after_stage1 = copy.deepcopy(vlm.projector)

    # Stage 2: the LM (all of it, or LoRA adapters) + projector on questions
    train_records = qa_records(train)
    qas = [(r.index, r.question, r.answer)
           for r in stage2_records(train_records, rec.describe_every, rec.count_every)]
    qa_feats = qa_features(tokenizer, [(q, a) for _, q, a in qas], cfg.eoq)  # tokenised once for all three runs

    def stage2(model: VisionLanguageModel, features: torch.Tensor | None, epochs: int) -> History:
        return train_instruction(model, features, qas, buckets=STAGE2_BUCKETS, epochs=epochs, lr=rec.stage2_lr,
                                 tuning=rec.stage2_tuning, qa_feats=qa_feats, progress=progress, precision=precision)

    s2 = stage2(vlm, f_train, rec.stage2_epochs)
    seconds["stage2"] = s2.train_seconds
    test_records = qa_records(test, SHORT_TYPES)
    t = time.perf_counter()
    predictions = answer_all(vlm, f_test, test_records)
    qa = exact_match(predictions, test_records)
    described = caption_scores(vlm, f_test, test, question="describe the image.")
    # the stage-0 LM reading each test caption: the same questions with perfect, verbal "vision"
    reading = answer_from_captions(lm_after_stage0, tokenizer, test, test_records, cfg.eoi, cfg.eoq)
    seconds["evaluation"] = time.perf_counter() - t

    metrics = {"qa": qa, "qa_by_objects": exact_match_by_objects(predictions, test_records, test),
               "lm_reading": exact_match(reading, test_records),
               "lm_reading_by_objects": exact_match_by_objects(reading, test_records, test),
               "stage1_caption_attributes": round(stage1_captions["attribute_accuracy"], 4),
               "stage2_describe_attributes": round(described["attribute_accuracy"], 4),
               "clip_retrieval_top1_of_100": round(retrieval, 4),
               "majority": exact_match(majority_answers(train_records, test_records), test_records),
               "parameters": {"vision_tower": sum(p.numel() for p in clip.vision_model.parameters()),
                              "text_tower_stage0_only": sum(p.numel() for p in clip.text_model.parameters()),
                              "lm": sum(p.numel() for p in lm_after_stage0.parameters()),
                              "projector": sum(p.numel() for p in vlm.projector.parameters()),
                              "lm_trainable_in_stage2": trainable_parameters(vlm.lm)[0]},
               "train_records": len(qas), "test_records": len(test_records), "precision": precision.name}
    if baselines:
        # (a) text only: the same LM and tuning, no image tokens, for text_only_epochs (see VLMRecipe)
        text_only = VisionLanguageModel(cfg, tokenizer, copy.deepcopy(lm_after_stage0))
        seconds["baseline_text_only"] = stage2(text_only, None, rec.text_only_epochs).train_seconds
        metrics["text_only"] = exact_match(answer_all(text_only, None, test_records), test_records)
        # (b) stage 2 without stage 1: a fresh projector
        torch.manual_seed(rec.seed)
        no_stage1 = VisionLanguageModel(cfg, tokenizer, copy.deepcopy(lm_after_stage0))
        seconds["baseline_no_stage1"] = stage2(no_stage1, f_train, rec.stage2_epochs).train_seconds
        metrics["no_stage1"] = exact_match(answer_all(no_stage1, f_test, test_records), test_records)
    metrics["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    return VLMRun(cfg=cfg, recipe=rec, tokenizer=tokenizer, clip=clip, vlm=vlm, lm_after_stage0=lm_after_stage0,
                  projector_after_stage1=projector_after_stage1, train_scenes=train, test_scenes=test,
                  train_features=f_train, test_features=f_test, test_records=test_records,
                  stage1_captions=stage1_captions["captions"], described=described["captions"],
                  histories={"lm": lm_history, "clip": clip_history, "stage1": s1, "stage2": s2}, metrics=metrics)


__all__ = ["VLMRun", "run_vlm"]
