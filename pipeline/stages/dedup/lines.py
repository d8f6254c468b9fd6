"""Cross-document line dedup, as pure functions: a normalized line found in more than `max_docs` distinct
documents is page furniture (site menus, "Module" / "Contents" / "Index" template lines, footers, share
rows) and is removed from every document but one.

The idea is C4's `remove_duplicate_text` (TFDS c4_utils: 3-sentence spans seen twice) and CCNet's paragraph
dedup (Wenzek et al. 2020, sec. 3.1: lines normalized, hashed, removed when seen elsewhere in the shard), and
datatrove's SentenceDedup. Those remove a line seen in any other document (they double as document dedup);
Winnow dedups documents separately (exact, then MinHash), so here a line must be common, `max_docs`, before
it counts as boilerplate, and documents are counted by distinct text (exact copies count once), so a page
and its copies or a few revisions of a page do not strip each other.

Normalization follows CCNet (`cc_net/text_normalizer.py`): lowercase, digits -> 0, punctuation removed,
whitespace collapsed. Lines that normalize to nothing, or to fewer than `min_chars` characters, are never
counted or removed. Survivor (explicit, deterministic): the line stays in the document whose text ranks
lowest (`text_rank` of its `text_hash`), so every runner and every order of input keeps the same
copy, and exact copies of that document all keep it (they stay exact copies for the exact dedup after).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xxhash

_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class LineDedupConfig:
    enabled: bool = True
    max_docs: int = 10         # Winnow default: see pipeline/resources/default.yaml (dedup.line)
    min_chars: int = 1

    def __post_init__(self):
        if self.max_docs < 1:
            raise ValueError("'dedup.line.max_docs' must be >= 1")
        if self.min_chars < 1:
            raise ValueError("'dedup.line.min_chars' must be >= 1")


def normalize_line(line: str) -> str:
    """CCNet-style key of a line: lowercase, digits -> 0, punctuation and symbols removed, spaces collapsed."""
    s = _DIGITS.sub("0", line.lower())
    return _SPACES.sub(" ", "".join(ch for ch in s if ch.isalnum() or ch.isspace())).strip()


def line_hash(key: str) -> int:
    return xxhash.xxh3_64_intdigest(key.encode("utf-8"))


def text_rank(text_hash: str) -> int:
    """The survivor order of documents, by their text hash (lowest keeps a common line)."""
    return xxhash.xxh3_64_intdigest(text_hash.encode("utf-8"))


def line_hashes(text: str, min_chars: int = 1) -> list[int | None]:
    """Per line of `text` (split on "\\n"): its hash, or None when it is never deduplicated."""
    return _hashes(text.split("\n"), min_chars)


def _hashes(lines: list[str], min_chars: int) -> list[int | None]:
    out = []
    for line in lines:
        key = normalize_line(line)
        out.append(line_hash(key) if len(key) >= min_chars else None)
    return out


def doc_keys(text: str, min_chars: int = 1) -> set[int]:
    """The distinct line hashes of a document (what is counted, once per distinct document text)."""
    return {h for h in line_hashes(text, min_chars) if h is not None}


@dataclass
class CommonLines:
    """The lines seen in more than max_docs distinct documents: sorted hashes and, parallel, the rank of the
    document that keeps each."""
    hashes: np.ndarray        # uint64, sorted, unique
    keepers: np.ndarray       # uint64, text_rank of the survivor

    @classmethod
    def from_pairs(cls, pairs) -> "CommonLines":
        """pairs: iterable of (line hash, survivor rank)."""
        pairs = sorted(pairs)
        h = np.fromiter((p[0] for p in pairs), dtype=np.uint64, count=len(pairs))
        k = np.fromiter((p[1] for p in pairs), dtype=np.uint64, count=len(pairs))
        return cls(h, k)

    def __len__(self) -> int:
        return int(self.hashes.size)

    def digest(self) -> str:
        return xxhash.xxh3_128_hexdigest(self.hashes.tobytes() + b"|" + self.keepers.tobytes())


@dataclass
class LineResult:
    text: str
    removed_lines: int
    removed_chars: int


def remove_common(text: str, rank: int, common: CommonLines, min_chars: int = 1) -> LineResult:
    """`text` without its common lines, except those this document (`rank` = text_rank(text_hash)) keeps."""
    if not len(common):
        return LineResult(text, 0, 0)
    lines = text.split("\n")
    hs = _hashes(lines, min_chars)
    idx = [i for i, h in enumerate(hs) if h is not None]
    if not idx:
        return LineResult(text, 0, 0)
    q = np.fromiter((hs[i] for i in idx), dtype=np.uint64, count=len(idx))
    pos = np.searchsorted(common.hashes, q)
    pos_c = np.minimum(pos, len(common) - 1)
    hit = (common.hashes[pos_c] == q) & (common.keepers[pos_c] != np.uint64(rank))
    if not hit.any():
        return LineResult(text, 0, 0)
    drop = {idx[j] for j in np.flatnonzero(hit)}
    kept = [line for i, line in enumerate(lines) if i not in drop]
    removed_chars = sum(len(lines[i]) + 1 for i in drop)
    return LineResult("\n".join(kept).strip("\n"), len(drop), removed_chars)


def common_lines(docs: list[tuple[str, str]], cfg: LineDedupConfig) -> CommonLines:
    """In-memory reference of what the Beam stage computes: docs = [(text_hash, text)]."""
    seen: set[str] = set()
    counts: dict[int, int] = {}
    best: dict[int, int] = {}
    for th, text in docs:
        if th in seen:                                   # exact copies count once
            continue
        seen.add(th)
        r = text_rank(th)
        for h in doc_keys(text, cfg.min_chars):
            counts[h] = counts.get(h, 0) + 1
            best[h] = min(best.get(h, r), r)
    return CommonLines.from_pairs((h, best[h]) for h, n in counts.items() if n > cfg.max_docs)
