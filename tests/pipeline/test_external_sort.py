"""external_sort.sorted_items: exactly sorted(), in bounded memory beyond max_in_memory items; and the file
writer that uses it (WriteFileFn) on a lazily produced group larger than one row group."""
import os
import random
import tempfile
import tracemalloc

import pyarrow.parquet as pq

from pipeline.io import external_sort
from pipeline.transforms import write


def _rows(n, seed=0, text_bytes=20):
    rng = random.Random(seed)
    for i in range(n):
        yield {"doc_id": f"d{rng.randrange(n // 3):06d}", "seq": i, "text": "x" * text_bytes}


def _private_tmp(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def test_same_order_as_sorted_with_ties_in_input_order(monkeypatch, tmp_path):
    _private_tmp(monkeypatch, tmp_path)
    key = lambda r: r["doc_id"]                                   # noqa: E731 (ids repeat: ties)
    for n, limit in ((0, 10), (10, 10), (11, 10), (5000, 64)):
        with external_sort.sorted_items(_rows(n), key, limit) as it:
            got = list(it)
        assert got == sorted(_rows(n), key=key)
        assert os.listdir(tmp_path) == []                         # nothing left behind


def test_memory_stays_bounded_beyond_the_limit(monkeypatch, tmp_path):
    _private_tmp(monkeypatch, tmp_path)
    n, size = 3000, 10_000                                        # 30 MB of rows, produced lazily
    tracemalloc.start()
    try:
        with external_sort.sorted_items(_rows(n, text_bytes=size), lambda r: r["doc_id"], 100) as it:
            count = sum(1 for _ in it)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 6_000_000, f"peak {peak / 1e6:.1f} MB: rows were held in memory"


def test_file_writer_sorts_a_lazy_group_larger_than_a_row_group(tmp_path):
    n = write.ROWS_PER_GROUP + 1500                                 # sorted on disk, 2 row groups
    ids = [f"doc-{i:06d}" for i in range(n)]
    random.Random(1).shuffle(ids)
    fn = write.WriteFileFn("clusters", str(tmp_path), "cfg")
    rows = ({"cluster_id": i, "size": 1, "survivor": i, "members": [i], "members_truncated": False}
            for i in ids)                                                 # a generator: consumed once
    (record,) = fn.process(((0, 1), rows), tokenizer_sha=None)
    assert record["rows"] == n and record["path"] == "clusters/clusters-00000-of-00001.parquet"
    f = pq.ParquetFile(os.path.join(tmp_path, record["path"]))
    assert f.metadata.num_row_groups == 2
    assert f.read(columns=["cluster_id"]).column(0).to_pylist() == sorted(ids)


def test_parquet_rows_become_arrow_a_batch_at_a_time(tmp_path):
    """A 4,096-row group of 10 KB rows is gathered as Arrow batches: Python holds one batch, not 40 MB."""
    import pyarrow as pa

    from pipeline.io import files
    schema = pa.schema([("doc_id", pa.string()), ("seq", pa.int64()), ("text", pa.string())])
    path = str(tmp_path / "big.parquet")
    tracemalloc.start()
    try:
        _, n = files.write_parquet_rows(path, schema, {}, _rows(5000, text_bytes=10_000), 4096)
        _, peak = tracemalloc.get_traced_memory()          # Python objects only (Arrow has its own pool)
    finally:
        tracemalloc.stop()
    assert n == 5000 and pq.ParquetFile(path).metadata.num_row_groups == 2
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB of Python objects while writing"
