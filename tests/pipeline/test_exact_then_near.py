"""Exact copies of a doc that near dedup then merges elsewhere end in the same cluster as everyone else."""
import glob
import gzip
import json
import os

import pyarrow.parquet as pq

from pipeline.config import load_config
from pipeline.driver.run import run_pipeline


def test_exact_copies_follow_their_survivor_into_the_near_cluster(tmp_path):
    words = [f"w{i}" for i in range(400)]
    a = " ".join(words)
    b = " ".join(words[:-3] + ["x1", "x2", "x3"])                 # Jaccard(a, b) ~ 0.97
    inp = tmp_path / "in.jsonl.gz"
    with gzip.open(inp, "wt") as f:
        for i, t in enumerate([a, b, b] + [b + f" y{k}" for k in range(4)]):
            f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
    cfg = load_config(overrides={"langid": {"enabled": False}, "quality": {"enabled": False},
                                 "tokenize": {"enabled": False}, "bias": {"enabled": False}})
    out = str(tmp_path / "out")
    run_pipeline([str(inp)], out, cfg, log=open(os.devnull, "w"))
    rows = [r for k in ("docs", "rejects") for f in glob.glob(os.path.join(out, k, "*.parquet"))
            for r in pq.read_table(f).to_pylist()]
    kept = [r for r in rows if not r["drop_reasons"]]
    assert len(rows) == 7 and len(kept) == 1
    assert {r["cluster_id"] for r in rows} == {kept[0]["cluster_id"]}
    assert all(r["duplicate_of"] == kept[0]["doc_id"] for r in rows if r["drop_reasons"])
    assert sorted(r["drop_reasons"][0] for r in rows if r["drop_reasons"]) == \
        ["dedup.exact_duplicate"] + ["dedup.near_duplicate"] * 5
