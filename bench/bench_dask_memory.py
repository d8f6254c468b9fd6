"""Peak RSS per process of `winnow run --runner dask` as the corpus grows (not a test).

Corpora: bench/vs_datatrove/make_corpus.py (real web pages cut to ~4.7 KB windows), --docs-per-file docs per
file (a corpus grows by files, as crawls do; one file is parsed by one task, so the file size, not the corpus
size, bounds what parsing holds). For each
size, runs Winnow with the vs_datatrove config on a LocalCluster of --workers processes with
--dask-memory-limit per worker, samples every process of the tree every 0.2 s, and prints the peak RSS of
the driver (which also hosts the dask scheduler) and of the largest worker. Writes
bench/results/dask_memory.json.

Usage: python bench/bench_dask_memory.py [--sizes 10000 100000] [--docs-per-file 2500] [--memory-limit 2GB]
       [--workers 2] [--steps]
--steps also attaches to the scheduler and prints, per step, the largest worker RSS seen while it ran.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import threading
import time

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


def _worker_sample(dask_worker):
    """Runs inside each dask worker: its RSS and the tasks it is executing."""
    import psutil
    return psutil.Process(os.getpid()).memory_info().rss, [ts.key for ts in dask_worker.state.executing]


def _step(key, key_split) -> str:
    """The Beam step of a Winnow Dask runner task: keys are `ParDo-522-Write_rejects_WriteFile` (or a tuple of
    it and a partition index), fused tasks `fused-12-<their first step's key>`."""
    name = re.sub(r"^fused-\d+-", "", key[0] if isinstance(key, tuple) else key)
    m = re.match(r"[A-Za-z_]+-\d+-(.+)", name)
    return m.group(1) if m else key_split(key)


class StepSampler(threading.Thread):
    """Attaches to the run's scheduler (its address from the run's log) and samples every worker every 0.3 s:
    the peak RSS seen while each step executed (the Beam label in the task's key, e.g. Write_rejects_WriteFile).
    RSS is a high-water mark: a step's figure is what the worker held while that step ran, not what the step
    alone allocated."""

    def __init__(self, log_path: str):
        super().__init__(daemon=True)
        self.log_path, self.peaks, self.done = log_path, {}, threading.Event()
        self.first_seen: dict = {}       # step -> seconds after the sampler attached: the order of the steps

    def run(self):
        from dask.utils import key_split
        from distributed import Client
        address = None
        while address is None and not self.done.is_set():
            self.done.wait(0.5)
            with contextlib.suppress(OSError):
                with open(self.log_path) as f:
                    m = re.search(r"Scheduler at:\s+(tcp://\S+)", f.read())
                address = m and m.group(1)
        if address is None:
            return
        import logging
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)     # the run ends: no reconnect noise
        with contextlib.suppress(Exception), Client(address, timeout=10) as client:
            t0 = time.monotonic()
            while not self.done.is_set():
                for rss, keys in client.run(_worker_sample).values():
                    for step in [_step(k, key_split) for k in keys] or ["(between tasks)"]:
                        self.peaks[step] = max(self.peaks.get(step, 0), rss)
                        self.first_seen.setdefault(step, round(time.monotonic() - t0, 1))
                self.done.wait(0.3)

    def top(self, n: int = 8) -> list:
        return [(step, round(rss / 1e6)) for step, rss in sorted(self.peaks.items(), key=lambda kv: -kv[1])[:n]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--docs-per-file", type=int, default=2500, help="input corpus: docs per input file")
    ap.add_argument("--output-docs-per-file", type=int, default=None,
                    help="output.docs_per_file of the run (default: the config's, 50,000); a file's rows are "
                         "sorted through a local temporary file, so memory does not depend on it")
    ap.add_argument("--memory-limit", default="2GB")   # 1GB stalls: ~700 MB per worker is models and imports
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", action="store_true",
                    help="also sample the workers through the dask scheduler and print the peak RSS per step")
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
        log = os.path.join(WORK, f"dask-mem-{n}.log")
        if os.path.exists(log):
            os.remove(log)                     # the sampler reads the scheduler address from the new log
        sampler = StepSampler(log) if a.steps else None
        if sampler:
            sampler.start()
        r = peaks(measure(cmd, log))
        if sampler:
            sampler.done.set()
            sampler.join(30)
            r["steps_peak_mb"] = sampler.top(len(sampler.peaks))
            r["steps_in_order"] = [(step, t, round(sampler.peaks[step] / 1e6))
                                   for step, t in sorted(sampler.first_seen.items(), key=lambda kv: kv[1])]
        r.update(docs=n, files=max(1, -(-n // a.docs_per_file)), memory_limit=a.memory_limit, workers=a.workers,
                 output_docs_per_file=a.output_docs_per_file or 50000)
        rows.append(r)
        print(f"{n:>7,} docs  {r['wall_s']:>7.1f} s  {n / r['wall_s']:6.1f} docs/s  "
              f"driver+scheduler {r['driver_mb']:>5} MB  largest worker {r['worker_max_mb']:>5} MB", flush=True)
        for step, mb in (r.get("steps_peak_mb") or [])[:8]:
            print(f"    {mb:>5} MB  while {step} ran")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    name = "dask_memory.json" if not a.output_docs_per_file else f"dask_memory_dpf{a.output_docs_per_file}.json"
    with open(os.path.join(ROOT, "bench", "results", name), "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
