"""Shared by the course_utils.vlm tests: a very small config, 40 training scenes, their tokenizer, a model."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import Scene  # noqa: E402
from course_utils.vlm import tiny_config  # noqa: E402
from course_utils.vlm.dataset import text_corpus, vlm_scenes  # noqa: E402
from course_utils.vlm.language_model import build_lm  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.tokenizer import train_tokenizer  # noqa: E402

CFG = tiny_config(d_lm=32, lm_layers=1, lm_heads=2, lm_intermediate=64, d_vision=16, vision_layers=1,
                  vision_heads=2, lora_r=4)


@pytest.fixture(scope="module")
def scenes():
    return vlm_scenes("train", 40)


@pytest.fixture(scope="module")
def tok(scenes):
    return train_tokenizer(text_corpus(scenes, CFG.eoi, CFG.eoq), 300)


@pytest.fixture()
def vlm(tok):
    torch.manual_seed(0)
    return VisionLanguageModel(CFG, tok, build_lm(CFG, tok))


def _scene(objects, background="checks", size=48):
    """A scene with these objects on a blank image (what the text and geometry tests need)."""
    return Scene(image=torch.zeros(3, size, size, dtype=torch.uint8), objects=objects, background=background,
                 seed=0, size=size)


@pytest.fixture()
def cfg():
    """The tests' tiny config (:data:`CFG`)."""
    return CFG


@pytest.fixture()
def scene_of():
    """Build a :class:`Scene` from ``ShapeObject``s: ``scene_of(objects, background="checks", size=48)``."""
    return _scene
