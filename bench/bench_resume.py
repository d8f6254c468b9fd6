"""Resume after a kill: how long a run killed at ~80% of its wall time takes to finish, against a full run.

Corpus: bench/vs_datatrove/make_corpus.py (derived from the real pages in ../shared/data), default config,
`winnow run` as a user runs it. Steps, each a fresh process: (1) a full run, wall time T; (2) the same run
SIGKILLed at FRACTION x T; (3) the same command again, which resumes; wall time R. Reports R / T and checks
that the resumed run's output equals the full run's (every file but the data card, byte for byte).

Usage: .venv/bin/python bench/bench_resume.py [--docs 20000] [--fraction 0.8] [--work /tmp/winnow-bench-resume]
Writes bench/results/resume.json.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "vs_datatrove"))


def winnow(out, inputs, kill_after=None):
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--input", inputs, "--output", out]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate()
    return time.perf_counter() - t, proc.returncode, stdout, stderr


def identical(a, b) -> bool:
    stack = [filecmp.dircmp(a, b, ignore=["report"])]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)[1]:
            return False
        stack.extend(c.subdirs.values())
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--work", default="/tmp/winnow-bench-resume")
    args = ap.parse_args(argv)
    from make_corpus import write_corpus
    corpus = os.path.join(args.work, f"corpus-{args.docs}")
    if not os.path.exists(os.path.join(corpus, "part-00000.jsonl.gz")):
        write_corpus(corpus, args.docs)
    inputs = os.path.join(corpus, "*.jsonl.gz")
    full, resumed = os.path.join(args.work, "full"), os.path.join(args.work, "resumed")
    for d in (full, resumed, resumed + ".winnow-tmp", resumed + ".winnow-work"):
        shutil.rmtree(d, ignore_errors=True)

    t_full, rc, _, err = winnow(full, inputs)
    assert rc == 0, err[-3000:]
    t_killed, rc, _, _ = winnow(resumed, inputs, kill_after=args.fraction * t_full)
    assert rc == -signal.SIGKILL, f"the run ended (rc {rc}) before it was killed"
    work = resumed + ".winnow-work"
    cached = sum(1 for _, _, names in os.walk(work) for n in names if n.endswith(".chunk"))
    t_resumed, rc, out, err = winnow(resumed, inputs)
    assert rc == 0, err[-3000:]
    same = identical(full, resumed)
    res = {
        "date": time.strftime("%Y-%m-%d"), "commit": _commit(), "machine": f"{os.cpu_count()} CPUs, "
        f"{platform.machine()}, Python {platform.python_version()}", "docs": args.docs,
        "full_s": round(t_full, 1), "killed_at_s": round(t_killed, 1), "chunks_cached_at_kill": cached,
        "resumed_s": round(t_resumed, 1), "resumed_over_full": round(t_resumed / t_full, 3),
        "identical_output": same, "resume_line": next((line for line in out.splitlines()
                                                       if line.startswith("resuming")), None),
    }
    print(json.dumps(res, indent=2))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "resume.json"), "w") as f:
        json.dump(res, f, indent=2)
    assert same, "the resumed run's output differs from the full run's"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
