"""Resume: a run killed part way redoes only the chunks it had not finished, and ends with the same output as
an uninterrupted run; the cache is not reused across configurations or input versions, and is removed once
the run is in place."""
import filecmp
import json
import os
import signal
import subprocess
import sys

from pipeline.io import chunk_cache

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run(out, *extra, env=None):
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--output", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO,
                          env=dict(os.environ, **(env or {})))


def same_tree(a, b):
    """Every file of a run but the data card (it names its folder) is byte-identical."""
    cmp = filecmp.dircmp(a, b, ignore=["report"])
    stack = [cmp]
    while stack:
        c = stack.pop()
        assert not c.left_only and not c.right_only, (c.left, c.left_only, c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors, (c.left, mismatch, errors)
        stack.extend(c.subdirs.values())


def test_killed_run_resumes_to_the_same_output(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("input:\n  chunk_records: 50\n")            # the sample's 869 records: 19 chunks
    ref = run(tmp_path / "ref", "--config", str(cfg))
    assert ref.returncode == 0, ref.stderr[-3000:]

    out = tmp_path / "out"
    killed = run(out, "--config", str(cfg), env={"WINNOW_FAILPOINT": "after-chunk-7"})
    assert killed.returncode == -signal.SIGKILL
    work = str(out) + chunk_cache.WORK_SUFFIX
    [chain] = [d for d in os.listdir(work) if not d.startswith(".")]
    assert chunk_cache.count_entries(os.path.join(work, chain)) == 7

    resumed = run(out, "--config", str(cfg))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming: 7 chunk(s) finished by an interrupted run are reused" in resumed.stdout
    same_tree(tmp_path / "ref", out)                   # counters in the manifest included
    assert sorted(os.listdir(tmp_path)) == ["c.yaml", "out", "ref"]


def test_cache_is_not_reused_for_another_config_or_a_changed_input(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    lines = [json.dumps({"id": str(i), "text": f"Record {i}. " + "The river carries fine silt to the sea. " * 20})
             for i in range(30)]
    (data / "a.jsonl").write_text("\n".join(lines) + "\n")
    (data / "b.jsonl").write_text("\n".join(lines[:10]) + "\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("input:\n  chunk_records: 10\n")
    out = tmp_path / "out"
    base = ["--input", str(data), "--config", str(cfg)]
    killed = run(out, *base, env={"WINNOW_FAILPOINT": "after-chunk-4"})
    assert killed.returncode == -signal.SIGKILL

    # a quality threshold changed: nothing reused, the other configuration's entries deleted
    cfg.write_text("input:\n  chunk_records: 10\nquality:\n  thresholds:\n    length:\n      min_chars: 50\n")
    killed = run(out, *base, env={"WINNOW_FAILPOINT": "after-chunk-2"})
    assert killed.returncode == -signal.SIGKILL and "resuming" not in killed.stdout
    work = str(out) + chunk_cache.WORK_SUFFIX
    assert len([d for d in os.listdir(work) if not d.startswith(".")]) == 1

    # b.jsonl changed (new size and time): only a.jsonl's cached chunks can be reused
    (data / "b.jsonl").write_text("\n".join(lines[10:25]) + "\n")
    done = run(out, *base)
    assert done.returncode == 0, done.stderr[-3000:]
    ref = run(tmp_path / "ref", *base)
    assert ref.returncode == 0 and "resuming" not in ref.stdout
    same_tree(tmp_path / "ref", out)
    assert json.loads((out / "manifest.json").read_text())["input_records"] == 45


def test_resume_off_leaves_no_cache(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("output:\n  resume: false\n")
    out = tmp_path / "out"
    killed = run(out, "--config", str(cfg), env={"WINNOW_FAILPOINT": "report-written"})
    assert killed.returncode == -signal.SIGKILL
    assert sorted(os.listdir(tmp_path)) == ["c.yaml", "out.winnow-tmp"]
