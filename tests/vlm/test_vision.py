"""course_utils.vlm.vision: preprocessing, conv stem, patch features, CLIP's loss, the full recipe path."""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm import full_recipe_config, tiny_config  # noqa: E402
from course_utils.vlm.language_model import add_lora, build_lm  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.vision import build_vision_tower, encode_images, patch_features, preprocess  # noqa: E402
from course_utils.vlm.dataset import caption, hard_negative_caption, image_tensor  # noqa: E402
from course_utils.vlm.batches import collate, qa_features  # noqa: E402


def test_preprocess_checks_size(cfg):
    x = torch.zeros(2, 3, 48, 48, dtype=torch.uint8)
    assert preprocess(x, cfg).shape == (2, 3, 48, 48)
    with pytest.raises(ValueError, match="expected 48x48"):
        preprocess(torch.zeros(2, 3, 64, 64, dtype=torch.uint8), cfg)
    assert preprocess(torch.zeros(3, 64, 64, dtype=torch.uint8), cfg, resize=True).shape == (1, 3, 48, 48)
    with pytest.raises(ValueError, match="RGB"):
        preprocess(torch.zeros(2, 1, 48, 48), cfg)

def test_full_recipe_path_with_tiny_random_models(tok):
    full = full_recipe_config()
    assert (full.vision_name, full.lm_name) == ("openai/clip-vit-base-patch32", "microsoft/phi-2")
    assert (full.d_vision, full.d_lm, full.n_patches, full.load_in_4bit) == (768, 2560, 49, True)
    cfg = full.tiny_random()
    torch.manual_seed(0)
    tower = build_vision_tower(cfg)
    images = torch.randint(0, 256, (2, 3, 300, 260), dtype=torch.uint8)  # any photo size: resized to 224
    feats = encode_images(tower, images, cfg, resize=True)
    assert feats.shape == (2, 49, 768)  # the seed's [49, 768]: 50 tokens minus CLS
    full_hidden = tower(pixel_values=preprocess(images, cfg, resize=True)).last_hidden_state
    assert full_hidden.shape == (2, 50, 768)
    torch.testing.assert_close(feats, full_hidden[:, 1:])
    vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok), vision=tower)
    assert vlm.image_tokens(feats).shape == (2, 49, cfg.d_lm)
    batch = collate(tok, qa_features(tok, [("what colour is the circle?", "red"), ("describe the image.",
                                                 "a large red circle at the top left on checks")], cfg.eoq))
    inputs = vlm.assemble(feats, batch["input_ids"], batch["attention_mask"], batch["labels"])
    logits = vlm.lm(inputs_embeds=inputs["inputs_embeds"], attention_mask=inputs["attention_mask"]).logits
    assert logits.shape == (2, inputs["inputs_embeds"].shape[1], len(tok))
    assert torch.isfinite(vlm(feats, batch))
    vlm.lm = add_lora(vlm.lm, cfg)
    assert len(vlm.generate(feats, ["what colour is the circle?", None], max_new_tokens=3)) == 2
    with pytest.raises(ValueError, match="expected 224x224"):
        encode_images(tower, images, cfg)

def test_conv_stem_grid_and_errors(cfg):
    from course_utils.vlm.vision import ConvStem

    x = torch.randn(2, 3, 48, 48)
    stem = ConvStem(96, 16, (16, 32, 64))
    strides = [m.stride[0] for m in stem.net if isinstance(m, torch.nn.Conv2d)]
    assert strides == [1, 2, 2, 2, 2]  # 2**4 = 16 pixels per patch
    assert stem(x).shape == (2, 96, 3, 3) and stem.weight is stem.net[-1].weight
    assert ConvStem(8, 32, (4, 8))(torch.randn(1, 3, 224, 224)).shape == (1, 8, 7, 7)  # ViT-B/32's 7 x 7 grid
    # channels-last is only a layout: the same layers on contiguous tensors give the same numbers
    assert stem.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = copy.deepcopy(stem.net).to(memory_format=torch.contiguous_format)
    assert plain[0].weight.is_contiguous()
    torch.testing.assert_close(stem(x), plain(x.contiguous()), rtol=1e-4, atol=1e-5)
    tower = build_vision_tower(cfg)  # the course tower: a CLIPVisionModel with the stem as its patch embedding
    assert sum(isinstance(m, ConvStem) for m in tower.modules()) == 1
    assert tower(pixel_values=preprocess(torch.zeros(2, 3, 48, 48, dtype=torch.uint8), cfg)).last_hidden_state.shape \
        == (2, 1 + cfg.n_patches, cfg.d_vision)
    with pytest.raises(ValueError, match="power-of-two patch size"):
        ConvStem(8, 12)

def test_patch_features_drop_cls_and_pick_layer():
    cfg = tiny_config(d_vision=16, vision_layers=2, vision_heads=2)
    tower = build_vision_tower(cfg)
    x = preprocess(torch.zeros(1, 3, 48, 48, dtype=torch.uint8), cfg)
    hs = tower(pixel_values=x, output_hidden_states=True).hidden_states
    torch.testing.assert_close(patch_features(tower, x, -2), hs[-2][:, 1:])
    assert patch_features(tower, x).shape == (1, 9, 16)  # 3 x 3 patches of 16 px

def test_clip_loss_equals_transformers_and_negatives_raise_it(tok, scenes, cfg):
    import random

    from course_utils.vlm.vision import build_clip, clip_loss

    torch.manual_seed(0)
    clip = build_clip(cfg, tok).eval()
    caps = [caption(s) for s in scenes[:6]]
    enc = tok([c + tok.eos_token for c in caps], padding=True, return_tensors="pt", add_special_tokens=False)
    x = preprocess(image_tensor(scenes[:6]), cfg)
    ours = clip_loss(clip, enc["input_ids"], enc["attention_mask"], x)
    theirs = clip(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=x,
                  return_loss=True).loss
    torch.testing.assert_close(ours, theirs)
    rng = random.Random(0)
    negs = [hard_negative_caption(s, rng) for s in scenes[:6]]
    assert all(n != c for n, c in zip(negs, caps))  # one attribute of one object changed
    neg = tok([c + tok.eos_token for c in negs], padding=True, return_tensors="pt", add_special_tokens=False)
    assert clip_loss(clip, enc["input_ids"], enc["attention_mask"], x, neg["input_ids"], neg["attention_mask"]) > ours
    with pytest.raises(ValueError, match="pixel_values or"):
        clip_loss(clip, enc["input_ids"], enc["attention_mask"], None)

def test_rows_padded_to_longest_by_hand(tok, scenes):
    from course_utils.vlm.vision import rows_padded_to_longest

    ids = torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0], [1, 2, 3, 0]])
    mask = (ids != 0).long()
    got_ids, got_mask = rows_padded_to_longest(ids, mask, torch.tensor([1, 0]))
    assert got_ids.tolist() == [[7, 0], [5, 6]] and got_mask.tolist() == [[1, 0], [1, 1]]
    left = torch.tensor([[0, 0, 5, 6], [0, 0, 0, 7], [0, 1, 2, 3]])
    got_ids, got_mask = rows_padded_to_longest(left, (left != 0).long(), torch.tensor([0, 1]), "left")
    assert got_ids.tolist() == [[5, 6], [0, 7]] and got_mask.tolist() == [[1, 1], [0, 1]]
    # what train_clip uses instead of tokenising a batch's captions at every step
    caps = [caption(s) + tok.eos_token for s in scenes[:8]]
    every = tok(caps, padding=True, return_tensors="pt", add_special_tokens=False)
    lengths = every["attention_mask"].sum(1)
    rows = lengths.argsort()[:2]
    assert lengths[rows].max() < lengths.max()  # so the cut matters
    alone = tok([caps[i] for i in rows], padding=True, return_tensors="pt", add_special_tokens=False)
    cut_ids, cut_mask = rows_padded_to_longest(every["input_ids"], every["attention_mask"], rows, tok.padding_side)
    assert torch.equal(cut_ids, alone["input_ids"]) and torch.equal(cut_mask, alone["attention_mask"])
    with pytest.raises(ValueError, match="padding_side"):
        rows_padded_to_longest(ids, mask, rows, "middle")
    with pytest.raises(ValueError, match=r"Tensor\[N, T\]"):
        rows_padded_to_longest(ids[0], mask[0], rows)
