"""Tokenization with HF `tokenizers`: train a byte-level BPE on a bounded sample, or load a tokenizer.json.

Pure functions; the Beam layer (transforms/tokenize.py) decides which docs form the training sample
(the `train_sample_docs` kept docs with the smallest hash of doc_id: deterministic, source-independent).
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

from schemas.shards import EOS_CANDIDATES, eos_id  # noqa: F401  (the shards' end-of-document token)

EOS_TOKEN = EOS_CANDIDATES[0]                     # GPT-2's document separator, given to a trained BPE


def train_bpe(texts: Iterable[str], vocab_size: int) -> str:
    """Train a GPT-2-style byte-level BPE (no normalizer, no prefix space); returns tokenizer.json text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS_TOKEN], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok.to_str()


def load(tokenizer_json: str):
    from tokenizers import Tokenizer
    return Tokenizer.from_str(tokenizer_json)


def encode_batch(tok, texts: Sequence[str]) -> list[list[int]]:
    """Token ids per text, without special tokens (EOS is added when packing)."""
    return [e.ids for e in tok.encode_batch(list(texts), add_special_tokens=False)]


def sha256_text(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()
