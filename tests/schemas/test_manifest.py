"""schemas/manifest.py: the typed manifest every reader goes through (report, index, trainer)."""
import copy
import json

import pytest

import schemas
from schemas import manifest as M

GOOD = {
    "schema_version": schemas.SCHEMA_VERSION, "inputs": ["in/*.jsonl"], "runner": "direct",
    "input_records": 10, "kept": 6, "rejected": {"langid.unwanted_language": 3}, "dead_letter": 1,
    "tokens": {"train": 900, "val": 100, "dropped_tail": 5, "seq_len": 256},
    "shards": [{"path": "shards/train/train-00000-of-00001.parquet", "split": "train", "rows": 3, "docs": 6,
                "tokens": 900, "tokens_dropped": 5, "bytes": 1234, "sha256": "ab"}],
    "files": {"docs": [{"path": "docs/docs-00000-of-00001.parquet", "rows": 6, "sha256": "cd"}], "rejects": [],
              "dead_letter": [], "clusters": []},
    "tokenizer": {"path": "tokenizer.json", "sha256": "ef", "vocab_size": 8192, "eos_id": 0, "source": "train"},
    "dedup": {"near": {"threshold": 0.75}}, "line_dedup": {"enabled": False}, "quality_classifier": {"enabled": False},
    "decon": {"enabled": False}, "bias": None, "pii": {"enabled": True, "mode": "redact", "hits": {"email": 2}},
    "config_hash": "0123", "config": {"tokenize": {"enabled": True}}, "versions": {"python": "3.11.7", "torch": None},
    "counters": {},
}


def _with(**changes):
    d = copy.deepcopy(GOOD)
    d.update(changes)
    return d


def test_round_trip_gives_the_same_bytes():
    m = M.Manifest.from_dict(GOOD)
    assert m.kept == 6 and m.tokens.seq_len == 256 and m.shards[0].split == "train" and m.tokenizer.eos_id == 0
    assert m.paths("docs") == ["docs/docs-00000-of-00001.parquet"] and m.paths("rejects") == []
    assert M.loads(m.to_json()) == m
    assert m.to_json() == json.dumps(GOOD, indent=2, sort_keys=True, ensure_ascii=False).encode()


@pytest.mark.parametrize("d, message", [
    (_with(schema_version="2"), "schema version '2'"),
    (_with(kept=True), "kept: expected int, got bool"),
    (_with(kept="6"), "kept: expected int, got str"),
    (_with(extra=1), "unknown key(s) extra"),
    ({k: v for k, v in GOOD.items() if k != "tokens"}, "missing key(s) tokens"),
    (_with(tokens={"train": 1, "val": 1, "seq_len": 256}), "tokens: missing key(s) dropped_tail"),
    (_with(shards=[{**GOOD["shards"][0], "rows": 2.5}]), "shards[0].rows: expected int"),
    (_with(files={"docs": "docs/x.parquet"}), "files.docs: expected a list"),
    (_with(kept=7), "accounting broken: input_records=10 != kept+rejected+dead_letter=11"),
    ([], "expected a JSON object"),
])
def test_invalid_manifests_are_refused_with_the_key(d, message):
    with pytest.raises(M.ManifestError) as e:
        M.Manifest.from_dict(d, "OUT/manifest.json")
    assert message in str(e.value) and str(e.value).startswith("OUT/manifest.json")
    assert "\n" not in str(e.value)


def test_no_tokenizer_and_no_bias_are_none():
    m = M.Manifest.from_dict(_with(tokenizer=None, bias=None))
    assert m.tokenizer is None and m.bias is None


def test_read_takes_the_folder_or_the_file_and_any_reader(tmp_path):
    (tmp_path / "manifest.json").write_bytes(M.Manifest.from_dict(GOOD).to_json())
    assert M.read(str(tmp_path)) == M.read(str(tmp_path / "manifest.json")) == M.read(str(tmp_path) + "/")
    seen = []

    def reader(path):
        seen.append(path)
        return (tmp_path / "manifest.json").read_bytes()
    assert M.read("gs://bucket/run", reader).kept == 6 and seen == ["gs://bucket/run/manifest.json"]
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(M.ManifestError, match="is not valid JSON"):
        M.read(str(tmp_path))
