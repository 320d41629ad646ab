"""The language model: phi-2 (full recipe) or a tiny ``PhiForCausalLM`` pretrained here on text.

The tiny LM is the same ``transformers`` class as phi-2 -- parallel attention and
MLP blocks, partial rotary position embeddings -- at about one thousandth of a
percent of its size. Stage 0 teaches it the course's language (captions and
question/answer text, no images), as phi-2 learnt English before the seed began.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import torch

from .. import validate
from ..runtime import get_device, training_precision
from .batches import _check_tokenizer
from .config import VLMConfig


def pretrained_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype a pretrained LM's weights (or QLoRA's compute) use on ``device``.

    :func:`~course_utils.runtime.training_precision`'s 16-bit type: bfloat16 on GPUs of compute
    capability 8.0 or more, float16 below (a T4 would only emulate bfloat16); float32 where the
    device has no 16-bit training path.

    Raises:
        ValueError: ``device`` is not a device name or ``torch.device``.
    """
    return training_precision(device).dtype or torch.float32


def build_lm(cfg: VLMConfig, tokenizer):
    """A ``transformers.PhiForCausalLM``: ``cfg.lm_name``'s weights (4-bit if ``cfg.load_in_4bit``) or tiny random ones.

    A pretrained LM gets its token embeddings resized to ``len(tokenizer)``, as
    the seed does (phi-2 has 51,200 embedding rows for 50,295 tokens). Its weights load in
    :func:`pretrained_dtype` of the device it will run on (the first GPU for 4-bit).

    Raises:
        TypeError: ``cfg`` is not a :class:`VLMConfig`, or ``tokenizer`` has no length (not a tokenizer).
        ValueError: a tiny LM's tokenizer has no end-of-text or pad token.
    """
    from transformers import PhiConfig, PhiForCausalLM

    validate.instance(cfg, "cfg", VLMConfig)
    if cfg.lm_name:  # a pretrained LM only needs the vocabulary's size (its own tokenizer's)
        if not hasattr(tokenizer, "__len__"):
            raise TypeError(f"tokenizer must be a transformers tokenizer, got {validate.describe(tokenizer)}")
    else:
        _check_tokenizer(tokenizer, pad="a tiny LM")

    if cfg.lm_name:
        from transformers import AutoModelForCausalLM

        kwargs = {}
        dtype = pretrained_dtype("cuda:0" if cfg.load_in_4bit else get_device())
        if cfg.load_in_4bit:
            kwargs["quantization_config"] = bnb_config(dtype)
            kwargs["device_map"] = {"": 0}
        model = AutoModelForCausalLM.from_pretrained(cfg.lm_name, dtype=dtype, **kwargs)
        model.resize_token_embeddings(len(tokenizer))
        return model
    eos = tokenizer.eos_token_id
    conf = PhiConfig(vocab_size=len(tokenizer), hidden_size=cfg.d_lm, intermediate_size=cfg.lm_intermediate,
                     num_hidden_layers=cfg.lm_layers, num_attention_heads=cfg.lm_heads,
                     max_position_embeddings=cfg.max_positions, partial_rotary_factor=0.5,
                     resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0, hidden_act="gelu",
                     bos_token_id=eos, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id,
                     tie_word_embeddings=False)
    return PhiForCausalLM(conf)


def phi2_config():
    """phi-2's architecture as a ``PhiConfig`` (2.78 B parameters; build it on the meta device)."""
    from transformers import PhiConfig

    return PhiConfig(vocab_size=51200, hidden_size=2560, intermediate_size=10240, num_hidden_layers=32,
                     num_attention_heads=32, partial_rotary_factor=0.4, max_position_embeddings=2048)


def bnb_config(compute_dtype: torch.dtype = torch.bfloat16):
    """QLoRA's 4-bit NF4 quantisation (Dettmers et al., 2023); needs bitsandbytes and CUDA.

    ``compute_dtype``: what the dequantised matrix products run in, bfloat16 as in the paper,
    or float16 on GPUs without native bfloat16 (:func:`pretrained_dtype`).

    Raises:
        TypeError: ``compute_dtype`` is not a ``torch.dtype``.
        ValueError: ``compute_dtype`` is not bfloat16, float16 or float32.
    """
    from transformers import BitsAndBytesConfig

    validate.instance(compute_dtype, "compute_dtype", torch.dtype)
    validate.choice(compute_dtype, "compute_dtype", (torch.bfloat16, torch.float16, torch.float32))

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def lora_config(cfg: VLMConfig):
    """peft's ``LoraConfig`` for a causal LM from ``cfg``'s rank, alpha, dropout and target layers.

    Raises:
        TypeError: ``cfg`` is not a :class:`VLMConfig`.
    """
    from peft import LoraConfig

    validate.instance(cfg, "cfg", VLMConfig)

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.lora_targets), bias="none", task_type="CAUSAL_LM")


def add_lora(lm, cfg: VLMConfig):
    """Wrap ``lm`` in LoRA adapters (``peft.get_peft_model``): the base weights freeze, adapters train.

    With ``cfg.load_in_4bit`` the model is first prepared for k-bit training (QLoRA).

    Raises:
        TypeError: ``lm`` is not a ``torch.nn.Module``, or ``cfg`` not a :class:`VLMConfig`.
    """
    from peft import get_peft_model, prepare_model_for_kbit_training

    validate.instance(lm, "lm", torch.nn.Module, "a causal LM (torch.nn.Module)")
    validate.instance(cfg, "cfg", VLMConfig)

    if cfg.load_in_4bit:
        lm = prepare_model_for_kbit_training(lm)
    with warnings.catch_warnings():  # peft calls an API that transformers 5 renamed; harmless
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(lm, lora_config(cfg))


def trainable_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts.

    Raises:
        TypeError: ``model`` is not a ``torch.nn.Module``.
    """
    validate.instance(model, "model", torch.nn.Module)
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total


def label_loss(lm, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The LM's mean next-token cross-entropy over the labelled positions, with its vocabulary head only there.

    The same loss as ``lm(inputs_embeds=..., attention_mask=..., labels=labels).loss``
    (the logit at position ``t`` predicts ``labels[:, t + 1]``; -100 takes no
    loss), but the output layer runs on the labelled positions alone, not on
    every image, prompt and padding position: stage 2 labels about one token in
    ten, and phi-2's output layer has 51,200 rows.

    Args:
        lm: a ``transformers`` causal LM (``PhiForCausalLM``), or a peft model wrapping one.
        inputs_embeds: ``Tensor[B, L, d_lm]``; attention_mask, labels: ``Tensor[B, L]``.

    Raises:
        TypeError: an input is not a tensor.
        ValueError: ``inputs_embeds`` is not Tensor[B, L, D] of floats, ``labels`` not integer, the shapes do not
            match, or no position is labelled.
    """
    validate.tensor(inputs_embeds, "inputs_embeds", ndim=3, dtype="float")
    validate.tensor(attention_mask, "attention_mask", ndim=2)
    validate.tensor(labels, "labels", ndim=2, dtype="int", hint="(token ids, -100 where no loss applies)")
    if labels.shape != attention_mask.shape or inputs_embeds.shape[:2] != labels.shape:
        raise ValueError(f"expected inputs_embeds [B, L, D] and labels, attention_mask [B, L], got "
                         f"{tuple(inputs_embeds.shape)}, {tuple(labels.shape)}, {tuple(attention_mask.shape)}")
    target = labels[:, 1:]
    keep = target != -100
    if not keep.any():
        raise ValueError("no labelled position: every label is -100")
    base = lm.get_base_model() if hasattr(lm, "get_base_model") else lm  # peft: LoRA sits inside its layers
    hidden = base.get_decoder()(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
    logits = base.get_output_embeddings()(hidden[:, :-1][keep])  # (M, V): only where a label follows
    return torch.nn.functional.cross_entropy(logits.float(), target[keep])
