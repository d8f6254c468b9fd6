"""Shard reading, validation and sampling (trainer/data.py) on shards made by `winnow run`."""
import json
import os
import shutil

import numpy as np
import pytest

from trainer.data import BlockSampler, BlockStore, ShardError, loader, open_run


def test_open_run_validates_and_lists_splits(shards_run):
    run = open_run(os.path.join(shards_run, "shards"))
    assert run.files["train"] and run.files["val"]
    assert run.seq_len == 64 and run.vocab_size == 1024
    store = BlockStore(run.files["train"], run.seq_len)
    assert len(store.groups) > 1 and store.n_blocks == sum(
        s.rows for s in run.manifest.shards if s.split == "train")
    blocks = store.blocks(np.array([0, store.n_blocks - 1, 5]))
    assert blocks.shape == (3, 65) and blocks.max() < 1024


def test_file_url_works(shards_run):
    run = open_run("file://" + os.path.join(shards_run, "shards"))
    assert run.files["train"][0].startswith("file://")
    assert BlockStore(run.files["train"], run.seq_len).n_blocks > 0


@pytest.mark.parametrize("sizes, bs, world", [([5, 7, 256, 3], 4, 1), ([5, 7, 256, 3], 4, 2), ([100], 7, 3),
                                              ([64, 64], 16, 2)])
def test_sampler_visits_every_block_once_and_ranks_are_disjoint(sizes, bs, world):
    n = sum(sizes)
    seen = []
    per_rank = []
    for rank in range(world):
        s = BlockSampler(sizes, bs, seed=7, rank=rank, world=world)
        mine = np.concatenate(s.batches(epoch=0))
        per_rank.append(set(mine.tolist()))
        seen.extend(mine.tolist())
        assert len(s.batches(0)) == s.batches_per_epoch
    assert len(seen) == len(set(seen))                                   # no block twice
    assert all(not (a & b) for i, a in enumerate(per_rank) for b in per_rank[i + 1:])   # disjoint ranks
    skipped = n - len(seen)
    assert skipped == 0 or (world > 1 and skipped < world)               # all, but a tail < world under DDP
    if world == 1:
        assert sorted(seen) == list(range(n))


def test_sampler_epochs_differ_and_resume_from_cursor():
    s = BlockSampler([50, 50, 28], 8, seed=3)
    e0, e1 = s.batches(0), s.batches(1)
    assert not all(np.array_equal(a, b) for a, b in zip(e0, e1))
    assert all(np.array_equal(a, b) for a, b in zip(s.batches(0, cursor=5), e0[5:]))
    assert all(np.array_equal(a, b) for a, b in zip(BlockSampler([50, 50, 28], 8, seed=3).batches(0), e0))


def test_dataloader_workers_give_the_same_batches_in_order(shards_run):
    run = open_run(os.path.join(shards_run, "shards"), verify=False)
    store = BlockStore(run.files["train"], run.seq_len)
    batches = BlockSampler(store.sizes, 8, seed=1).batches(0)[:40]
    plain = [b for b in loader(store, batches, 1024, num_workers=0)]
    workers = [b for b in loader(store, batches, 1024, num_workers=2)]
    assert len(plain) == len(workers) == 40
    assert all((a == b).all() for a, b in zip(plain, workers))
    assert len({tuple(b[:, 0].tolist()) for b in workers}) == 40          # no duplicated batch


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_corrupt_missing_shard_and_wrong_tokenizer_fail_before_training(shards_run, tmp_path):
    bad = _copy(shards_run, str(tmp_path / "corrupt"))
    m = json.load(open(os.path.join(bad, "manifest.json")))
    path = os.path.join(bad, m["shards"][0]["path"])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(ShardError, match="corrupt"):
        open_run(os.path.join(bad, "shards"))

    gone = _copy(shards_run, str(tmp_path / "missing"))
    os.remove(os.path.join(gone, m["shards"][-1]["path"]))
    with pytest.raises(ShardError, match="missing"):
        open_run(os.path.join(gone, "shards"))

    other = _copy(shards_run, str(tmp_path / "tok"))
    tok = json.load(open(os.path.join(other, "tokenizer.json")))
    tok["model"]["vocab"]["zzzz-not-a-token"] = 99999
    json.dump(tok, open(os.path.join(other, "tokenizer.json"), "w"))
    with pytest.raises(ShardError, match="another tokenizer"):
        open_run(os.path.join(other, "shards"))

    with pytest.raises(ShardError, match="missing file"):
        open_run(str(tmp_path / "nothing" / "shards"))
