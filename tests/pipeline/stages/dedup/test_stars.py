"""Large-star / small-star rounds in plain Python agree with union-find on random graphs."""
import random

from pipeline.stages.dedup import components, stars


def _round(edges, op):
    nbrs = {}
    for a, b in edges:
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    return {stars.normalize(e) for u, ns in nbrs.items() for e in op(u, ns) if e[0] != e[1]}


def _components(edges, rounds=30):
    for _ in range(rounds):
        new = _round(_round(edges, stars.large_star), stars.small_star)
        if new == edges:
            break
        edges = new
    nbrs = {}
    for a, b in edges:
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    return {u: stars.label(u, ns) for u, ns in nbrs.items()}


def test_chain_and_star_and_random_graphs_match_union_find():
    graphs = [[(f"n{i:03d}", f"n{i + 1:03d}") for i in range(60)],                 # a long chain
              [("hub", f"leaf{i}") for i in range(50)],                             # a star
              ]
    rng = random.Random(0)
    for _ in range(20):
        n = rng.randint(5, 80)
        graphs.append([(f"d{rng.randrange(n):02d}", f"d{rng.randrange(n):02d}") for _ in range(rng.randint(1, 2 * n))])
    for g in graphs:
        g = {stars.normalize(e) for e in g if e[0] != e[1]}
        want = {d: info[0] for d, info in components.clusters(g, {}).items()}
        assert _components(g) == want


def test_large_star_reads_neighbours_twice_without_copying():
    class Twice:
        def __init__(self, items):
            self.items, self.passes = items, 0

        def __iter__(self):
            self.passes += 1
            return iter(self.items)

    ns = Twice(["b", "e", "a", "d"])
    assert sorted(stars.large_star("c", ns)) == [("a", "d"), ("a", "e")]
    assert ns.passes == 2
