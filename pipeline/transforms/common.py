"""Shared pieces of the Beam layer: output tags and a per-reason counter cache."""
from __future__ import annotations

import contextlib
import threading

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline import progress
from pipeline.stages.document import reject

KEPT = "kept"
REJECTED = "rejected"
DEAD_LETTER = "dead_letter"
STATS = "stats"        # (name, n) totals for the manifest, summed over the run; unlike Beam counters every
                       # runner delivers them (a job that finalizes itself cannot read its counters)
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
        rec = getattr(_recorder, "counts", None)
        if rec is not None:
            rec[name] = rec.get(name, 0) + n


_recorder = threading.local()


@contextlib.contextmanager
def recording():
    """Collect the counter increments this thread makes inside the block (name -> n), so that a resumed run
    can replay those of a cached chunk (transforms/documents.py)."""
    outer = getattr(_recorder, "counts", None)
    counts = _recorder.counts = {}
    try:
        yield counts
    finally:
        _recorder.counts = outer


def rejected(counters: Counters, doc: dict, rejection) -> beam.pvalue.TaggedOutput:
    """The REJECTED output of `doc` for `rejection` (a Rejection), its reason counted."""
    counters.inc(rejection.reason)
    return beam.pvalue.TaggedOutput(REJECTED, reject(doc, rejection))


def dead_letter_row(source: str, position: int, stage: str, error: str, raw: bytes) -> dict:
    raw = raw[:4096]
    return {"source": source, "position": int(position), "stage": stage, "error": error, "raw": raw,
            "raw_preview": raw.decode("utf-8", errors="replace")}
