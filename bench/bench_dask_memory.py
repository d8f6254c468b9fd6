"""Peak RSS per process of `winnow run --runner dask` as the corpus grows (not a test).

Corpora: bench/vs_datatrove/make_corpus.py (real web pages cut to ~4.7 KB windows, 8 files each). For each
size, runs Winnow with the vs_datatrove config on a LocalCluster of --workers processes with
--dask-memory-limit per worker, samples every process of the tree every 0.2 s, and prints the peak RSS of
the driver (which also hosts the dask scheduler) and of the largest worker. Writes
bench/results/dask_memory.json.

Usage: python bench/bench_dask_memory.py [--sizes 5000 20000 40000] [--memory-limit 1GB] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VS = os.path.join(ROOT, "bench", "vs_datatrove")
sys.path.insert(0, VS)
WORK = os.path.join(ROOT, "bench", "results", "vs_datatrove_work")


def run(cmd: list[str], log_path: str) -> dict:
    import psutil
    peaks: dict[int, int] = {}
    roles: dict[int, str] = {}
    t = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.Error:
                    tree = []
                for p in tree:
                    try:
                        rss = p.memory_info().rss
                        if p.pid not in roles:
                            roles[p.pid] = ("driver" if p.pid == proc.pid else
                                            "worker" if "spawn_main" in " ".join(p.cmdline()) else "other")
                        peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
                    except psutil.Error:
                        pass
                done.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = proc.wait()
        done.set()
        th.join()
    by_role: dict[str, int] = {}
    for pid, rss in peaks.items():
        by_role[roles[pid]] = max(by_role.get(roles[pid], 0), rss)
    return {"rc": rc, "wall_s": round(time.perf_counter() - t, 1),
            "driver_mb": round(by_role.get("driver", 0) / 2**20), "worker_max_mb": round(by_role.get("worker", 0) / 2**20),
            "workers_seen": sum(1 for r in roles.values() if r == "worker")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000, 40000])
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    if not os.path.isdir(os.path.join(os.path.dirname(ROOT), "shared", "data")):
        print("bench_dask_memory: ../shared/data is absent; nothing to measure")
        return 0
    from run import ensure_corpus, winnow_config
    os.makedirs(WORK, exist_ok=True)
    cfg = winnow_config(WORK, pii=True)
    rows = []
    for n in a.sizes:
        corpus, _ = ensure_corpus(WORK, n)
        out = os.path.join(WORK, f"dask-mem-{n}")
        cmd = [sys.executable, "-m", "pipeline.cli", "run", "--input", os.path.join(corpus, "*.jsonl.gz"),
               "--output", out, "--config", cfg, "--overwrite", "--runner", "dask", "--workers", str(a.workers),
               "--dask-memory-limit", a.memory_limit]
        r = run(cmd, os.path.join(WORK, f"dask-mem-{n}.log"))
        r.update(docs=n, memory_limit=a.memory_limit, workers=a.workers)
        rows.append(r)
        print(f"{n:>7,} docs  rc {r['rc']}  {r['wall_s']:>7.1f} s  {n / r['wall_s']:6.1f} docs/s  "
              f"driver+scheduler {r['driver_mb']:>5} MB  largest worker {r['worker_max_mb']:>5} MB", flush=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "dask_memory.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
