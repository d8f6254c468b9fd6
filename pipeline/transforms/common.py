"""Shared pieces of the Beam layer: output tags and a per-reason counter cache."""
from __future__ import annotations

from apache_beam.metrics import Metrics

from pipeline import progress

KEPT = "kept"
REJECTED = "rejected"
DEAD_LETTER = "dead_letter"
NAMESPACE = "winnow"


class Counters:
    """Lazily created Beam counters keyed by name (`<stage>.in`, `gopher_quality.too_few_words`, ...); every
    increment also feeds the live progress display (pipeline/progress.py; a no-op unless it is on)."""

    def __init__(self):
        self._c = {}

    def inc(self, name: str, n: int = 1) -> None:
        c = self._c.get(name)
        if c is None:
            c = self._c[name] = Metrics.counter(NAMESPACE, name)
        c.inc(n)
        progress.add(name, n)


def dead_letter_row(source: str, position: int, stage: str, error: str, raw: bytes) -> dict:
    raw = raw[:4096]
    return {"source": source, "position": int(position), "stage": stage, "error": error, "raw": raw,
            "raw_preview": raw.decode("utf-8", errors="replace")}
