"""The training loop on CPU: loss goes down, resume is bit-exact, DDP (gloo) ranks see disjoint data."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import yaml

from trainer_helpers import ROOT, small_train
from trainer import checkpoint
from trainer.config import from_dict
from trainer.data import BlockSampler, BlockStore, ShardError, open_run
from trainer.model import GPT, GPTConfig
from trainer.train import get_lr, train


def _cfg(**over):
    """The trainer's own config (a TrainConfig), as train() takes it."""
    return from_dict(small_train(**over))


def _losses(run_dir):
    rows = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    return {r["step"]: r["loss"] for r in rows}


def _quiet(*a, **k):
    pass


def test_model_shapes_tying_and_padding():
    m = GPT(GPTConfig(block_size=16, vocab_size=1000, n_layer=1, n_head=2, n_embd=32))
    assert m.cfg.padded_vocab_size == 1024
    assert m.lm_head.weight is m.transformer.wte.weight
    idx = torch.randint(0, 1000, (2, 16))
    logits, loss = m(idx, idx)
    assert logits.shape == (2, 16, 1024) and abs(loss.item() - torch.log(torch.tensor(1000.0)).item()) < 0.5


def test_lr_schedule():
    tc = _cfg(max_steps=100, warmup_steps=10, lr=1e-3, min_lr=1e-4)
    assert get_lr(0, tc) < get_lr(9, tc) <= 1e-3
    assert get_lr(10, tc) == pytest.approx(1e-3)
    assert get_lr(55, tc) == pytest.approx(5.5e-4, rel=1e-6)
    assert get_lr(100, tc) == pytest.approx(1e-4)


def test_loss_decreases(shards_run, tmp_path):
    s = train(os.path.join(shards_run, "shards"), str(tmp_path / "r"), _cfg(max_steps=40), "cpu", log=_quiet)
    losses = _losses(str(tmp_path / "r"))
    first, last = sum(losses[i] for i in range(1, 6)) / 5, sum(losses[i] for i in range(36, 41)) / 5
    assert last < first - 0.5, (first, last)                     # ln(1024) = 6.93 at step 0
    assert last < 6.93 - 0.7
    assert s["final_val_loss"] is not None and s["final_val_loss"] < first


def test_resume_is_bit_exact_on_cpu(shards_run, tmp_path):
    shards = os.path.join(shards_run, "shards")
    cfg = _cfg(max_steps=12, ckpt_interval=100, num_workers=2)
    full = train(shards, str(tmp_path / "full"), cfg, "cpu", log=_quiet)
    part = train(shards, str(tmp_path / "part"), cfg, "cpu", stop_after=5, log=_quiet)
    assert part["steps"] == 5 and checkpoint.latest(str(tmp_path / "part" / "checkpoints")).endswith("00000005.pt")
    rest = train(shards, str(tmp_path / "part"), cfg, "cpu", resume=True, log=_quiet)
    a, b = _losses(str(tmp_path / "full")), _losses(str(tmp_path / "part"))
    assert sorted(a) == sorted(b) == list(range(1, 13))
    assert a == b                                                           # exact float equality
    assert rest["final_val_loss"] == full["final_val_loss"]
    ck_a = checkpoint.load(checkpoint.latest(str(tmp_path / "full" / "checkpoints")))
    ck_b = checkpoint.load(checkpoint.latest(str(tmp_path / "part" / "checkpoints")))
    assert all(torch.equal(ck_a["model"][k], ck_b["model"][k]) for k in ck_a["model"])
    assert ck_a["sampler"] == ck_b["sampler"]


def test_keep_last_checkpoints(shards_run, tmp_path):
    train(os.path.join(shards_run, "shards"), str(tmp_path / "r"), _cfg(max_steps=8, ckpt_interval=2, keep_last=2),
          "cpu", log=_quiet)
    names = sorted(os.listdir(tmp_path / "r" / "checkpoints"))
    assert names == ["ckpt-00000006.pt", "ckpt-00000008.pt"]


def test_resume_refuses_other_tokenizer(shards_run, tmp_path):
    run = str(tmp_path / "r")
    train(os.path.join(shards_run, "shards"), run, _cfg(max_steps=2), "cpu", log=_quiet)
    path = checkpoint.latest(os.path.join(run, "checkpoints"))
    ck = checkpoint.load(path)
    ck["tokenizer_sha256"] = "0" * 64
    torch.save(ck, path)
    with pytest.raises(ShardError, match="another tokenizer"):
        train(os.path.join(shards_run, "shards"), run, _cfg(max_steps=4), "cpu", resume=True, log=_quiet)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_gloo(shards_run, tmp_path):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({"train": small_train(max_steps=4, eval_interval=2)}))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
           "-m", "trainer.train", "--shards", os.path.join(shards_run, "shards"), "--out", str(tmp_path / "ddp"),
           "--config", str(cfg_path), "--device", "cpu"]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    # each rank writes its summary as one line; read them as JSON objects wherever they start (the ranks share
    # one pipe: a CI run once saw two on one line)
    dec, found, i = json.JSONDecoder(), [], r.stdout.find('{"steps"')
    while i >= 0:
        obj, end = dec.raw_decode(r.stdout, i)
        found.append(obj)
        i = r.stdout.find('{"steps"', end)
    summaries = sorted(found, key=lambda s: s["rank"])
    assert [s["rank"] for s in summaries] == [0, 1] and all(s["world"] == 2 for s in summaries)
    assert summaries[0]["final_loss"] == summaries[1]["final_loss"]            # all-reduced: the same on both
    assert summaries[0]["final_val_loss"] == summaries[1]["final_val_loss"]
    # what each rank consumed is exactly its slice of the seeded permutation, and the slices are disjoint
    run = open_run(os.path.join(shards_run, "shards"), verify=False)
    store = BlockStore(run.files["train"], run.seq_len)
    import hashlib
    import numpy as np
    seen = []
    for s in summaries:
        sampler = BlockSampler(store.sizes, 8, 1337, s["rank"], 2)
        ids = sampler.batches(0)[:4]
        h = hashlib.blake2b(digest_size=16)
        for b in ids:
            h.update(np.asarray(b, dtype=np.int64).tobytes())
        assert h.hexdigest() == s["data_digest"]
        seen.append(set(np.concatenate(ids).tolist()))
    assert not (seen[0] & seen[1])
    assert len(_losses(str(tmp_path / "ddp"))) == 4


def test_then_train_from_the_cli(tmp_path):
    from pipeline.cli import main, sample_inputs
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump({"tokenize": {"vocab_size": 512, "seq_len": 32},
                                        "train": small_train(max_steps=3)}))
    inp = [p for p in sample_inputs() if p.endswith("sample_malformed.jsonl")] + \
          [p for p in sample_inputs() if p.endswith(".jsonl.gz")]
    out = str(tmp_path / "o")
    rc = main(["run", "--input", inp[1], "--output", out, "--config", str(cfg_path), "--then-train", "--device", "cpu"])
    assert rc == 0
    assert len(_losses(os.path.join(out, "train"))) == 3
