"""course_utils.vlm.dataset: captions, questions, held-out pairs."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import ShapeObject  # noqa: E402
from course_utils.vlm.dataset import caption, has_held_out, qa_records, questions, vlm_scenes  # noqa: E402


def test_caption_and_questions_by_hand(scene_of):
    # a 48 px scene: a large red circle top left, a small blue square bottom right
    sc = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("square", "blue", (38, 38, 46, 46), False)])
    assert caption(sc) == "a large red circle at the top left and a small blue square at the bottom right on checks"
    qa = {(r.qtype, r.question): r.answer for r in questions(sc)}
    assert qa[("count", "how many shapes are there?")] == "two"
    assert qa[("colour", "what colour is the circle?")] == "red"
    assert qa[("shape", "what shape is the blue object?")] == "square"
    assert qa[("size", "how big is the blue square?")] == "small"
    assert qa[("position", "where is the red circle?")] == "top left"
    assert qa[("describe", "describe the image.")] == caption(sc)

def test_ambiguous_questions_are_not_asked(scene_of):
    sc = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("circle", "red", (28, 28, 46, 46), False)])
    types = [r.qtype for r in questions(sc)]
    assert types == ["count", "describe"]  # two red circles: no colour/shape/size/position question is unambiguous

def test_training_scenes_avoid_held_out_combos():
    train = vlm_scenes("train", 200)
    assert not any(has_held_out(sc) for sc in train)
    test = vlm_scenes("test", 200)
    assert any(has_held_out(sc) for sc in test)  # evaluation does see them
    assert any(r.held_out for r in qa_records(test))

def test_qa_records_rejects_unknown_type(scenes):
    with pytest.raises(ValueError, match="unknown question types"):
        qa_records(scenes, ["colour", "weather"])
