"""course_utils.vlm.app: ask()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import make_scene  # noqa: E402
from course_utils.vlm.language_model import build_lm  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.vision import build_vision_tower  # noqa: E402


def test_ask_combines_image_and_question(tok, cfg):
    from course_utils.vlm.app import ask, load_image

    torch.manual_seed(0)
    tower = build_vision_tower(cfg)
    vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok), vision=tower)
    img = make_scene(3, 64).image  # 64 px: resized to the tower's 48
    out = ask(vlm, img, "what colour is the circle?", max_new_tokens=3)
    assert out["question"] == "what colour is the circle?" and isinstance(out["answer"], str)
    with pytest.raises(ValueError, match="image, a question, or both"):
        ask(vlm, None, "  ")
    with pytest.raises(ValueError, match="no transcriber"):
        ask(vlm, img, audio=np.zeros(16000, np.int16))
    with pytest.raises(ValueError, match="as an image"):
        load_image(b"not an image")
