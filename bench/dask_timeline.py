"""Where a dask run's time goes: runs `winnow run --runner dask` against a LocalCluster this script starts,
records dask's task stream, and prints per-second worker occupancy, the busiest task prefixes and long tasks.
Usage (repo root): .venv/bin/python bench/dask_timeline.py "CORPUS/*.jsonl.gz" CONFIG.yaml WORKERS (not in make bench)."""
import collections, os, subprocess, sys, tempfile, time
import dask.distributed as dd

def main():
    inp, cfg, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with dd.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as c, dd.Client(c) as client:
        client.get_task_stream()          # registers the task-stream plugin
        t0 = time.time()
        cmd = [".venv/bin/winnow", "run", "--input", inp, "--output", os.path.join(tempfile.mkdtemp(prefix="winnow-timeline-"), "out"), "--config", cfg, "--overwrite",
               "--runner", "dask", "--dask-address", c.scheduler_address]
        p = subprocess.run(cmd, capture_output=True, text=True)
        t1 = time.time()
        print("rc", p.returncode, "wall", round(t1 - t0, 1))
        if p.returncode:
            print(p.stderr[-2000:])
        ts = client.get_task_stream(start=t0)
        import psutil, resource
        me = psutil.Process()
        for ch in me.children(recursive=True):
            try:
                ct = ch.cpu_times(); print("proc", ch.pid, " ".join(ch.cmdline())[-60:], f"cpu {ct.user + ct.system:.1f}")
            except Exception: pass
        ru = resource.getrusage(resource.RUSAGE_CHILDREN); print(f"winnow driver (children rusage) cpu {ru.ru_utime + ru.ru_stime:.1f}")
        ct = me.cpu_times(); print(f"scheduler process cpu {ct.user + ct.system:.1f}")
    first = min(s["start"] for t in ts for s in t["startstops"] if s["action"] == "compute")
    last = max(s["stop"] for t in ts for s in t["startstops"] if s["action"] == "compute")
    print(f"first task at +{first - t0:.1f}s, last task ends +{last - t0:.1f}s, exit +{t1 - t0:.1f}s")
    busy = collections.Counter(); byprefix = collections.Counter(); per_sec = collections.defaultdict(float)
    for t in ts:
        for s in t["startstops"]:
            if s["action"] != "compute":
                continue
            d = s["stop"] - s["start"]
            key = t["key"] if isinstance(t["key"], str) else t["key"][0]
            prefix = "-".join(str(key).split("-")[:1]) + ":" + "-".join(str(key).split("-")[2:])[:60]
            byprefix[prefix] += d
            a = s["start"]
            while a < s["stop"]:
                b = min(s["stop"], int(a - t0) + 1 + t0)
                per_sec[int(a - t0)] += b - a
                a = b
    total = sum(byprefix.values())
    print(f"compute s {total:.1f}  (workers x span {workers * (last - first):.1f})")
    for k, v in byprefix.most_common(25):
        print(f"{v:7.1f}  {k}")
    spans = sorted((s["start"] - t0, s["stop"] - t0, str(t["key"])[:90], t.get("worker", "")) for t in ts for s in t["startstops"] if s["action"] == "compute" and s["stop"] - s["start"] > 0.05)
    for a, b, k, w in spans:
        print(f"  {a:6.1f} {b:6.1f} {b - a:5.1f}  {w[-5:]}  {k}")
    print("occupancy per second (workers busy):")
    print(" ".join(f"{per_sec.get(i, 0):.1f}" for i in range(int(t1 - t0) + 1)))

if __name__ == "__main__":
    main()
