"""Decompressed input streams: gzip or zstd detected from magic bytes (not the file name), a sticky
`_Corrupt` error for truncated or corrupt data, and pushback for readers that sniff ahead.

Failures of the caller's own file are flagged (`io_failed`) and re-raised as is, so they are never
mistaken for bad data.
"""
from __future__ import annotations

import gzip
from typing import BinaryIO

import zstandard

from pipeline.stages.parse.common import _CHUNK, _short

_ZSTD_IN = 1 << 16               # compressed bytes per zstd step (decompressobj has no output cap)


class _Corrupt(Exception):
    """The compressed stream is truncated or corrupt; the message is the dead-letter error.

    Not an EOFError on purpose: warcio takes EOFError for a clean end of file.
    """


class _Input:
    """Decompressed bytes of `fileobj` (gzip/zstd by magic bytes), via `read(n)`; `unread` pushes back."""

    def __init__(self, fileobj: BinaryIO):
        self._f, self.io_failed = fileobj, False
        head = b""
        while len(head) < 4 and (more := self._raw_read(4 - len(head))):
            head += more
        self._head, self.compression = head, None
        self._dec, self._pushback, self._error = self, b"", ""
        if head.startswith(b"\x1f\x8b"):
            self.compression, self._dec = "gzip", gzip.GzipFile(fileobj=_RawView(self), mode="rb")
        elif head == b"\x28\xb5\x2f\xfd":
            self.compression, self._dec = "zstd", _ZstdReader(_RawView(self))

    def _raw_read(self, n: int) -> bytes:
        try:
            return self._f.read(n)
        except BaseException:
            self.io_failed = True        # the caller's file failed: not bad data, re-raised as is
            raise

    def raw_read(self, n: int) -> bytes:
        """Compressed bytes: the sniffed head first, then `fileobj`."""
        if self._head:
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._raw_read(n)

    def read(self, n: int = _CHUNK) -> bytes:
        """Up to n bytes, b"" at the end. Returns what was decoded before raising `_Corrupt`, which
        then sticks: every later read raises it again."""
        if self._pushback:
            data, self._pushback = self._pushback[:n], self._pushback[n:]
            return data
        if self._error:
            raise _Corrupt(self._error)
        if self._dec is self:
            return self.raw_read(n)
        try:
            # read1: one decompression step, so bytes decoded before a truncation are not lost
            return self._dec.read1(n) if self.compression == "gzip" else self._dec.read(n)
        except Exception as e:
            if self.io_failed:
                raise
            kind = "truncated" if isinstance(e, EOFError) else "corrupt"
            self._error = _short(f"{kind} {self.compression} stream: {e}")
            raise _Corrupt(self._error) from e

    def unread(self, data: bytes) -> None:
        self._pushback = data + self._pushback


class _RawView:
    """What gzip/zstd decompress: the compressed side of an `_Input`."""

    def __init__(self, source: _Input):
        self._source = source

    def read(self, n: int = -1) -> bytes:
        return self._source.raw_read(n if n is not None and n >= 0 else _CHUNK)


class _ZstdReader:
    """zstd frames decompressed in small steps; input ending inside a frame raises EOFError.

    (zstandard's stream_reader returns a silent short read on a truncated frame.)
    """

    def __init__(self, raw: _RawView):
        self._raw, self._dctx = raw, zstandard.ZstdDecompressor()
        self._obj, self._in_frame = self._dctx.decompressobj(), False
        self._buf, self._pos = b"", 0

    def read(self, n: int) -> bytes:
        while self._pos >= len(self._buf):
            data = self._raw.read(_ZSTD_IN)
            if not data:
                if self._in_frame:
                    raise EOFError("input ended inside a zstd frame")
                return b""
            self._buf, self._pos = self._feed(data), 0
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def _feed(self, data: bytes) -> bytes:
        out = []
        while data:
            self._in_frame = True
            out.append(self._obj.decompress(data))
            data = b""
            if self._obj.eof:        # frame done; what follows is the next frame
                data, self._obj, self._in_frame = self._obj.unused_data, self._dctx.decompressobj(), False
        return b"".join(out)
