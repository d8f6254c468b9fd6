"""Runs writing to an object store: `gs://` semantics without Google Cloud, through memobj://, an in-process
Beam filesystem that behaves like Beam 2.77's GCS filesystem where it matters here: no directories (exists()
is true only for an object), rename() copies and deletes object by object and fails on a missing object,
delete() of a path ending in '/' removes the whole prefix, a written file appears when closed. The objects live
in this process, so the runs use the in-process FnApiRunner."""
from __future__ import annotations

import io

import pytest
from apache_beam.io.filesystem import BeamIOError, FileMetadata, FileSystem

from pipeline.cli import sample_inputs
from pipeline.config import load_config
from pipeline.io import files
from pipeline.errors import RunError
from pipeline.driver.run import run_pipeline

OBJECTS: dict[str, bytes] = {}


class _Writer(io.BytesIO):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def close(self):
        if not self.closed:
            OBJECTS[self.path] = self.getvalue()
        super().close()


class MemObjectStore(FileSystem):
    @classmethod
    def scheme(cls):
        return "memobj"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/")] + [p.strip("/") for p in paths])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, prefix):
        for path in sorted(OBJECTS):
            if path.startswith(prefix):
                yield FileMetadata(path, len(OBJECTS[path]), 0.0)

    def create(self, path, mime_type="application/octet-stream", compression_type=None):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=None):
        if path not in OBJECTS:
            raise BeamIOError(f"no object {path}")
        return io.BytesIO(OBJECTS[path])

    def copy(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            if s not in OBJECTS:
                raise BeamIOError("Copy operation failed", {(s, d): FileNotFoundError(s)})
            OBJECTS[d] = OBJECTS[s]

    def rename(self, source_file_names, destination_file_names):
        missing = {(s, d): FileNotFoundError(s) for s, d in zip(source_file_names, destination_file_names)
                   if s not in OBJECTS}
        if missing:
            raise BeamIOError("Rename operation failed", missing)
        for s, d in zip(source_file_names, destination_file_names):
            OBJECTS[d] = OBJECTS.pop(s)

    def exists(self, path):
        return path in OBJECTS

    def size(self, path):
        return len(OBJECTS[path])

    def last_updated(self, path):
        return 0.0

    def checksum(self, path):
        return str(len(OBJECTS[path]))

    def metadata(self, path):
        return FileMetadata(path, len(OBJECTS[path]), 0.0)

    def delete(self, paths):
        for path in paths:
            if path.endswith("/"):
                for k in [k for k in OBJECTS if k.startswith(path)]:
                    del OBJECTS[k]
            else:
                OBJECTS.pop(path, None)


@pytest.fixture
def store():
    OBJECTS.clear()
    yield OBJECTS
    OBJECTS.clear()


def test_directories_on_an_object_store(store):
    for name in ("a.json", "sub/b.parquet"):
        files.write_bytes(f"memobj://b/run.tmp/{name}", name.encode())
    assert files.dir_exists("memobj://b/run.tmp") and not files.dir_exists("memobj://b/run")
    assert not files.dir_exists("memobj://b/run.t")               # a prefix of a name is not a directory
    files.move_tree("memobj://b/run.tmp", "memobj://b/run")
    assert sorted(store) == ["memobj://b/run/a.json", "memobj://b/run/sub/b.parquet"]
    assert files.read_bytes("memobj://b/run/sub/b.parquet") == b"sub/b.parquet"
    files.delete_tree("memobj://b/run")
    assert store == {}


def test_a_run_writes_finalizes_and_overwrites_on_an_object_store(store):
    out = "memobj://bucket/corpus/out"
    m = run_pipeline(sample_inputs(), out, load_config(), log=io.StringIO())
    assert m.kept > 400 and files.dir_exists(out) and not files.dir_exists(out + ".winnow-tmp")
    listed = {f.path for kind in m.files.values() for f in kind} | {s.path for s in m.shards}
    assert listed and all(files.join(out, p) in store for p in listed)
    assert files.join(out, "manifest.json") in store and files.join(out, "report", "index.html") in store
    with pytest.raises(RunError, match="already exists"):
        run_pipeline(sample_inputs(), out, load_config(), log=io.StringIO())
    before = set(store)
    store[files.join(out, "stale.txt")] = b"from an older run"
    m2 = run_pipeline(sample_inputs(), out, load_config(), log=io.StringIO(), overwrite=True, finalize_in_job=True)
    assert set(store) == before                   # the old OUT was removed, not merged into
    assert m2.counters == {} and {k: v for k, v in m2.to_dict().items() if k != "counters"} == \
        {k: v for k, v in m.to_dict().items() if k != "counters"}


def test_parquet_is_written_one_row_group_at_a_time_and_hashed(store, tmp_path):
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = pa.schema([("doc_id", pa.string()), ("n", pa.int64())])
    rows = [{"doc_id": f"d{i:04d}", "n": i} for i in range(1000)]
    for path in (str(tmp_path / "local" / "f.parquet"), "memobj://b/sub/f.parquet"):
        sha, n = files.write_parquet_rows(path, schema, {"winnow.kind": "test"}, iter(rows), 300)
        data = files.read_bytes(path)
        assert sha == hashlib.sha256(data).hexdigest() and n == 1000
        f = pq.ParquetFile(io.BytesIO(data))
        assert f.metadata.num_row_groups == 4 and f.read().to_pylist() == rows
        assert f.schema_arrow.metadata[b"winnow.kind"] == b"test"
    _, n = files.write_parquet_rows(str(tmp_path / "exact.parquet"), schema, {}, rows[:600], 300)
    assert n == 600 and pq.ParquetFile(str(tmp_path / "exact.parquet")).metadata.num_row_groups == 2
    assert files.write_parquet_rows("memobj://b/empty.parquet", schema, {}, [], 300)[1] == 0   # an empty file is valid
    assert pq.read_table(io.BytesIO(files.read_bytes("memobj://b/empty.parquet"))).num_rows == 0
