"""WARC, WET and ARC: which archive records are documents (`_warc_item`), their bodies, and for HTML
the charset decoding and plain-text extraction.
"""
from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from warcio.archiveiterator import ArchiveIterator

from pipeline.stages.parse.common import _dead, _read_upto
from pipeline.stages.parse.compression import _Corrupt, _Input
from pipeline.stages.types import DeadLetter, RawRecord

_HTML_TYPES = ("text/html", "application/xhtml+xml")


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
