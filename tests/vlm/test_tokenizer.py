"""course_utils.vlm.tokenizer."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")




def test_tokenizer_round_trip_and_special_tokens(tok):
    text = "what colour is the circle? end of question: red"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.eos_token == tok.pad_token == "<|endoftext|>"
    assert len(tok) <= 300
