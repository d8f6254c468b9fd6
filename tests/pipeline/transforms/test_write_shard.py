"""WriteShardFn (shard packing): the packed stream is not copied again, and the file is streamed to disk, so a
shard costs about its token stream in Python-traced memory; the file equals parquet_bytes of the same table."""
import hashlib
import tracemalloc

import numpy as np
import pyarrow.parquet as pq

from pipeline.stages import shard, tokenize
from pipeline.transforms.tokenize import WriteShardFn


def _shard_items(n_docs=2000, doc_tokens=1024):
    rng = np.random.default_rng(0)
    return [(f"doc{i:05d}", "en", "s", rng.integers(0, 400, doc_tokens, dtype=np.int32)) for i in range(n_docs)]


def test_a_2m_token_shard_costs_about_its_stream(tmp_path):
    tok_json = tokenize.train_bpe([f"shard packing test text number {i}, with words." for i in range(200)], 400)
    fn = WriteShardFn(str(tmp_path), 1024, "cfg")
    fn.setup()
    items = _shard_items()                                       # 2,000 docs x 1,024 tokens: 8.2 MB of int32
    tracemalloc.start()
    try:
        (out,) = fn.process((("train", 0, 1), items), tok_json)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the stream (8.2 MB) plus row lists; copying the rows again and building the file in memory took 26 MB
    assert peak < 16e6, f"{peak / 1e6:.1f} MB traced"
    path = tmp_path / "shards" / out["path"].split("/", 1)[1]
    data = path.read_bytes()
    assert out["sha256"] == hashlib.sha256(data).hexdigest() and out["bytes"] == len(data)
    table = pq.read_table(path)
    assert table.num_rows == out["rows"] == 2000 * 1025 // 1025        # (1,024 tokens + EOS per doc)
    cols, _ = shard.pack(sorted(items, key=lambda it: it[0]), 1024, fn.cache.eos)
    assert np.array_equal(np.concatenate(table.column("input_ids").to_numpy(zero_copy_only=False)),
                          cols["input_ids"].reshape(-1))
