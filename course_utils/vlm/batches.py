"""Token batches for the LM: tokenising question/answer pairs and captions, padding, and answer-length buckets.

A feature is ``{"input_ids": [...], "prompt_len": n}``: the tokens, and how many of
them come before the answer (the loss applies from there on, :func:`collate`).
"""

from __future__ import annotations

import random
from typing import Iterator, Sequence

import torch
from torch import Tensor

from .. import validate

PHI2_T4_BUCKETS = ((1, 11, 10), (12, 17, 10), (18, 23, 9), (24, 40, 8), (41, 59, 6), (60, 79, 5),
                (80, 99, 4), (100, 119, 4))
"""The seed's stage-2 buckets: (shortest, longest answer in tokens, batch size) on a 15 GB T4."""

def _check_tokenizer(tokenizer, *, eos: bool = True, pad: str = "") -> None:
    """A ``transformers`` tokenizer (callable on text, with a length), with the special tokens that are needed.

    ``eos``: it must have an end-of-text token. ``pad``: who needs a pad token too (empty: nobody).
    """
    if not callable(tokenizer) or not hasattr(tokenizer, "eos_token_id") or not hasattr(tokenizer, "__len__"):
        raise TypeError(f"tokenizer must be a transformers tokenizer (see tokenizer.train_tokenizer), got "
                        f"{validate.describe(tokenizer)}")
    if pad and (tokenizer.eos_token_id is None or getattr(tokenizer, "pad_token_id", None) is None):
        raise ValueError(f"{pad} needs a tokenizer with an eos_token and a pad_token (train_tokenizer sets both; "
                         "the seed sets tokenizer.pad_token = tokenizer.eos_token)")
    if eos and tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer needs an eos_token (the end-of-text token the answer ends with)")


def _check_feature(f, where: str) -> None:
    """One tokenised feature: ``{"input_ids": list of ints, "prompt_len": 0 <= int <= len(input_ids)}``."""
    if not isinstance(f, dict) or "input_ids" not in f or "prompt_len" not in f:
        raise ValueError(f"{where} must be a dict with 'input_ids' and 'prompt_len' (see qa_features), got "
                         f"{sorted(f) if isinstance(f, dict) else validate.describe(f)}")
    validate.sequence_of(f["input_ids"], f"{where}['input_ids']", int)
    validate.number(f["prompt_len"], f"{where}['prompt_len']", low=0, high=len(f["input_ids"]), integer=True)


def encode_pieces(tokenizer, pieces: Sequence[str]) -> list[int]:
    """Token ids of pieces tokenised one by one, each after a space (as the seed tokenises EOI and EOQ).

    The leading space matters for the first piece too: in the LM's stage-0 text a
    question always follows a space (``"... caption image: what colour is ..."``),
    so a byte-level BPE learns ``" what"`` as one token; ``"what"`` at the start of
    a string would be spelt out as ``w``, ``h``, ``at`` -- tokens the LM has never
    read there, and two extra positions in every stage-2 sequence.

    Raises:
        TypeError: ``tokenizer`` is not a tokenizer, or ``pieces`` not a list of str (a lone str would be
            read letter by letter).
    """
    _check_tokenizer(tokenizer, eos=False)
    validate.sequence_of(pieces, "pieces", str)
    ids: list[int] = []
    for p in pieces:
        ids += tokenizer(" " + p, add_special_tokens=False)["input_ids"]
    return ids


def qa_features(tokenizer, record_qas: Sequence[tuple[str, str]], eoq: str) -> list[dict]:
    """Tokenise (question, answer) pairs for stage 2.

    Each feature holds ``input_ids`` = question + EOQ + answer + end-of-text and
    ``prompt_len`` = the number of tokens before the answer (question + EOQ).

    Raises:
        TypeError: ``tokenizer`` is not a tokenizer, ``eoq`` not a str, or ``record_qas`` not a list of
            ``(question, answer)`` string pairs.
        ValueError: the tokenizer has no end-of-text token, or a question is empty.
    """
    _check_tokenizer(tokenizer)
    validate.instance(eoq, "eoq", str)
    validate.sequence_of(record_qas, "record_qas", (tuple, list))
    bad = next((k for k, qa in enumerate(record_qas) if len(qa) != 2 or not all(isinstance(t, str) for t in qa)), None)
    if bad is not None:
        raise TypeError(f"record_qas must hold (question, answer) pairs of str, got {record_qas[bad]!r} at index {bad}")
    feats = []
    for q, a in record_qas:
        if not q.strip():
            raise ValueError("empty question: expected some text (or use an image-only prompt)")
        prompt = encode_pieces(tokenizer, [q, eoq])
        answer = tokenizer(" " + a.strip(), add_special_tokens=False)["input_ids"]
        feats.append({"input_ids": prompt + answer + [tokenizer.eos_token_id], "prompt_len": len(prompt)})
    return feats


def caption_features(tokenizer, captions: Sequence[str]) -> list[dict]:
    """Tokenise captions for stage 1: ``input_ids`` = caption + end-of-text, ``prompt_len`` = 0.

    Raises:
        TypeError: ``tokenizer`` is not a tokenizer, or ``captions`` not a list of str.
        ValueError: the tokenizer has no end-of-text token.
    """
    _check_tokenizer(tokenizer)
    validate.sequence_of(captions, "captions", str)
    return [{"input_ids": tokenizer(" " + c, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id],
             "prompt_len": 0} for c in captions]


def collate(tokenizer, features: Sequence[dict]) -> dict[str, Tensor]:
    """Pad a batch to its longest member (dynamic padding) and mask what is not answer.

    Uses ``transformers.DataCollatorWithPadding`` (right padding with the pad
    token, ``attention_mask`` 0 on pads) as the seed does, then builds labels:
    the token id where the loss applies (answer or caption tokens and the final
    end-of-text), ``-100`` on the prompt and on padding.

    Returns ``input_ids``, ``attention_mask`` and ``labels``, each ``Tensor[B, T]``.

    Raises:
        TypeError: ``tokenizer`` is not a tokenizer, or ``features`` not a list of dicts.
        ValueError: an empty batch, or a feature without ``input_ids`` and a ``prompt_len`` within them.
    """
    from transformers import DataCollatorWithPadding

    _check_tokenizer(tokenizer, eos=False)
    validate.sequence_of(features, "features", dict)
    if not features:
        raise ValueError("empty batch")
    for k, f in enumerate(features):
        _check_feature(f, f"features[{k}]")
    collator = DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")
    batch = collator([{"input_ids": f["input_ids"]} for f in features])
    ids, mask = batch["input_ids"], batch["attention_mask"]
    pos = torch.arange(ids.shape[1])[None]  # (1, T)
    prompt = torch.tensor([f["prompt_len"] for f in features])[:, None]  # (B, 1)
    labels = torch.where((pos >= prompt) & (mask == 1), ids, torch.full_like(ids, -100))
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def answer_length(feature: dict) -> int:
    """Answer tokens in a feature, end-of-text included.

    Raises:
        ValueError: ``feature`` is not a dict with ``input_ids`` and a ``prompt_len`` within them.
        TypeError: ``input_ids`` is not a list of ints, or ``prompt_len`` not an int.
    """
    _check_feature(feature, "feature")
    return len(feature["input_ids"]) - feature["prompt_len"]


def bucket_batches(features: Sequence[dict], buckets: Sequence[tuple[int, int, int]], *,
                   shuffle: bool = True, seed: int = 0) -> Iterator[list[int]]:
    """Index batches grouped by answer length, each bucket with its own batch size.

    ``buckets`` holds ``(shortest, longest, batch_size)`` in answer tokens, as in
    the seed (:data:`PHI2_T4_BUCKETS`): long answers get smaller batches so that one
    batch fits in memory. Batches of all buckets are interleaved in a random order.
    Everything is checked before the first batch is returned.

    Raises:
        TypeError: ``features`` or ``buckets`` is not a list, or a bucket holds something other than ints.
        ValueError: a bucket is not ``(shortest, longest, batch_size)`` with 1 <= shortest <= longest and
            batch_size >= 1; a feature is malformed or fits no bucket.
    """
    validate.sequence_of(features, "features", dict)
    validate.sequence_of(buckets, "buckets", (tuple, list))
    for lo_hi_bs in buckets:
        validate.sequence_of(lo_hi_bs, "each bucket", int)
        if len(lo_hi_bs) != 3 or not 1 <= lo_hi_bs[0] <= lo_hi_bs[1] or lo_hi_bs[2] < 1:
            raise ValueError(f"each bucket must be (shortest, longest, batch_size) with 1 <= shortest <= longest "
                             f"and batch_size >= 1, got {tuple(lo_hi_bs)}")
    groups: dict[int, list[int]] = {k: [] for k in range(len(buckets))}
    for i, f in enumerate(features):
        _check_feature(f, f"features[{i}]")
        n = len(f["input_ids"]) - f["prompt_len"]  # answer_length, already checked
        k = next((k for k, (lo, hi, _) in enumerate(buckets) if lo <= n <= hi), None)
        if k is None:
            raise ValueError(f"answer of {n} tokens fits no bucket {list(buckets)}")
        groups[k].append(i)
    rng = random.Random(seed)
    batches = []
    for k, idx in groups.items():
        if shuffle:
            rng.shuffle(idx)
        bs = buckets[k][2]
        batches += [idx[s:s + bs] for s in range(0, len(idx), bs)]
    if shuffle:
        rng.shuffle(batches)
    return iter(batches)


__all__ = ["PHI2_T4_BUCKETS", "answer_length", "bucket_batches", "caption_features", "collate", "encode_pieces",
           "qa_features"]
