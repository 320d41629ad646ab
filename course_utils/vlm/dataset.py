"""The multimodal chapter's dataset: shapes-world scenes in words, as captions and question/answer records.

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
has never seen. Tokenising and batching them is :mod:`.batches`; the full recipe's real data
(COCO captions, LLaVA-Instruct-150K) is :mod:`.full_data`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from .. import validate
from ..data.shapes import COLOURS, SHAPES, SPLIT_OFFSETS, Scene, make_scene

QUESTION_TYPES = ("count", "colour", "shape", "size", "position", "describe")
"""The question types; all but ``describe`` have short answers scored by exact match."""

SHORT_TYPES = QUESTION_TYPES[:-1]

HELD_OUT_COMBOS = (("triangle", "green"), ("square", "purple"), ("circle", "yellow"))
"""(shape, colour) pairs absent from every training scene (:func:`vlm_scenes`)."""

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")

SCENE_KWARGS = dict(max_objects=2, min_size=0.3, max_size=0.6, cut_fraction=0.0, min_visible=1.0)
"""Scene settings for the multimodal chapter: 1-2 objects, large enough to see at 48 px, none covered or cut."""


@dataclass(frozen=True)
class QARecord:
    """One question about one scene (``index`` into the split's scene list).

    Raises:
        TypeError: a field of another type (``index=1.0``, ``held_out="no"``).
        ValueError: a negative ``index``, an unknown ``qtype``, or an empty question.
    """

    index: int
    qtype: str
    question: str
    answer: str
    held_out: bool = False  # asks about an object whose (shape, colour) was never trained on

    def __post_init__(self) -> None:
        validate.fields(self)
        validate.number(self.index, "QARecord.index", low=0, integer=True)
        validate.choice(self.qtype, "QARecord.qtype", QUESTION_TYPES)
        if not self.question.strip():
            raise ValueError("QARecord.question must be a non-empty question, got an empty string")


def _check_scene(scene, name: str = "scene") -> Scene:
    return validate.instance(scene, name, Scene, "a data.shapes.Scene (see vlm_scenes)")


def _check_scenes(scenes, name: str = "scenes", *, non_empty: bool = False) -> Sequence[Scene]:
    return validate.sequence_of(scenes, name, Scene, non_empty=non_empty)


def _check_records(records, name: str = "records", *, non_empty: bool = False) -> Sequence[QARecord]:
    return validate.sequence_of(records, name, QARecord, non_empty=non_empty)


def object_phrase(o: dict) -> str:
    """One described object (a :meth:`Scene.describe` entry): ``"a large red circle at the top left"``.

    Raises:
        TypeError: ``o`` is not a dict.
        ValueError: ``o`` lacks one of ``size``, ``colour``, ``shape`` and ``position``.
    """
    validate.instance(o, "o", dict, "a dict from Scene.describe()['objects']")
    missing = [k for k in ("size", "colour", "shape", "position") if k not in o]
    if missing:
        raise ValueError(f"o must describe an object (Scene.describe()['objects']): it lacks {missing}")
    return f"a {o['size']} {o['colour']} {o['shape']} at the {o['position']}".replace("at the centre", "in the centre")


def caption(scene: Scene) -> str:
    """One sentence naming every object (size, colour, shape, position) and the background.

    Raises:
        TypeError: ``scene`` is not a :class:`~course_utils.data.shapes.Scene`.
        ValueError: the scene has no objects.
    """
    _check_scene(scene)
    if not scene.objects:
        raise ValueError("scene has no objects to describe")
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

    Raises:
        TypeError: ``scene`` is not a Scene, or ``rng`` not a ``random.Random``.
        ValueError: the scene has no objects.
    """
    _check_scene(scene)
    validate.instance(rng, "rng", random.Random, "a random.Random (random.Random(seed))")
    if not scene.objects:
        raise ValueError("scene has no objects to change")
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
    """Every unambiguous question about ``scene`` (one per type and object).

    Raises:
        TypeError: ``scene`` is not a Scene, or ``index`` not an int.
        ValueError: ``index`` is negative, or the scene has no objects.
    """
    _check_scene(scene)
    validate.number(index, "index", low=0, integer=True)
    if not scene.objects:
        raise ValueError("scene has no objects to ask about")
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
    """Does ``scene`` hold an object whose (shape, colour) pair is held out of training (:data:`HELD_OUT_COMBOS`)?

    Raises:
        TypeError: ``scene`` is not a Scene.
    """
    _check_scene(scene)
    return any((o.shape, o.colour) in HELD_OUT_COMBOS for o in scene.objects)


def vlm_scenes(split: str, n: int, size: int = 48) -> list[Scene]:
    """``n`` scenes of a split; training scenes skip every held-out (shape, colour) pair.

    Deterministic: scene seeds are taken in order from the split's seed range.

    Raises:
        ValueError: an unknown ``split``, a negative ``n``, or a ``size`` below 16.
        TypeError: ``n`` or ``size`` is not an int.
    """
    if split not in SPLIT_OFFSETS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLIT_OFFSETS)}")
    validate.number(n, "n", low=0, integer=True)
    validate.number(size, "size", low=16, integer=True)
    scenes, seed = [], SPLIT_OFFSETS[split]
    while len(scenes) < n:
        sc = make_scene(seed, size, **SCENE_KWARGS)
        seed += 1
        if split == "train" and has_held_out(sc):
            continue
        scenes.append(sc)
    return scenes


def qa_records(scenes: Sequence[Scene], types: Sequence[str] = QUESTION_TYPES) -> list[QARecord]:
    """All questions of the given types about ``scenes``, in scene order.

    Raises:
        TypeError: ``scenes`` is not a list of Scenes, or ``types`` not a list of str (a lone type: wrap it).
        ValueError: an unknown question type.
    """
    _check_scenes(scenes)
    validate.sequence_of(types, "types", str)
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

    Raises:
        TypeError: ``scenes`` is not a list of Scenes, or ``eoi``/``eoq`` not a str.
        ValueError: ``eoi`` or ``eoq`` is empty.
    """
    _check_scenes(scenes)
    for name, marker in (("eoi", eoi), ("eoq", eoq)):
        validate.instance(marker, name, str)
        if not marker.strip():
            raise ValueError(f"{name} must be a non-empty marker string (e.g. config.{name.upper()}), got {marker!r}")
    caps = [caption(sc) for sc in scenes]
    lines = [f"{eoi} {c}" for c in caps]
    lines += [f"{caps[r.index]} {eoi} {r.question} {eoq} {r.answer}" for r in qa_records(scenes, SHORT_TYPES)]
    return lines


def image_tensor(scenes: Sequence[Scene]) -> Tensor:
    """Stack the scenes' images -> ``Tensor[N, 3, H, W]`` uint8.

    Raises:
        TypeError: ``scenes`` is not a list of Scenes.
        ValueError: no scenes, or scenes of several sizes.
    """
    _check_scenes(scenes, non_empty=True)
    sizes = sorted({tuple(sc.image.shape) for sc in scenes})
    if len(sizes) > 1:
        raise ValueError(f"scenes must share one image size to stack, got {sizes}")
    return torch.stack([sc.image for sc in scenes])


__all__ = [
    "HELD_OUT_COMBOS", "NUMBER_WORDS", "QUESTION_TYPES", "QARecord", "SCENE_KWARGS", "SHORT_TYPES", "caption",
    "hard_negative_caption", "has_held_out", "image_tensor", "object_phrase", "qa_records", "questions",
    "text_corpus", "vlm_scenes",
]
