"""ExactDedup and NearDedup: thin Beam wiring around stages/dedup (hashing, banding, union-find, survivor rule).

Exact: CombinePerKey keeps (count, best) per text hash, so a hot key never becomes a list; docs are then
joined to their group's survivor. Near: MinHash -> LSH band keys -> GroupByKey per bucket (iterated lazily,
edges to the bucket's smallest doc_id) -> connected components -> survivor per cluster.
(The clustering here gathers the candidate edges on one worker; a later issue distributes it.)
"""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages.dedup import components, exact, lsh, minhash
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


class BandKeysFn(beam.DoFn):
    def __init__(self, cfg, bands, rows):
        self.cfg, self.bands, self.rows = cfg, bands, rows

    def process(self, doc):
        sig = minhash.signature(doc["text"], self.cfg.num_perm, self.cfg.ngram, self.cfg.seed)
        member = (doc["doc_id"], doc["quality_score"] or 0.0)
        for key in lsh.band_keys(sig, self.bands, self.rows):
            yield key, member


class BucketEdgesFn(beam.DoFn):
    """Star edges from every member to the bucket's smallest doc_id; two lazy passes, never a list."""

    def __init__(self, max_bucket_size):
        self.max_bucket_size = max_bucket_size
        self.counters = Counters()

    def process(self, element):
        _, members = element
        first = None
        n = 0
        for m in members:
            n += 1
            if first is None or m[0] < first[0]:
                first = m
        if n < 2:
            return
        self.counters.inc("near_dedup.candidate_buckets")
        if n > self.max_bucket_size:
            self.counters.inc("near_dedup.hot_buckets")
        for m in members:
            if m[0] != first[0]:
                yield (first, m)


class ClusterFn(beam.DoFn):
    def process(self, edges):
        scores = {}
        pairs = []
        for a, b in edges:
            scores[a[0]], scores[b[0]] = a[1], b[1]
            pairs.append((a[0], b[0]))
        for doc_id, info in sorted(components.clusters(pairs, scores).items()):
            yield doc_id, info


class MarkNearFn(beam.DoFn):
    def __init__(self):
        self.counters = Counters()

    def process(self, element):
        doc_id, grouped = element
        infos = list(grouped["cluster"])
        for doc in grouped["docs"]:
            if not infos:
                self.counters.inc("near_dedup.out")
                yield dict(doc, cluster_id=doc["doc_id"] if doc["cluster_id"] is None else doc["cluster_id"],
                           cluster_size=doc["cluster_size"] or 1)
                continue
            cluster_id, size, dup_of = infos[0]
            doc = dict(doc, cluster_id=cluster_id, cluster_size=size, duplicate_of=dup_of)
            if dup_of is None:
                self.counters.inc("near_dedup.out")
                yield doc
            else:
                self.counters.inc("dedup.near_duplicate")
                yield beam.pvalue.TaggedOutput(REJECTED, reject(doc, Rejection("dedup.near_duplicate", size)))


class NearDedup(beam.PTransform):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        if cfg.bands is not None:
            self.bands, self.rows = cfg.bands, cfg.rows
        else:
            self.bands, self.rows = lsh.optimal_params(cfg.threshold, cfg.num_perm)

    def expand(self, docs):
        edges = (docs
                 | "BandKeys" >> beam.ParDo(BandKeysFn(self.cfg, self.bands, self.rows))
                 | "GroupBuckets" >> beam.GroupByKey()
                 | "Edges" >> beam.ParDo(BucketEdgesFn(self.cfg.max_bucket_size)))
        clusters = (edges
                    | "GatherEdges" >> beam.combiners.ToList()
                    | "Components" >> beam.ParDo(ClusterFn()))
        keyed = docs | "KeyById" >> beam.Map(_key_by("doc_id"))
        return ({"docs": keyed, "cluster": clusters}
                | "Join" >> beam.CoGroupByKey()
                | "Mark" >> beam.ParDo(MarkNearFn()).with_outputs(REJECTED, main="kept"))
