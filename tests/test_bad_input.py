"""Bad input to the VLM's question API (it needs a trained tokenizer, so it is not a plain case).

The catalogue of bad inputs that used to live here is now tests/contracts/, where every
public callable of course_utils has at least one case (tests/test_contracts.py).
"""

from __future__ import annotations

import pytest


def test_the_vlm_refuses_a_number_as_a_question(tmp_path):
    pytest.importorskip("transformers")
    from course_utils.vlm import VisionLanguageModel, tiny_config
    from course_utils.vlm.app import ask
    from course_utils.vlm.dataset import text_corpus, vlm_scenes
    from course_utils.vlm.language_model import build_lm
    from course_utils.vlm.tokenizer import train_tokenizer
    from course_utils.vlm.vision import build_vision_tower

    cfg = tiny_config(d_lm=16, lm_layers=1, lm_heads=2, lm_intermediate=32, d_vision=16, vision_layers=1,
                      vision_heads=2)
    scenes = vlm_scenes("train", 10)
    tok = train_tokenizer(text_corpus(scenes, cfg.eoi, cfg.eoq), 300)
    vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok), vision=build_vision_tower(cfg))
    with pytest.raises(TypeError, match="question must be a str or None, got int"):
        ask(vlm, scenes[0].image, 5)
    with pytest.raises(ValueError, match=r"image must be .*Tensor\[3, H, W\]"):
        ask(vlm, scenes[0].image.float(), "what colour is the circle?")
    with pytest.raises(TypeError, match="each question must be a str or None, got 7"):
        vlm.generate(None, [7])
    with pytest.raises(TypeError, match="questions must be a list of str"):
        vlm.generate(None, "what shape?")
