"""Checkpoints: model, optimizer, step, sampler state, every RNG state and the config, written atomically
(temp file + rename) with the last N kept. Resuming takes the newest checkpoint that loads (a truncated or
corrupt newest file, e.g. from a full disk, falls back to the one before); leftover *.pt.tmp are ignored."""
from __future__ import annotations

import os
import random
import re

import numpy as np
import torch

PATTERN = "ckpt-{:08d}.pt"
NAME_RE = re.compile(r"ckpt-(\d+)\.pt")
# what a payload written by train() holds; a file that loads without them is not a usable checkpoint
REQUIRED_KEYS = ("model", "optimizer", "step", "sampler", "rng", "model_args", "tokenizer_sha256")


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(ckpt_dir: str, step: int, payload: dict, keep_last: int) -> str:
    """Write ckpt-<step>.pt atomically, then delete all but the newest `keep_last`."""
    os.makedirs(ckpt_dir, exist_ok=True)
    path = os.path.join(ckpt_dir, PATTERN.format(step))
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)
    for old in candidates(ckpt_dir)[max(keep_last, 1):]:     # never the one just written
        os.remove(old)
    return path


def candidates(ckpt_dir: str) -> list[str]:
    """The ckpt-<step>.pt files in ckpt_dir, newest (highest step) first; *.pt.tmp and other names ignored."""
    try:
        names = os.listdir(ckpt_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [(int(m.group(1)), n) for n in names if (m := NAME_RE.fullmatch(n))]
    return [os.path.join(ckpt_dir, n) for _, n in sorted(found, reverse=True)]


def latest(ckpt_dir: str) -> str | None:
    found = candidates(ckpt_dir)
    return found[0] if found else None


def load(path: str) -> dict:
    # weights_only=False: the payload holds RNG states and plain config dicts written by save() above
    return torch.load(path, map_location="cpu", weights_only=False)


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())                       # one line, whatever the loader's message
    if len(text) > 80 and ". " in text:                    # torch's zip errors go on for sentences
        text = text[:text.index(". ")]
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def load_newest(ckpt_dir: str) -> tuple[str | None, dict | None, list[tuple[str, str]]]:
    """(path, payload, skipped) of the newest checkpoint in ckpt_dir that loads and holds REQUIRED_KEYS;
    skipped lists (path, one-line reason) of the newer ones that did not. (None, None, skipped) when none
    loads (skipped is empty when there is no checkpoint at all)."""
    skipped = []
    for path in candidates(ckpt_dir):
        try:
            ckpt = load(path)
        except Exception as e:                             # truncated zip, bad pickle, I/O error, ...
            skipped.append((path, _reason(e)))
            continue
        missing = [k for k in REQUIRED_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
        if missing:
            skipped.append((path, f"not a Winnow checkpoint: no {', '.join(missing)}"))
            continue
        return path, ckpt, skipped
    return None, None, skipped
