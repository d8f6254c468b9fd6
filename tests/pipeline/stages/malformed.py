"""A malformed-input corpus: every kind of bad record `stages.parse` turns into a dead letter, mixed with
valid records. `write_malformed_corpus(dir)` writes it and returns the counts a run must report.

Deterministic (fixed seeds, gzip mtime 0). The counts assume max_record_bytes < 50 MB (default 10 MB).
Also holds small WARC/gzip/zstd builders for the parse tests.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

BIG_DOC_BYTES = 50_000_000

# Distinct English prose for the valid records, long enough to survive the quality filters, so a
# pipeline run on this corpus keeps some documents (written for this corpus).
PROSE = (
    "The old harbour town grew up around a narrow bay where fishing boats could shelter from the winter "
    "storms. For centuries the families who lived there depended on the sea for their food and their "
    "income. Each morning the boats left before sunrise and returned in the early afternoon with their "
    "catch. The market near the quay was the busiest place in town, and traders came from inland villages "
    "to buy fish, salt and rope. Today most of the boats carry tourists instead of nets, but the market "
    "still opens every Saturday and the oldest families still mend their own sails.",
    "Learning to bake bread at home takes patience more than skill. The dough needs time to rise, and the "
    "flavour improves when it rests slowly in a cool kitchen overnight. Many beginners add too much flour "
    "because the mixture feels sticky, yet a wet dough usually gives a lighter loaf with a better crust. "
    "A hot oven matters as well, so it is worth heating a heavy pot for half an hour before the loaf goes "
    "in. After a few attempts most people find a rhythm that fits their week, and the smell of fresh bread "
    "becomes part of an ordinary Sunday morning.",
    "Our local library started a repair cafe last spring, and it has become one of the most popular events "
    "in the neighbourhood. Volunteers with different skills sit at long tables and help visitors fix "
    "broken lamps, torn jackets, bicycles and small kitchen machines. Nobody pays for the help, although "
    "many people bring cake or coffee to share. The organisers keep a simple record of every item, and "
    "they report that about two thirds of the things brought in leave the room working again. Several "
    "visitors have since joined as volunteers themselves.",
    "Walking in the hills after heavy rain can be more dangerous than it looks. Streams that are easy to "
    "cross in summer may rise quickly, and muddy paths become slippery on steep slopes. Experienced walkers "
    "check the weather before they leave, tell someone about their route and carry a map even when they "
    "know the area well. They also turn back early when the conditions change, because the hills will "
    "still be there next week. A good pair of boots and a warm layer weigh little compared with the "
    "comfort they give when the wind picks up on an exposed ridge.",
    "The village school has only three classrooms, yet its garden is known across the whole valley. "
    "Pupils grow beans, potatoes, herbs and flowers, and they learn to measure the plants as part of their "
    "mathematics lessons. In the autumn they sell the vegetables at a small stall outside the gate and use "
    "the money to buy new seeds and tools. Parents help with the heavy work during the holidays, and a "
    "retired farmer visits every month to answer questions. The teachers say that children who struggle "
    "indoors often show real talent and patience in the garden.",
    "When the railway reached the plain in the nineteenth century, the small market towns along the line "
    "changed within a single generation. Farmers could send milk and grain to the city overnight, and new "
    "shops opened near every station. Some towns grew rapidly while others, left a few miles away from the "
    "tracks, slowly lost their trade and their young people. Historians still argue about how much the "
    "railway caused these changes and how much it simply sped up movements that had already begun. The "
    "old station buildings now serve as museums, offices and cafes.",
    "Keeping a notebook of birds seen from a kitchen window is a simple habit that teaches a great deal. "
    "Over a year the visitors change with the seasons, from noisy flocks of sparrows in winter to the "
    "swallows that arrive in spring and leave again in early autumn. Writing down the date and the weather "
    "makes patterns easier to notice. Some people share their notes with regional surveys, which helps "
    "scientists follow how bird populations are changing. All it takes is a little attention each day and "
    "perhaps a cheap pair of binoculars kept near the window.",
    "The community choir meets every Tuesday evening in the hall behind the church. Anyone may join, and "
    "nobody is asked to read music or to sing alone. The director chooses songs from many countries and "
    "teaches each part slowly, line by line, until the whole group can hear how the voices fit together. "
    "Twice a year the choir gives a concert, and the money raised goes to a different local charity each "
    "time. Members often say that the weekly rehearsal is the calmest part of their week, whatever else "
    "is happening in their lives.",
    "A good map tells a story about the people who made it as well as about the land it shows. Early "
    "charts of the coast marked harbours, rocks and sandbanks in great detail but left the interior almost "
    "empty, because sailors cared little about what lay beyond the shore. Later surveys measured every "
    "field and road for taxes and for planning new canals. Comparing maps from different centuries shows "
    "rivers moving, forests shrinking and towns spreading along new roads, and it reminds us that every "
    "map leaves something out.",
    "Repairing an old wooden chair is a satisfying project for a quiet weekend. The first step is to take "
    "the loose joints apart carefully and clean away the old glue, which has usually dried into a brittle "
    "crust. Fresh glue holds best on clean wood, and clamps keep the parts in place while it sets. A light "
    "sanding and a coat of oil bring back the colour of the timber without hiding its age. The finished "
    "chair may not look new, but it will be strong enough for many more years of daily use at the table.",
)

ARTICLE = ("<html><head><title>{title}</title></head><body><nav>Home | About | Contact</nav>"
           "<article><h1>{title}</h1><p>{body}</p></article>"
           "<footer>Copyright</footer></body></html>")


def html_page(title: str, body: str = PROSE[8]) -> bytes:
    return ARTICLE.format(title=title, body=body).encode("utf-8")


def warc_bytes(records: list[dict], *, compress: bool = True) -> bytes:
    """A WARC file; each record dict: type, uri, and for responses status, content_type, body
    (and optional http_headers: extra HTTP header pairs); for conversion/resource: body, content_type."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=compress)
    for i, rec in enumerate(records):
        warc_headers = {"WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>",
                        "WARC-Date": "2024-01-02T03:04:05Z"}
        kind = rec["type"]
        if kind in ("response", "request"):
            if kind == "response":
                headers = [("Content-Type", rec.get("content_type", "text/html; charset=utf-8"))]
                headers += rec.get("http_headers", [])
                http = StatusAndHeaders(rec.get("status", "200 OK"), headers, protocol="HTTP/1.1")
            else:
                http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.com")], is_http_request=True)
            record = writer.create_warc_record(rec["uri"], kind, payload=io.BytesIO(rec.get("body", b"")),
                                               http_headers=http, warc_headers_dict=warc_headers)
        else:
            record = writer.create_warc_record(rec["uri"], kind, payload=io.BytesIO(rec["body"]),
                                               warc_content_type=rec.get("content_type", "text/plain"),
                                               warc_headers_dict=warc_headers)
        writer.write_record(record)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def _jl(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def _long_line(seed: int, n_words: int = 40_000) -> bytes:
    """One valid JSONL record of random words: compresses to far more than one deflate block."""
    rnd = random.Random(seed)
    words = " ".join("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
                     for _ in range(n_words))
    return _jl({"text": words})


def _files() -> dict[str, tuple[bytes, int, int]]:
    """file name -> (content, valid records, dead letters)."""
    files = {}
    junk = random.Random(7).randbytes(300).replace(b"\n", b"\xff")
    mixed = [
        (_jl({"id": "ok-1", "url": "https://example.com/1", "text": PROSE[0], "lang": "en"}), "ok"),
        (b"\n   \n", None),                                            # blank lines: not records
        (b'{"text": "unterminated\n', "bad JSON"),
        (b'{"text": "caf\xe9 au lait"}\n', "invalid UTF-8"),
        (_jl({"id": 3, "body": "no text field"}), "missing text"),
        (_jl({"text": 42}), "number text"),
        (_jl({"text": ["a", "list"]}), "list text"),
        (_jl({"text": None}), "null text"),
        (b'{"text": "raw NUL \x00 in a string"}\n', "NUL byte"),
        (b"\x00\x00\x00\x00\n", "NUL line"),
        (_jl({"text": ""}), "empty text"),
        (_jl({"text": " \n\t "}), "whitespace text"),
        (junk + b"\n", "binary junk"),
        (b"[1, 2, 3]\n", "non-object JSON"),
        (b'{"text": "lone \\ud800 surrogate"}\n', "lone surrogate"),
        (_jl({"text": "Escaped NUL \u0000 is valid JSON. " + PROSE[1], "id": 7}), "ok"),
        (json.dumps({"id": "ok-3", "text": PROSE[2]}).encode() + b"\r\n", "ok"),
        (b'{"text": "no final newline, still a record"}', "ok"),
    ]
    files["mixed.jsonl"] = (b"".join(line for line, _ in mixed),
                            sum(kind == "ok" for _, kind in mixed),
                            sum(kind not in (None, "ok") for _, kind in mixed))
    # a truncated gzip: a whole first member (3 records), then half of a second member holding one
    # long line, so no complete line of the second member is ever decoded
    member1 = gz(_jl({"text": PROSE[3]}) + _jl({"text": "Second record."}) + _jl({"text": "Third."}))
    member2 = gz(_long_line(1))
    files["truncated.jsonl.gz"] = (member1 + member2[: len(member2) // 2], 3, 1)
    frame2 = zst(_long_line(2))
    files["truncated.jsonl.zst"] = (zst(_jl({"text": "zstd record before the cut"})) + frame2[: len(frame2) // 2],
                                    1, 1)
    files["corrupt.jsonl.gz"] = (b"\x1f\x8b\x08\x00" + random.Random(3).randbytes(500), 0, 1)
    files["ok.jsonl.gz"] = (gz(_jl({"text": PROSE[4]})), 1, 0)

    pages = [{"type": "response", "uri": f"https://example.com/p{i}",
              "body": html_page(f"Page {i}", PROSE[5 + i])} for i in range(3)]
    whole, first_two = warc_bytes(pages), len(warc_bytes(pages[:2]))      # a gzip member per record
    files["truncated.warc.gz"] = (whole[: first_two + (len(whole) - first_two) // 2], 2, 1)
    plain = warc_bytes(pages, compress=False)
    files["cut.warc"] = (plain[: len(plain) - 200], 2, 1)     # inside the third record's HTML

    table = pa.table({"id": ["r1", "r2", "r3", "r4"], "text": [PROSE[8], None, "   ", "Row four text."]})
    files["rows.parquet"] = (_parquet_bytes(table), 2, 2)
    files["unreadable.parquet"] = (_parquet_bytes(table)[:-100], 0, 1)      # footer cut off
    files["notext.parquet"] = (_parquet_bytes(pa.table({"body": ["no text column"]})), 0, 1)

    files["good.txt"] = ((PROSE[9] + "\n").encode(), 1, 0)
    files["latin1.txt"] = ("Caf\u00e9 encoded as Latin-1.".encode("latin-1"), 0, 1)
    files["empty.txt"] = (b"", 0, 1)
    return files


def _parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_malformed_corpus(dir: str) -> dict:
    """Write the corpus into `dir`; return {"valid": n, "dead_letter": m, "files": {name: {...}}}."""
    os.makedirs(dir, exist_ok=True)
    files = _files()
    with open(os.path.join(dir, "big.jsonl"), "wb") as f:       # 50 MB line, then a valid record
        f.write(b'{"text": "')
        f.write(b"lorem ipsum " * (BIG_DOC_BYTES // 12))
        f.write(b'"}\n')
        f.write(_jl({"text": "The record after the huge one."}))
    counts = {"big.jsonl": {"valid": 1, "dead_letter": 1}}
    for name, (data, valid, dead) in files.items():
        with open(os.path.join(dir, name), "wb") as f:
            f.write(data)
        counts[name] = {"valid": valid, "dead_letter": dead}
    return {"valid": sum(c["valid"] for c in counts.values()),
            "dead_letter": sum(c["dead_letter"] for c in counts.values()),
            "files": counts}
