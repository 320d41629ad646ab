"""course_utils.vlm.recipe."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm.dataset import qa_records  # noqa: E402


def test_stage2_records_thin_describe_and_count_only(scenes):
    from course_utils.vlm.recipe import stage2_records

    records = qa_records(scenes)
    kept = stage2_records(records, describe_every=4, count_every=2)
    by = {t: sorted(r.index for r in kept if r.qtype == t) for t in ("describe", "count")}
    assert by["describe"] == list(range(0, len(scenes), 4))  # one describe and one count record per scene
    assert by["count"] == list(range(0, len(scenes), 2))
    others = [r for r in records if r.qtype not in ("describe", "count")]
    assert [r for r in kept if r.qtype not in ("describe", "count")] == others
    assert len(stage2_records(records, 1)) == len(records)
    with pytest.raises(ValueError, match="count_every must be a positive int, got 0"):
        stage2_records(records, 4, count_every=0)
