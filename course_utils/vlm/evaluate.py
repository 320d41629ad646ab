"""Scoring a multimodal model: exact-match QA by type, caption attributes, and baselines."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .. import validate
from ..data.shapes import Scene
from .batches import _check_tokenizer
from .dataset import QARecord, _check_records, _check_scene, _check_scenes, caption, object_phrase
from .model import VisionLanguageModel


def attribute_accuracy(predicted: str, scene: Scene) -> float:
    """Fraction of the scene's facts a generated caption states correctly.

    Facts: the object count, and for each object its shape with the right colour,
    size and position words (``"a large red circle at the top left"`` must
    appear as a phrase). Objects are checked by their whole phrase, so a caption
    that swaps two colours scores nothing for those two objects.

    Raises:
        TypeError: ``predicted`` is not a str, or ``scene`` not a Scene.
    """
    validate.instance(predicted, "predicted", str)
    _check_scene(scene)
    objs = scene.describe()["objects"]
    pred = predicted.strip()
    n_pred = pred.split(" on ")[0].count(" and ") + pred.count(", ") + 1 if pred else 0
    facts = [n_pred == len(objs)] + [object_phrase(o) in pred for o in objs]
    return sum(facts) / len(facts)


def normalise(text: str) -> str:
    """Lower case, single spaces, no final full stop: what exact match compares.

    Raises:
        TypeError: ``text`` is not a str.
    """
    validate.instance(text, "text", str)
    return " ".join(text.lower().strip().rstrip(".").split())


def _check_features(features, name: str = "features") -> Tensor:
    return validate.tensor(features, name, ndim=3, dtype="float", hint="(patch features Tensor[N, P, D])")


def answer_all(vlm: VisionLanguageModel, features: Tensor | None, records: Sequence[QARecord], *,
               batch_size: int = 256, max_new_tokens: int = 6, progress: bool = False) -> list[str]:
    """Greedy answers to every record's question (``features[r.index]`` is its image; None: text only).

    Raises:
        TypeError: ``vlm`` is not a :class:`VisionLanguageModel`, ``features`` not a tensor, ``records`` not a
            list of :class:`QARecord`, or ``batch_size``/``max_new_tokens`` not an int.
        ValueError: ``features`` is not Tensor[N, P, D] of floats; a record's scene index is past ``N``; a
            size below 1.
    """
    validate.instance(vlm, "vlm", VisionLanguageModel)
    _check_records(records)
    validate.positive_int(batch_size, "batch_size")
    validate.positive_int(max_new_tokens, "max_new_tokens")
    if features is not None:
        _check_features(features)
        _check_scene_indices(records, len(features), "image", "feature rows")
    out: list[str] = []
    for s in tqdm(range(0, len(records), batch_size), desc="answering", disable=not progress):
        chunk = records[s:s + batch_size]
        f = None if features is None else features[torch.tensor([r.index for r in chunk])]
        out += vlm.generate(f, [r.question for r in chunk], max_new_tokens=max_new_tokens)
    return out


def exact_match(predictions: Sequence[str], records: Sequence[QARecord]) -> dict:
    """Exact-match accuracy overall, per question type, and on held-out (shape, colour) pairs.

    Raises:
        TypeError: ``predictions`` is not a list of str, or ``records`` not a list of :class:`QARecord`.
        ValueError: their lengths differ, or there are no records.
    """
    validate.sequence_of(predictions, "predictions", str)
    _check_records(records)
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    if not records:
        raise ValueError("no records to score")
    hits = [normalise(p) == normalise(r.answer) for p, r in zip(predictions, records)]
    by_type: dict[str, list[bool]] = defaultdict(list)
    for h, r in zip(hits, records):
        by_type[r.qtype].append(h)
    held = [h for h, r in zip(hits, records) if r.held_out]
    return {"accuracy": sum(hits) / len(hits),
            "by_type": {t: round(sum(v) / len(v), 4) for t, v in by_type.items()},
            "held_out": round(sum(held) / len(held), 4) if held else None,
            "n": len(hits)}


def _check_scene_indices(records: Sequence[QARecord], n: int, item: str = "scene", items: str = "scenes") -> None:
    """Every record's ``index`` must fall among the ``n`` scenes (or feature rows) it is scored against."""
    last = max((r.index for r in records), default=-1)
    if last >= n:
        raise ValueError(f"a record refers to {item} {last} of only {n} {items}")


def exact_match_by_objects(predictions: Sequence[str], records: Sequence[QARecord],
                           scenes: Sequence[Scene]) -> dict[int, dict]:
    """:func:`exact_match` separately for scenes with 1, 2, ... objects (``scenes[r.index]`` is a record's scene).

    With one object, a question needs no search: every image token belongs to it.
    With two, the model must first find the object the question names (*binding*
    an attribute to the right object), so the split shows whether it can.
    Returns ``{number of objects: exact_match dict}``.

    Raises:
        TypeError: ``predictions`` is not a list of str, ``records`` not a list of QARecord, or ``scenes`` not a
            list of Scenes.
        ValueError: ``predictions`` and ``records`` differ in length, or a record's scene is past ``scenes``.
    """
    validate.sequence_of(predictions, "predictions", str)
    _check_records(records)
    _check_scenes(scenes)
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    _check_scene_indices(records, len(scenes))
    groups: dict[int, list[int]] = defaultdict(list)
    for k, r in enumerate(records):
        groups[len(scenes[r.index].objects)].append(k)
    return {n: exact_match([predictions[k] for k in ks], [records[k] for k in ks]) for n, ks in sorted(groups.items())}


@torch.no_grad()
def answer_from_captions(lm, tokenizer, scenes: Sequence[Scene], records: Sequence[QARecord], eoi: str, eoq: str, *,
                         batch_size: int = 256, max_new_tokens: int = 6) -> list[str]:
    """A text-only LM's greedy answers when it *reads* each scene's caption instead of seeing the image.

    The prompt is a stage-0 reading-comprehension line without its answer,
    ``"<caption> <EOI> <question> <EOQ>"`` (:func:`data.text_corpus`), left-padded
    for batched generation. Given the stage-0 LM, this measures what it can do
    before stage 2 with perfect, verbal "vision" of the scene.

    Raises:
        TypeError: ``lm`` is not a ``torch.nn.Module``, ``tokenizer`` not a tokenizer, ``scenes``/``records`` not
            lists of Scenes/QARecords, ``eoi``/``eoq`` not str, or a size not an int.
        ValueError: a record's scene is past ``scenes``, the tokenizer has no pad token, or a size below 1.
    """
    validate.instance(lm, "lm", torch.nn.Module, "a causal LM (torch.nn.Module)")
    _check_scenes(scenes)
    _check_records(records)
    validate.instance(eoi, "eoi", str)
    validate.instance(eoq, "eoq", str)
    validate.positive_int(batch_size, "batch_size")
    validate.positive_int(max_new_tokens, "max_new_tokens")
    _check_tokenizer(tokenizer, pad="answer_from_captions (to left-pad the prompts)")
    _check_scene_indices(records, len(scenes))
    lm.eval()
    device = next(lm.parameters()).device
    pad = tokenizer.pad_token_id
    out: list[str] = []
    for s in range(0, len(records), batch_size):
        chunk = records[s:s + batch_size]
        rows = [tokenizer(f"{caption(scenes[r.index])} {eoi} {r.question} {eoq}", add_special_tokens=False)["input_ids"]
                for r in chunk]
        L = max(len(r) for r in rows)
        ids = torch.tensor([[pad] * (L - len(r)) + r for r in rows], device=device)
        mask = torch.tensor([[0] * (L - len(r)) + [1] * len(r) for r in rows], device=device)
        gen = lm.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                          num_beams=1, eos_token_id=tokenizer.eos_token_id, pad_token_id=pad)
        out += [t.strip() for t in tokenizer.batch_decode(gen[:, L:], skip_special_tokens=True)]
    return out


def majority_answers(train: Sequence[QARecord], test: Sequence[QARecord]) -> list[str]:
    """Baseline (c): the most common training answer of each test record's question type.

    Raises:
        TypeError: ``train`` or ``test`` is not a list of :class:`QARecord`.
    """
    _check_records(train, "train")
    _check_records(test, "test")
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in train:
        counts[r.qtype][r.answer] += 1
    return [counts[r.qtype].most_common(1)[0][0] if counts[r.qtype] else "" for r in test]


def caption_scores(vlm: VisionLanguageModel, features: Tensor, scenes: Sequence[Scene], *,
                   question: str | None = None, max_new_tokens: int = 40, batch_size: int = 256) -> dict:
    """Generate a caption per scene (``question=None``: stage 1's image-only prompt) and score its facts.

    Returns the mean :func:`data.attribute_accuracy`, the fraction of captions entirely
    right, and the captions.

    Raises:
        TypeError: ``vlm`` is not a VisionLanguageModel, ``features`` not a tensor, ``scenes`` not a list of
            Scenes, ``question`` not a str or None, or a size not an int.
        ValueError: no scenes; ``features`` is not Tensor[N, P, D] with one row per scene; a size below 1.
    """
    validate.instance(vlm, "vlm", VisionLanguageModel)
    _check_features(features)
    _check_scenes(scenes, non_empty=True)
    if len(features) != len(scenes):
        raise ValueError(f"features must have one row per scene: {len(features)} rows, {len(scenes)} scenes")
    if question is not None:
        validate.instance(question, "question", str)
    validate.positive_int(batch_size, "batch_size")
    validate.positive_int(max_new_tokens, "max_new_tokens")
    caps: list[str] = []
    for s in range(0, len(scenes), batch_size):
        f = features[s:s + batch_size]
        caps += vlm.generate(f, [question] * len(f), max_new_tokens=max_new_tokens)
    acc = [attribute_accuracy(c, sc) for c, sc in zip(caps, scenes)]
    return {"attribute_accuracy": sum(acc) / len(acc), "all_right": sum(a == 1.0 for a in acc) / len(acc),
            "captions": caps}
