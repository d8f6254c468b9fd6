"""End to end: `winnow run` on real data (../shared), on the FnApiRunner. Skips without ../shared."""
import gzip
import json
import os

import pyarrow.parquet as pq
import pytest

import schemas
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import RunError
from pipeline.driver.run import run_pipeline
from pipeline.stages import tokenize

from helpers import check_run, decode_docs, read_rows

pytestmark = pytest.mark.integration


def _run(tmp_path, name, inputs, **overrides):
    out = str(tmp_path / name)
    cfg = load_config(overrides=overrides or None)
    manifest = run_pipeline(inputs, out, cfg)
    return out, manifest


def _assert_contract(out, manifest):
    manifest.check_invariant()
    on_disk = json.load(open(os.path.join(out, "manifest.json")))
    assert on_disk == manifest.to_dict()
    assert not os.path.exists(out + ".winnow-tmp")
    if os.path.exists(os.path.dirname(__import__("helpers").CHECK_RUN)):
        rc, log = check_run(out)
        assert rc == 0, log


@pytest.fixture(scope="module")
def web_run(tmp_path_factory, shared):
    shared_path = shared
    pages = shared_path("web_trafilatura_eval", "documents.jsonl.gz")
    speeches = [shared_path("clean_reference_nltk", f) for f in ("inaugural.jsonl.gz", "state_union.jsonl.gz")]
    tmp = tmp_path_factory.mktemp("web")
    return _run(tmp, "out", [pages] + speeches)


def test_web_pages_and_speeches_invariant_and_contract(web_run):
    out, m = web_run
    _assert_contract(out, m)
    pages = sum(1 for _ in gzip.open(os.path.join(os.path.dirname(m.inputs[0]), "documents.jsonl.gz")))
    assert m.input_records == pages + 59 + 65
    assert m.kept > 100 and m.rejected.get("langid.unwanted_language", 0) > 100
    assert any(k.startswith(("gopher", "c4", "fineweb")) for k in m.rejected)
    assert m.tokens.train > 0 and m.tokens.val > 0


def test_clean_speeches_are_mostly_kept(web_run):
    out, m = web_run
    kept = read_rows(out, "docs", ["source"])
    rejected = read_rows(out, "rejects", ["source", "drop_reasons"])
    for corpus in ("inaugural", "state_union"):
        k = sum(corpus in r["source"] for r in kept)
        rej = [r["drop_reasons"][0] for r in rejected if corpus in r["source"]]
        assert k / (k + len(rej)) >= 0.9, (corpus, k, rej)


def test_shards_decode_back_to_kept_text(web_run):
    out, m = web_run
    tok = tokenize.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8").read())
    texts = {r["doc_id"]: r["text"] for r in read_rows(out, "docs", ["doc_id", "text"])}
    decoded = decode_docs(out)
    assert len(decoded) > 0.8 * len(texts)
    for doc_id, ids in decoded.items():
        assert tok.decode(ids) == texts[doc_id]


def test_footer_metadata_and_manifest_hashes(web_run):
    out, m = web_run
    for kind in ("docs", "rejects", "shards/train"):
        for f in os.listdir(os.path.join(out, kind)):
            meta = pq.ParquetFile(os.path.join(out, kind, f)).schema_arrow.metadata
            assert meta[schemas.META_SCHEMA_VERSION].decode() == schemas.SCHEMA_VERSION
            assert meta[schemas.META_CONFIG_HASH].decode() == m.config_hash
            assert meta[schemas.META_TOKENIZER_HASH].decode() == m.tokenizer.sha256
    import hashlib
    for s in m.shards:
        data = open(os.path.join(out, s.path), "rb").read()
        assert hashlib.sha256(data).hexdigest() == s.sha256
        assert pq.ParquetFile(os.path.join(out, s.path)).metadata.num_rows == s.rows
    assert hashlib.sha256(open(os.path.join(out, "tokenizer.json"), "rb").read()).hexdigest() == m.tokenizer.sha256


def test_raw_warc_arc_and_ccnet_files_are_deterministic(tmp_path, shared):
    raw = shared("web_cc_samples", "raw")
    inputs = [os.path.join(raw, "*.warc.gz"), os.path.join(raw, "*.arc.gz"), os.path.join(raw, "ccnet-*.jsonl.gz")]
    # every language, so the small multilingual crawl keeps enough text to shard
    out1, m1 = _run(tmp_path, "a", inputs, langid={"languages": None})
    out2, m2 = _run(tmp_path, "b", inputs, langid={"languages": None})
    _assert_contract(out1, m1)
    assert m1.input_records > 150
    assert [s.sha256 for s in m1.shards] == [s.sha256 for s in m2.shards]
    assert m1.files == m2.files and m1 == m2


def test_malformed_corpus_goes_to_dead_letter(tmp_path):
    from malformed import write_malformed_corpus
    expected = write_malformed_corpus(str(tmp_path / "in"))
    out, m = _run(tmp_path, "out", [str(tmp_path / "in" / "*")])
    _assert_contract(out, m)
    assert m.dead_letter == expected["dead_letter"]
    assert m.input_records == expected["valid"] + expected["dead_letter"]
    dl = read_rows(out, "dead_letter")
    assert all(r["error"] and r["source"] for r in dl)


def test_existing_output_is_refused_without_overwrite(tmp_path, shared):
    src = shared("clean_reference_nltk", "inaugural.jsonl.gz")
    out = str(tmp_path / "o")
    # a cheap config: this test is about the output directory, not the stages
    cfg = load_config(overrides={"tokenize": {"enabled": False}, "bias": {"enabled": False},
                                 "dedup": {"near": {"enabled": False}}})
    run_pipeline([src], out, cfg)
    with pytest.raises(RunError, match="--overwrite"):
        run_pipeline([src], out, cfg)
    run_pipeline([src], out, cfg, overwrite=True)
    assert os.path.exists(os.path.join(out, "manifest.json"))
    assert main(["run", "--input", src, "--output", out]) == 2
    assert main(["run", "--input", str(tmp_path / "nothing*.jsonl"), "--output", str(tmp_path / "z")]) == 2


def test_pii_is_redacted_in_docs_and_shards(tmp_path, shared):
    speeches = [json.loads(l) for l in gzip.open(shared("clean_reference_nltk", "inaugural.jsonl.gz"), "rt")][:12]
    for i, r in enumerate(speeches):
        r["text"] += (f"\n\nFor copies of this address write to archive.desk{i}@example.org or call "
                      f"+1 (202) 555-01{i:02d}. The mirror server is at 203.0.113.{i + 7}.")
    path = tmp_path / "pii.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in speeches)
    out, m = _run(tmp_path, "out", [str(path)], tokenize={"vocab_size": 2000})
    _assert_contract(out, m)
    assert m.pii.hits["email"] >= 10 and m.pii.hits["phone"] >= 10
    texts = [r["text"] for r in read_rows(out, "docs", ["text"])]
    assert texts and all("@example.org" not in t and "555-01" not in t for t in texts)
    assert sum("<EMAIL>" in t and "<PHONE>" in t for t in texts) >= 10
    tok = tokenize.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8").read())
    decoded = " ".join(tok.decode(ids) for ids in decode_docs(out).values())
    assert "<EMAIL>" in decoded and "@example.org" not in decoded
