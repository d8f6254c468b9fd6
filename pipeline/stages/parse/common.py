"""What every format reader shares: the limits, dead-letter construction (error text and raw bytes
cut to size) and bounded reads.
"""
from __future__ import annotations

from pipeline.stages.types import DeadLetter

MAX_RAW_BYTES = 4096             # raw bytes kept in a dead letter
_CHUNK = 1 << 20                 # read size; bounds memory together with max_record_bytes
_MAX_ERROR_CHARS = 300


def _read_upto(read, limit: int) -> tuple[bytes, int]:
    """Up to `limit` bytes from `read(n)` and the full size (the rest is read and dropped)."""
    parts, size = [], 0
    while data := read(_CHUNK):
        size += len(data)
        if size - len(data) <= limit:
            parts.append(data)
    return b"".join(parts)[:limit + 1], size


def _short(message: str) -> str:
    return message if len(message) <= _MAX_ERROR_CHARS else message[:_MAX_ERROR_CHARS - 3] + "..."


def _dead(source: str, position: int, error: str, raw: bytes) -> DeadLetter:
    return DeadLetter(source, position, _short(error), bytes(raw[:MAX_RAW_BYTES]))
