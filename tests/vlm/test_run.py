"""course_utils.vlm.run."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("peft")




def test_run_vlm_rejects_a_missing_device():
    from course_utils.vlm.run import run_vlm

    with pytest.raises(ValueError, match="CUDA is not available"):
        run_vlm(device="cuda", progress=False)
