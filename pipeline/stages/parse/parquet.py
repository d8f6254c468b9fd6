"""Parquet: each row is a record; non-text columns become JSON metadata. Compression is internal to
the format, so the file is handed to pyarrow as is (buffered first when it cannot seek).
"""
from __future__ import annotations

import base64
import datetime
import decimal
import io
import json
import math
from typing import BinaryIO, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.stages.parse.common import MAX_RAW_BYTES, _dead, _short
from pipeline.stages.parse.records import _record
from pipeline.stages.types import DeadLetter, RawRecord


def _jsonable(value):
    """A Parquet value as JSON: dates as ISO 8601, decimals as strings, bytes as base64, NaN as null."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)                                # timedelta and other rare logical types


class _Tracked:
    """`fileobj` for pyarrow, flagging its own failures (pyarrow reports corrupt data as OSError too)."""

    def __init__(self, fileobj):
        self._f, self.io_failed = fileobj, False

    def __getattr__(self, name):
        attr = getattr(self._f, name)
        if name not in ("read", "seek", "tell", "readinto"):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except BaseException:
                self.io_failed = True
                raise
        return call


def _parquet(source: str, fileobj: BinaryIO, max_bytes: int) -> Iterator[RawRecord | DeadLetter]:
    seekable = getattr(fileobj, "seekable", None)
    tracked = _Tracked(fileobj if seekable and seekable() else io.BytesIO(fileobj.read()))
    position = 0
    try:
        pf = pq.ParquetFile(tracked)
        no_text = "text" not in pf.schema_arrow.names      # every row is a record: each is dead-lettered
        for batch in pf.iter_batches(batch_size=1024):
            for row in _rows(batch):
                if no_text:
                    raw = b"" if isinstance(row, Exception) else json.dumps(row, default=str).encode()
                    yield _dead(source, position, "missing text column", raw[:MAX_RAW_BYTES])
                elif isinstance(row, Exception):
                    yield _dead(source, position, _short(f"unreadable parquet row: {row}"), b"")
                else:
                    item = _record(source, position, {k: v if k == "text" else _jsonable(v)
                                                      for k, v in row.items()}, max_bytes, b"")
                    if isinstance(item, DeadLetter):
                        item.raw = json.dumps(row, default=str).encode()[:MAX_RAW_BYTES]
                    yield item
                position += 1
    except (pa.ArrowException, OSError, ValueError) as e:
        if tracked.io_failed:
            raise
        what = "unreadable parquet file" if position == 0 else "parquet file unreadable from here"
        yield _dead(source, position, f"{what}: {e}", b"")


def _rows(batch: pa.RecordBatch) -> Iterator[dict | Exception]:
    """Rows as dicts; a row whose values Python cannot hold (e.g. invalid UTF-8) as its exception."""
    try:
        yield from batch.to_pylist()
    except (pa.ArrowException, ValueError):
        for i in range(batch.num_rows):
            try:
                yield batch.slice(i, 1).to_pylist()[0]
            except (pa.ArrowException, ValueError) as e:
                yield e
