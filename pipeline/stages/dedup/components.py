"""Connected components over candidate edges (in-memory union-find) and the survivor rule per cluster.

cluster_id = the smallest doc_id in the component; survivor = highest quality_score, then smallest doc_id
(same rule as exact dedup). Every other member gets duplicate_of = survivor.
"""
from __future__ import annotations

from typing import Iterable

from pipeline.stages.dedup.exact import better


class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        p = self.parent.setdefault(x, x)
        root = x
        while p != root:
            root, p = p, self.parent.setdefault(p, p)
        while self.parent[x] != root:               # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:                                   # the smaller id becomes the root: root == min of component
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def clusters(edges: Iterable[tuple[str, str]], scores: dict[str, float]) -> dict[str, tuple[str, int, str | None]]:
    """doc_id -> (cluster_id, cluster_size, duplicate_of or None) for every doc in a non-singleton component."""
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    members: dict[str, list[str]] = {}
    for x in list(uf.parent):
        members.setdefault(uf.find(x), []).append(x)
    out = {}
    for root, ids in members.items():
        best = None
        for d in ids:
            best = better(best, (scores.get(d, 0.0), d))
        survivor = best[1]
        for d in ids:
            out[d] = (root, len(ids), None if d == survivor else survivor)
    return out
