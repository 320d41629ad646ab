"""The multimodal model: image tokens + end-of-image + text, fed to a causal LM as embeddings.

The LM never sees image *token ids*: the projector's outputs are spliced into
the sequence of input embeddings, in the seed's order (LLaVA's, with the seed's
text markers)::

    [image tokens (N)] [EOI "caption image:"] [question] [EOQ "end of question:"] [answer] [end-of-text]

Stage 1 uses ``[image][EOI][caption][end-of-text]``; a text-only prompt drops the
image tokens and keeps the rest.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from .. import validate
from .config import VLMConfig
from .batches import _check_tokenizer, encode_pieces
from .language_model import label_loss
from .projector import Projector


class VisionLanguageModel(nn.Module):
    """A projector between a (frozen) vision tower's patch features and a causal LM.

    Attributes:
        cfg: the :class:`VLMConfig`.
        tokenizer: a ``transformers`` tokenizer with ``eos_token`` = ``pad_token``.
        lm: a ``PhiForCausalLM`` (or a peft model wrapping one after stage 2 begins).
        projector: :class:`Projector` ``d_vision -> d_lm``.
        vision: the ``CLIPVisionModel`` (optional: training reads precomputed features).

    Raises:
        TypeError: ``cfg`` is not a :class:`VLMConfig`; ``tokenizer`` not a tokenizer; ``lm``, ``projector`` or
            ``vision`` not a module (``projector`` a :class:`Projector`).
        ValueError: the tokenizer has no end-of-text or pad token; ``lm`` has no parameters; the projector's
            widths differ from ``cfg``'s ``d_vision -> d_lm``.
    """

    def __init__(self, cfg: VLMConfig, tokenizer, lm: nn.Module, projector: Projector | None = None,
                 vision: nn.Module | None = None) -> None:
        validate.instance(cfg, "cfg", VLMConfig)
        _check_tokenizer(tokenizer, pad="the model (to pad prompts)")
        validate.instance(lm, "lm", nn.Module, "a causal LM (torch.nn.Module)")
        if next(lm.parameters(), None) is None:
            raise ValueError("lm has no parameters: expected a causal LM such as language_model.build_lm's")
        if projector is not None:
            validate.instance(projector, "projector", Projector)
            if (projector.d_vision, projector.d_lm) != (cfg.d_vision, cfg.d_lm):
                raise ValueError(f"projector maps {projector.d_vision} -> {projector.d_lm}, but cfg needs "
                                 f"{cfg.d_vision} -> {cfg.d_lm}")
        if vision is not None:
            validate.instance(vision, "vision", nn.Module, "a vision tower (torch.nn.Module) or None")
        super().__init__()
        self.cfg, self.tokenizer, self.lm, self.vision = cfg, tokenizer, lm, vision
        device = next(lm.parameters()).device  # the projector and the EOI ids live where the LM does
        self.projector = (projector or Projector(cfg.d_vision, cfg.d_lm, cfg.projector_hidden)).to(device)
        self.register_buffer("eoi_ids", torch.tensor(encode_pieces(tokenizer, [cfg.eoi]), device=device),
                             persistent=False)

    # ------------------------------------------------------------------ embeddings
    def embed_tokens(self, ids: Tensor) -> Tensor:
        """Token ids ``Tensor[B, T]`` -> the LM's input embeddings ``Tensor[B, T, d_lm]``.

        Raises:
            TypeError: ``ids`` is not a tensor.
            ValueError: ``ids`` is not integer, or an id lies outside the LM's vocabulary.
        """
        validate.class_indices(ids, "ids", self.lm.get_input_embeddings().num_embeddings)
        return self.lm.get_input_embeddings()(ids)

    def image_tokens(self, features: Tensor) -> Tensor:
        """Patch features ``Tensor[B, N, d_vision]`` -> image tokens ``Tensor[B, N, d_lm]``.

        Raises:
            TypeError: ``features`` is not a tensor.
            ValueError: ``features`` is not Tensor[B, N, d_vision] of floats.
        """
        return self.projector(features)

    def assemble(self, features: Tensor | None, input_ids: Tensor, attention_mask: Tensor,
                 labels: Tensor | None = None) -> dict[str, Tensor]:
        """Build ``inputs_embeds``, ``attention_mask`` and ``labels`` for one forward pass.

        Args:
            features: ``Tensor[B, N, d_vision]`` patch features, or None for a text-only input.
            input_ids, attention_mask: the text after EOI (``Tensor[B, T]``, right-padded).
            labels: ``Tensor[B, T]`` with -100 where no loss applies (None at inference).

        Returns ``inputs_embeds`` ``Tensor[B, N + E + T, d_lm]`` (``E`` = EOI tokens),
        ``attention_mask`` ``Tensor[B, N + E + T]`` and, if given, ``labels`` of the
        same length with -100 on the image and EOI positions.

        Raises:
            TypeError: an input is not a tensor.
            ValueError: ``input_ids`` is not integer Tensor[B, T]; ``attention_mask`` or ``labels`` differs in
                shape; ``features`` is not Tensor[B, N, d_vision] for the same B.
        """
        validate.tensor(input_ids, "input_ids", ndim=2, dtype="int")
        validate.tensor(attention_mask, "attention_mask")
        if labels is not None:
            validate.tensor(labels, "labels", shape=tuple(input_ids.shape), dtype="int")
        if features is not None:
            validate.tensor(features, "features", shape=(input_ids.shape[0], None, self.cfg.d_vision), dtype="float")
        if input_ids.ndim != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError(f"expected input_ids and attention_mask Tensor[B, T], got "
                             f"{tuple(input_ids.shape)} and {tuple(attention_mask.shape)}")
        B, device = input_ids.shape[0], input_ids.device
        text = self.embed_tokens(input_ids)
        eoi = self.embed_tokens(self.eoi_ids.to(device))[None].expand(B, -1, -1)  # (B, E, D)
        parts = [eoi, text]
        if features is not None:
            if features.ndim != 3 or features.shape[0] != B:
                raise ValueError(f"expected features Tensor[{B}, N, {self.cfg.d_vision}], got {tuple(features.shape)}")
            parts.insert(0, self.image_tokens(features.to(device)).to(text.dtype))
        prefix = sum(p.shape[1] for p in parts[:-1])
        out = {"inputs_embeds": torch.cat(parts, dim=1),
               "attention_mask": torch.cat([attention_mask.new_ones(B, prefix), attention_mask], dim=1)}
        if labels is not None:
            out["labels"] = torch.cat([labels.new_full((B, prefix), -100), labels], dim=1)
        return out

    def forward(self, features: Tensor | None, batch: dict[str, Tensor]) -> Tensor:
        """The mean cross-entropy over the label positions of a collated batch (see :func:`data.collate`).

        As in the LM's own loss, the logit at position ``t`` predicts token ``t + 1``, so
        the last EOQ token predicts the first answer token, as in the seed; only the
        positions a label follows reach the LM's output layer (:func:`language_model.label_loss`).

        Raises:
            TypeError: ``batch`` is not a dict, or its entries not tensors.
            ValueError: ``batch`` lacks ``input_ids``, ``attention_mask`` or ``labels``, or the shapes differ
                (see :meth:`assemble`), or no position is labelled.
        """
        validate.instance(batch, "batch", dict, "a dict from batches.collate")
        missing = [k for k in ("input_ids", "attention_mask", "labels") if k not in batch]
        if missing:
            raise ValueError(f"batch lacks {missing}; expected what batches.collate returns")
        device = self.eoi_ids.device
        inputs = self.assemble(features, batch["input_ids"].to(device), batch["attention_mask"].to(device),
                               batch["labels"].to(device))
        return label_loss(self.lm, **inputs)

    # ------------------------------------------------------------------ generation
    def prompt_embeddings(self, features: Tensor | None, questions: list[str | None]) -> tuple[Tensor, Tensor]:
        """Left-padded prompt embeddings ``[image][EOI][question][EOQ]`` for a batch.

        A None question gives the caption prompt ``[image][EOI]`` (stage 1's input).
        Returns ``inputs_embeds`` ``Tensor[B, L, d_lm]`` and ``attention_mask`` ``Tensor[B, L]``.

        Raises:
            TypeError: ``questions`` is not a list of str or None, or ``features`` not a tensor.
            ValueError: neither an image nor a question for a prompt; an empty question; ``features`` is not
                Tensor[B, N, d_vision] with one row per question.
        """
        if features is not None:
            validate.tensor(features, "features", ndim=3, dtype="float")
        if isinstance(questions, str) or not isinstance(questions, (list, tuple)):
            raise TypeError(f"questions must be a list of str (or None for a caption), got {type(questions).__name__}")
        bad = [q for q in questions if q is not None and not isinstance(q, str)]
        if bad:
            raise TypeError(f"each question must be a str or None, got {bad[0]!r} ({type(bad[0]).__name__})")
        if features is None and any(q is None for q in questions):
            raise ValueError("a prompt needs an image, a question, or both")
        if features is not None and len(features) != len(questions):
            raise ValueError(f"{len(features)} images but {len(questions)} questions")
        device = self.eoi_ids.device
        rows = []
        for i, q in enumerate(questions):
            if q is not None and not q.strip():
                raise ValueError("empty question: pass None for an image-only (caption) prompt")
            ids = torch.tensor(encode_pieces(self.tokenizer, [q, self.cfg.eoq]) if q is not None else [],
                               dtype=torch.long, device=device)[None]
            f = None if features is None else features[i:i + 1]
            rows.append(self.assemble(f, ids, torch.ones_like(ids))["inputs_embeds"][0])
        L = max(len(r) for r in rows)
        pad = self.embed_tokens(torch.tensor([self.tokenizer.pad_token_id], device=device))[0]
        embeds = pad.expand(len(rows), L, -1).clone()
        mask = torch.zeros(len(rows), L, dtype=torch.long, device=device)
        for i, r in enumerate(rows):
            embeds[i, L - len(r):] = r
            mask[i, L - len(r):] = 1
        return embeds, mask

    @torch.no_grad()
    def generate(self, features: Tensor | None, questions: list[str | None], *, max_new_tokens: int = 8,
                 use_cache: bool = True) -> list[str]:
        """Greedy answers, one per prompt, via ``lm.generate(inputs_embeds=...)`` (as the seed's app).

        Args:
            features: ``Tensor[B, N, d_vision]`` or None (text only).
            questions: ``B`` questions; None for a caption (image only).

        Raises:
            TypeError: ``questions`` is not a list of str or None, ``features`` not a tensor, or
                ``max_new_tokens`` not an int.
            ValueError: see :meth:`prompt_embeddings`; ``max_new_tokens`` below 1.
        """
        validate.positive_int(max_new_tokens, "max_new_tokens")
        self.eval()
        embeds, mask = self.prompt_embeddings(features, questions)
        tok = self.tokenizer
        out = self.lm.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                               do_sample=False, num_beams=1, use_cache=use_cache, eos_token_id=tok.eos_token_id,
                               pad_token_id=tok.pad_token_id)
        return [s.strip() for s in tok.batch_decode(out, skip_special_tokens=True)]
