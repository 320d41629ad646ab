"""course_utils.vlm.full_data: the COCO and LLaVA parsers."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm.dataset import caption  # noqa: E402
from course_utils.vlm.full_data import coco_captions, llava_instruct_records  # noqa: E402


def test_coco_and_llava_parsers(tmp_path):
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
            "annotations": [{"image_id": 1, "caption": "A cat. "}, {"image_id": 1, "caption": "A pet."},
                            {"image_id": 2, "caption": "A dog."}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    assert coco_captions(tmp_path / "c.json") == {"a.jpg": "A cat.", "b.jpg": "A dog."}
    llava = [{"id": "x", "image": "a.jpg", "conversations": [
        {"from": "human", "value": "<image>\nWhat is this?"}, {"from": "gpt", "value": "A cat."},
        {"from": "human", "value": "What colour?"}, {"from": "gpt", "value": "Grey."}]}]
    (tmp_path / "l.json").write_text(json.dumps(llava))
    assert llava_instruct_records(tmp_path / "l.json") == [
        {"image": "a.jpg", "qn": "What is this?", "ans": "A cat."},
        {"image": "a.jpg", "qn": "What colour?", "ans": "Grey."}]
    with pytest.raises(FileNotFoundError, match="annotations_trainval2017"):
        coco_captions(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a COCO caption file"):
        coco_captions(tmp_path / "bad.json")
