"""Live progress of a local run, and the logging setup of `winnow run`.

Worker side: `add(name, n)` (called by every `Counters.inc`, by ParseFileFn for input bytes and by the file
writer for written rows) sums counts in a process-local aggregator. It is a no-op unless the environment
variable WINNOW_PROGRESS_DIR names a folder: then a daemon thread writes the process's cumulative counts,
at most about once per second, to one small JSON file there (`<pid>-<random>.json`, written to a hidden
temporary name and renamed, so a reader never sees half a file). `flush()` (bundle ends) writes at once.
Every local runner's workers are started by the driver process, so they inherit the variable: the
FnApiRunner (in process, or `sdk_worker_main` subprocesses with the driver's environment), the dask
LocalCluster's worker processes, and the portable runner's local worker pool. Remote workers do not see it
and report nothing. Progress files are only ever read by the display: a run never depends on them.

Driver side: `Display(progress_dir, total_bytes)` sets the variable for the run's lifetime (enter it before
any local cluster or service starts), and a thread reads the folder twice a second and shows one live line
on a terminal (stage, docs read, docs kept so far, docs/s, elapsed, ETA of the read phase), or a plain line
every `interval` seconds when the stream is not a terminal. On exit it clears the live line.

`configure_logging(verbose)`: Beam, dask and distributed log WARNING and above (INFO with verbose), and
Beam's import-time "apitools not found ... bigquery" warning is dropped (kept with verbose). Call it before
apache_beam is imported.
"""
from __future__ import annotations

import atexit
import collections
import json
import logging
import os
import secrets
import shutil
import sys
import threading
import time

ENV_DIR = "WINNOW_PROGRESS_DIR"
ENV_VERBOSE = "WINNOW_VERBOSE"
FLUSH_SECONDS = 1.0


# ---------------------------------------------------------------------------------------------- worker side

class _Aggregator:
    """Cumulative counts of this process, written to one file of `directory` by a daemon thread."""

    def __init__(self, directory: str):
        self.directory = directory
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = os.path.join(directory, name + ".json")
        self.tmp = os.path.join(directory, "." + name + ".tmp")
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()           # DoFn bundles run on several threads of one SDK worker
        self.write_lock = threading.Lock()
        self.dirty = False
        self.failed = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="winnow-progress", daemon=True)
        self.thread.start()

    def add(self, name: str, n: int) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n
            self.dirty = True

    def _loop(self) -> None:
        while not self.stop.wait(FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        if not self.dirty or self.failed:
            return
        with self.write_lock:
            with self.lock:
                snapshot, self.dirty = dict(self.counts), False
            body = json.dumps({"pid": os.getpid(), "time": time.time(), "counts": snapshot})
            try:
                with open(self.tmp, "w", encoding="utf-8") as f:
                    f.write(body)
                os.replace(self.tmp, self.path)
            except OSError:          # folder gone (run cleaned up) or unwritable: stop trying, never fail the run
                self.failed = True

    def close(self) -> None:
        self.stop.set()
        self.flush()


_agg: _Aggregator | None = None
_checked = False                      # the environment was looked at (in this process, since the last reset)
_init_lock = threading.Lock()


def _init() -> _Aggregator | None:
    global _agg, _checked
    with _init_lock:
        if not _checked:
            directory = os.environ.get(ENV_DIR)
            if directory:
                try:
                    os.makedirs(directory, exist_ok=True)
                    _agg = _Aggregator(directory)
                except OSError:
                    _agg = None
            _checked = True
        return _agg


def add(name: str, n: int = 1) -> None:
    """Count n more `name` (a counter name like `input`, `langid.out`, `write.docs`) for the live display."""
    a = _agg
    if a is None:
        if _checked:
            return
        a = _init()
        if a is None:
            return
    a.add(name, n)


def flush() -> None:
    """Write this process's counts now (end of a bundle), if anything changed since the last write."""
    a = _agg
    if a is not None:
        a.flush()


def _reset() -> None:
    """Forget the aggregator (after a fork, or when the driver starts or ends a run's progress)."""
    global _agg, _checked, _init_lock
    _agg, _checked, _init_lock = None, False, threading.Lock()


def _close() -> None:
    a = _agg
    if a is not None:
        a.close()


atexit.register(_close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset)      # a forked worker counts for itself, from zero


# ---------------------------------------------------------------------------------------------- driver side

def read_counts(progress_dir: str) -> dict[str, int]:
    """The sum over every process's progress file; {} for a missing or empty folder."""
    try:
        names = os.listdir(progress_dir)
    except OSError:
        return {}
    total: dict[str, int] = {}
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        try:
            with open(os.path.join(progress_dir, name), encoding="utf-8") as f:
                counts = json.load(f)["counts"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for k, v in counts.items():
            if isinstance(v, (int, float)):
                total[k] = total.get(k, 0) + int(v)
    return total


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern) if pattern.endswith(".") else name == pattern


# In pipeline order: (label, counter names that show the stage at work (a trailing '.' = a prefix),
# counters whose sum is the docs it has processed, the counter of docs it has passed on).
STAGES = (
    ("read", ("input", "normalize.", "read.", "dead_letter.parse", "dead_letter.normalize"), ("input",),
     "normalize.out"),
    ("langid", ("langid.",), ("langid.in",), "langid.out"),
    ("quality", ("quality.", "dead_letter.quality"), ("quality.in",), "quality.out"),
    ("pii", ("pii.",), (), None),
    ("exact dedup", ("exact_dedup.", "dedup.exact_duplicate"), ("exact_dedup.out", "dedup.exact_duplicate"),
     "exact_dedup.out"),
    ("near dedup", ("near_dedup.", "dedup.near_duplicate"),
     ("near_dedup.out", "dedup.near_duplicate", "dedup.near_duplicate_of_index"), "near_dedup.out"),
    ("tokenize", ("tokenize.", "shard."), ("tokenize.docs.",), None),
    ("write", ("write.",), ("write.",), None),
)


def _sum(counts: dict, patterns) -> int:
    return sum(v for k, v in counts.items() if any(_matches(k, p) for p in patterns))


def _hms(seconds: float) -> str:
    s = int(max(0, seconds))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class _State:
    """What the display knows: counts polled over time -> stage, rate, ETA."""

    RATE_WINDOW = 5.0

    def __init__(self, total_bytes: int | None, clock=time.monotonic):
        self.total_bytes = total_bytes or None
        self.clock = clock
        self.start = clock()
        self.counts: dict[str, int] = {}
        self.stage: str | None = None
        self.stage_totals: dict[str, int] = {}
        self.samples: collections.deque = collections.deque()      # (t, docs processed by the shown stage)
        self.read_start: float | None = None

    def update(self, counts: dict[str, int]) -> None:
        now = self.clock()
        totals = {label: _sum(counts, pats) for label, pats, _, _ in STAGES}
        active = [label for label, *_ in STAGES if totals[label] != self.stage_totals.get(label, 0)]
        if active and active[-1] != self.stage:                    # the furthest stage that moved
            self.stage = active[-1]
            self.samples.clear()
        self.stage_totals, self.counts = totals, counts
        if self.read_start is None and counts.get("read.bytes", 0) > 0:
            self.read_start = now
        docs = self._stage_docs()
        if docs is not None:
            self.samples.append((now, docs))
            while len(self.samples) > 2 and now - self.samples[1][0] >= self.RATE_WINDOW:
                self.samples.popleft()

    def _stage_docs(self) -> int | None:
        for label, _, docs, _ in STAGES:
            if label == self.stage:
                return _sum(self.counts, docs) if docs else None
        return None

    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else None

    def kept(self) -> int | None:
        """Docs the shown stage has passed on so far (kept docs written, in the write stage)."""
        if self.stage == "write":
            return self.counts.get("write.docs")
        for label, _, _, out in STAGES:
            if label == self.stage and out:
                return self.counts.get(out)
        return None

    def read_fraction(self) -> float | None:
        if not self.total_bytes or "read.bytes" not in self.counts:
            return None
        return min(1.0, self.counts["read.bytes"] / self.total_bytes)

    def eta(self) -> float | None:
        f = self.read_fraction()
        if f is None or not 0 < f < 1 or self.read_start is None:
            return None
        spent = self.clock() - self.read_start
        return spent * (1 - f) / f if spent > 2 else None

    def fields(self) -> list[str]:
        """[elapsed, read N docs (p%), <stage> N docs, M kept, R docs/s, read ETA]: what is known so far."""
        out = [_hms(self.clock() - self.start)]
        read = self.counts.get("input")
        if read is not None:
            f = self.read_fraction()
            out.append(f"read {read:,} docs" + (f" ({f:.0%})" if f is not None and f < 1 else ""))
        if self.stage is None:
            out.append("starting")
        elif self.stage != "read":
            docs, kept = self._stage_docs(), self.kept()
            if self.stage == "write":
                final = next((self.counts[o] for _, _, _, o in reversed(STAGES) if o and o in self.counts), None)
                out.append(f"write {kept or 0:,}" + (f"/{final:,}" if final is not None else "") + " kept docs")
            else:
                out.append(self.stage + (f" {docs:,} docs" if docs else "")
                           + (f", {kept:,} kept" if kept is not None else ""))
        r = self.rate()
        if r is not None and r > 0:
            out.append(f"{r:,.0f} docs/s")
        eta = self.eta()
        if eta is not None:
            out.append(f"read ETA {_hms(eta)}")
        return out


_ACTIVE: Display | None = None      # the display on screen: log records clear its line first


class Display:
    """with Display(progress_dir, total_bytes): ... shows the run's progress on `stream` (default stderr).
    progress_dir must be a local folder (a remote path turns the counts off: only the elapsed time shows).

    Entering sets WINNOW_PROGRESS_DIR=progress_dir for this process and the workers it starts from then on
    (enter it before the runner's local cluster or services start); exiting restores it, clears the live line,
    and leaves the folder in place (the caller deletes it). A Display entered while another is active does
    nothing: the outer one (its folder, its line) covers the inner run."""

    def __init__(self, progress_dir: str, total_bytes: int | None = None, stream=None, interval: float | None = None,
                 poll: float = 0.5, tty: bool | None = None, set_env: bool = True):
        self.dir = progress_dir
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.poll = poll
        self.interval = interval if interval is not None else (poll if tty else 15.0)
        # workers write with plain file calls: a remote folder (gs://...) cannot take them
        self.set_env = set_env and "://" not in progress_dir
        self.state = _State(total_bytes)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = 0                  # width of the live line on screen (TTY), 0 = none
        self._last_print: float | None = None
        self._old_env: str | None = None

    # -- rendering
    def line(self) -> str:
        return " | ".join(self.state.fields())

    def _width(self) -> int:
        try:
            return max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        except (OSError, ValueError):
            return 99

    def _clear(self) -> None:
        """Remove the live line (caller holds self.lock)."""
        if self._shown:
            self._write("\r\x1b[K")
            self._shown = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):        # a closed stream must not break the run
            pass

    def tick(self) -> None:
        """Poll the folder once and show what is due."""
        self.state.update(read_counts(self.dir))
        now = self.state.clock()
        with self.lock:
            if self.tty:
                text = ("winnow " + self.line())[: self._width()]
                self._write("\r" + text + "\x1b[K")
                self._shown = len(text)
            elif now - (self._last_print if self._last_print is not None else self.state.start) >= self.interval:
                self._write("winnow progress: " + self.line() + "\n")
                self._last_print = now

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:                # progress is cosmetic: never take the run down
                pass

    # -- context
    def __enter__(self) -> Display:
        global _ACTIVE
        self._nested = _ACTIVE is not None
        if self._nested:                     # one is on screen already (a caller's): it shows this run too
            return self
        if self.set_env:
            try:
                os.makedirs(self.dir, exist_ok=True)
            except OSError:
                pass
            self._old_env = os.environ.get(ENV_DIR)
            os.environ[ENV_DIR] = self.dir
            _close()
            _reset()                         # the in-process runner counts into this run's folder
        _ACTIVE = self
        self._thread = threading.Thread(target=self._loop, name="winnow-progress-display", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        if self._nested:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.set_env:
            _close()                         # the in-process runner's last counts reach the folder
            _reset()
            if self._old_env is None:
                os.environ.pop(ENV_DIR, None)
            else:
                os.environ[ENV_DIR] = self._old_env
        with self.lock:
            self._clear()
        if _ACTIVE is self:
            _ACTIVE = None


# ---------------------------------------------------------------------------------------------- logging

NOISY_LOGGERS = ("apache_beam", "distributed", "dask", "tornado", "bokeh", "fsspec", "grpc", "absl", "urllib3")
_APITOOLS = "apitools not found"


class _DropApitools(logging.Filter):
    """Beam logs this on the root logger at import whenever the GCP extras are not installed: noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_APITOOLS)


class _Handler(logging.StreamHandler):
    """stderr at emit time; clears the live progress line first so a record never lands in the middle of it."""

    def __init__(self):
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not sys.stderr:          # follow a replaced sys.stderr (tests, redirections)
            self.setStream(sys.stderr)
        d = _ACTIVE
        if d is not None and d.tty and d.stream is self.stream:
            with d.lock:
                d._clear()
                super().emit(record)
        else:
            super().emit(record)


_FILTER = _DropApitools()


FAILURE_LOGGERS = ("apache_beam.runners.common", "apache_beam.runners.worker.sdk_worker",
                   "apache_beam.runners.portability.fn_api_runner.fn_runner", "distributed.worker",
                   "distributed.scheduler")


def configure_logging(verbose: bool = False) -> None:
    """WARNING and above from Beam, dask and distributed (INFO and Beam's import warnings with verbose), on
    stderr. Call before importing apache_beam: its import logs the apitools warning through logging.warning,
    which would otherwise also install the root handler that made distributed's INFO lines appear.
    Child processes started afterwards (dask LocalCluster workers) read ENV_VERBOSE (see dask_setup)."""
    root = logging.getLogger()
    if not any(isinstance(h, _Handler) for h in root.handlers):
        h = _Handler()
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(h)
    level = logging.INFO if verbose else logging.WARNING
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    # a failed bundle or task is logged with its traceback where it ran, then raised to the driver, where the
    # winnow command prints it as one line (the traceback with --verbose)
    for name in FAILURE_LOGGERS:
        logging.getLogger(name).setLevel(level if verbose else logging.CRITICAL)
    if verbose:
        root.removeFilter(_FILTER)
    else:
        root.addFilter(_FILTER)
    os.environ[ENV_VERBOSE] = "1" if verbose else "0"
    # distributed sets its loggers' levels from dask's config when it is imported (here, or in a worker):
    # dask reads DASK_LOGGING__DISTRIBUTED into that config
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "info" if verbose else "warning"


def quiet_worker_logging() -> None:
    """In a worker process started by the driver (before it imports apache_beam): drop the apitools warning
    unless the driver was verbose."""
    if os.environ.get(ENV_VERBOSE) != "1":
        logging.getLogger().addFilter(_FILTER)


def dask_setup(worker=None) -> None:
    """dask preload hook (pipeline/runners/dask/cluster.py local_cluster passes preload=['pipeline.progress'])."""
    quiet_worker_logging()
