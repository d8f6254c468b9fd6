"""Checkpoints: model, optimizer, step, sampler state, every RNG state and the config, written atomically
(temp file + rename) with the last N kept."""
from __future__ import annotations

import glob
import os
import random

import numpy as np
import torch

PATTERN = "ckpt-{:08d}.pt"


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
    for old in sorted(glob.glob(os.path.join(ckpt_dir, "ckpt-*.pt")))[:-keep_last]:
        os.remove(old)
    return path


def latest(ckpt_dir: str) -> str | None:
    found = sorted(glob.glob(os.path.join(ckpt_dir, "ckpt-*.pt")))
    return found[-1] if found else None


def load(path: str) -> dict:
    # weights_only=False: the payload holds RNG states and plain config dicts written by save() above
    return torch.load(path, map_location="cpu", weights_only=False)
