"""JSON Lines: one JSON object per physical line, read in bounded chunks so a huge line costs at
most `max_record_bytes` of memory.
"""
from __future__ import annotations

import json
import math
import re
from typing import BinaryIO, Iterator

from pipeline.stages.parse.common import MAX_RAW_BYTES, _CHUNK, _dead
from pipeline.stages.parse.compression import _Corrupt, _Input
from pipeline.stages.parse.records import _kind, _record
from pipeline.stages.types import DeadLetter, RawRecord


class _Lines:
    """Physical lines (without b"\\n") with their full size; a line over `max_bytes` keeps its first
    MAX_RAW_BYTES only. `count` lines were complete; `partial` starts the line being read."""

    def __init__(self, stream: _Input, max_bytes: int):
        self._stream, self._max = stream, max_bytes
        self._keep: list[bytes] = []
        self._size = 0
        self.count = 0

    @property
    def partial(self) -> bytes:
        return b"".join(self._keep)[:MAX_RAW_BYTES]

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        while chunk := self._stream.read(_CHUNK):
            *complete, rest = chunk.split(b"\n")
            for piece in complete:
                self._add(piece)
                line, size = b"".join(self._keep), self._size
                self._keep, self._size = [], 0
                self.count += 1
                yield line, size
            self._add(rest)
        if self._keep or self._size:
            self.count += 1
            yield b"".join(self._keep), self._size

    def _add(self, piece: bytes) -> None:
        before, self._size = self._size, self._size + len(piece)
        if before > self._max:
            return                                   # already cut to MAX_RAW_BYTES
        if self._size > self._max:
            self._keep = [(b"".join(self._keep) + piece)[:MAX_RAW_BYTES]]
        elif piece:
            self._keep.append(piece)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _finite_or_none(literal: str) -> float | None:
    """JSON numbers that overflow to inf, and Python's NaN/Infinity, become null (strict JSON metadata)."""
    value = float(literal)
    return value if math.isfinite(value) else None


def _jsonl(source: str, fileobj: BinaryIO, max_bytes: int) -> Iterator[RawRecord | DeadLetter]:
    stream = _Input(fileobj)
    lines = _Lines(stream, max_bytes)
    try:
        for line, size in lines:
            position = lines.count - 1
            if position == 0 and line.startswith(b"\xef\xbb\xbf"):
                line, size = line[3:], size - 3      # UTF-8 BOM at the start of the file
            if not line.strip():
                continue
            yield _jsonl_record(source, position, line, size, max_bytes)
    except _Corrupt as e:
        yield _dead(source, lines.count, str(e), lines.partial)


def _jsonl_record(source: str, position: int, line: bytes, size: int, max_bytes: int) -> RawRecord | DeadLetter:
    if size > max_bytes:
        return _dead(source, position, f"record too large: {size} bytes > {max_bytes}", line)
    try:
        obj = json.loads(line.decode("utf-8"), parse_constant=_finite_or_none, parse_float=_finite_or_none)
    except UnicodeDecodeError as e:
        return _dead(source, position, f"invalid UTF-8 at byte {e.start}", line)
    except RecursionError:
        return _dead(source, position, "bad JSON: nesting too deep", line)
    except ValueError as e:                          # JSONDecodeError, or an int over 4300 digits
        return _dead(source, position, f"bad JSON: {e}", line)
    if not isinstance(obj, dict):
        return _dead(source, position, f"non-object JSON: {_kind(obj)}", line)
    if _SURROGATE_ESCAPE.search(line):               # "\ud800" alone decodes to a str UTF-8 cannot encode
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return _dead(source, position, "invalid Unicode: lone surrogate escape", line)
    return _record(source, position, obj, max_bytes, line)
