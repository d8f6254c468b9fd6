"""Winnow vs datatrove 0.10.1 on the same corpus doing FineWeb's chain: docs/s (whole machine and per worker),
peak RSS of the process tree, and how far their kept documents agree. Writes bench/results/vs_datatrove.json.

Runs with Winnow's venv: .venv/bin/python bench/vs_datatrove/run.py [--docs 20000] [--workers 1 2]
  [--winnow-workers 1 2] [--winnow-runner direct] [--winnow-args "..."] [--no-dt-ftfy] [--no-pii] [--repeat 1]
  [--timeout S] [--skip-datatrove] [--skip-winnow] [--work DIR]
Each system runs as a subprocess; RSS is sampled every 0.2 s over the process and all its descendants.
See README.md beside this file for what is and is not the same work.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
TOKENIZER = os.path.join(SHARED, "tokenizer_gpt2", "tokenizer.json")
DT_PYTHON = os.path.join(HERE, ".venv", "bin", "python")
WINNOW = os.path.join(ROOT, ".venv", "bin", "winnow")
RESULTS = os.path.join(ROOT, "bench", "results", "vs_datatrove.json")
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from schemas import manifest as manifest_schema  # noqa: E402  (Winnow's own venv runs this script)


# --- running and measuring ---------------------------------------------------------------------------------

def measure(cmd: list[str], log_path: str, timeout: float | None = None) -> dict:
    """Run `cmd`; every 0.2 s, sample its process tree (the process and all descendants, e.g. datatrove's
    forkserver pool or Beam's worker processes). Returns wall s, CPU s (sum over the tree's processes of their
    last sampled user + system time), the peak of the tree's summed RSS, the largest single process's RSS,
    and each process's peak RSS with its command line (`processes`, the root first)."""
    try:
        import psutil
    except ImportError:
        sys.exit("run.py needs psutil in the venv that runs it: pip install psutil")
    peak = {"tree": 0, "single": 0}
    cpu: dict[tuple, float] = {}
    per_proc: dict[tuple, list] = {}          # (pid, create time) -> [peak RSS, command line]
    t = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample():
            root = psutil.Process(proc.pid)
            while not done.is_set():
                rss = []
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.Error:
                    tree = []
                for p in tree:
                    try:
                        with p.oneshot():
                            rss.append(p.memory_info().rss)
                            c = p.cpu_times()
                            key = (p.pid, p.create_time())
                            cpu[key] = c.user + c.system
                            if key not in per_proc:
                                per_proc[key] = [0, " ".join(p.cmdline())]
                            per_proc[key][0] = max(per_proc[key][0], rss[-1])
                    except psutil.Error:
                        pass
                peak["tree"] = max(peak["tree"], sum(rss))
                peak["single"] = max(peak["single"], max(rss, default=0))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            root = psutil.Process(proc.pid)
            for p in [*root.children(recursive=True), root]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            rc = f"killed after --timeout {timeout:g} s"
        done.set()
        sampler.join()
    wall = time.perf_counter() - t
    if rc:
        sys.exit(f"failed (rc {rc}): {shlex.join(cmd)}\n  log: {log_path}")
    return {"wall_s": wall, "cpu_s": sum(cpu.values()),
            "peak_rss_tree_mb": peak["tree"] / 2**20, "peak_rss_single_mb": peak["single"] / 2**20,
            "processes": [{"cmd": c, "peak_rss_mb": r / 2**20} for r, c in per_proc.values()]}


def ensure_corpus(work: str, n: int, shards: int = 8) -> tuple[str, dict]:
    corpus = os.path.join(work, f"corpus-{n}" + ("" if shards == 8 else f"-{shards}files"))
    info_path = os.path.join(corpus, "corpus.json")
    if not os.path.exists(info_path):
        import make_corpus
        print(f"building corpus of {n:,} docs in {shards} files in {corpus} ...", flush=True)
        make_corpus.write_corpus(corpus + ".tmp", n, shards)
        shutil.rmtree(corpus, ignore_errors=True)
        os.rename(corpus + ".tmp", corpus)
    with open(info_path) as f:
        return corpus, json.load(f)


def winnow_config(work: str, pii: bool) -> str:
    """winnow.yaml with the tokenizer's absolute path and the --pii choice, written to WORK/winnow.yaml."""
    import yaml
    with open(os.path.join(HERE, "winnow.yaml")) as f:
        cfg = yaml.safe_load(f)
    cfg["tokenize"]["tokenizer"] = TOKENIZER
    cfg["pii"]["enabled"] = pii
    path = os.path.join(work, "winnow.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    return path


# Flags that give a Winnow runner `w` worker processes; other runners: pass them with --winnow-args.
WORKER_FLAGS = {"direct": lambda w: [f"--direct_num_workers={w}", "--direct_running_mode=multi_processing"],
                "dask": lambda w: [f"--workers={w}"]}


def run_winnow(a, corpus: str, cfg: str, w: int, out: str, log: str) -> dict:
    cmd = [WINNOW, "run", "--input", os.path.join(corpus, "*.jsonl.gz"), "--output", out, "--config", cfg,
           "--overwrite"]
    if a.winnow_runner == "default":     # as a user runs it: Winnow picks the runner and uses every usable CPU
        if w != len(os.sched_getaffinity(0)):
            sys.exit(f"--winnow-runner default uses every usable CPU ({len(os.sched_getaffinity(0))}): "
                     f"pass --winnow-workers {len(os.sched_getaffinity(0))}")
    else:
        cmd += ["--runner", a.winnow_runner]
    if a.winnow_runner != "default" and (w > 1 or a.winnow_runner != "direct"):
        cmd += WORKER_FLAGS.get(a.winnow_runner, lambda w: [])(w)
    cmd += shlex.split(a.winnow_args)
    res = measure(cmd, log, a.timeout)
    res["cmd"] = shlex.join(cmd)
    res["kept"] = manifest_schema.read(out).kept
    return res


def run_datatrove(a, corpus: str, w: int, out: str, log: str) -> dict:
    cmd = [DT_PYTHON, os.path.join(HERE, "dt_pipeline.py"), "--input", corpus, "--work", out,
           "--tokenizer", TOKENIZER, "--workers", str(w)]
    cmd += ["--ftfy"] if a.dt_ftfy else []
    cmd += ["--pii"] if a.pii else []
    res = measure(cmd, log, a.timeout)
    res["cmd"] = shlex.join(cmd)
    res["kept"] = len(datatrove_outcomes(out)[0])
    with open(log) as f:
        res["stages_s"] = {ln.split(":")[0][6:]: float(ln.split(":")[1].split()[0])
                           for ln in f if ln.startswith("stage ")}
    with open(os.path.join(out, "logs", "filter", "stats.json")) as f:   # seconds per block, summed over tasks
        res["filter_steps_s"] = {
            " ".join(st["name"].encode("ascii", "ignore").decode().replace(" - ", " ").split()):
            round(st["time_stats"]["total"], 2) for st in json.load(f)}
    return res


def earlier_corpus(out: str, system: str) -> str | None:
    """The corpus folder an earlier run in `out` read (datatrove's kept docs name their file; Winnow's manifest
    its config's input)."""
    if system == "datatrove":
        d = next(read_jsonl_dir(os.path.join(out, "kept")), None)
        return os.path.dirname(d["metadata"]["file_path"]) if d else None
    inputs = manifest_schema.read(out).inputs
    return os.path.dirname(inputs[0]) if inputs else None


# --- outcomes and agreement ----------------------------------------------------------------------------------

def read_jsonl_dir(path: str):
    for f in sorted(glob.glob(os.path.join(path, "*.jsonl.gz"))):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            yield from map(json.loads, fh)


def datatrove_outcomes(out: str):
    """(kept ids, id -> "stage:reason" of dropped docs, id -> minhash cluster id)."""
    kept, dropped, cluster = set(), {}, {}
    for d in read_jsonl_dir(os.path.join(out, "kept")):
        kept.add(d["id"])
        cluster[d["id"]] = d["metadata"].get("minhash_cluster_id", -1)
    for stage_dir in sorted(glob.glob(os.path.join(out, "removed", "*"))):
        stage = os.path.basename(stage_dir)
        for d in read_jsonl_dir(stage_dir):
            dropped[d["id"]] = f"{stage}:{d['metadata'].get('filter_reason', 'duplicate')}"
            cluster[d["id"]] = d["metadata"].get("minhash_cluster_id", -1)
    return kept, dropped, cluster


def winnow_outcomes(out: str):
    """(kept source ids, source id -> first drop reason)."""
    import pyarrow.parquet as pq
    kept, dropped = set(), {}
    for f in sorted(glob.glob(os.path.join(out, "docs", "*.parquet"))):
        kept.update(pq.read_table(f, columns=["source_id"]).column("source_id").to_pylist())
    for f in sorted(glob.glob(os.path.join(out, "rejects", "*.parquet"))):
        for r in pq.read_table(f, columns=["source_id", "drop_reasons"]).to_pylist():
            dropped[r["source_id"]] = (r["drop_reasons"] or ["?"])[0]
    return kept, dropped


def agreement(w_out: str, d_out: str) -> dict:
    wk, wd = winnow_outcomes(w_out)
    dk, dd, dcluster = datatrove_outcomes(d_out)
    both, only_w, only_d = wk & dk, wk - dk, dk - wk
    # Survivor swaps: x kept by Winnow only, removed by datatrove's MinHash, whose datatrove cluster's survivor y
    # Winnow removed as a near duplicate: both found the duplicates and kept different members.
    dt_survivor = {dcluster[i]: i for i in dk if dcluster.get(i, -1) != -1}
    swaps = {x: y for x in only_w if dd.get(x, "").startswith("minhash:")
             and (y := dt_survivor.get(dcluster.get(x))) in only_d and wd.get(y, "").startswith("dedup.")}
    w_reason = {i: wd.get(i, "?") + (" (survivor swap)" if i in swaps.values() else "") for i in only_d}
    d_reason = {i: dd.get(i, "?") + (" (survivor swap)" if i in swaps else "") for i in only_w}
    union = len(wk | dk)
    # After the filters, before dedup: kept + dropped as duplicates.
    wf = wk | {i for i, r in wd.items() if r.startswith("dedup.")}
    df = dk | {i for i, r in dd.items() if r.startswith("minhash:")}
    return {
        "after_filters": {"both": len(wf & df), "only_winnow": len(wf - df), "only_datatrove": len(df - wf),
                          "jaccard": round(len(wf & df) / len(wf | df), 4) if wf | df else 1.0},
        "both": len(both), "only_winnow": len(only_w), "only_datatrove": len(only_d),
        "jaccard": round(len(both) / union, 4) if union else 1.0,
        "survivor_swaps": len(swaps),
        "jaccard_same_survivor": round((len(both) + len(swaps)) / (union - len(swaps)), 4) if union else 1.0,
        "winnow_reason_of_datatrove_only": dict(Counter(w_reason.values()).most_common()),
        "datatrove_stage_of_winnow_only": dict(Counter(d_reason.values()).most_common()),
        "winnow_drops": dict(Counter(r.split(".")[0] for r in wd.values()).most_common()),
        "datatrove_drops": dict(Counter(r.split(":")[0] for r in dd.values()).most_common()),
    }


# --- report --------------------------------------------------------------------------------------------------

def summarize(runs: list[dict]) -> list[dict]:
    """Median over repetitions of each (system, workers)."""
    rows = []
    for key in dict.fromkeys((r["system"], r["workers"]) for r in runs):
        rs = [r for r in runs if (r["system"], r["workers"]) == key]
        med = {k: statistics.median(r[k] for r in rs) for k in
               ("wall_s", "cpu_s", "peak_rss_tree_mb", "peak_rss_single_mb")}
        n = rs[0]["docs_in"]
        rows.append({"system": key[0], "workers": key[1], "docs_in": n, "docs_kept": rs[-1]["kept"],
                     "repeats": len(rs), **{k: round(v, 2) for k, v in med.items()},
                     "docs_per_s": round(n / med["wall_s"], 2),
                     "docs_per_s_per_core": round(n / med["wall_s"] / key[1], 2)})
    dt = {r["workers"]: r for r in rows if r["system"] == "datatrove"}
    for r in rows:
        if r["system"] != "datatrove" and dt:
            ref = dt.get(r["workers"]) or dt[min(dt)]
            r["vs_datatrove_workers"] = ref["workers"]
            r["ratio"] = round(r["docs_per_s"] / ref["docs_per_s"], 3)
            r["ratio_per_core"] = round(r["docs_per_s_per_core"] / ref["docs_per_s_per_core"], 3)
    return rows


def print_table(rows: list[dict], corpus: dict) -> None:
    print(f"\ncorpus: {corpus['docs']:,} docs, mean {corpus['mean_chars']:,} chars, {corpus['shards']} files; "
          f"kinds {corpus['kinds']}; {os.cpu_count()} CPUs")
    table = [("system", "workers", "docs in", "kept", "wall s", "cpu s", "docs/s", "docs/s/core", "RSS tree MB",
              "RSS max proc MB", "Winnow/dt", "per core")]
    for r in rows:
        ratio = (f"{r['ratio']:.2f}x (w={r['vs_datatrove_workers']})", f"{r['ratio_per_core']:.2f}x") \
            if "ratio" in r else ("", "")
        table.append((r["system"], r["workers"], r["docs_in"], r["docs_kept"], f"{r['wall_s']:.1f}",
                      f"{r['cpu_s']:.1f}", f"{r['docs_per_s']:.1f}", f"{r['docs_per_s_per_core']:.1f}",
                      f"{r['peak_rss_tree_mb']:.0f}", f"{r['peak_rss_single_mb']:.0f}", *ratio))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))))


def print_agreement(name: str, ag: dict) -> None:
    print(f"\nkept-docs agreement, {name}: both {ag['both']}, only Winnow {ag['only_winnow']}, only datatrove "
          f"{ag['only_datatrove']}, Jaccard {ag['jaccard']:.3f} ({ag['survivor_swaps']} duplicate pairs where each "
          f"kept another member; counting those as agreeing: {ag['jaccard_same_survivor']:.3f})")
    f = ag["after_filters"]
    print(f"  after the filters, before dedup: both {f['both']}, only Winnow {f['only_winnow']}, only datatrove "
          f"{f['only_datatrove']}, Jaccard {f['jaccard']:.3f}")
    print(f"  drops by stage, Winnow:    {ag['winnow_drops']}")
    print(f"  drops by stage, datatrove: {ag['datatrove_drops']}")
    print("  datatrove kept, Winnow dropped (Winnow's reason):")
    for k, v in ag["winnow_reason_of_datatrove_only"].items():
        print(f"    {v:>6}  {k}")
    print("  Winnow kept, datatrove dropped (datatrove's stage:reason):")
    for k, v in ag["datatrove_stage_of_winnow_only"].items():
        print(f"    {v:>6}  {k}")


def run_all(a, corpus: str, info: dict, cfg: str) -> tuple[list[dict], dict]:
    """Every (system, workers) run, `--repeat` times, systems interleaved so that a change of load on a shared
    machine hits both. Returns the measurements and (system, workers) -> output folder."""
    runs, outs = [], {}
    jobs = ([] if a.skip_datatrove else [("datatrove", w) for w in a.workers]) + \
           ([] if a.skip_winnow else [("winnow", w) for w in a.winnow_workers])
    for rep in range(a.repeat):
        for system, w in jobs:
            out = os.path.join(a.work, f"{system}-w{w}")
            log = os.path.join(a.work, "logs", f"{system}-w{w}-r{rep}.log")
            print(f"[{rep + 1}/{a.repeat}] {system}, {w} worker(s) ...", flush=True)
            load = os.getloadavg()[0]
            res = (run_datatrove(a, corpus, w, out, log) if system == "datatrove"
                   else run_winnow(a, corpus, cfg, w, out, log))
            res.update(system=system, workers=w, repeat=rep, docs_in=info["docs"], loadavg_1m_before=load, log=log)
            print(f"    {res['wall_s']:.1f} s, {info['docs'] / res['wall_s']:.1f} docs/s, kept {res['kept']} "
                  f"(load average before: {load:.1f})", flush=True)
            runs.append(res)
            outs[(system, w)] = out
    return runs, outs


def earlier_outputs(a, corpus: str) -> dict:
    """Outputs of a skipped system left in --work by an earlier run on the same corpus, to compare with."""
    outs = {}
    for system, skipped, done in (("datatrove", a.skip_datatrove, "kept"), ("winnow", a.skip_winnow, "manifest.json")):
        for out in sorted(glob.glob(os.path.join(a.work, f"{system}-w*"))) if skipped else []:
            if os.path.exists(os.path.join(out, done)) and earlier_corpus(out, system) == corpus:
                outs[(system, int(out.rsplit("-w", 1)[1]))] = out
    return outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                    help="datatrove runs, tasks = workers (default: 1 2)")
    ap.add_argument("--winnow-workers", type=int, nargs="+", default=[1],
                    help="Winnow runs: worker processes (default: 1, the in-process runner)")
    ap.add_argument("--winnow-runner", default="direct", help="passed to `winnow run --runner` (any string); `default`: no --runner, as a user runs it")
    ap.add_argument("--winnow-args", default="", help="extra flags for `winnow run`, one string")
    ap.add_argument("--dt-ftfy", action=argparse.BooleanOptionalAction, default=True,
                    help="datatrove: FTFYFormatter first (Winnow always runs ftfy; default on)")
    ap.add_argument("--pii", action=argparse.BooleanOptionalAction, default=True,
                    help="both: redact emails and public IPs before dedup (default on)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; the table shows medians")
    ap.add_argument("--timeout", type=float, default=None, help="seconds before a run's process tree is killed")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--skip-winnow", action="store_true")
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "results", "vs_datatrove_work"))
    ap.add_argument("--results", default=RESULTS)
    a = ap.parse_args(argv)
    if not os.path.isdir(SHARED):
        print(f"vs_datatrove: skipped, {SHARED} is missing (needs ../shared/data beside the repo)")
        return
    if not a.skip_datatrove and not os.path.exists(DT_PYTHON):
        subprocess.run(["bash", os.path.join(HERE, "setup.sh")], check=True)
    os.makedirs(os.path.join(a.work, "logs"), exist_ok=True)
    corpus, info = ensure_corpus(a.work, a.docs)
    cfg = winnow_config(a.work, a.pii)
    runs, outs = run_all(a, corpus, info, cfg)
    outs.update(earlier_outputs(a, corpus))
    if runs:
        print_table(summarize(runs), info)
    agreements = {}
    for (sw, w1), wo in outs.items():
        for (sd, w2), do in outs.items():
            if sw == "winnow" and sd == "datatrove":
                name = f"winnow w={w1} vs datatrove w={w2}"
                agreements[name] = agreement(wo, do)
                same = next((k for k, v in agreements.items() if k != name and v == agreements[name]), None)
                if same:
                    print(f"\nkept-docs agreement, {name}: same as {same}")
                else:
                    print_agreement(name, agreements[name])
    if not runs:
        return   # comparison of earlier outputs only: keep the results file of the runs that made them
    os.makedirs(os.path.dirname(a.results), exist_ok=True)
    with open(a.results, "w") as f:
        json.dump({"corpus": info, "options": vars(a), "cpus": os.cpu_count(), "loadavg_end": os.getloadavg(),
                   "summary": summarize(runs), "runs": runs, "agreement": agreements}, f, indent=1)
    print(f"\nwrote {a.results}")


if __name__ == "__main__":
    main()
