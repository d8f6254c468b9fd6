"""Writing whole Parquet/JSON files through Beam's filesystems (local paths, gs://, ...), hashed as written."""
from __future__ import annotations

import hashlib
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def write_bytes(path: str, data: bytes) -> str:
    """Write `data` to `path` (parents created); returns its sha256."""
    parent = path.rsplit("/", 1)[0]
    if parent and not FileSystems.exists(parent):
        FileSystems.mkdirs(parent)
    with FileSystems.create(path, mime_type="application/octet-stream") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def write_json(path: str, obj) -> str:
    return write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path, compression_type="uncompressed") as fh:
        return fh.read()


def parquet_bytes(table: pa.Table, metadata: dict, row_group_size: int | None = None) -> bytes:
    """Serialize `table` to zstd Parquet with `metadata` merged into the footer key-value metadata."""
    schema = table.schema.with_metadata({**(table.schema.metadata or {}), **metadata})
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, schema, compression="zstd") as w:
        w.write_table(table.cast(schema), row_group_size=row_group_size)
    return buf.getvalue()
