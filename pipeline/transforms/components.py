"""ConnectedComponents: distributed large-star / small-star rounds over candidate edges (stages/dedup/stars.py).

No step holds all edges or all documents: each round groups edges by node and walks each neighbour list
lazily. The graph is unrolled for `max_rounds` rounds (a Beam graph is static); afterwards a check counts
edges whose two ends got different labels. Zero means converged: every label is its component's smallest id.
Otherwise the count is reported (counter `near_dedup.cc_unconverged_edges` and the manifest), never hidden.
"""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages.dedup import stars
from pipeline.transforms.common import Counters


class _StarFn(beam.DoFn):
    def __init__(self, op: str):
        self.op = stars.large_star if op == "large" else stars.small_star

    def process(self, element):
        u, neighbours = element
        for a, b in self.op(u, neighbours):
            if a != b:
                yield (a, b)


class _CountFn(beam.DoFn):
    def __init__(self, name):
        self.name, self.counters = name, Counters()

    def process(self, edge):
        self.counters.inc(self.name)
        yield edge


def _star(edges, label, op):
    return (edges
            | f"{label}Both" >> beam.FlatMap(stars.both_directions)
            | f"{label}Group" >> beam.GroupByKey()
            | f"{label}Star" >> beam.ParDo(_StarFn(op))
            | f"{label}Distinct" >> beam.Distinct())


class _LabelFn(beam.DoFn):
    def process(self, element):
        u, neighbours = element
        yield u, stars.label(u, neighbours)


class _CarryLabelFn(beam.DoFn):
    """Keyed by a: pass a's label on to every b of an edge (a, b)."""

    def process(self, element):
        _, grouped = element
        lab = next(iter(grouped["label"]))
        for b in grouped["edge_to"]:
            yield b, lab


class _CheckFn(beam.DoFn):
    def __init__(self):
        self.counters = Counters()

    def process(self, element):
        _, grouped = element
        lab = next(iter(grouped["label"]))
        bad = sum(1 for other in grouped["from_edge"] if other != lab)
        if bad:
            self.counters.inc("near_dedup.cc_unconverged_edges", bad)
        yield bad


class ConnectedComponents(beam.PTransform):
    """edges (doc_id, doc_id) -> (labels: (doc_id, component min) for every node on an edge,
    unconverged: a one-element PCollection with the number of edges whose ends disagree)."""

    def __init__(self, max_rounds: int):
        super().__init__()
        self.max_rounds = max_rounds

    def expand(self, edges):
        e = (edges
             | "Normalize" >> beam.Map(stars.normalize)
             | "NoLoops" >> beam.Filter(lambda ab: ab[0] != ab[1])
             | "Distinct" >> beam.Distinct())
        for i in range(self.max_rounds):
            e = _star(e, f"R{i}Large", "large")
            e = _star(e, f"R{i}Small", "small") | f"R{i}Count" >> beam.ParDo(_CountFn(f"near_dedup.cc_round{i}_edges"))
        labels = (e
                  | "LabelBoth" >> beam.FlatMap(stars.both_directions)
                  | "LabelGroup" >> beam.GroupByKey()
                  | "Label" >> beam.ParDo(_LabelFn()))
        carried = ({"label": labels, "edge_to": e}
                   | "JoinFrom" >> beam.CoGroupByKey()
                   | "Carry" >> beam.ParDo(_CarryLabelFn()))
        unconverged = ({"label": labels, "from_edge": carried}
                       | "JoinTo" >> beam.CoGroupByKey()
                       | "Check" >> beam.ParDo(_CheckFn())
                       | "Unconverged" >> beam.CombineGlobally(sum))
        return labels, unconverged
