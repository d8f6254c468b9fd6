"""ExactDedup / NearDedup on a real Beam runner (FnApiRunner, no network) with assert_that."""
import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import NearDedupConfig
from pipeline.stages.normalize import text_hash
from pipeline.transforms.common import REJECTED
from pipeline.transforms.dedup import ExactDedup
from pipeline.transforms.near_dedup import NearDedup

BASE = ("The committee met on Tuesday to review the annual budget and agreed to fund three new libraries, "
        "two parks and a community swimming pool in the northern district before the end of next year. ")


def doc(doc_id, text, score=0.5):
    return {"doc_id": doc_id, "text": text, "text_hash": text_hash(text), "quality_score": score,
            "drop_reasons": [], "drop_values": [], "cluster_id": None, "cluster_size": None, "duplicate_of": None}


def summary(d):
    return (d["doc_id"], tuple(d["drop_reasons"]), d["cluster_id"], d["cluster_size"], d["duplicate_of"])


def test_exact_dedup_keeps_best_then_smallest_id():
    docs = [doc("d3", BASE, 0.9), doc("d1", BASE, 0.9), doc("d2", BASE, 0.1), doc("e1", BASE + "x")]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create(docs) | ExactDedup()
        assert_that(r.kept | "K" >> beam.Map(summary),
                    equal_to([("d1", (), "d1", 3, None), ("e1", (), "e1", 1, None)]), label="kept")
        assert_that(r[REJECTED] | "R" >> beam.Map(summary),
                    equal_to([("d2", ("dedup.exact_duplicate",), "d1", 3, "d1"),
                              ("d3", ("dedup.exact_duplicate",), "d1", 3, "d1")]), label="rejected")


def test_near_dedup_clusters_revisions_and_keeps_distinct_docs():
    words = BASE.split()
    near = " ".join(words[:-1] + ["soon."])                # one word changed at the end: Jaccard ~0.9
    other = ("A completely different page about mountain hiking trails, weather warnings, and the safest "
             "routes to the summit during the winter season for beginners and experienced climbers alike.")
    docs = [doc("a", BASE * 3, 0.2), doc("b", near + " " + BASE * 2, 0.8), doc("c", other, 0.9)]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create(docs) | NearDedup(NearDedupConfig())
        assert_that(r["kept"] | "K" >> beam.Map(summary),
                    equal_to([("b", (), "a", 2, None), ("c", (), "c", 1, None)]), label="kept")
        assert_that(r[REJECTED] | "R" >> beam.Map(summary),
                    equal_to([("a", ("dedup.near_duplicate",), "a", 2, "b")]), label="rejected")
