"""Incremental dedup: `winnow index build OLD` then a run with dedup.near.against drops near duplicates of OLD."""
import gzip
import json
import os

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import RunError
from pipeline.driver.run import run_pipeline

from helpers import read_rows

pytestmark = pytest.mark.integration


def _write(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_index_then_against(tmp_path, shared):
    speeches = [json.loads(l) for l in gzip.open(shared("clean_reference_nltk", "inaugural.jsonl.gz"), "rt")]
    old, new = speeches[:30], speeches[30:]
    _write(tmp_path / "old.jsonl.gz", old)
    overrides = {"tokenize": {"enabled": False}}
    run_pipeline([str(tmp_path / "old.jsonl.gz")], str(tmp_path / "old"), load_config(overrides=overrides))
    old_ids = {r["source_id"]: r["doc_id"] for r in read_rows(str(tmp_path / "old"), "docs")}
    # the new batch: 29 new speeches + lightly edited copies of 5 kept old ones (near duplicates of the old corpus)
    edited = [dict(r, id=f"{r['id']}-edited", text=r["text"].replace("the", "thee", 3))
              for r in old if r["id"] in old_ids][:5]
    _write(tmp_path / "new.jsonl.gz", new + edited)
    assert main(["index", "build", str(tmp_path / "old")]) == 0
    assert os.path.exists(tmp_path / "old" / "index" / "index.json")
    assert main(["index", "build", str(tmp_path / "old")]) == 2                    # exists: refused

    cfg = load_config(overrides={**overrides, "dedup": {"near": {"against": str(tmp_path / "old" / "index")}}})
    m = run_pipeline([str(tmp_path / "new.jsonl.gz")], str(tmp_path / "new"), cfg)
    assert m.rejected.get("dedup.near_duplicate_of_index") == 5
    rejected = {r["source_id"]: r for r in read_rows(str(tmp_path / "new"), "rejects")}
    for r in edited:
        row = rejected[r["id"]]
        assert row["drop_reasons"] == ["dedup.near_duplicate_of_index"]
        assert row["duplicate_of"] == old_ids[r["id"].replace("-edited", "")]

    bad = load_config(overrides={**overrides, "dedup": {"near": {"against": str(tmp_path / "old" / "index"),
                                                                  "num_perm": 64}}})
    with pytest.raises(RunError, match="num_perm"):
        run_pipeline([str(tmp_path / "new.jsonl.gz")], str(tmp_path / "new2"), bad)
