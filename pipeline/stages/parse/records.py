"""A JSON object or Parquet row turned into a RawRecord: `text` (required), `id`, `url`, the rest
metadata. Shared by the JSON Lines and Parquet readers so both apply the same rules and error texts.
"""
from __future__ import annotations

import json

from pipeline.stages.parse.common import _dead
from pipeline.stages.types import DeadLetter, RawRecord

_MISSING = object()


def _kind(value) -> str:
    """JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object", bytes: "binary"}.get(type(value), type(value).__name__)


def _record(source: str, position: int, row: dict, max_bytes: int, raw: bytes) -> RawRecord | DeadLetter:
    """The record of a JSON object or Parquet row: `text` (required), `id`, `url`, the rest metadata."""
    text = row.pop("text", _MISSING)
    if text is _MISSING:
        return _dead(source, position, "missing text", raw)
    if not isinstance(text, str):
        return _dead(source, position, f"non-string text: {_kind(text)}", raw)
    if len(text) * 4 > max_bytes and (size := len(text.encode("utf-8", "surrogatepass"))) > max_bytes:
        return _dead(source, position, f"record too large: {size} bytes > {max_bytes}", raw)
    if not text.strip():
        return _dead(source, position, "empty text", raw)
    doc_id = row.pop("id", None)
    if isinstance(doc_id, (dict, list, bytes)):
        return _dead(source, position, f"non-scalar id: {_kind(doc_id)}", raw)
    if doc_id is not None and not isinstance(doc_id, str):
        doc_id = json.dumps(doc_id)                  # 12 -> "12", true -> "true", as written in JSON
    url = row.pop("url", None)
    if url is not None and not isinstance(url, str):
        return _dead(source, position, f"non-string url: {_kind(url)}", raw)
    return RawRecord(source, position, doc_id, url, text, row)
