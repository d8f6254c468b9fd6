"""`winnow train` user errors: an existing --out, --overwrite, unreadable checkpoints, bad --max-steps. Each
refusal is one line on stderr, exit 2, before any training, and leaves the files as they were."""
import json
import os
import socket
import subprocess
import sys

import pytest
import yaml

from trainer_helpers import ROOT, small_train
from trainer.train import main


def _config(tmp_path, **over):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"train": small_train(**over)}))
    return str(path)


def _train(capsys, shards_run, out, *flags, **over):
    """main() with the small test config; (rc, stderr lines that are not tqdm's progress bar)."""
    cfg = _config(out.parent, **over)
    rc = main(["--shards", os.path.join(shards_run, "shards"), "--out", str(out), "--config", cfg,
               "--device", "cpu", *flags])
    err = capsys.readouterr().err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and not ln.startswith("train:")]
    return rc, lines


def _steps(run_dir):
    return [json.loads(line)["step"] for line in open(os.path.join(run_dir, "metrics.jsonl"))]


def _losses(run_dir):
    return {r["step"]: r["loss"] for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl")))}


def _snapshot(folder):
    """Every file under folder with its bytes and mtime."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, folder)] = (open(p, "rb").read(), os.stat(p).st_mtime_ns)
    return out


def _one_error(lines, *needles):
    assert len(lines) == 1, lines
    assert lines[0].startswith("winnow train: error: "), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_existing_run_is_refused_without_resume_or_overwrite(capsys, shards_run, tmp_path):
    out = tmp_path / "run"
    assert _train(capsys, shards_run, out, "--max-steps", "2")[0] == 0
    before = _snapshot(out)
    rc, lines = _train(capsys, shards_run, out, "--max-steps", "4")
    assert rc == 2
    _one_error(lines, str(out), "--resume", "--overwrite")
    assert _snapshot(out) == before                          # nothing written, nothing appended


def test_overwrite_replaces_a_prior_run(capsys, shards_run, tmp_path):
    out = tmp_path / "run"
    assert _train(capsys, shards_run, out, "--max-steps", "4", ckpt_interval=2)[0] == 0
    (out / "checkpoints" / "ckpt-00000006.pt.tmp").write_bytes(b"torn write")   # a crash's leftover
    rc, lines = _train(capsys, shards_run, out, "--max-steps", "3", "--overwrite")
    assert rc == 0, lines
    assert sorted(os.listdir(out)) == ["checkpoints", "metrics.jsonl"]
    assert os.listdir(out / "checkpoints") == ["ckpt-00000003.pt"]
    assert _steps(out) == [1, 2, 3]                          # the old run's rows are gone


@pytest.mark.parametrize("layout", ["user_files_beside_a_run", "user_files_only", "user_file_in_checkpoints"])
def test_overwrite_refuses_a_folder_that_is_not_a_run(capsys, shards_run, tmp_path, layout):
    out = tmp_path / "mine"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "ckpt-00000002.pt").write_bytes(b"x")
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    if layout == "user_files_beside_a_run":
        (out / "notes.txt").write_text("my thesis")
    elif layout == "user_files_only":
        for p in (out / "checkpoints" / "ckpt-00000002.pt", out / "metrics.jsonl"):
            p.unlink()
        (out / "checkpoints").rmdir()
        (out / "data").mkdir()
        (out / "data" / "a.csv").write_text("1,2\n")
    else:
        (out / "checkpoints" / "best.pt").write_bytes(b"hand-picked")
    before = _snapshot(out)
    rc, lines = _train(capsys, shards_run, out, "--max-steps", "2", "--overwrite")
    assert rc == 2
    _one_error(lines, str(out), "not a Winnow training run")
    assert _snapshot(out) == before


def test_resume_falls_back_from_a_truncated_newest_checkpoint(capsys, shards_run, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert _train(capsys, shards_run, full, "--max-steps", "8", ckpt_interval=2)[0] == 0
    assert _train(capsys, shards_run, part, "--max-steps", "8", "--stop-after", "4", ckpt_interval=2)[0] == 0
    newest = part / "checkpoints" / "ckpt-00000004.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])    # e.g. a full disk
    (part / "checkpoints" / "ckpt-00000009.pt.tmp").write_bytes(b"torn write")  # ignored
    rc, lines = _train(capsys, shards_run, part, "--max-steps", "8", "--resume", ckpt_interval=2)
    assert rc == 0, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("winnow train: checkpoint ckpt-00000004.pt is unreadable (")
    assert lines[0].endswith("; resuming from ckpt-00000002.pt")
    # continued from step 2: steps 3 and 4 were trained again (logged once) and the run matches an
    # uninterrupted one exactly
    assert _steps(part) == list(range(1, 9))
    assert _losses(part) == _losses(full)


def test_resume_with_no_readable_checkpoint_is_refused(capsys, shards_run, tmp_path):
    out = tmp_path / "run"
    assert _train(capsys, shards_run, out, "--max-steps", "4", ckpt_interval=2)[0] == 0
    for name in os.listdir(out / "checkpoints"):
        (out / "checkpoints" / name).write_bytes(b"")
    before = _snapshot(out)
    rc, lines = _train(capsys, shards_run, out, "--max-steps", "6", "--resume", ckpt_interval=2)
    assert rc == 2
    _one_error(lines, "no checkpoint", "ckpt-00000004.pt", "ckpt-00000002.pt")
    assert _snapshot(out) == before


@pytest.mark.parametrize("flags, needle", [
    (["--max-steps", "0"], "--max-steps must be >= 1, got 0"),
    (["--max-steps", "-5"], "--max-steps must be >= 1, got -5"),
    (["--stop-after", "0"], "--stop-after must be >= 1"),
    (["--resume", "--overwrite"], "--resume and --overwrite"),
])
def test_bad_flags_are_refused_before_training(capsys, shards_run, tmp_path, flags, needle):
    out = tmp_path / "run"
    rc, lines = _train(capsys, shards_run, out, *flags)
    assert rc == 2
    _one_error(lines, needle)
    assert not out.exists()


def test_winnow_train_max_steps_zero_is_refused(capsys, shards_run, tmp_path):
    """`winnow train` through the top-level CLI: the same one-line refusal."""
    from pipeline.cli import main as winnow
    rc = winnow(["train", "--shards", os.path.join(shards_run, "shards"), "--out", str(tmp_path / "r"),
                 "--max-steps", "0", "--device", "cpu"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2 and len(err) == 1 and "--max-steps must be >= 1" in err[0], err


@pytest.mark.parametrize("what", ["missing_shards", "out_is_a_file"])
def test_bad_paths_are_one_line_errors(capsys, shards_run, tmp_path, what):
    out, shards = tmp_path / "run", os.path.join(shards_run, "shards")
    if what == "missing_shards":
        shards = str(tmp_path / "nowhere" / "shards")
    else:
        out.write_text("a file")
    rc = main(["--shards", shards, "--out", str(out), "--config", _config(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2
    _one_error(err)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_overwrite_rank0_replaces_the_run(capsys, shards_run, tmp_path):
    out = tmp_path / "ddp"
    assert _train(capsys, shards_run, out, "--max-steps", "5")[0] == 0
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "trainer.train", "--shards", os.path.join(shards_run, "shards"), "--out", str(out),
           "--config", _config(tmp_path), "--device", "cpu", "--max-steps", "2", "--overwrite"]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert os.listdir(out / "checkpoints") == ["ckpt-00000002.pt"]
    assert _steps(out) == [1, 2]
