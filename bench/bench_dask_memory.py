"""Peak RSS per process of `winnow run --runner dask` as the corpus grows (not a test).

Corpora: bench/vs_datatrove/make_corpus.py (real web pages cut to ~4.7 KB windows), --docs-per-file docs per
file (a corpus grows by files, as crawls do; one file is parsed by one task, so the file size, not the corpus
size, bounds what parsing holds). For each
size, runs Winnow with the vs_datatrove config on a LocalCluster of --workers processes with
--dask-memory-limit per worker, samples every process of the tree every 0.2 s, and prints the peak RSS of
the driver (which also hosts the dask scheduler) and of the largest worker. Writes
bench/results/dask_memory.json.

Usage: python bench/bench_dask_memory.py [--sizes 10000 100000] [--docs-per-file 2500] [--memory-limit 2GB]
       [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VS = os.path.join(ROOT, "bench", "vs_datatrove")
sys.path.insert(0, VS)
WORK = os.path.join(ROOT, "bench", "results", "vs_datatrove_work")


def peaks(res: dict) -> dict:
    """Driver (the root process, which also hosts the dask scheduler) and largest dask worker, in MB."""
    procs = res["processes"]
    workers = [p["peak_rss_mb"] for p in procs if "spawn_main" in p["cmd"]]
    return {"wall_s": round(res["wall_s"], 1), "driver_mb": round(procs[0]["peak_rss_mb"]),
            "worker_max_mb": round(max(workers, default=0)), "workers_seen": len(workers)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--docs-per-file", type=int, default=2500, help="input corpus: docs per input file")
    ap.add_argument("--output-docs-per-file", type=int, default=None,
                    help="output.docs_per_file of the run (default: the config's, 50,000); a file's rows are "
                         "sorted through a local temporary file, so memory does not depend on it")
    ap.add_argument("--memory-limit", default="2GB")   # 1GB stalls: ~700 MB per worker is models and imports
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    if not os.path.isdir(os.path.join(os.path.dirname(ROOT), "shared", "data")):
        print("bench_dask_memory: ../shared/data is absent; nothing to measure")
        return 0
    from run import ensure_corpus, measure, winnow_config
    os.makedirs(WORK, exist_ok=True)
    cfg = winnow_config(WORK, pii=True)
    if a.output_docs_per_file:
        import yaml
        with open(cfg) as f:
            c = yaml.safe_load(f)
        c.setdefault("output", {})["docs_per_file"] = a.output_docs_per_file
        cfg = os.path.join(WORK, f"winnow-docs-per-file-{a.output_docs_per_file}.yaml")
        with open(cfg, "w") as f:
            yaml.safe_dump(c, f, sort_keys=False)
    rows = []
    for n in a.sizes:
        corpus, _ = ensure_corpus(WORK, n, shards=max(1, -(-n // a.docs_per_file)))
        out = os.path.join(WORK, f"dask-mem-{n}")
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "--input", os.path.join(corpus, "*.jsonl.gz"),
               "--output", out, "--config", cfg, "--overwrite", "--runner", "dask", "--workers", str(a.workers),
               "--dask-memory-limit", a.memory_limit]
        r = peaks(measure(cmd, os.path.join(WORK, f"dask-mem-{n}.log")))
        r.update(docs=n, files=max(1, -(-n // a.docs_per_file)), memory_limit=a.memory_limit, workers=a.workers,
                 output_docs_per_file=a.output_docs_per_file or 50000)
        rows.append(r)
        print(f"{n:>7,} docs  {r['wall_s']:>7.1f} s  {n / r['wall_s']:6.1f} docs/s  "
              f"driver+scheduler {r['driver_mb']:>5} MB  largest worker {r['worker_max_mb']:>5} MB", flush=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    name = "dask_memory.json" if not a.output_docs_per_file else f"dask_memory_dpf{a.output_docs_per_file}.json"
    with open(os.path.join(ROOT, "bench", "results", name), "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
