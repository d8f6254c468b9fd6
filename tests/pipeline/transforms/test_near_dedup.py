"""NearDedup on FnApiRunner: distributed large-star/small-star clustering == the union-find oracle on real
corpora; non-convergence is reported; clusters/ rows; verification by estimated Jaccard."""
import gzip
import json
import os
import random
import tempfile

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipeline.config import NearDedupConfig
from pipeline.stages.normalize import text_hash
from pipeline.transforms.common import REJECTED
from pipeline.transforms.near_dedup import CLUSTERS, UNCONVERGED, NearDedup


def doc(doc_id, text, score=0.5):
    return {"doc_id": doc_id, "text": text, "text_hash": text_hash(text), "quality_score": score,
            "drop_reasons": [], "drop_values": [], "cluster_id": None, "cluster_size": None, "duplicate_of": None}


def _dump(rows, path):
    with open(path, "w") as f:
        json.dump(rows, f)


def _run(docs, **cfg):
    """All outputs of NearDedup as plain Python lists (collected through files from a real runner)."""
    d = tempfile.mkdtemp()
    names = ("kept", REJECTED, CLUSTERS, UNCONVERGED)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create(docs) | NearDedup(NearDedupConfig(**cfg))
        for name in names:
            _ = (r[name] | f"List{name}" >> beam.combiners.ToList()
                 | f"Dump{name}" >> beam.Map(_dump, os.path.join(d, name + ".json")))
    return {n: json.load(open(os.path.join(d, n + ".json"))) for n in names}


def _marks(res):
    rows = res["kept"] + res[REJECTED]
    return sorted((d["doc_id"], d["cluster_id"], d["cluster_size"], d["duplicate_of"], d["drop_reasons"])
                  for d in rows)


def _revisions(shared):
    path = shared("neardup_doc_revisions", "documents.jsonl.gz")
    rows = [json.loads(l) for l in gzip.open(path, "rt", encoding="utf-8")]
    return [doc(f"{r['cluster']}/{r['id']}", r["text"], round(random.Random(r["id"]).random(), 3)) for r in rows]


def test_distributed_equals_union_find_on_real_revisions(shared):
    docs = _revisions(shared)
    local = _run(docs, clustering="local")
    dist = _run(docs, clustering="distributed")
    assert dist[UNCONVERGED] == [0]
    assert _marks(dist) == _marks(local)
    assert sum(1 for d in local[REJECTED]) > 100                 # the corpus really has duplicates
    assert sorted(map(json.dumps, dist[CLUSTERS])) == sorted(map(json.dumps, local[CLUSTERS]))


def test_distributed_equals_union_find_on_the_bundled_sample():
    from pipeline.cli import sample_inputs
    path = [p for p in sample_inputs() if p.endswith(".jsonl.gz")][0]
    docs = [doc(f"s{i:04d}", json.loads(l)["text"]) for i, l in enumerate(gzip.open(path, "rt", encoding="utf-8"))]
    local, dist = _run(docs, clustering="local"), _run(docs, clustering="distributed")
    assert _marks(dist) == _marks(local) and dist[UNCONVERGED] == [0]


def _chain(n):
    """Docs d00 - d01 - ... where each shares most of its words with the next: a long path graph."""
    rng = random.Random(5)
    words = [f"w{rng.randrange(10 ** 6)}" for _ in range(400)]
    out = []
    for i in range(n):
        words = words[8:] + [f"x{i}_{k}" for k in range(8)]        # slide: neighbours overlap ~96%
        out.append(doc(f"d{(n - i) * 7919 % 1009:04d}", " ".join(words)))  # ids not in chain order
    return out


def test_non_convergence_is_reported_then_fixed_by_more_rounds():
    docs = _chain(40)
    one = _run(docs, clustering="distributed", max_rounds=1)
    assert one[UNCONVERGED][0] > 0
    enough = _run(docs, clustering="distributed", max_rounds=8)
    assert enough[UNCONVERGED] == [0]
    assert _marks(enough) == _marks(_run(docs, clustering="local"))


def test_cluster_rows_and_verification():
    base = " ".join(f"word{i}" for i in range(300))
    near = base.replace("word150", "changed150")
    docs = [doc("a", base, 0.9), doc("b", near, 0.5), doc("c", "entirely different text " * 30)]
    res = _run(docs)
    assert res[CLUSTERS] == [{"cluster_id": "a", "size": 2, "survivor": "a", "members": ["a", "b"],
                              "members_truncated": False}]
    strict = _run(docs, verify=True, threshold=0.999)                # verification drops the a-b edge
    assert strict[CLUSTERS] == [] and len(strict["kept"]) == 3
