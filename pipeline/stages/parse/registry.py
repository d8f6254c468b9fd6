"""The format registry: which file names are read, as which format (`format_of`), and by which reader
(`READERS`). A new format is one reader module and one entry in each table.

The format comes from the name; compression is only checked against what each format allows here
(the bytes themselves are sniffed in `compression`).
"""
from __future__ import annotations

from pipeline.stages.parse.jsonl import _jsonl
from pipeline.stages.parse.parquet import _parquet
from pipeline.stages.parse.text import _txt
from pipeline.stages.parse.warc import _warc

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


# format -> reader(path, fileobj, max_record_bytes, html_main_content), yielding RawRecord | DeadLetter
READERS = {
    "jsonl": lambda path, fileobj, max_bytes, _html: _jsonl(path, fileobj, max_bytes),
    "parquet": lambda path, fileobj, max_bytes, _html: _parquet(path, fileobj, max_bytes),
    "warc": _warc,
    "txt": lambda path, fileobj, max_bytes, _html: _txt(path, fileobj, max_bytes),
}
