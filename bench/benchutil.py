"""Helpers shared by the per-stage benchmark scripts (they run as `python bench/NAME.py`, so this folder is
on sys.path)."""
from __future__ import annotations

import gzip
import json
import time


def read_texts(path) -> list[str]:
    """The `text` field of every record of a gzipped JSON Lines file."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def best_seconds(fn, texts: list[str], repeat: int, before_each=None) -> float:
    """Best of `repeat` passes of fn over every text, in seconds (before_each() runs before every call)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            if before_each is not None:
                before_each()
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best
