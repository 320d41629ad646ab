"""A byte-level BPE tokenizer trained offline on the course's own text.

The seed loads phi-2's tokenizer (GPT-2's byte-level BPE, 50,295 tokens). Offline
we train the same kind of tokenizer with Hugging Face ``tokenizers`` on the
shapes world's captions and questions, and wrap it in a
``PreTrainedTokenizerFast`` so that everything downstream (``DataCollatorWithPadding``,
``decode``) is the ``transformers`` API the full recipe uses.
"""

from __future__ import annotations

from typing import Iterable

from .. import validate

END_OF_TEXT = "<|endoftext|>"
"""phi-2's (and GPT-2's) end-of-text token; it also pads, as in the seed."""


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """Train a byte-level BPE of ``vocab_size`` tokens (256 bytes + merges + end-of-text).

    Returns a ``transformers.PreTrainedTokenizerFast`` whose ``eos_token`` and
    ``pad_token`` are both ``<|endoftext|>`` (phi-2's convention: the seed sets
    ``tokenizer.pad_token = tokenizer.eos_token``).

    Raises:
        TypeError: ``texts`` is a lone str (wrap it) or holds something other than str; ``vocab_size`` is not
            an int.
        ValueError: no text, or ``vocab_size`` below 258.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if isinstance(texts, str):
        raise TypeError(f"texts must be an iterable of str, got one str (wrap it: [{texts[:40]!r}...])")
    texts = validate.sequence_of(list(texts), "texts", str)
    validate.number(vocab_size, "vocab_size", integer=True)
    if not texts:
        raise ValueError("no text to train the tokenizer on")
    if vocab_size < 258:
        raise ValueError(f"vocab_size must be at least 258 (256 bytes, end-of-text, one merge), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[END_OF_TEXT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=END_OF_TEXT, bos_token=END_OF_TEXT,
                                   pad_token=END_OF_TEXT, unk_token=None, padding_side="right")


def load_pretrained_tokenizer(name: str):
    """The full recipe's tokenizer (phi-2's), with the pad token set to end-of-text as in the seed.

    Raises:
        TypeError: ``name`` is not a Hub id or path (str).
        OSError: the tokenizer is neither cached nor downloadable (offline).
    """
    from transformers import AutoTokenizer

    validate.instance(name, "name", str, "a Hub id such as 'microsoft/phi-2' (str)")

    tok = AutoTokenizer.from_pretrained(name)
    tok.pad_token = tok.eos_token
    return tok
