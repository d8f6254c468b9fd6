"""Parse one input file into RawRecords, with a DeadLetter for each record that cannot be read.

Formats (`format_of`): JSON Lines, Parquet, WARC/WET/ARC, plain text. Compression (gzip, zstd) is
detected from magic bytes, not the name, so a stream Beam already decompressed works too. Bad data
never raises; a failing `fileobj.read` does (Beam retries the bundle). Positions, per format:
JSONL 0-based physical line number (blank lines skipped but counted), Parquet row index, WARC index
among the items yielded for the file, txt 0. A file that breaks mid-way yields one DeadLetter at the
next position and stops. Which WARC records are documents: see `_warc_item`.
"""
from __future__ import annotations

import base64
import datetime
import decimal
import gzip
import io
import json
import math
import re
from typing import BinaryIO, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from warcio.archiveiterator import ArchiveIterator

from pipeline.stages.types import DeadLetter, RawRecord

MAX_RAW_BYTES = 4096             # raw bytes kept in a dead letter
_CHUNK = 1 << 20                 # read size; bounds memory together with max_record_bytes
_ZSTD_IN = 1 << 16               # compressed bytes per zstd step (decompressobj has no output cap)
_MAX_ERROR_CHARS = 300
_HTML_TYPES = ("text/html", "application/xhtml+xml")

# name suffix (after an optional compression suffix) -> (format, allowed compression suffixes).
# `.json.gz`/`.json.zst` are JSON Lines by the Dolma convention; a bare `.json` is usually one JSON
# document, so it is refused. Parquet compresses internally; zstd WARCs need a dictionary (unsupported).
_SUFFIXES = {
    ".jsonl": ("jsonl", ("", ".gz", ".zst")), ".json": ("jsonl", (".gz", ".zst")),
    ".parquet": ("parquet", ("",)),
    ".warc": ("warc", ("", ".gz")), ".wet": ("warc", ("", ".gz")), ".arc": ("warc", ("", ".gz")),
    ".txt": ("txt", ("", ".gz", ".zst")),
}


def format_of(path: str) -> str:
    """"jsonl" | "parquet" | "warc" | "txt" from the file name; ValueError for anything else."""
    name = path.rsplit("/", 1)[-1].lower()
    comp = next((c for c in (".gz", ".zst") if name.endswith(c)), "")
    stem = name[: len(name) - len(comp)]
    ext = stem[stem.rfind("."):] if "." in stem else ""
    fmt, allowed = _SUFFIXES.get(ext, (None, ()))
    if fmt is None or comp not in allowed:
        known = ", ".join(f"{s}{c}" for s, (_, cs) in _SUFFIXES.items() for c in cs)
        raise ValueError(f"unsupported input file {path!r}: name must end in one of {known}")
    return fmt


def iter_records(path: str, fileobj: BinaryIO, *, max_record_bytes: int = 10_000_000,
                 html_main_content: bool = True) -> Iterator[RawRecord | DeadLetter]:
    """Yield a RawRecord or DeadLetter per record of `path`, read from the binary `fileobj`."""
    fmt = format_of(path)
    if fmt == "jsonl":
        yield from _jsonl(path, fileobj, max_record_bytes)
    elif fmt == "parquet":
        yield from _parquet(path, fileobj, max_record_bytes)
    elif fmt == "warc":
        yield from _warc(path, fileobj, max_record_bytes, html_main_content)
    else:
        yield from _txt(path, fileobj, max_record_bytes)


# ---------------------------------------------------------------- streams

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


# ---------------------------------------------------------------- JSON Lines and Parquet rows

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


# ---------------------------------------------------------------- WARC, WET, ARC

def _warc(source: str, fileobj: BinaryIO, max_bytes: int, main_content: bool) -> Iterator[RawRecord | DeadLetter]:
    stream = _Input(fileobj)
    position = 0
    records = None
    while True:
        try:
            if records is None:
                is_arc = _fix_arc_filedesc(stream)
                records = iter(ArchiveIterator(stream, arc2warc=True))
            record = next(records, None)
            if record is None:
                return
            item = _warc_item(source, position, record, is_arc, stream, max_bytes, main_content)
        except _Corrupt as e:
            yield _dead(source, position, str(e), b"")
            return
        except Exception as e:                       # warcio's many parse errors on bad data
            if stream.io_failed:
                raise
            yield _dead(source, position, f"corrupt WARC: {type(e).__name__}: {e}", b"")
            return
        if item is not None:
            yield item
            position += 1


def _fix_arc_filedesc(stream: _Input) -> bool:
    """True for an ARC file. Common Crawl's 2008-2010 ARCs count the blank line after the filedesc
    block in its length, leaving no separator; warcio then eats the next header line. Put it back."""
    head = b""
    try:
        while len(head) < 1 << 16 and (more := stream.read((1 << 16) - len(head))):
            head += more
    except _Corrupt:
        pass                                         # raised again once `head` is read back
    if head.startswith(b"filedesc://") and (nl := head.find(b"\n")) > 0:
        fields = head[:nl].split()
        if fields[-1].isdigit():
            end = nl + 1 + int(fields[-1])
            if end < len(head) and head[end:end + 1] != b"\n":
                head = head[:end] + b"\n" + head[end:]
    stream.unread(head)
    return head.startswith(b"filedesc://")


def _warc_item(source: str, position: int, record, is_arc: bool, stream: _Input, max_bytes: int,
               main_content: bool) -> RawRecord | DeadLetter | None:
    """The document of a WET `conversion` record or of a 2xx HTML `response`; None for any other record.

    Skipped, not counted: warcinfo/request/metadata/resource/revisit records, non-HTML responses
    (PDF, images) and non-2xx responses (redirect and error pages; Common Crawl's main WARCs hold 2xx
    only). A document that cannot be read, decoded, or has no text left is a DeadLetter.
    """
    headers, http = record.rec_headers, record.http_headers
    url, date = headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")
    # warcio gives converted ARC records a random WARC-Record-ID; url + date is stable
    source_id = f"{url} {date}" if is_arc else headers.get_header("WARC-Record-ID")
    meta = {"warc_date": date, "content_type": None, "http_status": None}
    if record.rec_type == "conversion":
        meta["content_type"], charset = _mime(headers.get_header("Content-Type"))
    elif record.rec_type == "response" and http is not None:
        status = http.get_statuscode()
        meta["content_type"], charset = _mime(http.get_header("Content-Type"))
        if not (status and status.isdigit() and 200 <= int(status) < 300) or meta["content_type"] not in _HTML_TYPES:
            return None
        meta["http_status"] = int(status)
    else:
        return None
    body, error = _read_body(record, stream, max_bytes)
    if error:
        return _dead(source, position, error, body)
    if record.rec_type == "conversion":
        try:
            text = body.decode("utf-8")              # WET is UTF-8 by definition
        except UnicodeDecodeError as e:
            return _dead(source, position, f"invalid UTF-8 at byte {e.start}", body)
        if not text.strip():
            return _dead(source, position, "empty text", body)
        return RawRecord(source, position, source_id, url, text, meta)
    html, meta["charset"] = _decode_html(body, charset)
    try:
        text = extract_plain_text(html, preserve_formatting=True, main_content=main_content,
                                  alt_texts=False, list_bullets=False)   # WET-like: no alt text, no bullets
    except Exception as e:                           # resiliparse's parser errors
        return _dead(source, position, f"HTML extraction failed: {e}", body)
    if not text.strip():
        return _dead(source, position, "empty text after HTML extraction", body)
    return RawRecord(source, position, source_id, url, text, meta)


def _read_body(record, stream: _Input, max_bytes: int) -> tuple[bytes, str | None]:
    """The payload (chunked/gzip transfer undone, at most max_bytes + 1 kept) and an error, if any."""
    try:
        body, size = _read_upto(record.content_stream().read, max_bytes)
    except _Corrupt:
        raise
    except Exception as e:                           # bad chunked or Content-Encoding data
        if stream.io_failed:
            raise
        return b"", f"bad HTTP body: {type(e).__name__}: {e}"
    raw = record.raw_stream
    if getattr(raw, "limit", 0) > 0 and not raw.read(1):
        return body, "truncated WARC record"      # uncompressed file cut inside this record
    if size > max_bytes:
        return body, f"record too large: {size} bytes > {max_bytes}"
    return body, None


def _mime(content_type: str | None) -> tuple[str | None, str | None]:
    """("text/html", "utf-8") from 'text/html; charset="UTF-8"'."""
    if not content_type:
        return None, None
    mime, *params = content_type.split(";")
    charset = next((p.split("=", 1)[1].strip().strip("\"'") for p in params
                    if p.strip().lower().startswith("charset=")), None)
    return mime.strip().lower() or None, charset or None


_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _decode_html(body: bytes, http_charset: str | None) -> tuple[str, str]:
    """HTML text and the encoding used: BOM, HTTP charset, <meta> charset (first 1024 bytes, as
    HTML5's prescan), UTF-8, each strict; else uchardet's guess, decoded lossily. Labels map as WHATWG."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace"), "utf-8"
    meta = _META_CHARSET.search(body[:1024])
    for label in (http_charset, meta and meta.group(1).decode("ascii"), "utf-8"):
        if label:
            encoding = map_encoding_to_html5(label)
            try:
                return body.decode(encoding), encoding
            except (LookupError, UnicodeDecodeError):
                pass
    encoding = detect_encoding(body)
    return bytes_to_str(body, encoding, errors="replace"), encoding


# ---------------------------------------------------------------- plain text

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
