"""The format registry: which file names are read, and as which format (`format_of`).

The format comes from the name; compression is only checked against what each format allows here
(the bytes themselves are sniffed in `compression`).
"""
from __future__ import annotations

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
