"""Held-out evaluation: the mean next-token cross-entropy of a checkpoint on a list of texts.

Texts are encoded with the run's tokenizer, each followed by EOS (as the shards pack them), concatenated and
cut into blocks of block_size + 1 tokens (the shards' x/y shift); the shorter last block counts too. The loss
is the mean over every predicted token, in fp32, without grad: deterministic for a given checkpoint.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import os

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from schemas.shards import eos_id
from trainer import checkpoint
from trainer.model import GPT, GPTConfig

# ~1 s per 10k tokens for the tiny model on one CPU core; the bundled held-out set is ~70k tokens
DEFAULT_MAX_TOKENS = 262_144
TEXT_SUFFIXES = (".jsonl", ".jsonl.gz", ".txt", ".txt.gz")


def load_texts(path: str) -> list[str]:
    """Texts of a held-out file or folder: JSON Lines (`text` field, .jsonl[.gz]) or plain text (.txt[.gz],
    one text per file). A folder: its files with those suffixes, sorted by name. Empty texts are skipped."""
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith(TEXT_SUFFIXES))
        if not names:
            raise ValueError(f"held-out folder {path} has no {'/'.join(TEXT_SUFFIXES)} file")
        return [t for n in names for t in load_texts(os.path.join(path, n))]
    if not path.endswith(TEXT_SUFFIXES):
        raise ValueError(f"held-out file {path}: expected one of {', '.join(TEXT_SUFFIXES)}")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        if path.endswith((".txt", ".txt.gz")):
            texts = [fh.read()]
        else:
            texts = []
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    texts.append(json.loads(line)["text"])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise ValueError(f"{path}:{i}: not a JSON object with a `text` field ({e})") from None
    return [t for t in texts if isinstance(t, str) and t.strip()]


def _resolve_checkpoint(path: str) -> str:
    """A checkpoint file, or a training run directory (its latest checkpoint)."""
    if os.path.isfile(path):
        return path
    for d in (os.path.join(path, "checkpoints"), path):
        found = checkpoint.latest(d)
        if found:
            return found
    raise FileNotFoundError(f"no checkpoint at {path} (nor in {path}/checkpoints)")


def token_stream(texts: list[str], tokenizer_json: str, max_tokens: int | None) -> list[int]:
    """Every text's ids (without special tokens) followed by EOS, concatenated, as the shards pack them; cut
    to max_tokens (the first ones: deterministic)."""
    tok = Tokenizer.from_str(tokenizer_json)
    eos = eos_id(tok)
    ids: list[int] = []
    for enc in tok.encode_batch(list(texts), add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eos)
        if max_tokens and len(ids) >= max_tokens:
            break
    return ids[:max_tokens] if max_tokens else ids


@torch.no_grad()
def heldout_loss(ckpt_path_or_run_dir: str, texts: list[str], tokenizer_json: str, device: str = "cpu",
                 max_tokens: int | None = DEFAULT_MAX_TOKENS, batch_size: int = 16) -> dict:
    """Mean cross-entropy (nats/token) of the checkpoint on texts: {loss, ppl, tokens, checkpoint, step}.

    tokenizer_json: the tokenizer.json text, or a path to it (it must be the one the model was trained with).
    tokens: the number of predicted tokens the mean is over."""
    if not tokenizer_json.lstrip().startswith("{"):
        with open(tokenizer_json, encoding="utf-8") as fh:
            tokenizer_json = fh.read()
    path = _resolve_checkpoint(ckpt_path_or_run_dir)
    ckpt = checkpoint.load(path)
    sha = ckpt.get("tokenizer_sha256")
    if sha and sha != hashlib.sha256(tokenizer_json.encode("utf-8")).hexdigest():
        raise ValueError(f"checkpoint {path} was trained with another tokenizer (sha256 {sha})")
    cfg = GPTConfig(**ckpt["model_args"])
    model = GPT(cfg)
    model.load_state_dict(ckpt["model"])
    model.to(device).eval()

    ids = token_stream(texts, tokenizer_json, max_tokens)
    assert max(ids, default=0) < cfg.vocab_size, "tokenizer ids exceed the model's vocabulary"
    n = cfg.block_size + 1
    blocks = [ids[i:i + n] for i in range(0, len(ids), n)]
    blocks = [b for b in blocks if len(b) >= 2]          # a lone last token predicts nothing
    total, count = 0.0, 0
    full = [b for b in blocks if len(b) == n]
    batches = [full[i:i + batch_size] for i in range(0, len(full), batch_size)]
    batches += [[b] for b in blocks if len(b) < n]       # the shorter last block on its own
    for batch in batches:
        t = torch.tensor(batch, dtype=torch.long, device=device)      # (B, T + 1)
        logits, _ = model(t[:, :-1])                                  # (B, T, V)
        total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), t[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += t[:, 1:].numel()
    if count == 0:
        raise ValueError("held-out texts give no tokens to predict")
    loss = total / count
    return {"loss": loss, "ppl": math.exp(loss), "tokens": count, "checkpoint": path, "step": ckpt.get("step")}
