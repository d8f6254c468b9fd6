"""Writing whole Parquet/JSON files through Beam's filesystems (local paths, gs://, ...), hashed as written."""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import shutil
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def _create(path: str):
    """Open `path` for writing, parents created."""
    parent = path.rsplit("/", 1)[0]
    if parent and not FileSystems.exists(parent):
        FileSystems.mkdirs(parent)
    return FileSystems.create(path, mime_type="application/octet-stream")


def _with_metadata(schema: pa.Schema, metadata: dict) -> pa.Schema:
    return schema.with_metadata({**(schema.metadata or {}), **metadata})


def write_bytes(path: str, data: bytes) -> str:
    """Write `data` to `path` (parents created); returns its sha256."""
    with _create(path) as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def write_json(path: str, obj) -> str:
    return write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type="uncompressed") as fh:
        return fh.read()


class _HashingWriter:
    """A write-only file object that forwards to `fh` and hashes what passes (for pyarrow's ParquetWriter)."""

    def __init__(self, fh):
        self.fh, self.sha, self.pos, self.closed = fh, hashlib.sha256(), 0, False

    def write(self, data) -> int:
        data = bytes(data)
        self.fh.write(data)
        self.sha.update(data)
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


# rows converted to Arrow at a time by write_parquet_rows (a document row is ~12 KB as Python objects)
ARROW_BATCH_ROWS = 256


def write_parquet_rows(path: str, schema: pa.Schema, metadata: dict, rows: Iterable[dict],
                       rows_per_group: int) -> tuple[str, int]:
    """Write `rows` (dicts, any iterable: consumed once) to `path` as zstd Parquet, one row group of
    `rows_per_group` rows at a time, so that only one row group is ever held as Arrow data and no copy of the
    whole file is held as bytes. Returns (the file's sha256, rows written)."""
    schema = _with_metadata(schema, metadata)
    rows, n = iter(rows), 0
    with _create(path) as fh:
        out = _HashingWriter(fh)
        with pq.ParquetWriter(out, schema, compression="zstd") as w:
            while True:
                # a row group is gathered as Arrow batches: at most one batch of rows exists as Python objects
                batches, size = [], 0
                while size < rows_per_group:
                    chunk = list(itertools.islice(rows, min(ARROW_BATCH_ROWS, rows_per_group - size)))
                    if not chunk:
                        break
                    batches.append(pa.RecordBatch.from_pylist(chunk, schema=schema))
                    size += len(chunk)
                if size or not n:                        # an empty file still gets its (empty) table
                    w.write_table(pa.Table.from_batches(batches, schema=schema), row_group_size=rows_per_group)
                n += size
                if size < rows_per_group:
                    break
    return out.sha.hexdigest(), n


def _write_table(sink, table: pa.Table, metadata: dict, row_group_size: int | None) -> None:
    schema = _with_metadata(table.schema, metadata)
    with pq.ParquetWriter(sink, schema, compression="zstd") as w:
        w.write_table(table.cast(schema), row_group_size=row_group_size)


def write_parquet_table(path: str, table: pa.Table, metadata: dict,
                        row_group_size: int | None = None) -> tuple[str, int]:
    """Write `table` to `path` as zstd Parquet (the bytes of parquet_bytes), streamed: returns (sha256, size)."""
    with _create(path) as fh:
        out = _HashingWriter(fh)
        _write_table(out, table, metadata, row_group_size)
    return out.sha.hexdigest(), out.pos


def parquet_bytes(table: pa.Table, metadata: dict, row_group_size: int | None = None) -> bytes:
    """Serialize `table` to zstd Parquet with `metadata` merged into the footer key-value metadata."""
    buf = io.BytesIO()
    _write_table(buf, table, metadata, row_group_size)
    return buf.getvalue()


# Directories. On object stores (gs://, s3://) a "directory" is only a name prefix: FileSystems.exists() and
# rename() on it see no object, so these work object by object there.

def _remote(path: str) -> bool:
    return "://" in path


def dir_exists(path: str) -> bool:
    """A local directory or file, or any object under the prefix `path/`."""
    path = path.rstrip("/")
    if not _remote(path):
        return os.path.exists(path)
    if FileSystems.exists(path):
        return True
    return bool(FileSystems.match([path + "/**"], limits=[1])[0].metadata_list)


def delete_tree(path: str) -> None:
    path = path.rstrip("/")
    if not _remote(path):
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        return
    if dir_exists(path):
        FileSystems.delete([path + "/"])


def move_tree(src: str, dst: str) -> None:
    """Move directory `src` to `dst` (which must not exist): one rename locally, object by object remotely
    (with the listing taken first, so objects written later are not moved)."""
    src, dst = src.rstrip("/"), dst.rstrip("/")
    if not _remote(src):
        os.replace(src, dst)
        return
    paths = sorted(m.path for m in FileSystems.match([src + "/**"])[0].metadata_list)
    if paths:
        FileSystems.rename(paths, [dst + p[len(src):] for p in paths])
