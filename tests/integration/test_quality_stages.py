"""End to end on the bundled sample corpus: URL block lists, cross-document line dedup, the web profile, the
quality classifier's top-fraction cut and decontamination, each with its drop reasons in the rejects, the
manifest, the funnel, the bias ledger and the data card; the same output on the direct and Dask runners."""
import gzip
import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.config import load_config
from pipeline.driver.funnel import funnel
from pipeline.driver.run import run_pipeline

from helpers import read_rows

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "pipeline", "resources", "sample", "sample.jsonl.gz")


def _records():
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stages")
    ut1 = tmp / "ut1" / "adult"
    ut1.mkdir(parents=True)
    (ut1 / "domains").write_text("# test list\nsite-1.example\n")
    # eval items: a long paragraph of two different speeches (verbatim in the corpus)
    speeches = [r for r in _records() if "presidency.ucsb.edu" in (r.get("url") or "")]
    items = []
    for r in speeches[5:40]:
        paras = [p for p in r["text"].split("\n") if len(p.split()) > 40]
        if paras:
            items.append({"question": paras[len(paras) // 2], "id": r.get("id")})
        if len(items) == 2:
            break
    evals = tmp / "eval.jsonl"
    evals.write_text("".join(json.dumps(i) + "\n" for i in items))
    over = {"url_filter": {"enabled": True, "block": [str(ut1)]},
            "quality": {"profile": "web", "classifier": {"keep_top_fraction": 0.8}},
            "decon": {"enabled": True, "sets": [str(evals)]},
            "dedup": {"line": {"max_docs": 3}}}
    return tmp, load_config(overrides=over), items


@pytest.fixture(scope="module")
def direct_run(setup):
    tmp, cfg, items = setup
    out = str(tmp / "direct")
    return out, run_pipeline([SAMPLE], out, cfg), items


def test_every_stage_drops_with_its_reason_and_accounts(direct_run):
    out, m, items = direct_run
    m.check_invariant()
    rej = m.rejected
    assert rej["url.blocked.adult"] >= 20                       # site-1.example pages
    assert rej["decon.contaminated"] >= len(items)
    assert rej["quality_classifier.below_top_fraction"] > 0
    rows = read_rows(out, "rejects", ["url", "drop_reasons", "quality_classifier_score"])
    assert all("site-1.example" in r["url"] for r in rows if r["drop_reasons"][0] == "url.blocked.adult")
    kept = read_rows(out, "docs", ["url", "text", "quality_classifier_score", "quality_bucket", "quality_signals"])
    assert not any("site-1.example" in (r["url"] or "") for r in kept)
    assert all(r["quality_classifier_score"] is not None and 0 <= r["quality_bucket"] < 10 for r in kept)
    cut = [r["quality_classifier_score"] for r in rows if r["drop_reasons"][0].endswith("below_top_fraction")]
    assert max(cut) <= min(r["quality_classifier_score"] for r in kept)      # the cut keeps the best scores
    for item in items:                                         # no eval passage left in the kept text
        assert not any(item["question"][:200] in r["text"] for r in kept)
    # line dedup: lines counted in the manifest and in the cleaned docs' signals
    ld = m.line_dedup
    assert ld["docs_cleaned"] > 0 and ld["removed_lines"] > 0
    assert sum(1 for r in kept if "dedup.line.removed_lines" in dict(r["quality_signals"] or [])) > 0
    assert m.decon["contaminated_docs"] == rej["decon.contaminated"]
    assert m.quality_classifier["scored"] > 0 and len(m.quality_classifier["bucket_counts"]) == 10


def test_funnel_ledger_and_card_show_the_new_stages(direct_run):
    out, m, _ = direct_run
    names = [n for n, _ in funnel(m)]
    for stage in ("after url filter", "after quality classifier", "after decon"):
        assert stage in names
    ledger = pq.read_table(os.path.join(out, "bias", "ledger.parquet")).to_pylist()
    filters = {r["filter"] for r in ledger}
    assert {"url", "boilerplate", "quality_classifier", "decon"} <= filters
    removed = {r["filter"]: r["removed"] for r in ledger if r["kind"] == "all"}
    assert removed["url"] == m.rejected["url.blocked.adult"]
    html = open(os.path.join(out, "report", "index.html"), encoding="utf-8").read()
    for text in ("Cross-document line dedup", "Quality classifier", "Benchmark decontamination", "url.blocked.adult"):
        assert text in html


def test_dask_runner_gives_the_same_docs(direct_run, setup):
    tmp, cfg, _ = setup
    out, m, _ = direct_run
    out2 = str(tmp / "dask")
    m2 = run_pipeline([SAMPLE], out2, cfg, runner="dask", workers=2)
    assert m2.rejected == m.rejected and m2.kept == m.kept
    cols = ["doc_id", "text", "quality_classifier_score", "quality_bucket", "quality_score"]
    key = lambda r: r["doc_id"]  # noqa: E731
    assert sorted(read_rows(out, "docs", cols), key=key) == sorted(read_rows(out2, "docs", cols), key=key)
