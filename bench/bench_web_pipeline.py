"""The whole default pipeline (`winnow run`, direct runner) on real web pages and clean text: pages kept,
main-text snippets surviving and boilerplate snippets removed, as bench/bench_web_quality.py measures them
per profile, but here with everything a run does (line dedup across the pages, web profile, classifier
scores, pii, exact and near dedup).

Usage: .venv/bin/python bench/bench_web_pipeline.py [--profile web] [--line-max-docs 10] [--work DIR]
Inputs: ../shared/data/web_trafilatura_eval/documents.jsonl.gz (990 pages) and
../shared/data/clean_reference_nltk/*.jsonl.gz. Matching rule as in bench_web_quality.py (normalize_text,
whitespace collapsed, snippet present in the input page, survives if present in the kept doc's text).
Writes bench/results/web_pipeline_<profile>.json.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")


def norm(text: str) -> str:
    from pipeline.stages.normalize import normalize_text
    return " ".join(normalize_text(text).split())


def read_jsonl(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="web")
    ap.add_argument("--line-max-docs", type=int, default=None, help="dedup.line.max_docs (default: config's)")
    ap.add_argument("--no-line-dedup", action="store_true")
    ap.add_argument("--work", default="/tmp/winnow-bench-webpipe")
    args = ap.parse_args(argv)
    import pyarrow.parquet as pq

    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    pages_path = os.path.join(DATA, "web_trafilatura_eval", "documents.jsonl.gz")
    clean = sorted(glob.glob(os.path.join(DATA, "clean_reference_nltk", "*.jsonl.gz")))
    if not os.path.exists(pages_path):
        raise SystemExit(f"no data at {pages_path}")
    line = {"enabled": not args.no_line_dedup}
    if args.line_max_docs is not None:
        line["max_docs"] = args.line_max_docs
    cfg = load_config(overrides={"quality": {"profile": args.profile}, "dedup": {"line": line},
                                 "tokenize": {"enabled": False}, "bias": {"enabled": False},
                                 "output": {"resume": False}})
    out = os.path.join(args.work, "out")
    t = time.perf_counter()
    m = run_pipeline([pages_path] + clean, out, cfg, overwrite=True, log=open(os.devnull, "w"))
    wall = time.perf_counter() - t
    docs = []
    for f in sorted(glob.glob(os.path.join(out, "docs", "*.parquet"))):
        docs += pq.read_table(f, columns=["source", "source_id", "text", "lang"]).to_pylist()
    rejects = []
    for f in sorted(glob.glob(os.path.join(out, "rejects", "*.parquet"))):
        rejects += pq.read_table(f, columns=["source", "source_id", "lang", "drop_reasons"]).to_pylist()
    pages = {str(p["id"]): p for p in read_jsonl(pages_path)}
    kept = {d["source_id"]: d for d in docs if d["source"] == pages_path}
    english = {r["source_id"] for r in rejects if r["source"] == pages_path and not r["drop_reasons"][0].startswith("langid.")}
    english |= set(kept)
    res = {"pages": len(pages), "english": len(english), "kept": len(kept), "main_present": 0, "main_survived": 0,
           "boiler_present": 0, "boiler_removed": 0}
    for pid, d in kept.items():
        p = pages[pid]
        src, dst = norm(p["text"]), " ".join(d["text"].split())
        for s in p.get("main_text_must_contain") or []:
            s = norm(s)
            if s and s in src:
                res["main_present"] += 1
                res["main_survived"] += s in dst
        for s in p.get("main_text_must_not_contain") or []:
            s = norm(s)
            if s and s in src:
                res["boiler_present"] += 1
                res["boiler_removed"] += s not in dst
    res["main_survived_pct"] = round(100 * res["main_survived"] / max(res["main_present"], 1), 1)
    res["boiler_removed_pct"] = round(100 * res["boiler_removed"] / max(res["boiler_present"], 1), 1)
    clean_rows = {"docs": 0, "english": 0, "kept": 0}
    for path in clean:
        n = len(read_jsonl(path))
        k = sum(1 for d in docs if d["source"] == path)
        en = k + sum(1 for r in rejects if r["source"] == path and not r["drop_reasons"][0].startswith("langid."))
        clean_rows["docs"] += n
        clean_rows["english"] += en
        clean_rows["kept"] += k
    clean_rows["kept_pct_of_english"] = round(100 * clean_rows["kept"] / max(clean_rows["english"], 1), 1)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    result = {"date": time.strftime("%Y-%m-%d"), "commit": commit.stdout.strip(),
              "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
              "profile": args.profile, "line_dedup": line, "wall_s": round(wall, 1), "web": res,
              "clean_reference": clean_rows, "line_dedup_totals": m.line_dedup,
              "rejected": m.rejected}
    print(json.dumps({k: v for k, v in result.items() if k != "rejected"}, indent=1))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    name = f"web_pipeline_{args.profile}{'_nolines' if args.no_line_dedup else ''}.json"
    with open(os.path.join(HERE, "results", name), "w") as fh:
        json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
