"""Live progress (pipeline/progress.py): the worker-side aggregator and its files, the driver-side display on a
terminal and in a log, the logging setup, and the final counts of a real FnApiRunner run of the sample."""
from __future__ import annotations

import io
import json
import logging
import os
import time

import pytest

from pipeline import progress


@pytest.fixture
def progress_dir(tmp_path, monkeypatch):
    """Progress on, into a fresh folder, for this process (as a worker started by the driver sees it)."""
    d = tmp_path / "progress"
    monkeypatch.setenv(progress.ENV_DIR, str(d))
    progress._close()
    progress._reset()
    yield d
    progress._close()
    progress._reset()


@pytest.fixture
def no_progress(monkeypatch):
    monkeypatch.delenv(progress.ENV_DIR, raising=False)
    progress._close()
    progress._reset()
    yield
    progress._reset()


def _files(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_add_without_the_variable_is_a_no_op(no_progress, tmp_path):
    progress.add("input", 5)
    progress.flush()
    assert progress._agg is None and progress._checked


def test_counts_reach_one_file_per_process(progress_dir):
    progress.add("input", 3)
    progress.add("input")
    progress.add("langid.out", 2)
    progress.flush()
    names = _files(progress_dir)
    assert len(names) == 1 and names[0].startswith(f"{os.getpid()}-") and names[0].endswith(".json")
    with open(progress_dir / names[0]) as f:
        body = json.load(f)
    assert body["pid"] == os.getpid() and body["counts"] == {"input": 4, "langid.out": 2}
    progress.add("input", 6)
    progress.flush()                                    # cumulative, same file, no temporary left behind
    assert _files(progress_dir) == names
    assert progress.read_counts(str(progress_dir)) == {"input": 10, "langid.out": 2}


def test_the_flusher_thread_writes_within_about_a_second(progress_dir):
    progress.add("quality.in", 7)
    deadline = time.monotonic() + 3 * progress.FLUSH_SECONDS
    while time.monotonic() < deadline and progress.read_counts(str(progress_dir)).get("quality.in") != 7:
        time.sleep(0.05)
    assert progress.read_counts(str(progress_dir)) == {"quality.in": 7}


def test_a_vanished_folder_never_fails_the_caller(progress_dir):
    progress.add("input")
    progress.flush()
    for n in _files(progress_dir):
        os.remove(progress_dir / n)
    os.rmdir(progress_dir)
    progress.add("input")
    progress.flush()                                    # no exception; progress just stops
    assert progress.read_counts(str(progress_dir)) == {}


def test_read_counts_sums_processes_and_skips_partial_and_hidden_files(tmp_path):
    d = tmp_path / "p"
    assert progress.read_counts(str(d)) == {}           # missing folder
    d.mkdir()
    assert progress.read_counts(str(d)) == {}           # empty folder
    (d / "1-a.json").write_text(json.dumps({"pid": 1, "counts": {"input": 3, "write.docs": 1}}))
    (d / "2-b.json").write_text(json.dumps({"pid": 2, "counts": {"input": 4}}))
    (d / "3-c.json").write_text('{"pid": 3, "counts": {"inp')          # torn file: ignored
    (d / ".4-d.tmp").write_text(json.dumps({"counts": {"input": 100}}))  # a writer's temporary: ignored
    (d / "notes.txt").write_text("x")
    assert progress.read_counts(str(d)) == {"input": 7, "write.docs": 1}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_counts_for_itself(progress_dir):
    progress.add("input", 2)
    progress.flush()
    pid = os.fork()
    if pid == 0:                                        # child: its own file, from zero
        try:
            progress.add("input", 5)
            progress.flush()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    per_file = {}
    for n in _files(progress_dir):
        with open(progress_dir / n) as f:
            per_file[n.split("-")[0]] = json.load(f)["counts"]["input"]
    assert per_file == {str(os.getpid()): 2, str(pid): 5}


# ---------------------------------------------------------------------------------------------- display

class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_state_shows_the_furthest_moving_stage_rate_kept_and_read_eta():
    clock = FakeClock()
    s = progress._State(total_bytes=1000, clock=clock)
    assert s.fields() == ["0:00", "starting"]
    clock.t += 1
    s.update({"input": 10, "normalize.out": 10, "read.bytes": 100})
    clock.t += 4
    s.update({"input": 50, "normalize.out": 49, "read.bytes": 250})
    f = s.fields()
    assert f[:2] == ["0:05", "read 50 docs (25%)"] and s.stage == "read"
    assert "10 docs/s" in f                                          # (50 - 10) / 4 s
    assert "read ETA 0:12" in f                                      # 4 s for 25% - 0.25 of what remains
    clock.t += 2
    counts = {"input": 100, "normalize.out": 98, "read.bytes": 1000, "langid.in": 20, "langid.out": 18}
    s.update(counts)
    f = s.fields()
    assert s.stage == "langid" and f[1] == "read 100 docs" and f[2] == "langid 20 docs, 18 kept"
    assert not any("ETA" in x for x in f)                            # reading is done
    clock.t += 1
    s.update(dict(counts))                                           # nothing moved: the stage stays
    assert s.stage == "langid"
    clock.t += 1
    counts = dict(counts, **{"langid.in": 98, "langid.out": 90, "near_dedup.out": 80, "write.rejects": 10})
    s.update(counts)
    assert s.stage == "write" and "write 0/80 kept docs" in s.fields()
    clock.t += 1
    s.update(dict(counts, **{"write.docs": 80}))
    assert "write 80/80 kept docs" in s.fields()


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def _write_counts(d, counts):
    d.mkdir(exist_ok=True)
    (d / "9-x.json").write_text(json.dumps({"pid": 9, "counts": counts}))


def test_terminal_display_rewrites_one_line_and_clears_it(tmp_path, no_progress):
    d = tmp_path / "p"
    stream = FakeStream(tty=True)
    with progress.Display(str(d), total_bytes=1000, stream=stream, poll=0.02) as disp:
        assert os.environ[progress.ENV_DIR] == str(d)
        _write_counts(d, {"input": 1234, "read.bytes": 500})
        time.sleep(0.3)
        assert disp.tty
    out = stream.getvalue()
    assert progress.ENV_DIR not in os.environ                       # restored
    assert "\n" not in out and out.count("\r") > 3
    assert "read 1,234 docs (50%)" in out
    assert out.endswith("\r\x1b[K")                                  # the live line is gone at the end


def test_log_display_prints_plain_lines_every_interval(tmp_path, no_progress):
    d = tmp_path / "p"
    stream = FakeStream(tty=False)
    with progress.Display(str(d), total_bytes=None, stream=stream, poll=0.02, interval=0.15):
        _write_counts(d, {"input": 7, "quality.in": 5, "quality.out": 4})
        time.sleep(0.5)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert 2 <= len(lines) <= 5
    assert all(line.startswith("winnow progress: ") for line in lines)
    assert "read 7 docs | quality 5 docs, 4 kept" in lines[-1]


def test_log_display_is_silent_for_a_run_shorter_than_the_interval(tmp_path, no_progress):
    stream = FakeStream(tty=False)
    with progress.Display(str(tmp_path / "missing"), stream=stream, poll=0.02, interval=5, set_env=False):
        time.sleep(0.1)
    assert stream.getvalue() == ""


def test_an_inner_display_leaves_the_outer_one_in_charge(tmp_path, no_progress):
    outer_stream, inner_stream = FakeStream(tty=False), FakeStream(tty=True)
    with progress.Display(str(tmp_path / "outer"), stream=outer_stream, poll=0.02, interval=3600):
        with progress.Display(str(tmp_path / "inner"), stream=inner_stream, poll=0.02):
            assert os.environ[progress.ENV_DIR] == str(tmp_path / "outer")
            time.sleep(0.1)
        assert os.environ[progress.ENV_DIR] == str(tmp_path / "outer") and progress._ACTIVE is not None
    assert inner_stream.getvalue() == "" and not (tmp_path / "inner").exists()
    assert progress._ACTIVE is None


def test_log_records_clear_the_live_line_first(tmp_path, no_progress, monkeypatch):
    stream = FakeStream(tty=True)
    monkeypatch.setattr("sys.stderr", stream)
    handler = progress._Handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    with progress.Display(str(tmp_path / "p"), stream=stream, poll=0.02):
        time.sleep(0.1)
        before = len(stream.getvalue())
        handler.emit(logging.LogRecord("x", logging.WARNING, __file__, 1, "a warning", None, None))
    out = stream.getvalue()
    assert out[before:].startswith("\r\x1b[Ka warning\n")


# ---------------------------------------------------------------------------------------------- logging

@pytest.fixture
def saved_logging(monkeypatch):
    root = logging.getLogger()
    state = (list(root.handlers), list(root.filters), root.level,
             {n: logging.getLogger(n).level for n in progress.NOISY_LOGGERS})
    for var in (progress.ENV_VERBOSE, "DASK_LOGGING__DISTRIBUTED"):
        monkeypatch.delenv(var, raising=False)                      # restored after the test
    yield
    root.handlers[:], root.filters[:] = state[0], state[1]
    root.setLevel(state[2])
    for n, level in state[3].items():
        logging.getLogger(n).setLevel(level)


def test_configure_logging_quiet_and_verbose(saved_logging):
    root = logging.getLogger()
    rec = logging.LogRecord("root", logging.WARNING, __file__, 1,
                            "apitools not found, and bigquery client libraries are not available", None, None)
    progress.configure_logging(verbose=False)
    assert not root.filter(rec)
    assert logging.getLogger("distributed").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("apache_beam.runners.portability").getEffectiveLevel() == logging.WARNING
    assert os.environ["DASK_LOGGING__DISTRIBUTED"] == "warning" and os.environ[progress.ENV_VERBOSE] == "0"
    assert sum(isinstance(h, progress._Handler) for h in root.handlers) == 1
    progress.configure_logging(verbose=True)
    assert root.filter(rec)
    assert logging.getLogger("distributed").getEffectiveLevel() == logging.INFO
    assert os.environ["DASK_LOGGING__DISTRIBUTED"] == "info"
    assert sum(isinstance(h, progress._Handler) for h in root.handlers) == 1


# ---------------------------------------------------------------------------------------------- a real run

def test_a_direct_run_of_the_sample_reports_its_final_counts(tmp_path, no_progress):
    from pipeline.cli import sample_inputs
    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    d = tmp_path / "progress"
    stream = FakeStream(tty=False)
    # run_pipeline's own display (if any) stays passive inside this one: the counts land in d
    with progress.Display(str(d), total_bytes=None, stream=stream, interval=3600):
        manifest = run_pipeline(sample_inputs(), str(tmp_path / "out"), load_config(), runner="direct",
                                log=io.StringIO())
    names = _files(d)
    assert names and all(n.endswith(".json") for n in names)       # no temporary left behind
    counts = progress.read_counts(str(d))
    assert counts["input"] == manifest.input_records
    assert counts["write.docs"] == manifest.kept
    assert counts["write.dead_letter"] == manifest.dead_letter
    assert counts["read.bytes"] == sum(os.path.getsize(p) for p in sample_inputs())
    assert counts["langid.in"] == manifest.counters["langid.in"]
    assert progress.ENV_DIR not in os.environ and progress._agg is None
