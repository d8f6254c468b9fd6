"""ExactDedup: CombinePerKey keeps (count, best) per text hash, so a hot key never becomes a list; docs are
then joined to their group's survivor (stages/dedup/exact.py holds the survivor rule). NearDedup is in
near_dedup.py."""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages.dedup import exact
from pipeline.stages.document import reject
from pipeline.stages.types import Rejection
from pipeline.transforms.common import REJECTED, Counters


class BestCombineFn(beam.CombineFn):
    def create_accumulator(self):
        return exact.create()

    def add_input(self, acc, cand):
        return exact.add(acc, cand)

    def merge_accumulators(self, accs):
        return exact.merge(accs)

    def extract_output(self, acc):
        return acc


class MarkExactFn(beam.DoFn):
    def __init__(self):
        self.counters = Counters()

    def process(self, element):
        _, grouped = element
        (count, (_, survivor)), = grouped["best"]
        for doc in grouped["docs"]:
            doc = dict(doc, cluster_id=survivor, cluster_size=count)
            if doc["doc_id"] == survivor:
                self.counters.inc("exact_dedup.out")
                yield doc
            else:
                self.counters.inc("dedup.exact_duplicate")
                yield beam.pvalue.TaggedOutput(REJECTED, reject(dict(doc, duplicate_of=survivor),
                                                                 Rejection("dedup.exact_duplicate", count)))


def _key_by(field):
    return lambda d: (d[field], d)


class ExactDedup(beam.PTransform):
    def expand(self, docs):
        best = (docs
                | "Candidate" >> beam.Map(lambda d: (d["text_hash"], (d["quality_score"] or 0.0, d["doc_id"])))
                | "BestPerHash" >> beam.CombinePerKey(BestCombineFn()))
        keyed = docs | "KeyByHash" >> beam.Map(_key_by("text_hash"))
        return ({"docs": keyed, "best": best}
                | "Join" >> beam.CoGroupByKey()
                | "Mark" >> beam.ParDo(MarkExactFn()).with_outputs(REJECTED, main="kept"))


class _ResolveFn(beam.DoFn):
    def process(self, element):
        survivor, grouped = element
        final = next(iter(grouped["final"]), None)
        for doc in grouped["copies"]:
            if final is not None:
                cluster_id, size, dup_of = final
                doc = dict(doc, cluster_id=cluster_id, cluster_size=size, duplicate_of=dup_of or survivor)
            yield doc


def _final_info(d):
    return d["doc_id"], (d["cluster_id"], d["cluster_size"], d["duplicate_of"])


class ResolveExactCopies(beam.PTransform):
    """After near dedup: exact copies take their survivor's final cluster, and point at the doc that finally
    survived (the exact survivor, or the near survivor it was merged into)."""

    def expand(self, pcolls):
        copies, near_kept, near_rejected = pcolls
        final = ((near_kept, near_rejected) | "Final" >> beam.Flatten()
                 | "FinalInfo" >> beam.Map(_final_info))
        return ({"copies": copies | "BySurvivor" >> beam.Map(lambda d: (d["duplicate_of"], d)), "final": final}
                | "Join" >> beam.CoGroupByKey()
                | "Resolve" >> beam.ParDo(_ResolveFn()))
