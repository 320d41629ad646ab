"""course_utils.vlm: data, tokenizer, projector, input assembly, LoRA, generation, audio, full recipe."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.data.shapes import Scene, ShapeObject, make_scene  # noqa: E402
from course_utils.vlm import Projector, full_recipe_config, tiny_config  # noqa: E402
from course_utils.vlm import data as D  # noqa: E402
from course_utils.vlm.language_model import add_lora, build_lm, phi2_config, trainable_parameters  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.tokenizer import train_tokenizer  # noqa: E402
from course_utils.vlm.vision import build_vision_tower, encode_images, patch_features, preprocess  # noqa: E402

CFG = tiny_config(d_lm=32, lm_layers=1, lm_heads=2, lm_intermediate=64, d_vision=16, vision_layers=1,
                  vision_heads=2, lora_r=4)


@pytest.fixture(scope="module")
def scenes():
    return D.vlm_scenes("train", 40)


@pytest.fixture(scope="module")
def tok(scenes):
    return train_tokenizer(D.text_corpus(scenes, CFG.eoi, CFG.eoq), 300)


@pytest.fixture()
def vlm(tok):
    torch.manual_seed(0)
    return VisionLanguageModel(CFG, tok, build_lm(CFG, tok))


def _scene(objects, background="checks", size=48):
    return Scene(image=torch.zeros(3, size, size, dtype=torch.uint8), objects=objects, background=background,
                 seed=0, size=size)


# ------------------------------------------------------------------ data
def test_caption_and_questions_by_hand():
    # a 48 px scene: a large red circle top left, a small blue square bottom right
    sc = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("square", "blue", (38, 38, 46, 46), False)])
    assert D.caption(sc) == "a large red circle at the top left and a small blue square at the bottom right on checks"
    qa = {(r.qtype, r.question): r.answer for r in D.questions(sc)}
    assert qa[("count", "how many shapes are there?")] == "two"
    assert qa[("colour", "what colour is the circle?")] == "red"
    assert qa[("shape", "what shape is the blue object?")] == "square"
    assert qa[("size", "how big is the blue square?")] == "small"
    assert qa[("position", "where is the red circle?")] == "top left"
    assert qa[("describe", "describe the image.")] == D.caption(sc)


def test_ambiguous_questions_are_not_asked():
    sc = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("circle", "red", (28, 28, 46, 46), False)])
    types = [r.qtype for r in D.questions(sc)]
    assert types == ["count", "describe"]  # two red circles: no colour/shape/size/position question is unambiguous


def test_training_scenes_avoid_held_out_combos():
    train = D.vlm_scenes("train", 200)
    assert not any(D.has_held_out(sc) for sc in train)
    test = D.vlm_scenes("test", 200)
    assert any(D.has_held_out(sc) for sc in test)  # evaluation does see them
    assert any(r.held_out for r in D.qa_records(test))


def test_qa_records_rejects_unknown_type(scenes):
    with pytest.raises(ValueError, match="unknown question types"):
        D.qa_records(scenes, ["colour", "weather"])


def test_attribute_accuracy_hand_cases():
    sc = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                 ShapeObject("square", "blue", (38, 38, 46, 46), False)])
    assert D.attribute_accuracy(D.caption(sc), sc) == 1.0
    swapped = "a large blue circle at the top left and a small red square at the bottom right on checks"
    assert D.attribute_accuracy(swapped, sc) == pytest.approx(1 / 3)  # count right, both objects wrong
    assert D.attribute_accuracy("a large red circle at the top left on checks", sc) == pytest.approx(1 / 3)


# ------------------------------------------------------------------ tokenizer, collation, buckets
def test_tokenizer_round_trip_and_special_tokens(tok):
    text = "what colour is the circle? end of question: red"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.eos_token == tok.pad_token == "<|endoftext|>"
    assert len(tok) <= 300


def test_collate_pads_dynamically_and_masks_prompt(tok):
    feats = [{"input_ids": [5, 6, 7, 8], "prompt_len": 2}, {"input_ids": [9, 10], "prompt_len": 1}]
    b = D.collate(tok, feats)
    pad = tok.pad_token_id
    assert b["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, pad, pad]]  # padded to the longest, not further
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert b["labels"].tolist() == [[-100, -100, 7, 8], [-100, 10, -100, -100]]


def test_qa_features_layout(tok):
    (f,) = D.qa_features(tok, [("what colour is the circle?", "red")], CFG.eoq)
    q = D.encode_pieces(tok, ["what colour is the circle?", CFG.eoq])
    assert f["input_ids"][:f["prompt_len"]] == q
    assert tok.decode(f["input_ids"][f["prompt_len"]:-1]).strip() == "red"
    assert f["input_ids"][-1] == tok.eos_token_id
    with pytest.raises(ValueError, match="empty question"):
        D.qa_features(tok, [("  ", "red")], CFG.eoq)


def test_question_tokens_match_the_pretraining_text(tok):
    # stage 0 reads "... caption image: what colour is the circle? end of question: red";
    # stage 2 must feed the question as the same tokens, not "w", "h", "at", ...
    line = f"a red circle in the centre on stripes {CFG.eoi} what colour is the circle? {CFG.eoq} red"
    in_corpus = tok(line, add_special_tokens=False)["input_ids"]
    pieces = D.encode_pieces(tok, [CFG.eoi, "what colour is the circle?", CFG.eoq])
    assert any(in_corpus[k:k + len(pieces)] == pieces for k in range(len(in_corpus)))


def test_bucket_batches_respect_bucket_sizes():
    feats = [{"input_ids": [0] * (2 + n), "prompt_len": 2} for n in [1, 1, 1, 2, 5, 5, 5, 5, 5, 9]]
    buckets = ((1, 2, 2), (3, 6, 3), (7, 12, 1))
    batches = list(D.bucket_batches(feats, buckets, seed=1))
    assert sorted(i for b in batches for i in b) == list(range(10))
    for b in batches:
        lengths = {D.answer_length(feats[i]) for i in b}
        (lo, hi, bs), = [k for k in buckets if min(lengths) >= k[0] and max(lengths) <= k[1]]
        assert len(b) <= bs
    assert sorted(len(b) for b in batches) == [1, 2, 2, 2, 3]  # 4 short in 2+2, 5 mid in 3+2, 1 long
    with pytest.raises(ValueError, match="fits no bucket"):
        list(D.bucket_batches(feats, ((1, 5, 2),)))


def test_stage2_records_thin_describe_and_count_only(scenes):
    from course_utils.vlm.recipe import stage2_records

    records = D.qa_records(scenes)
    kept = stage2_records(records, describe_every=4, count_every=2)
    by = {t: sorted(r.index for r in kept if r.qtype == t) for t in ("describe", "count")}
    assert by["describe"] == list(range(0, len(scenes), 4))  # one describe and one count record per scene
    assert by["count"] == list(range(0, len(scenes), 2))
    others = [r for r in records if r.qtype not in ("describe", "count")]
    assert [r for r in kept if r.qtype not in ("describe", "count")] == others
    assert len(stage2_records(records, 1)) == len(records)
    with pytest.raises(ValueError, match="at least 1"):
        stage2_records(records, 4, count_every=0)


# ------------------------------------------------------------------ projector and assembly
def test_projector_shapes_and_residual():
    proj = Projector(768, 2560)
    x = torch.randn(2, 49, 768)
    assert proj(x).shape == (2, 49, 2560)
    torch.nn.init.zeros_(proj.mlp[-1].weight)
    torch.nn.init.zeros_(proj.mlp[-1].bias)
    torch.testing.assert_close(proj(x), proj.linear(x))  # the skip: block output = linear output when the MLP is 0
    with pytest.raises(ValueError, match=r"Tensor\[B, N, 768\]"):
        proj(torch.randn(2, 49, 512))


def test_projector_and_eoi_ids_follow_the_lm_device(tok):
    lm = build_lm(CFG, tok).to("meta")  # any device other than the CPU default
    model = VisionLanguageModel(CFG, tok, lm)
    assert {p.device.type for p in model.projector.parameters()} == {"meta"}
    assert model.eoi_ids.device.type == "meta"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_run_vlm_rejects_a_missing_device():
    from course_utils.vlm.recipe import run_vlm

    with pytest.raises(ValueError, match="CUDA is not available"):
        run_vlm(device="cuda", progress=False)


def test_assemble_order_and_label_mask(vlm, tok):
    feats = D.qa_features(tok, [("what colour is the circle?", "red"), ("how many shapes are there?", "two")],
                          CFG.eoq)
    batch = D.collate(tok, feats)
    img = torch.randn(2, CFG.n_patches, CFG.d_vision)
    out = vlm.assemble(img, batch["input_ids"], batch["attention_mask"], batch["labels"])
    N, E, T = CFG.n_patches, len(vlm.eoi_ids), batch["input_ids"].shape[1]
    assert out["inputs_embeds"].shape == (2, N + E + T, CFG.d_lm)
    emb = vlm.embed_tokens
    torch.testing.assert_close(out["inputs_embeds"][:, :N], vlm.projector(img))
    torch.testing.assert_close(out["inputs_embeds"][0, N:N + E], emb(vlm.eoi_ids))
    torch.testing.assert_close(out["inputs_embeds"][:, N + E:], emb(batch["input_ids"]))
    assert (out["labels"][:, :N + E] == -100).all()
    assert torch.equal(out["labels"][:, N + E:], batch["labels"])
    assert torch.equal(out["attention_mask"][:, N + E:], batch["attention_mask"])
    # the loss is the mean cross-entropy over exactly the answer positions (shifted by one)
    logits = vlm.lm(inputs_embeds=out["inputs_embeds"], attention_mask=out["attention_mask"]).logits
    lab = out["labels"][:, 1:]
    keep = lab != -100
    manual = torch.nn.functional.cross_entropy(logits[:, :-1][keep], lab[keep])
    torch.testing.assert_close(vlm(img, batch), manual)
    assert keep.sum() == sum(D.answer_length(f) for f in feats)
    with pytest.raises(ValueError, match="features"):
        vlm.assemble(img[:1], batch["input_ids"], batch["attention_mask"])


def test_label_loss_equals_the_lms_own_loss_plain_and_lora(vlm, tok):
    from course_utils.vlm.language_model import label_loss

    feats = D.qa_features(tok, [("what colour is the circle?", "red"), ("where is the square?", "top left")],
                          CFG.eoq)
    batch = D.collate(tok, feats)
    img = torch.randn(2, CFG.n_patches, CFG.d_vision)
    inputs = {k: v.detach() for k, v in
              vlm.assemble(img, batch["input_ids"], batch["attention_mask"], batch["labels"]).items()}
    ours, theirs = label_loss(vlm.lm, **inputs), vlm.lm(**inputs).loss  # theirs: logits at every position
    torch.testing.assert_close(ours, theirs)
    head = vlm.lm.get_output_embeddings().weight
    torch.testing.assert_close(torch.autograd.grad(ours, head)[0], torch.autograd.grad(theirs, head)[0])
    lora = add_lora(copy.deepcopy(vlm.lm), CFG)  # peft: the decoder and head are found inside the wrapper
    torch.testing.assert_close(label_loss(lora, **inputs), lora(**inputs).loss)
    with pytest.raises(ValueError, match="no labelled position"):
        label_loss(vlm.lm, inputs["inputs_embeds"], inputs["attention_mask"], torch.full_like(inputs["labels"], -100))
    with pytest.raises(ValueError, match=r"labels, attention_mask \[B, L\]"):
        label_loss(vlm.lm, inputs["inputs_embeds"], inputs["attention_mask"], inputs["labels"][:, :-1])


# ------------------------------------------------------------------ generation
def test_generation_cached_uncached_and_batched_agree(vlm):
    torch.manual_seed(1)
    img = torch.randn(3, CFG.n_patches, CFG.d_vision)
    qs = ["what colour is the circle?", "how many shapes are there?", None]
    cached = vlm.generate(img, qs, max_new_tokens=6, use_cache=True)
    uncached = vlm.generate(img, qs, max_new_tokens=6, use_cache=False)
    assert cached == uncached
    singles = [vlm.generate(img[i:i + 1], [q], max_new_tokens=6)[0] for i, q in enumerate(qs)]
    assert cached == singles  # left padding changes nothing
    assert len(vlm.generate(None, ["what colour is the circle?"], max_new_tokens=3)) == 1  # text only


def test_generation_bad_input(vlm):
    img = torch.randn(1, CFG.n_patches, CFG.d_vision)
    with pytest.raises(ValueError, match="empty question"):
        vlm.generate(img, ["   "])
    with pytest.raises(ValueError, match="image, a question, or both"):
        vlm.generate(None, [None])
    with pytest.raises(ValueError, match="1 images but 2 questions"):
        vlm.generate(img, ["a?", "b?"])


# ------------------------------------------------------------------ LoRA and training stages
def test_lora_touches_only_the_intended_modules(tok):
    from dataclasses import replace

    cfg = replace(CFG, lora_targets=("q_proj", "v_proj"))
    lm = add_lora(build_lm(cfg, tok), cfg)
    trainable = [n for n, p in lm.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable} == {"q_proj", "v_proj"}
    # r * (in + out) per adapted layer: 2 layers of 32 -> 32 in CFG's 1 block
    assert trainable_parameters(lm)[0] == CFG.lm_layers * 2 * cfg.lora_r * (32 + 32)


def test_seed_lora_count_on_phi2_architecture():
    from peft import get_peft_model
    from transformers import PhiForCausalLM

    from course_utils.vlm.language_model import lora_config

    with torch.device("meta"):
        phi2 = PhiForCausalLM(phi2_config())
    lora = get_peft_model(phi2, lora_config(full_recipe_config()))
    assert trainable_parameters(lora)[0] == 94_371_840  # the seed's "trainable params: 94,371,840"


def test_stages_train_only_what_they_should(vlm, tok, scenes):
    from course_utils.vlm.train import train_instruction, train_projection

    feats = torch.randn(len(scenes), CFG.n_patches, CFG.d_vision)
    lm_before = {k: v.clone() for k, v in vlm.lm.state_dict().items()}
    proj_before = {k: v.clone() for k, v in vlm.projector.state_dict().items()}
    train_projection(vlm, feats, [D.caption(s) for s in scenes], epochs=1, batch_size=16, progress=False)
    assert all(torch.equal(v, vlm.lm.state_dict()[k]) for k, v in lm_before.items())  # LM frozen
    assert any(not torch.equal(v, vlm.projector.state_dict()[k]) for k, v in proj_before.items())
    qas = [(r.index, r.question, r.answer) for r in D.qa_records(scenes, D.SHORT_TYPES)]
    r = train_instruction(vlm, feats, qas, buckets=((1, 3, 16), (4, 40, 8)), epochs=1, progress=False)
    base = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
            for k, v in vlm.lm.state_dict().items() if "lora_" not in k}
    assert all(torch.equal(v, base[k]) for k, v in lm_before.items())  # base weights untouched by stage 2
    assert r["trainable"] == trainable_parameters(vlm.lm)[0] + sum(p.numel() for p in vlm.projector.parameters())


def test_full_stage2_tuning_trains_every_lm_weight(tok, scenes):
    from course_utils.vlm.train import train_instruction

    torch.manual_seed(0)
    vlm = VisionLanguageModel(CFG, tok, build_lm(CFG, tok))
    feats = torch.randn(len(scenes), CFG.n_patches, CFG.d_vision)
    qas = [(r.index, r.question, r.answer) for r in D.qa_records(scenes, D.SHORT_TYPES)]
    buckets = ((1, 3, 16), (4, 40, 8))
    with pytest.raises(ValueError, match="'lora' or 'full'"):
        train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="adapters", progress=False)
    before = {k: v.clone() for k, v in vlm.lm.state_dict().items()}
    r = train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="full", progress=False)
    after = vlm.lm.state_dict()
    assert after.keys() == before.keys()  # no adapters were added
    # every weight matrix outside the token embeddings moved (some token rows never occur in the batches)
    assert all(not torch.equal(v, after[k]) for k, v in before.items() if v.dim() == 2 and "embed" not in k)
    lm_total = sum(p.numel() for p in vlm.lm.parameters())
    assert r["trainable"] == lm_total + sum(p.numel() for p in vlm.projector.parameters())
    vlm.lm = add_lora(vlm.lm, CFG)
    with pytest.raises(ValueError, match="plain full-precision LM"):
        train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="full", progress=False)


def test_pretokenised_qas_train_exactly_as_tokenising_here(tok, scenes):
    from course_utils.vlm.train import train_instruction

    feats = torch.randn(len(scenes), CFG.n_patches, CFG.d_vision)
    qas = [(r.index, r.question, r.answer) for r in D.qa_records(scenes[:10], D.SHORT_TYPES)]
    buckets = ((1, 3, 16), (4, 40, 8))
    losses = []
    for qa_feats in (None, D.qa_features(tok, [(q, a) for _, q, a in qas], CFG.eoq)):
        torch.manual_seed(0)
        vlm = VisionLanguageModel(CFG, tok, build_lm(CFG, tok))
        losses.append(train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="full",
                                        qa_feats=qa_feats, progress=False)["losses"])
    assert losses[0] == losses[1]
    with pytest.raises(ValueError, match="records for"):
        train_instruction(vlm, feats, qas, buckets=buckets, qa_feats=[], progress=False)


# ------------------------------------------------------------------ vision tower and the full recipe path
def test_preprocess_checks_size():
    x = torch.zeros(2, 3, 48, 48, dtype=torch.uint8)
    assert preprocess(x, CFG).shape == (2, 3, 48, 48)
    with pytest.raises(ValueError, match="expected 48x48"):
        preprocess(torch.zeros(2, 3, 64, 64, dtype=torch.uint8), CFG)
    assert preprocess(torch.zeros(3, 64, 64, dtype=torch.uint8), CFG, resize=True).shape == (1, 3, 48, 48)
    with pytest.raises(ValueError, match="RGB"):
        preprocess(torch.zeros(2, 1, 48, 48), CFG)


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
    batch = D.collate(tok, D.qa_features(tok, [("what colour is the circle?", "red"), ("describe the image.",
                                                 "a large red circle at the top left on checks")], cfg.eoq))
    inputs = vlm.assemble(feats, batch["input_ids"], batch["attention_mask"], batch["labels"])
    logits = vlm.lm(inputs_embeds=inputs["inputs_embeds"], attention_mask=inputs["attention_mask"]).logits
    assert logits.shape == (2, inputs["inputs_embeds"].shape[1], len(tok))
    assert torch.isfinite(vlm(feats, batch))
    vlm.lm = add_lora(vlm.lm, cfg)
    assert len(vlm.generate(feats, ["what colour is the circle?", None], max_new_tokens=3)) == 2
    with pytest.raises(ValueError, match="expected 224x224"):
        encode_images(tower, images, cfg)


def test_conv_stem_grid_and_errors():
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
    tower = build_vision_tower(CFG)  # the course tower: a CLIPVisionModel with the stem as its patch embedding
    assert sum(isinstance(m, ConvStem) for m in tower.modules()) == 1
    assert tower(pixel_values=preprocess(torch.zeros(2, 3, 48, 48, dtype=torch.uint8), CFG)).last_hidden_state.shape \
        == (2, 1 + CFG.n_patches, CFG.d_vision)
    with pytest.raises(ValueError, match="power-of-two patch size"):
        ConvStem(8, 12)


def test_patch_features_drop_cls_and_pick_layer():
    cfg = tiny_config(d_vision=16, vision_layers=2, vision_heads=2)
    tower = build_vision_tower(cfg)
    x = preprocess(torch.zeros(1, 3, 48, 48, dtype=torch.uint8), cfg)
    hs = tower(pixel_values=x, output_hidden_states=True).hidden_states
    torch.testing.assert_close(patch_features(tower, x, -2), hs[-2][:, 1:])
    assert patch_features(tower, x).shape == (1, 9, 16)  # 3 x 3 patches of 16 px


# ------------------------------------------------------------------ the full recipe's data files
def test_coco_and_llava_parsers(tmp_path):
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
            "annotations": [{"image_id": 1, "caption": "A cat. "}, {"image_id": 1, "caption": "A pet."},
                            {"image_id": 2, "caption": "A dog."}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    assert D.coco_captions(tmp_path / "c.json") == {"a.jpg": "A cat.", "b.jpg": "A dog."}
    llava = [{"id": "x", "image": "a.jpg", "conversations": [
        {"from": "human", "value": "<image>\nWhat is this?"}, {"from": "gpt", "value": "A cat."},
        {"from": "human", "value": "What colour?"}, {"from": "gpt", "value": "Grey."}]}]
    (tmp_path / "l.json").write_text(json.dumps(llava))
    assert D.llava_instruct_records(tmp_path / "l.json") == [
        {"image": "a.jpg", "qn": "What is this?", "ans": "A cat."},
        {"image": "a.jpg", "qn": "What colour?", "ans": "Grey."}]
    with pytest.raises(FileNotFoundError, match="annotations_trainval2017"):
        D.coco_captions(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a COCO caption file"):
        D.coco_captions(tmp_path / "bad.json")


# ------------------------------------------------------------------ audio
def test_wav_round_trip_and_bad_audio(tmp_path):
    from course_utils.vlm.audio import read_wav, write_wav

    a = (1000 * np.sin(np.arange(1600) / 5)).astype(np.int16)
    assert np.array_equal(read_wav(write_wav(tmp_path / "a.wav", a)), a)
    (tmp_path / "not.wav").write_bytes(b"this is not audio")
    with pytest.raises(ValueError, match="16-bit PCM WAV"):
        read_wav(tmp_path / "not.wav")
    with pytest.raises(ValueError, match="16-bit PCM WAV"):
        read_wav(b"RIFF....")


def test_spoken_question_round_trip():
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("espeakng_loader")
    from course_utils.vlm.audio import SphinxTranscriber, synthesise

    audio = synthesise("how many shapes are there")
    assert audio.dtype == np.int16 and 0.5 < len(audio) / 16000 < 4
    asr = SphinxTranscriber()
    assert asr(audio) == "how many shapes are there"
    with pytest.raises(ValueError, match="too short"):
        asr(np.zeros(10, np.int16))
    with pytest.raises(ValueError, match="empty text"):
        synthesise(" ")


def test_ask_combines_image_and_question(tok):
    from course_utils.vlm.app import ask, load_image

    torch.manual_seed(0)
    tower = build_vision_tower(CFG)
    vlm = VisionLanguageModel(CFG, tok, build_lm(CFG, tok), vision=tower)
    img = make_scene(3, 64).image  # 64 px: resized to the tower's 48
    out = ask(vlm, img, "what colour is the circle?", max_new_tokens=3)
    assert out["question"] == "what colour is the circle?" and isinstance(out["answer"], str)
    with pytest.raises(ValueError, match="image, a question, or both"):
        ask(vlm, None, "  ")
    with pytest.raises(ValueError, match="no transcriber"):
        ask(vlm, img, audio=np.zeros(16000, np.int16))
    with pytest.raises(ValueError, match="as an image"):
        load_image(b"not an image")


# ------------------------------------------------------------------ CLIP
def test_clip_loss_equals_transformers_and_negatives_raise_it(tok, scenes):
    import random

    from course_utils.vlm.vision import build_clip, clip_loss

    torch.manual_seed(0)
    clip = build_clip(CFG, tok).eval()
    caps = [D.caption(s) for s in scenes[:6]]
    enc = tok([c + tok.eos_token for c in caps], padding=True, return_tensors="pt", add_special_tokens=False)
    x = preprocess(D.image_tensor(scenes[:6]), CFG)
    ours = clip_loss(clip, enc["input_ids"], enc["attention_mask"], x)
    theirs = clip(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=x,
                  return_loss=True).loss
    torch.testing.assert_close(ours, theirs)
    rng = random.Random(0)
    negs = [D.hard_negative_caption(s, rng) for s in scenes[:6]]
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
    caps = [D.caption(s) + tok.eos_token for s in scenes[:8]]
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


def test_patch_phrase_targets_by_hand():
    from course_utils.vlm.grounding import patch_phrase_targets

    apart = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),  # large; patches 0, 1, 3, 4 (16 px cells)
                    ShapeObject("square", "blue", (38, 38, 46, 46), False)])  # small; patch 8
    touching = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                       ShapeObject("square", "blue", (18, 18, 30, 30), False)])  # medium; patch 4, shared
    phrases, targets = patch_phrase_targets([apart, touching], grid=3)
    assert phrases == ["a large red circle at the top left", "a medium blue square in the centre",
                       "a small blue square at the bottom right"]
    assert targets.tolist() == [[0, 0, -1, 0, 0, -1, -1, -1, 2],
                                [0, 0, -1, 0, -1, -1, -1, -1, -1]]
    with pytest.raises(ValueError, match="grid"):
        patch_phrase_targets([apart], grid=0)


def test_grounding_loss_is_each_patch_picking_its_phrase(tok, scenes):
    import torch.nn.functional as F

    from course_utils.vlm.grounding import grounding_loss, patch_phrase_targets
    from course_utils.vlm.vision import build_clip, train_clip

    torch.manual_seed(0)
    clip = build_clip(CFG, tok).eval()
    phrases, targets = patch_phrase_targets(scenes[:4], grid=3)
    enc = tok([p + tok.eos_token for p in phrases], padding=True, return_tensors="pt", add_special_tokens=False)
    hidden = clip.vision_model(pixel_values=preprocess(D.image_tensor(scenes[:4]), CFG)).last_hidden_state
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
        train_clip(clip, tok, D.image_tensor(scenes[:4]), [D.caption(s) for s in scenes[:4]], CFG, epochs=1,
                   batch_size=2, progress=False, grounding=(phrases, targets[:, :4]))
    # training with the term lowers it on the training images far below CLIP's loss alone, from the same start
    imgs, caps = D.image_tensor(scenes[:32]), [D.caption(s) for s in scenes[:32]]
    phrases, targets = patch_phrase_targets(scenes[:32], grid=3)
    enc = tok([p + tok.eos_token for p in phrases], padding=True, return_tensors="pt", add_special_tokens=False)
    after = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        clip = build_clip(CFG, tok)
        train_clip(clip, tok, imgs, caps, CFG, epochs=8, batch_size=8, lr=3e-3, progress=False,
                   grounding=(phrases, targets), grounding_weight=weight)
        with torch.no_grad():
            h = clip.vision_model(pixel_values=preprocess(imgs, CFG)).last_hidden_state
            after[weight] = float(grounding_loss(clip, h, targets, enc["input_ids"], enc["attention_mask"]))
    assert after[1.0] < after[0.0] - 1.0  # measured: 0.91 against 3.60

# ------------------------------------------------------------------ evaluation

def test_exact_match_by_objects_hand_case():
    from course_utils.vlm.evaluate import exact_match_by_objects

    one = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False)])
    two = _scene([ShapeObject("circle", "red", (0, 0, 20, 20), False),
                  ShapeObject("square", "blue", (24, 24, 44, 44), False)])
    recs = [D.QARecord(0, "colour", "what colour is the circle?", "red"),
            D.QARecord(1, "colour", "what colour is the circle?", "red"),
            D.QARecord(1, "colour", "what colour is the square?", "blue"),
            D.QARecord(1, "count", "how many shapes are there?", "two")]
    out = exact_match_by_objects(["red", "blue", "blue.", "Two"], recs, [one, two])
    assert sorted(out) == [1, 2]
    assert out[1]["accuracy"] == 1.0 and out[1]["n"] == 1
    assert out[2]["n"] == 3 and out[2]["accuracy"] == pytest.approx(2 / 3)  # "blue" for the circle is wrong
    assert out[2]["by_type"] == {"colour": 0.5, "count": 1.0}
    with pytest.raises(ValueError, match="predictions"):
        exact_match_by_objects(["red"], recs, [one, two])
    with pytest.raises(ValueError, match="scene 1 of only 1"):
        exact_match_by_objects(["red"] * 4, recs, [one])


def test_answer_from_captions_batches_agree(tok, scenes):
    from course_utils.vlm.evaluate import answer_from_captions

    torch.manual_seed(0)
    lm = build_lm(CFG, tok)
    recs = D.qa_records(scenes[:3], D.SHORT_TYPES)
    one_by_one = answer_from_captions(lm, tok, scenes, recs, CFG.eoi, CFG.eoq, batch_size=1)
    batched = answer_from_captions(lm, tok, scenes, recs, CFG.eoi, CFG.eoq, batch_size=len(recs))
    assert len(batched) == len(recs) and batched == one_by_one  # left padding changes nothing
    with pytest.raises(ValueError, match="of only 2 scenes"):
        answer_from_captions(lm, tok, scenes[:2], recs, CFG.eoi, CFG.eoq)


# ------------------------------------------------------------------ oracle features
def test_oracle_patch_features_by_hand():
    from course_utils.vlm.oracle import oracle_layout, oracle_patch_features

    img = torch.zeros(3, 48, 48, dtype=torch.uint8)
    # a 20x20 red circle at the top left (overlaps patches 0, 1, 3, 4; centre (10, 10) in patch 0)
    # and a 10x30 blue rectangle in the right column (patches 5 and 8; centre (41, 33) in patch 8)
    objs = [ShapeObject("circle", "red", (0.0, 0.0, 20.0, 20.0), False),
            ShapeObject("rectangle", "blue", (36.0, 18.0, 46.0, 48.0), False)]
    sc = Scene(image=img, objects=objs, background="noise", seed=0, size=48)
    f = oracle_patch_features([sc], grid=3, width=40)
    lay = oracle_layout(9)
    assert f.shape == (1, 9, 40) and lay["patch"] == slice(15, 24)
    shape, colour, size = f[0, :, lay["shape"]], f[0, :, lay["colour"]], f[0, :, lay["size"]]
    # circle = shape 0, red = colour 0, rectangle = shape 3, blue = colour 2; 400 / 2304 px is "large",
    # 300 / 2304 is "large" too (> 0.12 of the image)
    assert shape[:, 0].tolist() == [1, 1, 0, 1, 1, 0, 0, 0, 0]
    assert shape[:, 3].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 1]
    assert colour[:, 0].tolist() == shape[:, 0].tolist() and colour[:, 2].tolist() == shape[:, 3].tolist()
    assert (size[:, 2] == shape.sum(1)).all() and size[:, :2].sum() == 0
    assert f[0, :, lay["centre"]].flatten().tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert torch.equal(f[0, :, lay["patch"]], torch.eye(9)) and f[0, :, 24:].abs().sum() == 0
    # overlapping objects add up in a shared patch
    both = Scene(image=img, objects=objs[:1] + [ShapeObject("square", "red", (10.0, 10.0, 30.0, 30.0), False)],
                 background="noise", seed=0, size=48)
    g = oracle_patch_features([both], grid=3, width=24)
    assert g[0, 4, lay["colour"]][0] == 2 and g[0, 4, lay["shape"]].tolist() == [1, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="width >= 24"):
        oracle_patch_features([sc], grid=3, width=16)


# ------------------------------------------------------------------ patch probes
def test_own_object_patches_by_hand():
    from course_utils.vlm.probe import own_object_patches

    # circle on patches {0, 1, 3, 4}, square on {4, 5, 7, 8}: patch 4 is shared, so it is left out
    circle = ShapeObject("circle", "red", (0.0, 0.0, 20.0, 20.0), False)
    two = _scene([circle, ShapeObject("square", "blue", (20.0, 20.0, 40.0, 40.0), False)])
    one = _scene([circle])
    same_colour = _scene([circle, ShapeObject("square", "red", (30.0, 30.0, 48.0, 48.0), False)])
    r = own_object_patches([one, two, same_colour], grid=3, attribute="colour")
    assert r["scene"].tolist() == [1] * 6  # one object, or both objects red: no rows
    assert r["patch"].tolist() == [0, 1, 3, 5, 7, 8]
    assert r["own"].tolist() == [0, 0, 0, 2, 2, 2] and r["other"].tolist() == [2, 2, 2, 0, 0, 0]  # red 0, blue 2
    s = own_object_patches([same_colour], grid=3, attribute="shape")  # circle {0, 1, 3, 4}, square {4, 5, 7, 8}
    assert s["patch"].tolist() == [0, 1, 3, 5, 7, 8] and s["own"].tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="one of"):
        own_object_patches([two], grid=3, attribute="size")


def test_patch_probe_reads_oracle_features_and_not_noise():
    from course_utils.vlm.oracle import oracle_patch_features
    from course_utils.vlm.probe import linear_probe, patch_probe

    train, test = D.vlm_scenes("train", 300), D.vlm_scenes("test", 100)
    f_train, f_test = oracle_patch_features(train, 3, 32), oracle_patch_features(test, 3, 32)
    for attribute in ("colour", "shape"):
        r = patch_probe(f_train, train, f_test, test, attribute, grid=3)
        assert r["own"] == 1.0 and r["other"] == 0.0 and r["n_test"] > 20
    torch.manual_seed(0)
    noise = patch_probe(torch.randn(300, 9, 32), train, torch.randn(100, 9, 32), test, "colour", grid=3)
    assert noise["own"] < noise["guess"] + 0.15
    with pytest.raises(ValueError, match=r"expected features \[100, 9, D\]"):
        patch_probe(f_train, train, f_test[:, :4], test, "colour", grid=3)
    with pytest.raises(ValueError, match="labels must lie"):
        linear_probe(torch.randn(4, 2), torch.tensor([0, 1, 2, 5]), torch.randn(1, 2), n_classes=3)
    # two separable clusters: the probe gets them all
    x = torch.cat([torch.randn(50, 3) + 4, torch.randn(50, 3) - 4])
    y = torch.tensor([0] * 50 + [1] * 50)
    assert torch.equal(linear_probe(x, y, torch.tensor([[4.0, 4, 4], [-4.0, -4, -4]]), 2), torch.tensor([0, 1]))
