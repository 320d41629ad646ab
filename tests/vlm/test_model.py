"""course_utils.vlm.model: input assembly, devices, generation."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("peft")

from course_utils.vlm.language_model import build_lm  # noqa: E402
from course_utils.vlm.model import VisionLanguageModel  # noqa: E402
from course_utils.vlm.dataset import questions  # noqa: E402
from course_utils.vlm.batches import answer_length, collate, qa_features  # noqa: E402


def test_projector_and_eoi_ids_follow_the_lm_device(tok, cfg):
    lm = build_lm(cfg, tok).to("meta")  # any device other than the CPU default
    model = VisionLanguageModel(cfg, tok, lm)
    assert {p.device.type for p in model.projector.parameters()} == {"meta"}
    assert model.eoi_ids.device.type == "meta"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")

def test_assemble_order_and_label_mask(vlm, tok, cfg):
    feats = qa_features(tok, [("what colour is the circle?", "red"), ("how many shapes are there?", "two")],
                          cfg.eoq)
    batch = collate(tok, feats)
    img = torch.randn(2, cfg.n_patches, cfg.d_vision)
    out = vlm.assemble(img, batch["input_ids"], batch["attention_mask"], batch["labels"])
    N, E, T = cfg.n_patches, len(vlm.eoi_ids), batch["input_ids"].shape[1]
    assert out["inputs_embeds"].shape == (2, N + E + T, cfg.d_lm)
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
    assert keep.sum() == sum(answer_length(f) for f in feats)
    with pytest.raises(ValueError, match="features"):
        vlm.assemble(img[:1], batch["input_ids"], batch["attention_mask"])

def test_generation_cached_uncached_and_batched_agree(vlm, cfg):
    torch.manual_seed(1)
    img = torch.randn(3, cfg.n_patches, cfg.d_vision)
    qs = ["what colour is the circle?", "how many shapes are there?", None]
    cached = vlm.generate(img, qs, max_new_tokens=6, use_cache=True)
    uncached = vlm.generate(img, qs, max_new_tokens=6, use_cache=False)
    assert cached == uncached
    singles = [vlm.generate(img[i:i + 1], [q], max_new_tokens=6)[0] for i, q in enumerate(qs)]
    assert cached == singles  # left padding changes nothing
    assert len(vlm.generate(None, ["what colour is the circle?"], max_new_tokens=3)) == 1  # text only

def test_generation_bad_input(vlm, cfg):
    img = torch.randn(1, cfg.n_patches, cfg.d_vision)
    with pytest.raises(ValueError, match="empty question"):
        vlm.generate(img, ["   "])
    with pytest.raises(ValueError, match="image, a question, or both"):
        vlm.generate(None, [None])
    with pytest.raises(ValueError, match="1 images but 2 questions"):
        vlm.generate(img, ["a?", "b?"])
