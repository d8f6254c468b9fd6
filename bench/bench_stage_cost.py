"""Wall time of `winnow run` with each new stage switched on or off, on the same corpus, interleaved.

Corpus: bench/vs_datatrove/make_corpus.py (20,000 derived real web pages by default). Arms (each a fresh
`winnow run` process on the direct runner, repeated --repeat times, interleaved, best time reported):
  base      default config with decon off, line dedup off, classifier off (the pre-issue-14 stages, web profile)
  +lines    base + cross-document line dedup
  +clf      base + quality classifier (scores only)
  +decon    base + decontamination against an index of ../shared/data/clean_reference_nltk sentences and
            passages (~350k hashed n-grams, as bench/bench_decon.py builds)
  default   the default config + decon
Usage: .venv/bin/python bench/bench_stage_cost.py [--docs 20000] [--repeat 2] [--work /tmp/winnow-bench-cost]
Writes bench/results/stage_cost.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "vs_datatrove"))
sys.path.insert(0, REPO)
from schemas import manifest as manifest_schema  # noqa: E402


def eval_index(work: str) -> str:
    """An index of eval-like items: every paragraph of the clean reference speeches (read, not copied)."""
    import gzip
    from pipeline.stages import decon
    src = os.path.join(os.path.dirname(REPO), "shared", "data", "clean_reference_nltk")
    items = os.path.join(work, "eval_items.jsonl")
    with open(items, "w", encoding="utf-8") as out:
        for name in sorted(os.listdir(src)):
            if name.endswith(".jsonl.gz"):
                with gzip.open(os.path.join(src, name), "rt", encoding="utf-8") as fh:
                    for line in fh:
                        for para in json.loads(line)["text"].split("\n"):
                            if len(para.split()) >= 8:
                                out.write(json.dumps({"text": para}) + "\n")
    path = os.path.join(work, "eval.npz")
    idx = decon.build_index([items])
    decon.save_index(idx, path)
    return path


def arm_config(name: str, index: str, work: str) -> str:
    off = {"lines": False, "clf": False, "decon": False}
    on = {"base": {}, "+lines": {"lines": True}, "+clf": {"clf": True}, "+decon": {"decon": True},
          "default": {"lines": True, "clf": True, "decon": True}}[name]
    flags = {**off, **on}
    cfg = {"dedup": {"line": {"enabled": flags["lines"]}},
           "quality": {"classifier": {"enabled": flags["clf"]}},
           "decon": {"enabled": flags["decon"], "sets": [index]}, "output": {"resume": False}}
    import yaml
    path = os.path.join(work, f"cfg_{name.strip('+')}.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump(cfg, fh)
    return path


def run(inputs: str, out: str, config: str) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--input", inputs, "--output", out,
                        "--config", config], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"run failed ({r.returncode}): {r.stderr[-2000:]}")
    m = manifest_schema.read(out)
    return wall, {"kept": m.kept, "rejected": m.rejected, "tokens": m.tokens.train}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--work", default="/tmp/winnow-bench-cost")
    ap.add_argument("--arms", default="base,+lines,+clf,+decon,default")
    args = ap.parse_args(argv)
    from make_corpus import write_corpus
    os.makedirs(args.work, exist_ok=True)
    corpus = os.path.join(args.work, f"corpus{args.docs}")
    if not os.path.isdir(corpus):
        write_corpus(corpus, args.docs)
    inputs = os.path.join(corpus, "*.jsonl.gz")
    index = eval_index(args.work)
    arms = args.arms.split(",")
    walls: dict[str, list[float]] = {a: [] for a in arms}
    facts = {}
    for rep in range(args.repeat):
        for a in arms:
            w, facts[a] = run(inputs, os.path.join(args.work, "out"), arm_config(a, index, args.work))
            walls[a].append(w)
            print(f"rep {rep} {a:<8} {w:7.1f} s  kept {facts[a]['kept']}", flush=True)
    base = min(walls["base"]) if "base" in walls else None
    print(f"\n{'arm':<8} {'best s':>8} {'vs base':>8} {'docs/s':>8} kept")
    rows = []
    for a in arms:
        b = min(walls[a])
        rel = b / base - 1 if base else None
        rows.append({"arm": a, "best_s": round(b, 2), "all_s": [round(x, 2) for x in walls[a]],
                     "vs_base": None if rel is None else round(rel, 4), "docs_per_s": round(args.docs / b, 1),
                     **facts[a]})
        print(f"{a:<8} {b:8.1f} {'' if rel is None else f'{rel:+.1%}':>8} {args.docs / b:8.1f} {facts[a]['kept']}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    res = {"date": time.strftime("%Y-%m-%d"), "commit": commit.stdout.strip(), "machine":
           f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
           "docs": args.docs, "repeat": args.repeat, "rows": rows}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "stage_cost.json"), "w") as fh:
        json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
