import datetime
import decimal
import gzip
import io
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import assume, given, settings, strategies as st

from pipeline.stages.parse import MAX_RAW_BYTES, format_of, iter_records
from pipeline.stages.types import DeadLetter, RawRecord

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from malformed import BIG_DOC_BYTES, gz, html_page, warc_bytes, write_malformed_corpus, zst  # noqa: E402


class Stream:
    """A non-seekable binary stream: only read(), like a network download."""

    def __init__(self, data: bytes, fail_after: int | None = None):
        self._buf, self._fail_after, self._pos = io.BytesIO(data), fail_after, 0

    def read(self, n=-1):
        if self._fail_after is not None and self._pos >= self._fail_after:
            raise OSError("connection reset")
        data = self._buf.read(n)
        self._pos += len(data)
        return data


def parse(name: str, data: bytes, **kwargs) -> list:
    return list(iter_records(name, Stream(data), **kwargs))


def errors(items) -> list[tuple[int, str]]:
    return [(i.position, i.error) for i in items if isinstance(i, DeadLetter)]


def jl(*objs) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


@pytest.fixture(scope="session")
def malformed_dir(tmp_path_factory):
    """The malformed corpus (with its 50 MB document), written once per session."""
    path = tmp_path_factory.mktemp("malformed")
    return str(path), write_malformed_corpus(str(path))


# ---------------------------------------------------------------- format_of

@pytest.mark.parametrize("path,fmt", [
    ("a.jsonl", "jsonl"), ("a.jsonl.gz", "jsonl"), ("a.JSONL.ZST", "jsonl"), ("dolma/a.json.gz", "jsonl"),
    ("gs://bucket/x/a.parquet", "parquet"), ("a.warc.gz", "warc"), ("a.warc", "warc"), ("a.wet.gz", "warc"),
    ("a.arc.gz", "warc"), ("a.arc", "warc"), ("a.txt", "txt"), ("a.txt.gz", "txt"),
])
def test_format_of(path, fmt):
    assert format_of(path) == fmt


@pytest.mark.parametrize("path", ["a.csv", "a.json", "a.parquet.gz", "a.warc.zst", "a.gz", "jsonl", "a.jsonl.bz2"])
def test_format_of_refuses_unknown_names(path):
    with pytest.raises(ValueError, match="unsupported input file"):
        format_of(path)


# ---------------------------------------------------------------- JSON Lines

def test_jsonl_fields_ids_and_positions():
    data = (b"\xef\xbb\xbf" + jl({"id": "a", "url": "https://x.org/", "text": "one", "lang": "en", "score": 0.5})
            + b"\n  \n" + jl({"id": 12, "text": "two"}, {"id": True, "text": "three"}, {"text": "four", "id": None})
            + b'{"text": "five", "v": NaN, "w": 1e999}\r\n{"text": "six"}')
    items = parse("x.jsonl", data)
    assert all(isinstance(i, RawRecord) for i in items)
    assert [i.position for i in items] == [0, 3, 4, 5, 6, 7]      # physical lines; 1-2 are blank
    assert [i.source_id for i in items] == ["a", "12", "true", None, None, None]
    assert items[0].url == "https://x.org/" and items[0].metadata == {"lang": "en", "score": 0.5}
    assert items[4].metadata == {"v": None, "w": None}             # strict-JSON metadata
    assert {i.source for i in items} == {"x.jsonl"}


@pytest.mark.parametrize("line,error", [
    (b'{"text": "cut', "bad JSON: Unterminated string starting at: line 1 column 10 (char 9)"),
    (b'{"text": "caf\xe9"}', "invalid UTF-8 at byte 13"),
    (b'{"text": "nul \x00"}', "bad JSON: Invalid control character at: line 1 column 15 (char 14)"),
    (b'{"text": "bell \x07"}', "bad JSON: Invalid control character at: line 1 column 16 (char 15)"),
    (b"[1, 2]", "non-object JSON: array"),
    (b'"text"', "non-object JSON: string"),
    (b'{"body": "x"}', "missing text"),
    (b'{"text": 3}', "non-string text: number"),
    (b'{"text": ["a"]}', "non-string text: array"),
    (b'{"text": null}', "non-string text: null"),
    (b'{"text": {"a": 1}}', "non-string text: object"),
    (b'{"text": ""}', "empty text"),
    (b'{"text": " \\n\\t\\u3000"}', "empty text"),
    (b'{"text": "x", "id": [1]}', "non-scalar id: array"),
    (b'{"text": "x", "url": 5}', "non-string url: number"),
    (b'{"text": "x\\udc00y"}', "invalid Unicode: lone surrogate escape"),
    (b"[" * 100_000, "bad JSON: nesting too deep"),
])
def test_jsonl_dead_letters(line, error):
    [item] = parse("x.jsonl.gz", gz(b"\n" + line + b"\n"))
    assert isinstance(item, DeadLetter)
    assert (item.position, item.error, item.stage) == (1, error, "parse")
    assert item.raw == line[:MAX_RAW_BYTES] and item.source == "x.jsonl.gz"


def test_jsonl_surrogate_pair_escape_is_fine():
    [item] = parse("x.jsonl", b'{"text": "smile \\ud83d\\ude00"}')
    assert item.text == "smile \U0001F600"


def test_jsonl_record_size_limit():
    line = json.dumps({"text": "a" * 990}).encode()
    assert isinstance(parse("x.jsonl", line, max_record_bytes=len(line))[0], RawRecord)
    [item] = parse("x.jsonl", line, max_record_bytes=len(line) - 1)
    assert item.error == f"record too large: {len(line)} bytes > {len(line) - 1}"


def test_compression_is_sniffed_not_named():
    records = jl({"text": "a"}, {"text": "b"})
    for name, data in [("x.jsonl", gz(records)), ("x.jsonl.gz", records), ("x.jsonl.zst", records),
                       ("x.jsonl.gz", zst(records)), ("x.jsonl.zst", zst(jl({"text": "a"})) + zst(jl({"text": "b"})))]:
        assert [i.text for i in parse(name, data)] == ["a", "b"], name


def test_truncated_and_corrupt_streams():
    data = gz(jl(*({"text": f"r{i}"} for i in range(5))))
    items = parse("x.jsonl.gz", data[:-4])           # deflate data whole, the trailer cut
    assert [i.text for i in items[:-1]] == [f"r{i}" for i in range(5)]
    assert items[-1].position == 5 and items[-1].error.startswith("truncated gzip stream: ")
    [item] = parse("x.jsonl.gz", b"\x1f\x8b\x08\x00" + b"\x01" * 50)
    assert item.position == 0 and item.error.startswith("corrupt gzip stream: ")
    [item] = parse("x.txt.zst", zst(b"some text")[:-3])
    assert item.error.startswith("truncated zstd stream: ")


def test_read_errors_of_the_file_itself_propagate():
    data = gz(jl(*({"text": "x" * 2000 + str(i)} for i in range(2000))))
    with pytest.raises(OSError, match="connection reset"):
        list(iter_records("x.jsonl.gz", Stream(data, fail_after=len(data) // 2)))


def test_big_document_is_dead_lettered_without_its_bulk(malformed_dir):
    path = os.path.join(malformed_dir[0], "big.jsonl")
    with open(path, "rb") as f:
        big, after = list(iter_records(path, f))
    assert big.error == f"record too large: {BIG_DOC_BYTES + 4} bytes > 10000000"
    assert len(big.raw) == MAX_RAW_BYTES and big.raw.startswith(b'{"text": "lorem ipsum')
    assert after.position == 1 and after.text == "The record after the huge one."


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=8))
def test_any_bytes_give_one_item_per_non_blank_line(lines):
    data = b"\n".join(lines)
    assume(not data.startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd")))   # a gzip/zstd file, whatever its name
    items = parse("x.jsonl", data)
    non_blank = [i for i, line in enumerate(lines)
                 if (line[3:] if i == 0 and line.startswith(b"\xef\xbb\xbf") else line).strip()]
    assert [i.position for i in items] == non_blank
    assert all(isinstance(i, (RawRecord, DeadLetter)) for i in items)


# ---------------------------------------------------------------- Parquet

def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=2)
    return buf.getvalue()


def test_parquet_rows_metadata_and_row_errors(tmp_path):
    table = pa.table({
        "id": [1, 2, 3, 4],
        "text": ["first", None, "third", " "],
        "url": ["https://a/", None, None, None],
        "when": [datetime.datetime(2024, 1, 2, 3, 4, 5)] * 4,
        "price": pa.array([decimal.Decimal("1.50")] * 4, pa.decimal128(5, 2)),
        "blob": [b"\x00\x01"] * 4,
        "score": [float("nan"), 1.0, 2.0, 3.0],
        "tags": [["a", "b"], [], None, ["c"]],
    })
    data = _parquet(table)
    path = tmp_path / "t.parquet"
    path.write_bytes(data)
    with open(path, "rb") as f:                      # seekable, read in place
        seekable = list(iter_records(str(path), f))
    assert seekable == [dataclass_with_source(i, str(path)) for i in parse("t.parquet", data)]
    first, second, third, fourth = seekable
    assert (first.position, first.source_id, first.url, first.text) == (0, "1", "https://a/", "first")
    assert first.metadata == {"when": "2024-01-02T03:04:05", "price": "1.50", "blob": "AAE=",
                              "score": None, "tags": ["a", "b"]}
    assert json.loads(json.dumps(first.metadata, allow_nan=False)) == first.metadata
    assert errors(seekable) == [(1, "non-string text: null"), (3, "empty text")]
    assert second.raw.startswith(b'{"id": 2, "text": null')
    assert third.source_id == "3" and third.metadata["tags"] is None


def dataclass_with_source(item, source):
    item.source = source
    return item


def test_parquet_file_level_errors():
    assert errors(parse("t.parquet", _parquet(pa.table({"body": ["x"]})))) == [(0, "missing text column")]
    # every row of a file without `text` is a record of its own (row groups of 2: 5 rows span 3 groups)
    items = parse("t.parquet", _parquet(pa.table({"body": ["a", "b", "c", "d", "e"], "n": [1, 2, 3, 4, 5]})))
    assert errors(items) == [(i, "missing text column") for i in range(5)]
    assert json.loads(items[3].raw) == {"body": "d", "n": 4}
    [item] = parse("t.parquet", b"not a parquet file")
    assert item.error.startswith("unreadable parquet file: ")
    [item] = parse("t.parquet", b"")
    assert item.error.startswith("unreadable parquet file: ")
    assert errors(parse("t.parquet", _parquet(pa.table({"text": [1, 2]})))) == [
        (0, "non-string text: number"), (1, "non-string text: number")]


# ---------------------------------------------------------------- WARC / WET / ARC

def _site() -> list[dict]:
    cp1252 = ('<html><head><meta charset="windows-1252"><title>Café</title></head><body><article>'
              "<p>Le café est une boisson très appréciée dans le monde entier, servie chaude.</p>"
              "</article></body></html>").encode("cp1252")
    chunked_gz = gzip.compress(html_page("Gzipped"), mtime=0)
    chunked_gz = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunked_gz), chunked_gz)
    return [
        {"type": "warcinfo", "uri": None, "body": b"software: test", "content_type": "application/warc-fields"},
        {"type": "request", "uri": "https://example.com/a"},
        {"type": "response", "uri": "https://example.com/a", "body": html_page("Alpha")},
        {"type": "response", "uri": "https://example.com/r", "status": "301 Moved", "body": b"<html>moved</html>"},
        {"type": "response", "uri": "https://example.com/i.png", "content_type": "image/png", "body": b"\x89PNG"},
        {"type": "response", "uri": "https://example.com/f",
         "body": b"<html><frameset><frame src=a></frameset></html>"},
        {"type": "response", "uri": "https://example.com/c", "content_type": "text/html", "body": cp1252},
        {"type": "response", "uri": "https://example.com/g", "body": chunked_gz,
         "http_headers": [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]},
        {"type": "metadata", "uri": "https://example.com/a", "body": b"fetchTimeMs: 3"},
    ]


def test_warc_documents_skips_and_dead_letters():
    items = parse("s.warc.gz", warc_bytes(_site()))
    assert [i.position for i in items] == [0, 1, 2, 3]
    alpha, frameset, cafe, gzipped = items
    assert alpha.source_id == "<urn:uuid:00000000-0000-0000-0000-000000000002>"
    assert alpha.url == "https://example.com/a"
    assert alpha.metadata == {"warc_date": "2024-01-02T03:04:05Z", "content_type": "text/html",
                              "http_status": 200, "charset": "utf-8"}
    assert alpha.text.startswith("Alpha\n") and "Home | About" not in alpha.text     # main content only
    assert (frameset.position, frameset.error) == (1, "empty text after HTML extraction")
    assert "Le café est une boisson très appréciée" in cafe.text and cafe.metadata["charset"] == "cp1252"
    assert "Gzipped" in gzipped.text
    full = parse("s.warc", warc_bytes(_site(), compress=False), html_main_content=False)
    assert "Home | About | Contact" in full[0].text and errors(full) == [(1, "empty text after HTML extraction")]


def test_warc_record_size_limit():
    items = parse("s.warc.gz", warc_bytes(_site()[2:3]), max_record_bytes=100)
    assert errors(items) == [(0, f"record too large: {len(html_page('Alpha'))} bytes > 100")]


def test_wet_conversion_records():
    wet = warc_bytes([
        {"type": "warcinfo", "uri": None, "body": b"x: y"},
        {"type": "conversion", "uri": "https://a/", "body": "Texte extrait.\nLigne deux.".encode()},
        {"type": "conversion", "uri": "https://b/", "body": b"  \n"},
        {"type": "conversion", "uri": "https://c/", "body": b"bad \xff utf-8"},
    ])
    ok, empty, bad = parse("x.wet.gz", wet)
    assert (ok.text, ok.url, ok.metadata["content_type"]) == ("Texte extrait.\nLigne deux.", "https://a/", "text/plain")
    assert errors([empty, bad]) == [(1, "empty text"), (2, "invalid UTF-8 at byte 4")]


def _arc(filedesc_separator: bytes) -> bytes:
    version = b"1 0 CommonCrawl\nURL IP-address Archive-date Content-type Archive-length\n\n"
    out = b"filedesc://x.arc.gz 0.0.0.0 20080619093439 text/plain %d\n%s%s" % (
        len(version), version, filedesc_separator)
    for i in range(2):
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + html_page(f"Arc {i}")
        out += b"http://a.org/%d 1.2.3.4 2008050919024%d text/html %d\n%s\n" % (i, i, len(http), http)
    return out


@pytest.mark.parametrize("separator", [b"", b"\n"])      # Common Crawl 2008-2010 ARCs have none
def test_arc_files(separator):
    data = _arc(separator)
    for name, blob in [("x.arc", data), ("x.arc.gz", gz(data))]:
        first, second = parse(name, blob)
        assert (first.url, first.source_id) == ("http://a.org/0", "http://a.org/0 2008-05-09T19:02:40Z")
        assert first.text.startswith("Arc 0") and second.text.startswith("Arc 1")


def test_truncated_and_corrupt_warc(malformed_dir):
    d = malformed_dir[0]
    for name, error in [("truncated.warc.gz", "truncated gzip stream: "), ("cut.warc", "truncated WARC record")]:
        with open(os.path.join(d, name), "rb") as f:
            items = list(iter_records(name, f))
        assert [type(i) for i in items] == [RawRecord, RawRecord, DeadLetter]
        assert items[2].position == 2 and items[2].error.startswith(error)
    [item] = parse("x.warc", b"junk, not a WARC header\n\nmore junk")
    assert item.position == 0 and item.error.startswith("corrupt WARC: ")


def test_warc_is_deterministic():
    data = warc_bytes(_site())
    assert parse("s.warc.gz", data) == parse("s.warc.gz", data)


# ---------------------------------------------------------------- plain text

def test_txt():
    [doc] = parse("a.txt.gz", gz("\ufeffLine one.\r\nLine two.".encode()))
    assert (doc.position, doc.source_id, doc.url, doc.text) == (0, None, None, "Line one.\r\nLine two.")
    assert errors(parse("a.txt", b"caf\xe9")) == [(0, "invalid UTF-8 at byte 3")]
    assert errors(parse("a.txt", b" \n ")) == [(0, "empty text")]
    assert errors(parse("a.txt", b"x" * 101, max_record_bytes=100)) == [(0, "record too large: 101 bytes > 100")]


# ---------------------------------------------------------------- malformed corpus and real files

def test_malformed_corpus_counts(malformed_dir):
    d, expected = malformed_dir
    for name, want in expected["files"].items():
        with open(os.path.join(d, name), "rb") as f:
            items = list(iter_records(os.path.join(d, name), f))
        got = {"valid": sum(isinstance(i, RawRecord) for i in items),
               "dead_letter": sum(isinstance(i, DeadLetter) for i in items)}
        assert got == want, name
        assert all(len(i.raw) <= MAX_RAW_BYTES and i.error for i in items if isinstance(i, DeadLetter))
    assert sorted(os.listdir(d)) == sorted(expected["files"])
    assert expected["valid"] == 17 and expected["dead_letter"] == 25


# 2xx text/html responses per file (the README's "HTML records used", except cc-2010: its 8 pages are
# stored decoded under a stale "Content-Encoding: gzip" header, which warcio falls back from)
REAL = {"dolma-wget-2024-sample-0000.warc.gz": 22, "dolma-wget-2024-sample-0001.warc.gz": 15,
        "cc-main-2020-34-sample.warc.gz": 16, "cc-2008-sample-1213893279526_0.arc.gz": 125,
        "cc-2010-sample-1262850551027_8.arc.gz": 8, "ccnet-cc_en_head-0091.jsonl.gz": 10,
        "ccnet-cc_en_head-0174.jsonl.gz": 10}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_web_files(shared, name):
    path = shared("web_cc_samples", "raw", name)
    with open(path, "rb") as f:
        items = list(iter_records(path, f))
    assert len(items) == REAL[name] and [i.position for i in items] == list(range(len(items)))
    # only pages with no text at all (framesets, meta refresh, image-only) become dead letters
    assert {i.error for i in items if isinstance(i, DeadLetter)} <= {"empty text after HTML extraction"}
    assert sum(isinstance(i, RawRecord) for i in items) >= 0.9 * len(items)
    ids = [i.source_id for i in items if isinstance(i, RawRecord) and i.source_id is not None]
    assert len(set(ids)) == len(ids)
