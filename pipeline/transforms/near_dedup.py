"""NearDedup: MinHash -> LSH band keys -> buckets (GroupByKey, walked lazily, star edges to the bucket's
smallest doc_id, optionally verified by estimated Jaccard) -> connected components (distributed large-star /
small-star, or the in-memory union-find oracle) -> survivor per cluster -> every doc marked.

Outputs: kept, rejected (dedup.near_duplicate), clusters (one summary row per cluster of 2+ docs) and
unconverged (one number: edges whose ends the unrolled rounds left in different components; 0 = converged).
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np

from pipeline.stages.dedup import components, lsh, minhash
from pipeline.stages.document import reject
from pipeline.stages.types import Rejection
from pipeline.transforms.common import REJECTED, Counters
from pipeline.transforms.components import ConnectedComponents
from pipeline.transforms.dedup import BestCombineFn

CLUSTERS = "clusters"
UNCONVERGED = "unconverged"
AGAINST_INDEX = "against_index"
MAX_LISTED_MEMBERS = 1000           # clusters/ rows list at most this many member ids

# Beam resource hint for the clustering rounds (honoured by Dataflow; other runners ignore it): a hub node's
# adjacency list is grouped on one worker, so ask for a high-memory machine for these steps only.
CLUSTERING_MIN_RAM = "8GB"


class BandKeysFn(beam.DoFn):
    def __init__(self, cfg, bands, rows):
        self.cfg, self.bands, self.rows = cfg, bands, rows

    def setup(self):
        minhash.signature("warm up", self.cfg.num_perm, self.cfg.ngram, self.cfg.seed)   # builds the word table once

    def process(self, doc):
        sig = minhash.signature(doc["text"], self.cfg.num_perm, self.cfg.ngram, self.cfg.seed)
        member = (doc["doc_id"], doc["quality_score"] or 0.0, sig.astype(np.uint64).tobytes() if self.cfg.verify else None)
        for key in lsh.band_keys(sig, self.bands, self.rows):
            yield key, member


class BucketEdgesFn(beam.DoFn):
    """Star edges from every member to the bucket's smallest doc_id: two lazy passes, never a list.

    Buckets over max_bucket_size are skipped whole (deterministic; counted as near_dedup.buckets_over_cap):
    such keys are boilerplate shared by thousands of pages, and true duplicates meet in other bands too.
    With verify, an edge is kept only if the estimated Jaccard of the two signatures reaches the threshold.
    """

    def __init__(self, max_bucket_size, verify_threshold):
        self.max_bucket_size, self.verify_threshold = max_bucket_size, verify_threshold
        self.counters = Counters()

    def process(self, element):
        _, members = element
        first, old, n = None, None, 0
        for m in members:
            n += 1
            if m[1] is None:                                  # a doc of the indexed corpus (dedup.near.against)
                old = m[0] if old is None or m[0] < old else old
            elif first is None or m[0] < first[0]:
                first = m
        if n > self.max_bucket_size:
            self.counters.inc("near_dedup.buckets_over_cap")
            return
        if old is not None:                                   # every new doc here duplicates the old corpus
            for m in members:
                if m[1] is not None:
                    yield beam.pvalue.TaggedOutput(AGAINST_INDEX, (m[0], old))
            return
        if n < 2:
            return
        self.counters.inc("near_dedup.candidate_buckets")
        sig0 = np.frombuffer(first[2], dtype=np.uint64) if self.verify_threshold is not None else None
        for m in members:
            if m[0] == first[0]:
                continue
            if sig0 is not None:
                est = float(np.mean(sig0 == np.frombuffer(m[2], dtype=np.uint64)))    # estimated Jaccard
                if est < self.verify_threshold:
                    self.counters.inc("near_dedup.edges_rejected_by_verification")
                    continue
            self.counters.inc("near_dedup.candidate_edges")
            yield (first[0], first[1]), (m[0], m[1])


class _LocalClusterFn(beam.DoFn):
    """The in-memory union-find (test oracle and small-corpus option): all edges on one worker."""

    def process(self, edges):
        scores, pairs = {}, []
        for (a, sa), (b, sb) in edges:
            scores[a], scores[b] = sa, sb
            pairs.append((a, b))
        for doc_id, info in sorted(components.clusters(pairs, scores).items()):
            yield doc_id, info


class _ScoreByLabelFn(beam.DoFn):
    def process(self, element):
        u, g = element
        for lab in g["label"]:
            for s in g["score"]:
                yield lab, (s, u)
                return


class _InfoFn(beam.DoFn):
    def process(self, element):
        cluster_id, g = element
        (count, (_, survivor)), = g["best"]
        for u in g["member"]:
            yield u, (cluster_id, count, None if u == survivor else survivor)


class _ClusterRowFn(beam.DoFn):
    def process(self, element):
        cluster_id, members = element
        n, survivor, listed = 0, None, []
        for doc_id, dup_of in members:
            n += 1
            if dup_of is None:
                survivor = doc_id
            listed.append(doc_id)
            if len(listed) > 2 * MAX_LISTED_MEMBERS:          # keep the smallest ids, bounded memory
                listed = sorted(listed)[:MAX_LISTED_MEMBERS]
        listed = sorted(listed)[:MAX_LISTED_MEMBERS]
        yield {"cluster_id": cluster_id, "size": n, "survivor": survivor, "members": listed,
               "members_truncated": n > len(listed)}


class MarkNearFn(beam.DoFn):
    def __init__(self):
        self.counters = Counters()

    def process(self, element):
        _, grouped = element
        infos = list(grouped["cluster"])
        old = list(grouped["index"])
        for doc in grouped["docs"]:
            if old:                                 # a near duplicate of the indexed corpus: always dropped
                self.counters.inc("dedup.near_duplicate_of_index")
                yield beam.pvalue.TaggedOutput(REJECTED, reject(
                    dict(doc, cluster_id=old[0], cluster_size=None, duplicate_of=old[0]),
                    Rejection("dedup.near_duplicate_of_index", None)))
                continue
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


def _key_by_id(d):
    return d["doc_id"], d


def _index_member(row):
    return (row["band"], row["key"]), (row["doc_id"], None, None)


def _ids(edge):
    return edge[0][0], edge[1][0]


def _endpoints(edge):
    yield edge[0]
    yield edge[1]


class NearDedup(beam.PTransform):
    """docs -> {kept, rejected, clusters, unconverged} (a dict of PCollections)."""

    def __init__(self, cfg, index_rows=None):
        """index_rows: optional PCollection of index band rows ({band, key, doc_id}) of an older corpus."""
        super().__init__()
        self.cfg, self.index_rows = cfg, index_rows
        self.bands, self.rows = lsh.bands_rows(cfg)

    def expand(self, docs):
        cfg = self.cfg
        members = docs | "BandKeys" >> beam.ParDo(BandKeysFn(cfg, self.bands, self.rows))
        if self.index_rows is not None:
            old = self.index_rows | "IndexMembers" >> beam.Map(_index_member)
            members = (members, old) | "WithIndex" >> beam.Flatten()
        bucketed = (members
                    | "GroupBuckets" >> beam.GroupByKey()
                    | "Edges" >> beam.ParDo(BucketEdgesFn(cfg.max_bucket_size, cfg.threshold if cfg.verify else None))
                    .with_outputs(AGAINST_INDEX, main="edges"))
        edges = bucketed.edges
        index_dups = bucketed[AGAINST_INDEX] | "OldestMatch" >> beam.CombinePerKey(min)
        if cfg.clustering == "local":
            infos = (edges | "GatherEdges" >> beam.combiners.ToList()
                     | "UnionFind" >> beam.ParDo(_LocalClusterFn()))
            unconverged = docs.pipeline | "Converged" >> beam.Create([0])
        else:
            components = ConnectedComponents(cfg.max_rounds).with_resource_hints(min_ram=CLUSTERING_MIN_RAM)
            labels, unconverged = edges | "EdgeIds" >> beam.Map(_ids) | "Components" >> components
            scores = edges | "Endpoints" >> beam.FlatMap(_endpoints) | "DistinctScores" >> beam.Distinct()
            per_cluster = ({"label": labels, "score": scores}
                           | "JoinScores" >> beam.CoGroupByKey()
                           | "ScoreByLabel" >> beam.ParDo(_ScoreByLabelFn())
                           | "BestPerCluster" >> beam.CombinePerKey(BestCombineFn()))
            infos = ({"member": labels | "ByLabel" >> beam.KvSwap(), "best": per_cluster}
                     | "JoinSurvivor" >> beam.CoGroupByKey()
                     | "Survivor" >> beam.ParDo(_InfoFn()))
        clusters = (infos
                    | "ByCluster" >> beam.Map(lambda kv: (kv[1][0], (kv[0], kv[1][2])))
                    | "GroupClusters" >> beam.GroupByKey()
                    | "ClusterRows" >> beam.ParDo(_ClusterRowFn()))
        marked = ({"docs": docs | "KeyById" >> beam.Map(_key_by_id), "cluster": infos, "index": index_dups}
                  | "Join" >> beam.CoGroupByKey()
                  | "Mark" >> beam.ParDo(MarkNearFn()).with_outputs(REJECTED, main="kept"))
        return {"kept": marked.kept, REJECTED: marked[REJECTED], CLUSTERS: clusters, UNCONVERGED: unconverged}
