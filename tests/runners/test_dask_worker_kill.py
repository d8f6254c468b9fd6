"""A `winnow run --runner dask` survives the SIGKILL of a dask worker process mid-run: the scheduler reschedules
the killed worker's running tasks and recomputes the results it held, the nanny starts a new worker, and the
run ends with exit status 0 and the same outputs as an uninterrupted run on the direct runner.

The cluster is a dask.distributed LocalCluster started by the test (2 worker processes of 1 thread, each under a
nanny) and passed to `winnow run --dask-address`, so the test can see the scheduler and kill a worker while the
job runs. A worker is killed once 40% of the job's tasks have finished (the first shuffles are done, spill and
shuffle files exist, the group-by-key stages are running), and it is the worker holding the most results in
memory: the scheduler recomputes those (and their lineage) on the surviving and the restarted worker.

`distributed.scheduler.allowed-failures` (default 3) matters: a task that was running on a worker when the
worker died is "suspicious", and a task suspicious more than allowed-failures times fails the job
(KilledWorker). One kill makes each task suspicious at most once; the test sets 3 explicitly so that a user's
dask config cannot make it flaky. Input: the bundled sample corpus, 2 copies with one unique line added to
every record (so the copies are not all exact duplicates) plus the malformed sample (dead letters).
Bias off; the GPT-2 tokenizer from ../shared when present (training one is slow), else tokenize off.
About 55-75 s on 2 cores: ~20 s direct run, ~30-50 s dask run (a third or more of
the job's tasks run again after the kill).
"""
import collections
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import dask
import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin

from tests.conftest import DATA, ROOT
from tests.integration.helpers import read_rows
from tests.runners.test_runners import RUNNER_KEYS

SAMPLE = os.path.join(ROOT, "pipeline", "resources", "sample")
COPIES = 2
KILL_AT = 0.4                 # kill once this fraction of the job's tasks have finished (~13 s into a ~31 s job)
RUN_TIMEOUT = 300


class _Recorder(SchedulerPlugin):
    """On the scheduler: how many times each task finished, which failed, and workers leaving and joining."""
    name = "winnow-kill-recorder"

    def __init__(self):
        self.finished = collections.Counter()
        self.erred = []
        self.events = []

    def transition(self, key, start, finish, *args, **kwargs):
        if start == "processing" and finish == "memory":
            self.finished[str(key)] += 1
        elif finish == "erred":
            self.erred.append(str(key))

    def add_worker(self, scheduler=None, worker=None, **kwargs):
        self.events.append(("add", worker, time.time()))

    def remove_worker(self, scheduler=None, worker=None, **kwargs):
        self.events.append(("remove", worker, time.time()))

    def snapshot(self):
        return {"finished": dict(self.finished), "erred": list(self.erred), "events": list(self.events)}


def _scheduler_state(dask_scheduler):
    """Tasks finished so far, task counts by state, and per worker: address -> (pid, results held, tasks
    running)."""
    states = collections.Counter(ts.state for ts in dask_scheduler.tasks.values())
    workers = {ws.address: (ws.pid, len(ws.has_what), len(ws.processing))
               for ws in dask_scheduler.workers.values()}
    return len(dask_scheduler.plugins[_Recorder.name].finished), dict(states), workers


def _recorded(dask_scheduler):
    return dask_scheduler.plugins[_Recorder.name].snapshot()


def _unique_word(s: str) -> str:
    """Ten letters from a hash (digits would be normalized away by dedup, a shared line removed by line dedup)."""
    return "".join(chr(97 + b % 26) for b in hashlib.sha1(s.encode()).digest()[:10])


def _make_inputs(folder) -> str:
    os.makedirs(folder)
    with gzip.open(os.path.join(SAMPLE, "sample.jsonl.gz"), "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    for c in range(COPIES):
        with gzip.open(os.path.join(folder, f"part-{c}.jsonl.gz"), "wt", encoding="utf-8") as f:
            for r in records:
                r = dict(r, id=f"{r.get('id')}#copy{c}")
                if isinstance(r.get("text"), str):
                    r["text"] += f"\nVariant {_unique_word(r['id'])} here."
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    shutil.copy(os.path.join(SAMPLE, "sample_malformed.jsonl"), folder)
    return os.path.join(folder, "*")


def _write_config(path) -> str:
    tok = os.path.join(DATA, "tokenizer_gpt2", "tokenizer.json")
    tokenize = f"  tokenizer: {json.dumps(tok)}\n" if os.path.exists(tok) else "  enabled: false\n"
    with open(path, "w") as f:
        f.write("bias:\n  enabled: false\ntokenize:\n" + tokenize)
    return str(path)


def _cmd(inputs, out, cfg, runner, *extra):
    return [sys.executable, "-m", "pipeline.cli", "run", "--input", inputs, "--output", str(out), "--config", cfg,
            "--runner", runner, "--overwrite", *extra]


def _manifest(out):
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


def _row_key(row):
    return json.dumps(row, sort_keys=True, default=repr)


def _diff_rows(kind, want, got, id_field):
    """None when equal, else a description of what differs."""
    if id_field:
        want, got = sorted(want, key=lambda r: r[id_field]), sorted(got, key=lambda r: r[id_field])
    else:
        want, got = sorted(want, key=_row_key), sorted(got, key=_row_key)
    if want == got:
        return None
    msg = [f"{kind}: direct {len(want)} rows, dask after kill {len(got)} rows"]
    if id_field:
        w, g = {r[id_field]: r for r in want}, {r[id_field]: r for r in got}
        dup = [k for k, n in collections.Counter(r[id_field] for r in got).items() if n > 1]
        changed = [k for k in w.keys() & g.keys() if w[k] != g[k]]
        cols = collections.Counter(c for k in changed for c in w[k] if w[k][c] != g[k].get(c))
        msg.append(f"missing {len(w.keys() - g.keys())} {sorted(w.keys() - g.keys())[:5]}, "
                   f"extra {len(g.keys() - w.keys())} {sorted(g.keys() - w.keys())[:5]}, duplicated {len(dup)} "
                   f"{dup[:5]}, changed {len(changed)} {sorted(changed)[:5]} (columns {dict(cols)})")
    else:
        w, g = collections.Counter(map(_row_key, want)), collections.Counter(map(_row_key, got))
        msg.append(f"{sum((w - g).values())} rows only in direct, {sum((g - w).values())} only in dask")
    return "; ".join(msg)


def test_dask_run_survives_a_killed_worker_with_identical_outputs(tmp_path):
    t_start = time.monotonic()
    inputs = _make_inputs(tmp_path / "in")
    cfg = _write_config(tmp_path / "cfg.yaml")

    # the reference: the same run on the direct runner
    direct_out = tmp_path / "direct"
    proc = subprocess.run(_cmd(inputs, direct_out, cfg, "direct"), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"direct run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    t_direct = time.monotonic() - t_start

    dask_out = tmp_path / "dask"
    with dask.config.set({"distributed.scheduler.allowed-failures": 3,
                          "distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                         scheduler_kwargs={"dashboard_address": ":0"}) as cluster, \
            Client(cluster.scheduler_address) as client:
        client.register_plugin(_Recorder())
        old_pids = client.run(os.getpid)                 # worker address -> pid of the worker process
        assert len(old_pids) == 2
        t_dask = time.monotonic()
        run = subprocess.Popen(_cmd(inputs, dask_out, cfg, "dask", "--dask-address", cluster.scheduler_address),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        output = {}
        reader = threading.Thread(target=lambda: output.update(zip(("stdout", "stderr"), run.communicate())))
        reader.start()                                   # drain the pipes while we poll (no pipe-full stall)
        kill, graph = None, 0
        try:
            while run.poll() is None and time.monotonic() - t_dask < RUN_TIMEOUT:
                finished, states, workers = client.run_on_scheduler(_scheduler_state)
                graph = max(graph, sum(states.values()))     # finished tasks are forgotten: the most seen
                if graph >= 100 and finished >= KILL_AT * graph:
                    # the worker holding the most results, whose running tasks are rescheduled
                    victim = max(workers, key=lambda a: (workers[a][1], workers[a][2], a))
                    pid = old_pids[victim]
                    assert workers[victim][0] in (None, pid)
                    still_running = run.poll() is None
                    os.kill(pid, signal.SIGKILL)
                    kill = {"worker": victim, "pid": pid, "at_s": round(time.monotonic() - t_dask, 1),
                            "run_still_running": still_running, "tasks": graph, "finished": finished,
                            "task_states": states,
                            "victim_held": workers[victim][1], "victim_running": workers[victim][2]}
                    break
                time.sleep(0.2)
            reader.join(RUN_TIMEOUT - (time.monotonic() - t_dask))
        finally:
            if run.poll() is None:
                run.kill()
                reader.join(30)
        t_dask = time.monotonic() - t_dask
        client.wait_for_workers(2, timeout=60)           # the nanny replaced the killed worker
        new_pids = client.run(os.getpid)
        rec = client.run_on_scheduler(_recorded)

    recomputed = {k: n for k, n in rec["finished"].items() if n > 1}
    by_prefix = collections.Counter(k.strip("()'\"").split("-")[0] for k in recomputed)
    report = {"kill": kill, "direct_s": round(t_direct, 1), "dask_s": round(t_dask, 1),
              "tasks_finished": len(rec["finished"]), "recomputed": len(recomputed),
              "recomputed_by_prefix": dict(by_prefix), "erred": rec["erred"][:10],
              "worker_events": [(e, w) for e, w, _ in rec["events"]], "new_pids": sorted(new_pids.values())}
    print("worker kill:", json.dumps(report, indent=1, default=str))

    assert kill is not None, f"the job ended before {KILL_AT:.0%} of its tasks had finished: {report}"
    assert kill["run_still_running"], "the kill was sent after the run had ended"
    assert kill["task_states"].get("waiting", 0) + kill["task_states"].get("queued", 0) > 0, \
        f"the job had no tasks left to run at the kill: {report}"
    assert run.returncode == 0, (f"the dask run failed after the kill {report}:\n{output.get('stdout', '')[-3000:]}\n"
                                 f"{output.get('stderr', '')[-6000:]}")
    assert ("remove", kill["worker"]) in report["worker_events"], \
        f"the scheduler did not see the worker leave: {report}"
    assert kill["pid"] not in new_pids.values() and len(new_pids) == 2, f"no worker replaced the killed one: {report}"
    assert not rec["erred"], f"tasks failed: {report}"
    assert kill["victim_held"] > 0 and report["recomputed"] > 0, f"the kill cost the job nothing: {report}"

    # the outputs equal the direct run's: every row of every output, and the manifest (counts, files' sha256)
    problems = [d for d in (_diff_rows(kind, read_rows(str(direct_out), kind), read_rows(str(dask_out), kind), id_field)
                            for kind, id_field in (("docs", "doc_id"), ("rejects", "doc_id"),
                                                   ("dead_letter", None), ("clusters", "cluster_id")))
                if d]
    base, got = _manifest(direct_out), _manifest(dask_out)
    assert got["runner"] == "dask"
    problems += [f"manifest[{k!r}]: direct {json.dumps(base[k], default=str)[:300]}, "
                 f"dask {json.dumps(got.get(k), default=str)[:300]}"
                 for k in base if k not in RUNNER_KEYS and got.get(k) != base[k]]
    assert not problems, f"outputs differ after the worker kill {report}:\n" + "\n".join(problems)
    assert base["kept"] > 400 and base["dead_letter"] > 0 and base["rejected"]
