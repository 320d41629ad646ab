"""course_utils.vlm.grounding: patch-phrase targets and loss."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import ShapeObject  # noqa: E402
from course_utils.vlm.vision import preprocess  # noqa: E402
from course_utils.vlm.dataset import caption, image_tensor  # noqa: E402


def test_patch_phrase_targets_by_hand(scene_of):
    from course_utils.vlm.grounding import patch_phrase_targets

    apart = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),  # large; patches 0, 1, 3, 4 (16 px cells)
                    ShapeObject("square", "blue", (38, 38, 46, 46), False)])  # small; patch 8
    touching = scene_of([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                       ShapeObject("square", "blue", (18, 18, 30, 30), False)])  # medium; patch 4, shared
    phrases, targets = patch_phrase_targets([apart, touching], grid=3)
    assert phrases == ["a large red circle at the top left", "a medium blue square in the centre",
                       "a small blue square at the bottom right"]
    assert targets.tolist() == [[0, 0, -1, 0, 0, -1, -1, -1, 2],
                                [0, 0, -1, 0, -1, -1, -1, -1, -1]]
    with pytest.raises(ValueError, match="grid"):
        patch_phrase_targets([apart], grid=0)

def test_grounding_loss_is_each_patch_picking_its_phrase(tok, scenes, cfg):
    import torch.nn.functional as F

    from course_utils.vlm.grounding import grounding_loss, patch_phrase_targets
    from course_utils.vlm.train import train_clip
    from course_utils.vlm.vision import build_clip

    torch.manual_seed(0)
    clip = build_clip(cfg, tok).eval()
    phrases, targets = patch_phrase_targets(scenes[:4], grid=3)
    enc = tok([p + tok.eos_token for p in phrases], padding=True, return_tensors="pt", add_special_tokens=False)
    hidden = clip.vision_model(pixel_values=preprocess(image_tensor(scenes[:4]), cfg)).last_hidden_state
    # by hand for one patch: the tower's head on that token, cosine to every phrase, softmax at CLIP's scale
    i, p = (targets >= 0).nonzero()[0].tolist()
    one = torch.full_like(targets, -1)
    one[i, p] = targets[i, p]
    z = F.normalize(clip.visual_projection(clip.vision_model.post_layernorm(hidden[i, 1 + p])), dim=-1)
    text = clip.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    text = F.normalize(text if isinstance(text, torch.Tensor) else text.pooler_output, dim=-1)
    expected = -torch.log_softmax(clip.logit_scale.exp() * text @ z, dim=0)[targets[i, p]]
    torch.testing.assert_close(grounding_loss(clip, hidden, one, enc["input_ids"], enc["attention_mask"]), expected)
    assert grounding_loss(clip, hidden, torch.full_like(targets, -1), enc["input_ids"], enc["attention_mask"]) == 0
    with pytest.raises(ValueError, match=r"targets \[B, P\]"):
        grounding_loss(clip, hidden, targets[:, :4], enc["input_ids"], enc["attention_mask"])
    with pytest.raises(ValueError, match="must lie in"):
        grounding_loss(clip, hidden, targets + len(phrases), enc["input_ids"], enc["attention_mask"])
    with pytest.raises(ValueError, match="grounding targets must be"):
        train_clip(clip, tok, image_tensor(scenes[:4]), [caption(s) for s in scenes[:4]], cfg, epochs=1,
                   batch_size=2, progress=False, grounding=(phrases, targets[:, :4]))
    # training with the term lowers it on the training images far below CLIP's loss alone, from the same start
    imgs, caps = image_tensor(scenes[:32]), [caption(s) for s in scenes[:32]]
    phrases, targets = patch_phrase_targets(scenes[:32], grid=3)
    enc = tok([p + tok.eos_token for p in phrases], padding=True, return_tensors="pt", add_special_tokens=False)
    after = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        clip = build_clip(cfg, tok)
        train_clip(clip, tok, imgs, caps, cfg, epochs=8, batch_size=8, lr=3e-3, progress=False,
                   grounding=(phrases, targets), grounding_weight=weight)
        with torch.no_grad():
            h = clip.vision_model(pixel_values=preprocess(imgs, cfg)).last_hidden_state
            after[weight] = float(grounding_loss(clip, h, targets, enc["input_ids"], enc["attention_mask"]))
    assert after[1.0] < after[0.0] - 1.0  # measured: 0.91 against 3.60
