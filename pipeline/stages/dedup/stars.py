"""Large-star / small-star connected components (Kiveris et al. 2014, "Connected Components in MapReduce and
Beyond", Algorithms 1 and 2), as pure per-node functions; the Beam layer groups edges by node and iterates.

Edges are undirected pairs of doc ids. Alternating the two operations turns every component into a star
centred on its smallest id, in O(log^2 n) rounds; then label(u) = min(neighbours(u) ∪ {u}) is the component's
smallest id, the same cluster_id the in-memory union-find gives. `neighbours` must be re-iterable: it is read
twice and never copied, so a hub node with millions of edges is never held as a list.
"""
from __future__ import annotations

from itertools import chain
from typing import Iterable, Iterator


def large_star(u: str, neighbours: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Alg. 1: link every strictly larger neighbour v of u to m = min(Γ(u) ∪ {u})."""
    m = min(chain((u,), neighbours))
    for v in neighbours:
        if v > u:
            yield (m, v)


def small_star(u: str, neighbours: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Alg. 2: link u and every smaller neighbour v of u to m = min({v ∈ Γ(u): v <= u} ∪ {u})."""
    m = min(chain((u,), (v for v in neighbours if v <= u)))
    if m != u:
        yield (m, u)
    for v in neighbours:
        if v < u and v != m:
            yield (m, v)


def label(u: str, neighbours: Iterable[str]) -> str:
    return min(chain((u,), neighbours))


def normalize(edge: tuple[str, str]) -> tuple[str, str]:
    a, b = edge
    return (a, b) if a <= b else (b, a)


def both_directions(edge: tuple[str, str]) -> Iterator[tuple[str, str]]:
    a, b = edge
    yield a, b
    yield b, a
