"""course_utils.vlm.evaluate: exact match, caption attributes, reading captions."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import ShapeObject  # noqa: E402
from course_utils.vlm.language_model import build_lm  # noqa: E402
from course_utils.vlm.dataset import QARecord, SHORT_TYPES, caption, qa_records  # noqa: E402
from course_utils.vlm.evaluate import attribute_accuracy  # noqa: E402


def test_attribute_accuracy_hand_cases(scene_of):
    sc = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("square", "blue", (38, 38, 46, 46), False)])
    assert attribute_accuracy(caption(sc), sc) == 1.0
    swapped = "a large blue circle at the top left and a small red square at the bottom right on checks"
    assert attribute_accuracy(swapped, sc) == pytest.approx(1 / 3)  # count right, both objects wrong
    assert attribute_accuracy("a large red circle at the top left on checks", sc) == pytest.approx(1 / 3)

def test_exact_match_by_objects_hand_case(scene_of):
    from course_utils.vlm.evaluate import exact_match_by_objects

    one = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False)])
    two = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                  ShapeObject("square", "blue", (24, 24, 44, 44), False)])
    recs = [QARecord(0, "colour", "what colour is the circle?", "red"),
            QARecord(1, "colour", "what colour is the circle?", "red"),
            QARecord(1, "colour", "what colour is the square?", "blue"),
            QARecord(1, "count", "how many shapes are there?", "two")]
    out = exact_match_by_objects(["red", "blue", "blue.", "Two"], recs, [one, two])
    assert sorted(out) == [1, 2]
    assert out[1]["accuracy"] == 1.0 and out[1]["n"] == 1
    assert out[2]["n"] == 3 and out[2]["accuracy"] == pytest.approx(2 / 3)  # "blue" for the circle is wrong
    assert out[2]["by_type"] == {"colour": 0.5, "count": 1.0}
    with pytest.raises(ValueError, match="predictions"):
        exact_match_by_objects(["red"], recs, [one, two])
    with pytest.raises(ValueError, match="scene 1 of only 1"):
        exact_match_by_objects(["red"] * 4, recs, [one])

def test_answer_from_captions_batches_agree(tok, scenes, cfg):
    from course_utils.vlm.evaluate import answer_from_captions

    torch.manual_seed(0)
    lm = build_lm(cfg, tok)
    recs = qa_records(scenes[:3], SHORT_TYPES)
    one_by_one = answer_from_captions(lm, tok, scenes, recs, cfg.eoi, cfg.eoq, batch_size=1)
    batched = answer_from_captions(lm, tok, scenes, recs, cfg.eoi, cfg.eoq, batch_size=len(recs))
    assert len(batched) == len(recs) and batched == one_by_one  # left padding changes nothing
    with pytest.raises(ValueError, match="of only 2 scenes"):
        answer_from_captions(lm, tok, scenes[:2], recs, cfg.eoi, cfg.eoq)
