"""Words about shapes-world scenes: captions and question/answer records, and their batches.

A scene's structured description (:meth:`Scene.describe`) becomes

* a **caption** -- ``"a large red circle at the top left and a small blue square
  at the bottom right on stripes"`` -- for the contrastive CLIP, stage 1 and the LM's
  pretraining text;
* **question/answer records** of six types (:data:`QUESTION_TYPES`), asked only
  where the answer is unambiguous: ``count`` ("how many shapes are there?"),
  ``colour`` ("what colour is the circle?", the shape unique in the scene),
  ``shape`` ("what shape is the red object?", the colour unique), ``size``,
  ``position`` and ``describe`` (whose answer is the caption: the long answers
  that make answer-length buckets matter, as in the seed's stage 2).

Held-out attribute combinations (:data:`HELD_OUT_COMBOS`) never appear in the
training scenes, so evaluation can ask about, say, a green triangle the model
has never seen. The full recipe's real data (COCO captions, LLaVA-Instruct-150K)
goes through :func:`coco_captions` and :func:`llava_instruct_records`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch import Tensor

from ..data.shapes import COLOURS, SHAPES, SPLIT_OFFSETS, Scene, make_scene

QUESTION_TYPES = ("count", "colour", "shape", "size", "position", "describe")
"""The question types; all but ``describe`` have short answers scored by exact match."""

SHORT_TYPES = QUESTION_TYPES[:-1]

HELD_OUT_COMBOS = (("triangle", "green"), ("square", "purple"), ("circle", "yellow"))
"""(shape, colour) pairs absent from every training scene (:func:`vlm_scenes`)."""

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")

SEED_BUCKETS = ((1, 11, 10), (12, 17, 10), (18, 23, 9), (24, 40, 8), (41, 59, 6), (60, 79, 5),
                (80, 99, 4), (100, 119, 4))
"""The seed's stage-2 buckets: (shortest, longest answer in tokens, batch size) on a 15 GB T4."""

SCENE_KWARGS = dict(max_objects=2, min_size=0.3, max_size=0.6, cut_fraction=0.0, min_visible=1.0)
"""Scene settings for the multimodal chapter: 1-2 objects, large enough to see at 48 px, none covered or cut."""


@dataclass(frozen=True)
class QARecord:
    """One question about one scene (``index`` into the split's scene list)."""

    index: int
    qtype: str
    question: str
    answer: str
    held_out: bool = False  # asks about an object whose (shape, colour) was never trained on


def object_phrase(o: dict) -> str:
    """One described object (a :meth:`Scene.describe` entry): ``"a large red circle at the top left"``."""
    return f"a {o['size']} {o['colour']} {o['shape']} at the {o['position']}".replace("at the centre", "in the centre")


def caption(scene: Scene) -> str:
    """One sentence naming every object (size, colour, shape, position) and the background."""
    d = scene.describe()
    parts = [object_phrase(o) for o in d["objects"]]
    objects = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{objects} on {d['background']}"


def hard_negative_caption(scene: Scene, rng: random.Random) -> str:
    """The scene's caption with one object's shape, colour, size or position changed.

    NegCLIP's idea (Yuksekgonul et al., 2023): a contrastive model can match
    captions by colour and position alone and ignore shape, unless some
    negatives differ only in what it ignores. Shape is changed half the time,
    since it is the hardest cue to see.
    """
    d = scene.describe()
    objs = [dict(o) for o in d["objects"]]
    o = rng.choice(objs)
    what = rng.choice(["shape", "shape", "shape", "colour", "size", "position"])
    options = {"shape": SHAPES, "colour": tuple(COLOURS), "size": ("small", "medium", "large"),
               "position": tuple(f"{v} {h}" for v in ("top", "middle", "bottom")
                                 for h in ("left", "centre", "right") if (v, h) != ("middle", "centre"))
               + ("centre",)}[what]
    o[what] = rng.choice([v for v in options if v != o[what]])
    objs[[p is o for p in objs].index(True)] = o
    parts = [object_phrase(p) for p in objs]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{text} on {d['background']}"


def questions(scene: Scene, index: int = 0) -> list[QARecord]:
    """Every unambiguous question about ``scene`` (one per type and object)."""
    objs = scene.describe()["objects"]
    shapes = [o["shape"] for o in objs]
    colours = [o["colour"] for o in objs]
    held = lambda o: (o["shape"], o["colour"]) in HELD_OUT_COMBOS  # noqa: E731
    out = [QARecord(index, "count", "how many shapes are there?", NUMBER_WORDS[len(objs)])]
    for o in objs:
        if shapes.count(o["shape"]) == 1:
            out.append(QARecord(index, "colour", f"what colour is the {o['shape']}?", o["colour"], held(o)))
        if colours.count(o["colour"]) == 1:
            out.append(QARecord(index, "shape", f"what shape is the {o['colour']} object?", o["shape"], held(o)))
        pair = [(p["shape"], p["colour"]) for p in objs].count((o["shape"], o["colour"]))
        if pair == 1:
            name = f"{o['colour']} {o['shape']}"
            out.append(QARecord(index, "size", f"how big is the {name}?", o["size"], held(o)))
            out.append(QARecord(index, "position", f"where is the {name}?", o["position"], held(o)))
    out.append(QARecord(index, "describe", "describe the image.", caption(scene),
                        any(held(o) for o in objs)))
    return out


def has_held_out(scene: Scene) -> bool:
    return any((o.shape, o.colour) in HELD_OUT_COMBOS for o in scene.objects)


def vlm_scenes(split: str, n: int, size: int = 48) -> list[Scene]:
    """``n`` scenes of a split; training scenes skip every held-out (shape, colour) pair.

    Deterministic: scene seeds are taken in order from the split's seed range.
    """
    if split not in SPLIT_OFFSETS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLIT_OFFSETS)}")
    scenes, seed = [], SPLIT_OFFSETS[split]
    while len(scenes) < n:
        sc = make_scene(seed, size, **SCENE_KWARGS)
        seed += 1
        if split == "train" and has_held_out(sc):
            continue
        scenes.append(sc)
    return scenes


def qa_records(scenes: Sequence[Scene], types: Sequence[str] = QUESTION_TYPES) -> list[QARecord]:
    """All questions of the given types about ``scenes``, in scene order."""
    unknown = set(types) - set(QUESTION_TYPES)
    if unknown:
        raise ValueError(f"unknown question types {sorted(unknown)}; expected some of {QUESTION_TYPES}")
    return [r for i, sc in enumerate(scenes) for r in questions(sc, i) if r.qtype in types]


def text_corpus(scenes: Sequence[Scene], eoi: str, eoq: str) -> list[str]:
    """What the LM reads in stage 0 (text only, no images).

    Captions after the EOI marker, and reading-comprehension lines: a scene's
    caption, EOI, a question about it, EOQ and the answer. A pretrained LLM such as
    phi-2 already knows how to answer a question from the text before it; a tiny
    LM learns that skill here, so that later stages only have to make the image
    tokens readable.
    """
    caps = [caption(sc) for sc in scenes]
    lines = [f"{eoi} {c}" for c in caps]
    lines += [f"{caps[r.index]} {eoi} {r.question} {eoq} {r.answer}" for r in qa_records(scenes, SHORT_TYPES)]
    return lines


def image_tensor(scenes: Sequence[Scene]) -> Tensor:
    """Stack the scenes' images -> ``Tensor[N, 3, H, W]`` uint8."""
    return torch.stack([sc.image for sc in scenes])


# --------------------------------------------------------------------------- batching

def encode_pieces(tokenizer, pieces: Sequence[str]) -> list[int]:
    """Token ids of pieces tokenised one by one, each after a space (as the seed tokenises EOI and EOQ).

    The leading space matters for the first piece too: in the LM's stage-0 text a
    question always follows a space (``"... caption image: what colour is ..."``),
    so a byte-level BPE learns ``" what"`` as one token; ``"what"`` at the start of
    a string would be spelt out as ``w``, ``h``, ``at`` -- tokens the LM has never
    read there, and two extra positions in every stage-2 sequence.
    """
    ids: list[int] = []
    for p in pieces:
        ids += tokenizer(" " + p, add_special_tokens=False)["input_ids"]
    return ids


def qa_features(tokenizer, record_qas: Sequence[tuple[str, str]], eoq: str) -> list[dict]:
    """Tokenise (question, answer) pairs for stage 2.

    Each feature holds ``input_ids`` = question + EOQ + answer + end-of-text and
    ``prompt_len`` = the number of tokens before the answer (question + EOQ).
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer needs an eos_token (the end-of-text token the answer ends with)")
    feats = []
    for q, a in record_qas:
        if not q.strip():
            raise ValueError("empty question: expected some text (or use an image-only prompt)")
        prompt = encode_pieces(tokenizer, [q, eoq])
        answer = tokenizer(" " + a.strip(), add_special_tokens=False)["input_ids"]
        feats.append({"input_ids": prompt + answer + [tokenizer.eos_token_id], "prompt_len": len(prompt)})
    return feats


def caption_features(tokenizer, captions: Sequence[str]) -> list[dict]:
    """Tokenise captions for stage 1: ``input_ids`` = caption + end-of-text, ``prompt_len`` = 0."""
    return [{"input_ids": tokenizer(" " + c, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id],
             "prompt_len": 0} for c in captions]


def collate(tokenizer, features: Sequence[dict]) -> dict[str, Tensor]:
    """Pad a batch to its longest member (dynamic padding) and mask what is not answer.

    Uses ``transformers.DataCollatorWithPadding`` (right padding with the pad
    token, ``attention_mask`` 0 on pads) as the seed does, then builds labels:
    the token id where the loss applies (answer or caption tokens and the final
    end-of-text), ``-100`` on the prompt and on padding.

    Returns ``input_ids``, ``attention_mask`` and ``labels``, each ``Tensor[B, T]``.
    """
    from transformers import DataCollatorWithPadding

    if not features:
        raise ValueError("empty batch")
    collator = DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")
    batch = collator([{"input_ids": f["input_ids"]} for f in features])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    pos = torch.arange(ids.shape[1])[None]  # (1, T)
    prompt = torch.tensor([f["prompt_len"] for f in features])[:, None]  # (B, 1)
    labels = torch.where((pos >= prompt) & (mask == 1), ids, torch.full_like(ids, -100))
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def answer_length(feature: dict) -> int:
    """Answer tokens in a feature, end-of-text included."""
    return len(feature["input_ids"]) - feature["prompt_len"]


def bucket_batches(features: Sequence[dict], buckets: Sequence[tuple[int, int, int]], *,
                   shuffle: bool = True, seed: int = 0) -> Iterator[list[int]]:
    """Index batches grouped by answer length, each bucket with its own batch size.

    ``buckets`` holds ``(shortest, longest, batch_size)`` in answer tokens, as in
    the seed (:data:`SEED_BUCKETS`): long answers get smaller batches so that one
    batch fits in memory. A feature that fits no bucket raises ``ValueError``.
    Batches of all buckets are interleaved in a random order.
    """
    groups: dict[int, list[int]] = {k: [] for k in range(len(buckets))}
    for i, f in enumerate(features):
        n = answer_length(f)
        k = next((k for k, (lo, hi, _) in enumerate(buckets) if lo <= n <= hi), None)
        if k is None:
            raise ValueError(f"answer of {n} tokens fits no bucket {list(buckets)}")
        groups[k].append(i)
    rng = random.Random(seed)
    batches = []
    for k, idx in groups.items():
        if shuffle:
            rng.shuffle(idx)
        bs = buckets[k][2]
        batches += [idx[s:s + bs] for s in range(0, len(idx), bs)]
    if shuffle:
        rng.shuffle(batches)
    yield from batches


# --------------------------------------------------------------------------- the full recipe's data

def coco_captions(annotation_file: str | Path, *, first_only: bool = True) -> dict[str, str]:
    """Image file name -> caption from COCO's ``captions_train2017.json``.

    ``first_only``: keep each image's first caption (the seed trains on one of five).
    """
    path = Path(annotation_file)
    if not path.is_file():
        raise FileNotFoundError(f"no COCO caption file at {path}; download annotations_trainval2017.zip "
                                "from images.cocodataset.org and unzip it")
    data = json.loads(path.read_text())
    if "images" not in data or "annotations" not in data:
        raise ValueError(f"{path} is not a COCO caption file (expected 'images' and 'annotations')")
    names = {im["id"]: im["file_name"] for im in data["images"]}
    out: dict[str, str] = {}
    for ann in data["annotations"]:
        name = names[ann["image_id"]]
        if first_only and name in out:
            continue
        out[name] = out.get(name, "") + ("\n" if name in out else "") + ann["caption"].strip()
    return out


def llava_instruct_records(json_file: str | Path) -> list[dict]:
    """Split LLaVA-Instruct-150K conversations into ``{"image", "qn", "ans"}`` records.

    Each human turn and the gpt turn after it make one record; the ``<image>``
    marker is removed (the image tokens are placed by the model, not the text).
    """
    path = Path(json_file)
    if not path.is_file():
        raise FileNotFoundError(f"no LLaVA-Instruct file at {path}; download llava_instruct_150k.json "
                                "from huggingface.co/datasets/liuhaotian/LLaVA-Instruct-150K")
    out = []
    for item in json.loads(path.read_text()):
        turns = item["conversations"]
        for h, g in zip(turns[0::2], turns[1::2]):
            if h["from"] != "human" or g["from"] != "gpt":
                raise ValueError(f"unexpected turn order in {item.get('id')}: {h['from']}, {g['from']}")
            qn = h["value"].replace("<image>", "").strip()
            out.append({"image": item["image"], "qn": qn, "ans": g["value"].strip()})
    return out


def attribute_accuracy(predicted: str, scene: Scene) -> float:
    """Fraction of the scene's facts a generated caption states correctly.

    Facts: the object count, and for each object its shape with the right colour,
    size and position words (``"a large red circle at the top left"`` must
    appear as a phrase). Objects are checked by their whole phrase, so a caption
    that swaps two colours scores nothing for those two objects.
    """
    objs = scene.describe()["objects"]
    pred = predicted.strip()
    n_pred = pred.split(" on ")[0].count(" and ") + pred.count(", ") + 1 if pred else 0
    facts = [n_pred == len(objs)] + [object_phrase(o) in pred for o in objs]
    return sum(facts) / len(facts)


__all__ = [
    "QUESTION_TYPES", "SHORT_TYPES", "HELD_OUT_COMBOS", "SEED_BUCKETS", "SCENE_KWARGS", "QARecord",
    "caption", "questions", "vlm_scenes", "qa_records", "text_corpus", "image_tensor", "encode_pieces",
    "qa_features", "caption_features", "collate", "answer_length", "bucket_batches", "coco_captions",
    "llava_instruct_records", "attribute_accuracy", "has_held_out", "hard_negative_caption", "object_phrase",
]
