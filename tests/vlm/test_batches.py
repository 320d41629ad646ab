"""course_utils.vlm.batches: features, collation, buckets."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm.dataset import caption  # noqa: E402
from course_utils.vlm.batches import answer_length, bucket_batches, collate, encode_pieces, qa_features  # noqa: E402


def test_collate_pads_dynamically_and_masks_prompt(tok):
    feats = [{"input_ids": [5, 6, 7, 8], "prompt_len": 2}, {"input_ids": [9, 10], "prompt_len": 1}]
    b = collate(tok, feats)
    pad = tok.pad_token_id
    assert b["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, pad, pad]]  # padded to the longest, not further
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert b["labels"].tolist() == [[-100, -100, 7, 8], [-100, 10, -100, -100]]

def test_qa_features_layout(tok, cfg):
    (f,) = qa_features(tok, [("what colour is the circle?", "red")], cfg.eoq)
    q = encode_pieces(tok, ["what colour is the circle?", cfg.eoq])
    assert f["input_ids"][:f["prompt_len"]] == q
    assert tok.decode(f["input_ids"][f["prompt_len"]:-1]).strip() == "red"
    assert f["input_ids"][-1] == tok.eos_token_id
    with pytest.raises(ValueError, match="empty question"):
        qa_features(tok, [("  ", "red")], cfg.eoq)

def test_question_tokens_match_the_pretraining_text(tok, cfg):
    # stage 0 reads "... caption image: what colour is the circle? end of question: red";
    # stage 2 must feed the question as the same tokens, not "w", "h", "at", ...
    line = f"a red circle in the centre on stripes {cfg.eoi} what colour is the circle? {cfg.eoq} red"
    in_corpus = tok(line, add_special_tokens=False)["input_ids"]
    pieces = encode_pieces(tok, [cfg.eoi, "what colour is the circle?", cfg.eoq])
    assert any(in_corpus[k:k + len(pieces)] == pieces for k in range(len(in_corpus)))

def test_bucket_batches_respect_bucket_sizes():
    feats = [{"input_ids": [0] * (2 + n), "prompt_len": 2} for n in [1, 1, 1, 2, 5, 5, 5, 5, 5, 9]]
    buckets = ((1, 2, 2), (3, 6, 3), (7, 12, 1))
    batches = list(bucket_batches(feats, buckets, seed=1))
    assert sorted(i for b in batches for i in b) == list(range(10))
    for b in batches:
        lengths = {answer_length(feats[i]) for i in b}
        (lo, hi, bs), = [k for k in buckets if min(lengths) >= k[0] and max(lengths) <= k[1]]
        assert len(b) <= bs
    assert sorted(len(b) for b in batches) == [1, 2, 2, 2, 3]  # 4 short in 2+2, 5 mid in 3+2, 1 long
    with pytest.raises(ValueError, match="fits no bucket"):
        list(bucket_batches(feats, ((1, 5, 2),)))
