"""course_utils.vlm.train: what each stage trains."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm.language_model import add_lora, build_lm, trainable_parameters  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.dataset import SHORT_TYPES, caption, qa_records  # noqa: E402
from course_utils.vlm.batches import qa_features  # noqa: E402


def test_stages_train_only_what_they_should(vlm, tok, scenes, cfg):
    from course_utils.vlm.train import train_instruction, train_projection

    feats = torch.randn(len(scenes), cfg.n_patches, cfg.d_vision)
    lm_before = {k: v.clone() for k, v in vlm.lm.state_dict().items()}
    proj_before = {k: v.clone() for k, v in vlm.projector.state_dict().items()}
    train_projection(vlm, feats, [caption(s) for s in scenes], epochs=1, batch_size=16, progress=False)
    assert all(torch.equal(v, vlm.lm.state_dict()[k]) for k, v in lm_before.items())  # LM frozen
    assert any(not torch.equal(v, vlm.projector.state_dict()[k]) for k, v in proj_before.items())
    qas = [(r.index, r.question, r.answer) for r in qa_records(scenes, SHORT_TYPES)]
    r = train_instruction(vlm, feats, qas, buckets=((1, 3, 16), (4, 40, 8)), epochs=1, progress=False)
    base = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
            for k, v in vlm.lm.state_dict().items() if "lora_" not in k}
    assert all(torch.equal(v, base[k]) for k, v in lm_before.items())  # base weights untouched by stage 2
    trained = sum(p.numel() for p in vlm.parameters() if p.requires_grad)
    assert trained == trainable_parameters(vlm.lm)[0] + sum(p.numel() for p in vlm.projector.parameters())
    assert r.unit == "step" and r.epochs == len(r.train_loss) > 0 and r.train_seconds > 0

def test_full_stage2_tuning_trains_every_lm_weight(tok, scenes, cfg):
    from course_utils.vlm.train import train_instruction

    torch.manual_seed(0)
    vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok))
    feats = torch.randn(len(scenes), cfg.n_patches, cfg.d_vision)
    qas = [(r.index, r.question, r.answer) for r in qa_records(scenes, SHORT_TYPES)]
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
    assert sum(p.numel() for p in vlm.parameters() if p.requires_grad) == lm_total + sum(
        p.numel() for p in vlm.projector.parameters())
    vlm.lm = add_lora(vlm.lm, cfg)
    with pytest.raises(ValueError, match="plain full-precision LM"):
        train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="full", progress=False)

def test_pretokenised_qas_train_exactly_as_tokenising_here(tok, scenes, cfg):
    from course_utils.vlm.train import train_instruction

    feats = torch.randn(len(scenes), cfg.n_patches, cfg.d_vision)
    qas = [(r.index, r.question, r.answer) for r in qa_records(scenes[:10], SHORT_TYPES)]
    buckets = ((1, 3, 16), (4, 40, 8))
    losses = []
    for qa_feats in (None, qa_features(tok, [(q, a) for _, q, a in qas], cfg.eoq)):
        torch.manual_seed(0)
        vlm = VisionLanguageModel(cfg, tok, build_lm(cfg, tok))
        losses.append(train_instruction(vlm, feats, qas, buckets=buckets, epochs=1, tuning="full",
                                        qa_feats=qa_feats, progress=False).train_loss)
    assert losses[0] == losses[1]
    with pytest.raises(ValueError, match="records for"):
        train_instruction(vlm, feats, qas, buckets=buckets, qa_feats=[], progress=False)
