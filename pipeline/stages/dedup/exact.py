"""Exact dedup: documents with the same normalized-text hash; one survivor per group.

Survivor rule (explicit, deterministic): highest quality_score, then the smallest doc_id. The per-group state
is a constant-size accumulator (count, best) so a hot key never becomes a list (used with CombinePerKey).
"""
from __future__ import annotations

from typing import Iterable, Optional

Candidate = tuple            # (quality_score, doc_id)


def better(a: Optional[Candidate], b: Optional[Candidate]) -> Optional[Candidate]:
    """The survivor of two candidates: higher score wins, ties go to the smaller doc_id."""
    if a is None:
        return b
    if b is None:
        return a
    if a[0] != b[0]:
        return a if a[0] > b[0] else b
    return a if a[1] <= b[1] else b


def create() -> tuple:
    return (0, None)


def add(acc: tuple, cand: Candidate) -> tuple:
    return (acc[0] + 1, better(acc[1], cand))


def merge(accs: Iterable[tuple]) -> tuple:
    n, best = 0, None
    for c, b in accs:
        n, best = n + c, better(best, b)
    return (n, best)
