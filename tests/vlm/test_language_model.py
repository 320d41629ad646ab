"""course_utils.vlm.language_model: the label-only loss, LoRA."""

from __future__ import annotations

import copy

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm import full_recipe_config  # noqa: E402
from course_utils.vlm.language_model import add_lora, build_lm, phi2_config, trainable_parameters  # noqa: E402
from course_utils.vlm.batches import collate, qa_features  # noqa: E402


def test_label_loss_equals_the_lms_own_loss_plain_and_lora(vlm, tok, cfg):
    from course_utils.vlm.language_model import label_loss

    feats = qa_features(tok, [("what colour is the circle?", "red"), ("where is the square?", "top left")],
                          cfg.eoq)
    batch = collate(tok, feats)
    img = torch.randn(2, cfg.n_patches, cfg.d_vision)
    inputs = {k: v.detach() for k, v in
              vlm.assemble(img, batch["input_ids"], batch["attention_mask"], batch["labels"]).items()}
    ours, theirs = label_loss(vlm.lm, **inputs), vlm.lm(**inputs).loss  # theirs: logits at every position
    torch.testing.assert_close(ours, theirs)
    head = vlm.lm.get_output_embeddings().weight
    torch.testing.assert_close(torch.autograd.grad(ours, head)[0], torch.autograd.grad(theirs, head)[0])
    lora = add_lora(copy.deepcopy(vlm.lm), cfg)  # peft: the decoder and head are found inside the wrapper
    torch.testing.assert_close(label_loss(lora, **inputs), lora(**inputs).loss)
    with pytest.raises(ValueError, match="no labelled position"):
        label_loss(vlm.lm, inputs["inputs_embeds"], inputs["attention_mask"], torch.full_like(inputs["labels"], -100))
    with pytest.raises(ValueError, match=r"labels, attention_mask \[B, L\]"):
        label_loss(vlm.lm, inputs["inputs_embeds"], inputs["attention_mask"], inputs["labels"][:, :-1])

def test_lora_touches_only_the_intended_modules(tok, cfg):
    from dataclasses import replace

    cfg = replace(cfg, lora_targets=("q_proj", "v_proj"))
    lm = add_lora(build_lm(cfg, tok), cfg)
    trainable = [n for n, p in lm.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable} == {"q_proj", "v_proj"}
    # r * (in + out) per adapted layer: 2 layers of 32 -> 32 in cfg's 1 block
    assert trainable_parameters(lm)[0] == cfg.lm_layers * 2 * cfg.lora_r * (32 + 32)

def test_seed_lora_count_on_phi2_architecture():
    from peft import get_peft_model
    from transformers import PhiForCausalLM

    from course_utils.vlm.language_model import lora_config

    with torch.device("meta"):
        phi2 = PhiForCausalLM(phi2_config())
    lora = get_peft_model(phi2, lora_config(full_recipe_config()))
    assert trainable_parameters(lora)[0] == 94_371_840  # the seed's "trainable params: 94,371,840"
