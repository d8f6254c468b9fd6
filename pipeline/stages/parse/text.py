"""Plain text: the whole file is one document, UTF-8 (a leading BOM dropped)."""
from __future__ import annotations

from typing import BinaryIO, Iterator

from pipeline.stages.parse.common import _dead, _read_upto
from pipeline.stages.parse.compression import _Corrupt, _Input
from pipeline.stages.types import DeadLetter, RawRecord


def _txt(source: str, fileobj: BinaryIO, max_bytes: int) -> Iterator[RawRecord | DeadLetter]:
    """The whole file is one document."""
    try:
        data, size = _read_upto(_Input(fileobj).read, max_bytes)
    except _Corrupt as e:
        yield _dead(source, 0, str(e), b"")
        return
    if size > max_bytes:
        yield _dead(source, 0, f"record too large: {size} bytes > {max_bytes}", data)
        return
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        yield _dead(source, 0, f"invalid UTF-8 at byte {e.start}", data)
        return
    if not text.strip():
        yield _dead(source, 0, "empty text", data)
        return
    yield RawRecord(source, 0, None, None, text, {})
