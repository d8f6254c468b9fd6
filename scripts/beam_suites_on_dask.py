"""Run two test suites that ship in the apache-beam wheel against Winnow's WinnowDaskRunner; report each test.

Suites (both inside the installed apache-beam package):
  dask_runner_test  apache_beam/runners/dask/dask_runner_test.py: DaskRunnerRunPipelineTest, its setUp
                    swapped onto WinnowDaskRunner, and DaskOptionsTest (Beam's option parsing, run as is)
  fn_runner_test    apache_beam/runners/portability/fn_api_runner/fn_runner_test.py: FnApiRunnerTest, its
                    create_pipeline() swapped onto WinnowDaskRunner

Every pipeline runs with --dask_client_address of ONE LocalCluster (2 worker processes, 1 thread each) started
here. Tests run one at a time in this process, each under a SIGALRM timeout; a test still running then is a
"hang", and the cluster is replaced by a new one before the next test (a task may still hold a worker).

Outcomes: pass; refused (UnsupportedGraph, "--runner dask does not support ...", anywhere in the exception
chain); wrong result (BeamAssertException / "Failed assert", or a test's AssertionError, except one about
metrics or in a test named for errors/exceptions/tracebacks, which checks the text of an exception: those are
errors); error (anything else: type, first line, where raised); hang; skipped. The goal: no "wrong result".

fn_runner_test imports PyHamcrest and tenacity: `.venv/bin/pip install -e '.[beam-suites]'`. It takes
minutes, so it is not part of `make test`:

    .venv/bin/python scripts/beam_suites_on_dask.py [--filter SUBSTRING] [--timeout 60]
        [--out docs/dask_runner_beam_suites.md] [--json PATH]

Prints the table (progress goes to stderr) and writes it as Markdown to --out; exits 1 if any test is a
wrong result.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import hashlib
import os
import platform
import re
import signal
import subprocess
import sys
import time
import traceback
import unittest

import apache_beam as beam
import dask
import dask.distributed as ddist
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.dask import dask_runner_test as dask_suite
try:
    from apache_beam.runners.portability.fn_api_runner import fn_runner_test as fn_suite
except ImportError as e:  # PyHamcrest, tenacity: Beam's test extras
    sys.exit(f"{e}: run `.venv/bin/pip install -e '.[beam-suites]'` first")
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline.runners.dask import WinnowDaskRunner, local_cluster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFUSED = "--runner dask does not support"
OUTCOMES = ("pass", "refused", "wrong result", "error", "hang", "skipped")
ADDRESS = ""        # the LocalCluster's scheduler address, set in main()


def _options() -> PipelineOptions:
    return PipelineOptions([f"--dask_client_address={ADDRESS}"])


class DaskRunnerRunPipelineTest(dask_suite.DaskRunnerRunPipelineTest):
    def setUp(self):
        self.pipeline = TestPipeline(runner=WinnowDaskRunner(), options=_options())


class FnApiRunnerTest(fn_suite.FnApiRunnerTest):
    def create_pipeline(self, is_drain=False):
        return beam.Pipeline(runner=WinnowDaskRunner(), options=_options())


SUITES = {"dask_runner_test": [dask_suite.DaskOptionsTest, DaskRunnerRunPipelineTest],
          "fn_runner_test": [FnApiRunnerTest]}
TEST_FILES = ("dask_runner_test.py", "fn_runner_test.py")


class Hang(BaseException):
    """Raised by SIGALRM in the test's thread (BaseException: no `except Exception` in Beam swallows it)."""


_timed_out = False


def _alarm(signum, frame):
    """Raise Hang, and again each second: code that swallows it (a gc callback, a bare except) gets no reprieve."""
    global _timed_out
    _timed_out = True
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    raise Hang()


def _first_line(text: str, limit: int = 300) -> str:
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _chain(exc: BaseException) -> list:
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _test_line(tb) -> str:
    """The source line of the innermost frame in the Beam test module (where the test's assertion failed)."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename.endswith(TEST_FILES)]
    return f" [at: {frames[-1].line}]" if frames and frames[-1].line else ""


def _where(tb) -> str:
    """Where the exception was raised (for dask task errors: the worker's frame), as ' [at file:line in f]'."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return ""
    return f" [at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}]"


def classify(err, test_name: str, timeout: float) -> tuple[str, str]:
    exc_type, exc, tb = err
    if isinstance(exc, Hang):
        return "hang", f"still running after {timeout:g} s"
    chain = _chain(exc)
    messages = ["".join(traceback.format_exception_only(type(e), e)) for e in chain]
    for m in messages:
        if REFUSED in m:
            return "refused", _first_line(m[m.index(REFUSED):])
    for e, m in zip(chain, messages):
        if type(e).__name__ == "BeamAssertException" or "BeamAssertException" in m or "Failed assert" in m:
            return "wrong result", f"{type(e).__name__}: {_first_line(str(e))}"
    if isinstance(exc, AssertionError):
        reason = f"AssertionError: {_first_line(str(exc))}{_test_line(tb)}"
        if "metric" in (reason + test_name).lower():
            return "error", "(metrics) " + reason
        if re.search(r"error|exception|traceback", test_name):  # checks the text of the exception raised
            return "error", "(exception text) " + reason
        return "wrong result", reason
    return "error", f"{exc_type.__name__}: {_first_line(str(exc))}{_where(tb)}"


class _Record(unittest.TestResult):
    """Keeps the first non-pass outcome of one test (a failed subTest counts)."""

    def __init__(self, test_name: str, timeout: float):
        super().__init__()
        self.test_name, self.timeout = test_name, timeout
        self.outcome = ("pass", "")

    def _set(self, outcome, reason):
        if self.outcome[0] == "pass":
            self.outcome = (outcome, reason)

    def addError(self, test, err):
        self._set(*classify(err, self.test_name, self.timeout))

    addFailure = addError

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.addError(test, err)

    def addSkip(self, test, reason):
        self._set("skipped", reason)

    def addUnexpectedSuccess(self, test):
        self._set("error", "unexpected success of an expectedFailure test")


def _close_clients() -> None:
    """Close every dask client the test's jobs opened (a refused job opens one too): none outlives its test."""
    for client in list(ddist.client._global_clients.values()):   # every live Client, weakly held
        try:
            client.close(timeout=10)
        except Exception:  # noqa: BLE001 - already closed or disconnected
            pass


class Cluster:
    """The LocalCluster every test's pipelines run on. After a hang it is replaced (its worker processes are
    killed): a task may still hold a worker thread, and `Client.restart` of busy workers proved flaky here."""

    def __enter__(self):
        self.start()
        return self

    def start(self):
        global ADDRESS
        self.stack = contextlib.ExitStack()
        ADDRESS = self.stack.enter_context(local_cluster(2))

    def replace(self):
        self.stack.close()
        self.start()

    def __exit__(self, *exc):
        self.stack.close()


def run_one(test: unittest.TestCase, name: str, timeout: float, cluster: Cluster) -> tuple[str, str, float]:
    global _timed_out
    record, _timed_out = _Record(name, timeout), False
    start = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        test.run(record)
    except Hang:  # fired outside the test's own try blocks
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if _timed_out:  # whatever the test recorded after that is a consequence
        record.outcome = ("hang", f"still running after {timeout:g} s")
    seconds = time.monotonic() - start
    _close_clients()
    if record.outcome[0] == "hang":
        cluster.replace()
    return (*record.outcome, seconds)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _runner_sha() -> str:
    """The runner package's files as run (the commit alone does not say whether it had uncommitted changes)."""
    package = os.path.join(REPO, "pipeline", "runners", "dask")
    h = hashlib.sha256()
    for name in sorted(n for n in os.listdir(package) if n.endswith(".py")):
        with open(os.path.join(package, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()[:12]


def report(rows: list, header: dict) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    out = ["# Beam's own test suites on WinnowDaskRunner", "",
           "Written by `scripts/beam_suites_on_dask.py` (see its docstring); do not edit by hand.", ""]
    out += [f"- {k}: {v}" for k, v in header.items()]
    out += ["", "| suite | " + " | ".join(OUTCOMES) + " | total |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for suite in dict.fromkeys(r["suite"] for r in rows):
        counts = [sum(r["suite"] == suite and r["outcome"] == o for r in rows) for o in OUTCOMES]
        out.append(f"| {suite} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    wrong = sum(r["outcome"] == "wrong result" for r in rows)
    out += ["", f"**{'NO' if not wrong else wrong} test(s) with a wrong result.**", "",
            "| suite | test | outcome | s | reason |", "|---|---|---|---|---|"]
    out += [f"| {r['suite']} | {r['test']} | {r['outcome']} | {r['seconds']:.1f} | {esc(r['reason'])} |"
            for r in rows]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--filter", default="", help="run only tests whose 'suite.Class.test' contains this")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per test before it counts as a hang")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "dask_runner_beam_suites.md"))
    ap.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = ap.parse_args()
    sys.argv = sys.argv[:1]  # Beam's PipelineOptions() / TestPipeline() would parse this script's flags
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"  # the worker processes' logs (read at their start)
    for name in ("", "distributed", "apache_beam"):
        logging.getLogger(name).setLevel(logging.ERROR)
    loader = unittest.TestLoader()
    todo = [(suite, f"{cls.__name__}.{name}", cls(name))
            for suite, classes in SUITES.items() for cls in classes
            for name in loader.getTestCaseNames(cls)
            if args.filter.lower() in f"{suite}.{cls.__name__}.{name}".lower()]
    signal.signal(signal.SIGALRM, _alarm)
    rows, start = [], time.monotonic()
    with Cluster() as cluster:
        for i, (suite, name, test) in enumerate(todo, 1):
            outcome, reason, seconds = run_one(test, name, args.timeout, cluster)
            rows.append({"suite": suite, "test": name, "outcome": outcome, "seconds": round(seconds, 2),
                         "reason": reason})
            print(f"[{i}/{len(todo)}] {suite} {name}: {outcome} ({seconds:.1f} s)"
                  + (f" {reason}" if reason else ""), file=sys.stderr, flush=True)
    header = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "apache-beam": beam.__version__, "dask": dask.__version__, "distributed": ddist.__version__,
              "Python": platform.python_version(), "git commit": _git_commit(),
              "pipeline/runners/dask/ sha256": _runner_sha(),
              "cluster": "LocalCluster, 2 worker processes x 1 thread",
              "timeout per test": f"{args.timeout:g} s", "wall time": f"{time.monotonic() - start:.0f} s"}
    if args.filter:
        header["filter"] = repr(args.filter)
    text = report(rows, header)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "rows": rows}, f, indent=1)
    return 1 if any(r["outcome"] == "wrong result" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
