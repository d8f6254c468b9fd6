"""Benchmark decontamination: find word n-grams a document shares with evaluation sets; drop it or cut them out.

Input: a document's text and a `DeconIndex` (sorted 64-bit hashes of the eval items' n-grams, built from JSONL
eval sets). Output (`check`): the number of matched n-grams, a `decon.contaminated` rejection ("drop" mode) or the
text with the matched spans removed ("remove" mode). The method is GPT-3's (Brown et al. 2020, arXiv:2005.14165,
App. C) as lm-evaluation-harness reimplemented it (EleutherAI/lm-evaluation-harness @ 121b7096,
scripts/clean_training_data/janitor.py + janitor_util.cpp + README.md: ngram_n=13, window_to_remove=200).

Normalization ("a gram is a lowercase, whitespace delimited word with no punctuation", GPT-3 App. C). The janitor
lowercases ASCII, deletes `string.punctuation` and splits with `str.split()`; we lowercase every script
(`str.lower`), delete ASCII punctuation *and* every Unicode punctuation character (category P*: curly quotes,
dashes, CJK punctuation, so "don’t" == "don't"), and split on Unicode whitespace as `str.split()` does.
Punctuation is deleted, not turned into a space ("well-known" -> "wellknown"), as in the janitor. (The janitor's
C++ path also cuts words after 10 characters; we do not.)

Items shorter than n words: the janitor's `word_ngrams` yields no n-gram for them, so they are never found.
GPT-3's overlap analysis used N = the set's 5th-percentile item length, clamped to [8, 13] ("due to spurious
collisions at lower values of N we use a minimum value of 8"). We index an item of m words, 8 <= m < n, as one
m-gram (the whole item) plus an anchor (its first 8 words, in a small separate set); a document's 8-word windows
are looked up in the anchors, and only where one hits is the whole m-word window checked. Items under 8 words are
skipped and counted (`skipped_counts`).

Coverage (lightly edited short items). One substituted word leaves an item of m < 2n words no clean n-gram run
(two leave none below 3n), and eval items are often one sentence. So an item of fewer than `cover_max_tokens`
words (default 3n: with at most 2 substitutions a longer item keeps a clean n-run) also adds its k-grams
(`cover_k`, default 3) to a second table: parallel arrays sorted by (hash, item, offset) of uint64 k-gram hashes,
uint32 item ids and uint16 word offsets in the item, plus each item's word count; no eval text. A k-gram found in
more than `cover_max_df` (10) items is a stop-gram and left out. In a document, k-gram hits (Bloom filter, then
the sorted array) are grouped by item and by alignment (document position - item offset; a substituted word keeps
it, an inserted or merged word moves it by one, so hits within COVER_SLACK = 2 of each other are one band); an
item is covered when, on one band, at least `cover_min_hits` (2) distinct grams of it cover MORE than
`cover_fraction` (0.5) of its words. That bounds the window to about the item's length (no adding up of common
grams over a long page), and exactly half an item (one common 4-5 word phrase of an 8-10 word item: the false
positives measured on web pages) is not enough. Its span runs from where its first to where its last word would lie
on that band. A covered item with no n-gram match in its span counts as one match (`DeconResult.covered`).
Measured by bench/bench_decon.py.

Hashes: each token once with xxh3_64, a window of L tokens as sum(h_j * B^(L-1-j)) + L*SALT mod 2^64, computed for
every window at once from prefix sums of h_i * B^-i (B odd, so invertible mod 2^64). Stable across processes.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import string
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import xxhash

from pipeline.stages.types import Rejection

NAME = "decon"
MODES = ("drop", "remove")
DEFAULT_N = 13                 # GPT-3 App. C; lm-eval janitor ngram_n = 13
MIN_ITEM_TOKENS = 8            # GPT-3 App. C: minimum N of 8 on non-synthetic tasks
WINDOW_CHARS = 200             # GPT-3 App. C; janitor window_to_remove = 200
NORMALIZATION = "winnow-decon/1"   # bump when tokens() or the hash changes: old index files are then refused
FORMAT = "winnow-decon-index"
VERSION = 2                    # 2: + coverage k-grams of short items (cover_*); version 1 files are refused
COVER_K = 3                    # k of the coverage grams of short items (0: no coverage index)
COVER_MAX_TOKENS = None        # items of fewer words get coverage grams; None: 3 * n (0: none)
COVER_MAX_DF = 10              # a coverage gram in more than this many items is a stop-gram: not indexed
COVER_FRACTION = 0.5           # an item is covered when hits cover more than this fraction of its words ...
COVER_MIN_HITS = 2             # ... from at least this many distinct coverage grams of it ...
COVER_SLACK = 2                # ... on one alignment (doc position - item offset, drifting <= this between hits)
EVAL_SUFFIXES = (".jsonl", ".jsonl.gz")
INDEX_SUFFIX = ".npz"

_B = 0x9E3779B97F4A7C15        # odd (2^64 / golden ratio), so it has an inverse mod 2^64
_B_INV = pow(_B, -1, 1 << 64)
_LENGTH_SALT = 0xD6E8FEB86659FD93   # gram length mixed in, so a 9-word item never equals a 13-gram by form
_ASCII_TABLE = bytes(32 if 0x1C <= b <= 0x1F else b for b in range(256))   # str.split() splits on \x1c-\x1f
_ASCII_PUNCT = string.punctuation.encode()
_NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class DeconConfig:
    enabled: bool = False
    sets: tuple[str, ...] = ()            # eval sets (.jsonl, .jsonl.gz) and/or prebuilt indexes (.npz)
    n: int = DEFAULT_N
    text_fields: tuple[str, ...] | None = None   # eval record fields to index; None: every string field
    min_item_tokens: int = MIN_ITEM_TOKENS
    mode: str = "drop"                    # "drop": reject the doc; "remove": cut the matched spans out
    min_matches: int = 1                  # act on a doc with at least this many matched n-grams
    window_chars: int = WINDOW_CHARS      # "remove" mode: characters also removed on each side of a match
    # Lightly edited short items (see the module doc, "Coverage"): build-time cover_k, cover_max_tokens,
    # cover_max_df; check-time cover_fraction, cover_min_hits.
    cover_k: int = COVER_K                # 0: no coverage grams (n-grams and whole short items only)
    cover_max_tokens: int | None = COVER_MAX_TOKENS   # items of fewer words get coverage grams; None: 3 * n
    cover_max_df: int = COVER_MAX_DF      # coverage grams found in more items than this are not indexed
    cover_fraction: float = COVER_FRACTION
    cover_min_hits: int = COVER_MIN_HITS

    def __post_init__(self):
        object.__setattr__(self, "sets", tuple(self.sets))
        if self.text_fields is not None:
            object.__setattr__(self, "text_fields", tuple(self.text_fields))
        if self.mode not in MODES:
            raise ValueError(f"decon.mode: {self.mode!r} is not one of {', '.join(MODES)}")
        if self.n < 1 or not 1 <= self.min_item_tokens <= self.n:
            raise ValueError(f"decon: need n >= 1 and 1 <= min_item_tokens <= n, got n={self.n}, "
                             f"min_item_tokens={self.min_item_tokens}")
        if self.min_matches < 1 or self.window_chars < 0:
            raise ValueError("decon: min_matches must be >= 1 and window_chars >= 0")
        _check_cover(self.cover_k, self.cover_max_tokens, self.cover_max_df, self.min_item_tokens)
        _check_cover_match(self.cover_fraction, self.cover_min_hits)


def _check_cover(k: int, max_tokens: int | None, max_df: int, min_item_tokens: int) -> None:
    if not 0 <= k <= min_item_tokens:
        raise ValueError(f"decon: need 0 <= cover_k <= min_item_tokens, got cover_k={k}, "
                         f"min_item_tokens={min_item_tokens}")
    if max_tokens is not None and not 0 <= max_tokens <= 1 << 16:
        raise ValueError(f"decon: cover_max_tokens must be None or in [0, 65536], got {max_tokens}")
    if max_df < 1:
        raise ValueError(f"decon: cover_max_df must be >= 1, got {max_df}")


def _check_cover_match(fraction: float, min_hits: int) -> None:
    if not 0 < fraction <= 1 or min_hits < 1:
        raise ValueError(f"decon: need 0 < cover_fraction <= 1 and cover_min_hits >= 1, got {fraction}, {min_hits}")


class _HashSet:
    """Membership of uint64 hashes in a sorted unique array, behind a one-hash Bloom filter on their top bits
    (16-32 bits per hash, at most 2^30): a lookup is one probe of the small bitmap, and only ~1/16 of the misses
    reach the binary search (which alone cost ~1.5 ms a page, in cache misses)."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes
        bits = min(30, max(16, int(len(hashes)).bit_length() + 4))
        self.shift = np.uint64(64 - bits)
        self.bitmap = np.zeros(1 << (bits - 3), np.uint8)
        top = hashes >> self.shift
        np.bitwise_or.at(self.bitmap, top >> np.uint64(3), np.left_shift(1, (top & np.uint64(7)).astype(np.uint8)))

    def maybe(self, h: np.ndarray) -> np.ndarray:
        """Positions in `h` that pass the Bloom filter (every member does; ~1/16 of the others)."""
        top = h >> self.shift
        return np.flatnonzero((self.bitmap[top >> np.uint64(3)] >> (top & np.uint64(7)).astype(np.uint8)) & 1)

    def contains(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), bool)
        if not len(self.hashes):
            return out
        maybe = self.maybe(h)
        if len(maybe):
            pos = np.minimum(np.searchsorted(self.hashes, h[maybe]), len(self.hashes) - 1)
            out[maybe] = self.hashes[pos] == h[maybe]
        return out


@dataclass(frozen=True, eq=False)
class DeconIndex:
    n: int
    hashes: np.ndarray                # sorted unique uint64: every n-gram of the items, and whole short items
    anchors: np.ndarray               # sorted unique uint64: the first-A-words window of every whole short item
    lengths: tuple[int, ...]          # word counts of the whole short items (each < n)
    anchor_lengths: tuple[int, ...]   # A: min_item_tokens of the builds
    sources: tuple[str, ...]          # eval set names (file names)
    item_counts: dict[str, int]       # per source: texts indexed
    skipped_counts: dict[str, int]    # per source: texts under min_item_tokens words, not indexed
    normalization: str = NORMALIZATION
    # Coverage grams of the short items (module doc, "Coverage"): parallel arrays sorted by (hash, item, offset).
    cover_k: int = 0                  # k; 0: none
    cover_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))   # k-gram hash
    cover_items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))    # its item id
    cover_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))  # its word offset in the item
    cover_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint32))  # by item id: words

    def __len__(self) -> int:
        return len(self.hashes)

    @cached_property   # built on first use (in the worker), not pickled with a fresh index
    def _sets(self) -> tuple[_HashSet, _HashSet]:
        return _HashSet(self.hashes), _HashSet(self.anchors)

    @cached_property
    def _cover_set(self) -> _HashSet:
        return _HashSet(self.cover_hashes)   # sorted, with repeats (a gram of several items): Bloom + searchsorted

    def fingerprint(self) -> str:
        """A short digest of what `check` depends on (for cache keys)."""
        h = hashlib.blake2b(self.hashes.tobytes(), digest_size=16)
        for a in (self.anchors, self.cover_hashes, self.cover_items, self.cover_offsets, self.cover_lengths):
            h.update(a.tobytes())
        h.update(json.dumps([self.n, self.lengths, self.anchor_lengths, self.normalization, self.cover_k]).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class DeconResult:
    text: str                      # "remove" mode: the text without the matched spans; else the input
    rejection: Rejection | None    # "drop" mode and matches >= min_matches: decon.contaminated (value: matches)
    matches: int                   # windows (n-grams, or whole short items) found in the index, + covered items
    removed_chars: int             # characters of the input removed ("remove" mode)
    covered: int = 0               # short items found by coverage alone (no n-gram match in their span; in `matches`)


# --- normalization and hashing -----------------------------------------------------------------------------

@cache
def _non_ascii(kind: str) -> re.Pattern:
    """A bytes regex for the UTF-8 form of every non-ASCII punctuation ("P") or whitespace ("S") character."""
    test = (lambda c: unicodedata.category(c)[0] == "P") if kind == "P" else str.isspace
    by_prefix: dict[bytes, list[int]] = {}
    for cp in range(0x80, sys.maxunicode + 1):
        if test(chr(cp)):
            e = chr(cp).encode()
            by_prefix.setdefault(e[:-1], []).append(e[-1])
    alts = [re.escape(p) + b"[" + b"".join(re.escape(bytes([x])) for x in xs) + b"]" for p, xs in by_prefix.items()]
    return re.compile(b"|".join(alts))


def _normalize(text: str) -> bytes:
    # Bytes: translate/split on bytes are 2-5x faster than str.translate on non-ASCII text.
    b = text.lower().encode("utf-8", "surrogatepass").translate(_ASCII_TABLE, _ASCII_PUNCT)
    if not b.isascii():
        b = _non_ascii("S").sub(b" ", _non_ascii("P").sub(b"", b))
    return b


def tokens(text: str) -> list[bytes]:
    """The normalized words of `text` (UTF-8 bytes): lowercased, punctuation deleted, split on whitespace."""
    return _normalize(text).split()


def _token_hashes(toks: list[bytes]) -> np.ndarray:
    return np.fromiter(map(xxhash.xxh3_64_intdigest, toks), dtype=np.uint64, count=len(toks))


_POWERS = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(B^i, B^-i) mod 2^64 for i < size (at least), grown by doubling."""
    global _POWERS
    if len(_POWERS[0]) < size:
        size = max(size, 2 * len(_POWERS[0]), 4096)
        out = []
        for base in (_B, _B_INV):
            a = np.full(size, base, np.uint64)
            a[0] = 1
            out.append(np.cumprod(a, dtype=np.uint64))   # integer overflow wraps: mod 2^64
        _POWERS = tuple(out)
    return _POWERS


def _prefix(th: np.ndarray) -> np.ndarray:
    """S with S[k] = sum_{i<k} h_i * B^-i mod 2^64 (len(th) + 1 entries)."""
    s = np.zeros(len(th) + 1, np.uint64)
    np.cumsum(th * _powers(len(th))[1][:len(th)], out=s[1:])
    return s


def _windows(s: np.ndarray, length: int) -> np.ndarray:
    """Hash of every window of `length` tokens, by start position, from the prefix sums `s`."""
    t = len(s) - 1
    return (s[length:] - s[:-length]) * _powers(t)[0][length - 1:t] + np.uint64(length * _LENGTH_SALT % (1 << 64))


def _window_at(s: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Hash of the window of `length` tokens at each of `starts` (all with start + length <= len(s) - 1)."""
    return ((s[starts + length] - s[starts]) * _powers(len(s))[0][starts + length - 1]
            + np.uint64(length * _LENGTH_SALT % (1 << 64)))


# --- index: build, save, load --------------------------------------------------------------------------------

def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _source_name(path: Path) -> str:
    for suffix in (".jsonl.gz", ".jsonl", INDEX_SUFFIX):
        if path.name.endswith(suffix):
            return path.name[:-len(suffix)]
    return path.name


def _read_records(path: Path):
    with (gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"line {lineno} is not a JSON object")
                yield record


def build_index(paths, n: int = DEFAULT_N, text_fields=None, *,
                min_item_tokens: int = MIN_ITEM_TOKENS, cover_k: int = COVER_K,
                cover_max_tokens: int | None = COVER_MAX_TOKENS, cover_max_df: int = COVER_MAX_DF) -> DeconIndex:
    """Index the eval items of JSONL(.gz) files: each string field (or each of `text_fields`) is one item.

    An item of n words or more adds its n-grams; one of m words, min_item_tokens <= m < n, adds itself whole
    (an m-gram) and its first min_item_tokens words as an anchor; a shorter one is skipped (and counted).
    An item of fewer than `cover_max_tokens` words (None: 3 * n) also adds its `cover_k`-grams, with its id and
    their offsets, for coverage; grams found in more than `cover_max_df` items are left out (stop-grams).
    """
    DeconConfig(n=n, min_item_tokens=min_item_tokens, cover_k=cover_k, cover_max_tokens=cover_max_tokens,
                cover_max_df=cover_max_df)   # validates them
    cover_max = 3 * n if cover_max_tokens is None else cover_max_tokens
    cover_k = cover_k if cover_max > 0 else 0
    cover: list[np.ndarray] = []          # per covered item: its k-gram hashes
    grams, anchors, lengths, sources, items, skipped = [], [], set(), [], {}, {}
    for path in map(Path, paths):
        name = _source_name(path)
        sources.append(name)
        items.setdefault(name, 0)
        skipped.setdefault(name, 0)
        n_records = n_with_fields = 0
        try:
            for record in _read_records(path):
                n_records += 1
                if text_fields is None:
                    texts = _strings(record)
                else:
                    present = [k for k in text_fields if k in record]
                    n_with_fields += bool(present)
                    texts = [t for k in present for t in _strings(record[k])]
                for text in texts:
                    th = _token_hashes(tokens(text))
                    if len(th) < min_item_tokens:
                        skipped[name] += 1
                        continue
                    items[name] += 1
                    s = _prefix(th)
                    if len(th) >= n:
                        grams.append(_windows(s, n))
                    else:
                        grams.append(_windows(s, len(th)))
                        anchors.append(_window_at(s, np.zeros(1, np.int64), min_item_tokens))
                        lengths.add(len(th))
                    if cover_k and len(th) < cover_max:
                        cover.append(_windows(s, cover_k))
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as e:   # JSONDecodeError is a ValueError
            raise ValueError(f"decon: cannot read eval set {path}: {e}") from None
        if n_records == 0:
            raise ValueError(f"decon: eval set {path} holds no record")
        if text_fields is not None and n_with_fields == 0:
            raise ValueError(f"decon: no record of {path} has any of the fields {', '.join(text_fields)}")
    return DeconIndex(n, _unique(grams), _unique(anchors), tuple(sorted(lengths)),
                      (min_item_tokens,) if anchors else (), tuple(sources), items, skipped,
                      cover_k=cover_k, **_cover_arrays(cover, cover_k, cover_max_df))


def _unique(parts: list[np.ndarray]) -> np.ndarray:
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)


def _cover_arrays(cover: list[np.ndarray], k: int, max_df: int) -> dict[str, np.ndarray]:
    """The cover_* arrays of items whose k-gram hashes (by offset) are `cover` (item id = list position), sorted
    by (hash, item, offset), without the grams found in more than `max_df` items."""
    if not cover:
        return {}
    h = np.concatenate(cover)
    i = np.repeat(np.arange(len(cover), dtype=np.uint32), [len(c) for c in cover])
    o = np.concatenate([np.arange(len(c), dtype=np.uint16) for c in cover])
    order = np.lexsort((o, i, h))
    h, i, o = h[order], i[order], o[order]
    if len(h):
        new_hash = np.r_[True, h[1:] != h[:-1]]
        new_pair = new_hash | np.r_[True, i[1:] != i[:-1]]
        group = np.cumsum(new_hash) - 1
        df = np.bincount(group[new_pair])            # distinct items per gram
        keep = df[group] <= max_df
        h, i, o = h[keep], i[keep], o[keep]
    lengths = np.array([len(c) + k - 1 for c in cover], np.uint32)   # an m-word item has m - k + 1 k-grams
    return {"cover_hashes": h, "cover_items": i, "cover_offsets": o, "cover_lengths": lengths}


_COVER_ARRAYS = {"cover_hashes": np.uint64, "cover_items": np.uint32, "cover_offsets": np.uint16,
                 "cover_lengths": np.uint32}


def save_index(idx: DeconIndex, path) -> None:
    """Write `idx` as .npz: uint64 arrays `hashes` and `anchors`, the cover_* arrays (hashes, item ids, offsets,
    item lengths) and a JSON header (no eval text)."""
    header = {"format": FORMAT, "version": VERSION, "n": idx.n, "lengths": list(idx.lengths),
              "anchor_lengths": list(idx.anchor_lengths), "sources": list(idx.sources),
              "item_counts": idx.item_counts, "skipped_counts": idx.skipped_counts,
              "normalization": idx.normalization, "unicode": unicodedata.unidata_version,
              "count": len(idx), "anchor_count": len(idx.anchors), "cover_k": idx.cover_k,
              "cover_count": len(idx.cover_hashes), "cover_item_count": len(idx.cover_lengths)}
    with open(path, "wb") as f:   # a file object: np.savez would append ".npz" to a name without it
        np.savez(f, hashes=idx.hashes, anchors=idx.anchors, **{a: getattr(idx, a) for a in _COVER_ARRAYS},
                 header=np.frombuffer(json.dumps(header).encode(), np.uint8))


def _sorted_unique_uint64(a: np.ndarray, count) -> bool:
    return a.dtype == np.uint64 and a.ndim == 1 and len(a) == count and bool(np.all(a[1:] > a[:-1]))


def load_index(path) -> DeconIndex:
    """Read an index written by `save_index`; ValueError for anything else."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            header = json.loads(z["header"].tobytes())
            hashes, anchors = z["hashes"], z["anchors"]
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError(f"no {FORMAT!r} header")
            if header.get("version") != VERSION:
                raise ValueError(f"it is format version {header.get('version')!r}, this Winnow reads version "
                                 f"{VERSION} (coverage grams of short items): rebuild it from the eval sets")
            if header.get("normalization") != NORMALIZATION:
                raise ValueError(f"it was built with normalization {header.get('normalization')!r}, this Winnow "
                                 f"uses {NORMALIZATION!r}: rebuild it from the eval sets")
            if not (_sorted_unique_uint64(hashes, header["count"])
                    and _sorted_unique_uint64(anchors, header["anchor_count"])):
                raise ValueError("its hashes are not sorted unique uint64 arrays of the header's length")
            cover = {a: z[a] for a in _COVER_ARRAYS}
            _check_cover_arrays(cover, header)
            return DeconIndex(int(header["n"]), hashes, anchors, tuple(header["lengths"]),
                              tuple(header["anchor_lengths"]), tuple(header["sources"]),
                              dict(header["item_counts"]), dict(header["skipped_counts"]),
                              cover_k=int(header["cover_k"]), **cover)
    except (OSError, EOFError, KeyError, ValueError, AttributeError, TypeError, zipfile.BadZipFile) as e:
        # a .npy file loads as an array, which is no context manager (AttributeError/TypeError)
        raise ValueError(f"decon: {path} is not a usable Winnow decon index: {e}") from None


def _check_cover_arrays(cover: dict[str, np.ndarray], header: dict) -> None:
    h, i, o, lengths = (cover[a] for a in _COVER_ARRAYS)
    if any(a.dtype != t or a.ndim != 1 for a, t in zip(cover.values(), _COVER_ARRAYS.values())):
        raise ValueError("its cover_* arrays are not 1-d arrays of the expected types")
    if not (len(h) == len(i) == len(o) == header["cover_count"] and len(lengths) == header["cover_item_count"]):
        raise ValueError("its cover_* arrays are not of the header's lengths")
    k = header["cover_k"]
    if not isinstance(k, int) or k < 0 or (len(h) and not k) or np.any(h[1:] < h[:-1]):
        raise ValueError("its cover_* arrays are not sorted by hash, or cover_k is wrong")
    if len(h) and (int(i.max()) >= len(lengths) or np.any(o.astype(np.int64) + k > lengths[i])):
        raise ValueError("its cover_* item ids or offsets are out of range")


def _merge_cover(indexes: list[DeconIndex]) -> dict:
    with_cover = [i for i in indexes if len(i.cover_lengths)]
    if not with_cover:
        return {}
    if len({i.cover_k for i in with_cover}) > 1:
        raise ValueError(f"decon: cannot merge indexes with different cover_k: "
                         f"{sorted({i.cover_k for i in with_cover})}")
    base = np.cumsum([0] + [len(i.cover_lengths) for i in with_cover[:-1]])
    h = np.concatenate([i.cover_hashes for i in with_cover])
    items = np.concatenate([i.cover_items + np.uint32(b) for i, b in zip(with_cover, base)])
    o = np.concatenate([i.cover_offsets for i in with_cover])
    order = np.lexsort((o, items, h))
    return {"cover_k": with_cover[0].cover_k, "cover_hashes": h[order], "cover_items": items[order],
            "cover_offsets": o[order], "cover_lengths": np.concatenate([i.cover_lengths for i in with_cover])}


def merge(indexes: list[DeconIndex]) -> DeconIndex:
    """One index holding every gram of `indexes` (all built with the same n, and cover_k where they have
    coverage grams; stop-grams stay those of each build)."""
    if len({i.n for i in indexes}) > 1:
        raise ValueError(f"decon: cannot merge indexes with different n: {sorted({i.n for i in indexes})}")
    counts = [{}, {}]
    for idx in indexes:
        for total, part in zip(counts, (idx.item_counts, idx.skipped_counts)):
            for k, v in part.items():
                total[k] = total.get(k, 0) + v
    return DeconIndex(indexes[0].n, _unique([i.hashes for i in indexes]), _unique([i.anchors for i in indexes]),
                      tuple(sorted({x for i in indexes for x in i.lengths})),
                      tuple(sorted({x for i in indexes for x in i.anchor_lengths})),
                      tuple(s for i in indexes for s in i.sources), *counts, **_merge_cover(indexes))


def load_sets(specs: list[str], n: int = DEFAULT_N, *, text_fields=None,
              min_item_tokens: int = MIN_ITEM_TOKENS, cover_k: int = COVER_K,
              cover_max_tokens: int | None = COVER_MAX_TOKENS, cover_max_df: int = COVER_MAX_DF) -> DeconIndex:
    """One index from eval sets (.jsonl, .jsonl.gz) and prebuilt indexes (.npz), merged; their n must be `n`
    (and their cover_k `cover_k`, where they have coverage grams)."""
    if not specs:
        raise ValueError("decon: no eval set given")
    eval_sets = [s for s in specs if str(s).endswith(EVAL_SUFFIXES)]
    indexes = [build_index(eval_sets, n, text_fields, min_item_tokens=min_item_tokens, cover_k=cover_k,
                           cover_max_tokens=cover_max_tokens, cover_max_df=cover_max_df)] if eval_sets else []
    for spec in specs:
        if str(spec).endswith(INDEX_SUFFIX):
            idx = load_index(spec)
            if idx.n != n:
                raise ValueError(f"decon: index {spec} was built with n={idx.n}, but n={n} is configured")
            if len(idx.cover_lengths) and idx.cover_k != cover_k:
                raise ValueError(f"decon: index {spec} was built with cover_k={idx.cover_k}, but cover_k={cover_k} "
                                 f"is configured")
            indexes.append(idx)
        elif spec not in eval_sets:
            raise ValueError(f"decon: {spec}: expected an eval set ({', '.join(EVAL_SUFFIXES)}) or an index "
                             f"({INDEX_SUFFIX})")
    return indexes[0] if len(indexes) == 1 else merge(indexes)


# --- per document ------------------------------------------------------------------------------------------

_NONE = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def find(text: str, idx: DeconIndex) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) token positions (in `tokens(text)`) of every n-gram or whole short item found in the index."""
    th = _token_hashes(tokens(text))
    return _find(th, _prefix(th), idx)


def find_covered(text: str, idx: DeconIndex, *, fraction: float = COVER_FRACTION,
                 min_hits: int = COVER_MIN_HITS) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) token positions of every short item covered in `text` (see the module doc, "Coverage")."""
    _check_cover_match(fraction, min_hits)
    th = _token_hashes(tokens(text))
    return _covered(_prefix(th), len(th), idx, fraction, min_hits)


def _find(th: np.ndarray, s: np.ndarray, idx: DeconIndex) -> tuple[np.ndarray, np.ndarray]:
    grams, anchors = idx._sets
    found = []
    if len(th) >= idx.n:
        starts = np.flatnonzero(grams.contains(_windows(s, idx.n)))
        found.append((starts, starts + idx.n))
    # Whole short items: one lookup per position in the (small) anchor set, then each item length there.
    for a in idx.anchor_lengths:
        if len(th) < a:
            continue
        at = np.flatnonzero(anchors.contains(_windows(s, a)))
        for length in idx.lengths:
            if length >= a and len(at):
                starts = at[at + length <= len(th)]
                starts = starts[grams.contains(_window_at(s, starts, length))]
                found.append((starts, starts + length))
    if not found:
        return _NONE
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def _covered(s: np.ndarray, t: int, idx: DeconIndex, fraction: float, min_hits: int) -> tuple[np.ndarray, np.ndarray]:
    """Spans of the covered items in a document of `t` tokens with prefix sums `s`: its k-grams are looked up
    (Bloom, then the sorted hash array, each hit expanded to the (item, offset) rows of that gram); an item hit
    often enough is then checked exactly, one alignment (diagonal: doc position - item offset) band at a time."""
    k = idx.cover_k
    if not k or t < k or not len(idx.cover_hashes):
        return _NONE
    w = _windows(s, k)
    pos = idx._cover_set.maybe(w)
    if not len(pos):
        return _NONE
    hashes = idx.cover_hashes
    lo = np.searchsorted(hashes, w[pos], "left")
    cnt = np.searchsorted(hashes, w[pos], "right") - lo
    hit = cnt > 0
    if not hit.any():
        return _NONE
    pos, lo, cnt = pos[hit], lo[hit], cnt[hit]
    rows = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
    pos = np.repeat(pos, cnt)
    items = idx.cover_items[rows]
    # Prefilter: more than fraction * m words covered takes at least that many / k distinct grams.
    uniq, counts = np.unique(items, return_counts=True)
    m = idx.cover_lengths[uniq].astype(np.int64)
    need = np.maximum(min_hits, np.ceil((np.floor(fraction * m + 1e-9) + 1) / k).astype(np.int64))
    cand = np.flatnonzero(counts >= need)
    if not len(cand):
        return _NONE
    starts, ends = [], []
    offsets = idx.cover_offsets[rows].astype(np.int64)
    for c in cand.tolist():
        sel = np.flatnonzero(items == uniq[c])
        span = _best_alignment(pos[sel], offsets[sel], int(m[c]), k, t, fraction, min_hits)
        if span is not None:
            starts.append(span[0])
            ends.append(span[1])
    if not starts:
        return _NONE
    return np.array(starts, np.int64), np.array(ends, np.int64)


def _best_alignment(pos: np.ndarray, off: np.ndarray, m: int, k: int, t: int, fraction: float,
                    min_hits: int) -> tuple[int, int] | None:
    """The token span of one item of `m` words in the document, if its hits (doc positions `pos`, item offsets
    `off`) on one alignment band cover more than fraction * m of its words with >= min_hits distinct grams: from the
    first to the last hit, widened to where the item's first and last words would lie on that alignment."""
    diag = pos - off
    order = np.argsort(diag, kind="stable")
    diag, pos, off = diag[order], pos[order], off[order]
    cuts = np.flatnonzero(np.diff(diag) > COVER_SLACK) + 1
    bounds = np.r_[0, cuts, len(diag)]
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        o = np.unique(off[a:b])
        if len(o) < min_hits:
            continue
        words = np.zeros(m, bool)
        words[(o[:, None] + np.arange(k)).ravel()] = True
        if words.sum() > fraction * m + 1e-9:
            start = min(int(pos[a:b].min()), max(0, int(diag[a])))
            end = max(int(pos[a:b].max()) + k, min(t, int(diag[b - 1]) + m))
            return start, end
    return None


def _token_spans(text: str) -> list[tuple[int, int]]:
    """Character span of each token of `tokens(text)` (a whitespace-delimited word that is not all punctuation)."""
    return [m.span() for m in _NON_SPACE.finditer(text) if _normalize(m.group()).strip()]


def _remove(text: str, starts: np.ndarray, ends: np.ndarray, window: int) -> tuple[str, int]:
    """`text` without the matched token windows and `window` characters on each side (widened to whole words),
    the pieces left joined by newlines; and the number of characters removed."""
    spans = _token_spans(text)
    assert len(spans) == len(tokens(text)), "decon: token spans out of step with tokens()"
    words = [m.span() for m in _NON_SPACE.finditer(text)]
    word_starts = [a for a, _ in words]
    cut = []
    for s, e in sorted(zip(starts.tolist(), ends.tolist())):
        a, b = max(0, spans[s][0] - window), min(len(text), spans[e - 1][1] + window)
        i = np.searchsorted(word_starts, a, side="right") - 1          # the word holding a, if any
        if i >= 0 and words[i][1] > a:
            a = words[i][0]
        j = np.searchsorted(word_starts, b, side="left") - 1           # the word holding b, if any
        if j >= 0 and words[j][1] > b:
            b = words[j][1]
        if cut and a <= cut[-1][1]:
            cut[-1][1] = max(cut[-1][1], b)
        else:
            cut.append([a, b])
    pieces, prev = [], 0
    for a, b in cut:
        pieces.append(text[prev:a])
        prev = b
    pieces.append(text[prev:])
    return "\n".join(p.strip() for p in pieces if p.strip()), sum(b - a for a, b in cut)


def check(text: str, idx: DeconIndex, *, mode: str = "drop", min_matches: int = 1,
          window_chars: int = WINDOW_CHARS, cover_fraction: float = COVER_FRACTION,
          cover_min_hits: int = COVER_MIN_HITS) -> DeconResult:
    """Count the eval n-grams in `text`; at `min_matches` or more, reject it ("drop") or cut them out ("remove").

    "remove" follows GPT-3 App. C: each match goes with `window_chars` characters on both sides (GPT-3 and the
    janitor: 200). GPT-3 then dropped pieces under 200 characters and documents cut into more than 10 pieces; we
    keep every piece (joined by newlines) and leave short documents to the length filters; "drop" with
    `min_matches` is the whole-document rule. A short item found by coverage (`cover_fraction`,
    `cover_min_hits`: module doc, "Coverage") and by no n-gram counts as one match; its span is removed too.
    """
    if mode not in MODES:
        raise ValueError(f"decon.mode: {mode!r} is not one of {', '.join(MODES)}")
    _check_cover_match(cover_fraction, cover_min_hits)
    th = _token_hashes(tokens(text))
    s = _prefix(th)
    starts, ends = _find(th, s, idx)
    cstarts, cends = _covered(s, len(th), idx, cover_fraction, cover_min_hits)
    # an item counts once: a covered span holding an n-gram (or whole-item) match adds no match
    covered = sum(not np.any((starts < b) & (ends > a)) for a, b in zip(cstarts.tolist(), cends.tolist()))
    matches = len(starts) + covered
    if matches == 0 or matches < min_matches:
        return DeconResult(text, None, matches, 0, covered)
    if mode == "drop":
        return DeconResult(text, Rejection(f"{NAME}.contaminated", matches), matches, 0, covered)
    if covered:
        starts, ends = np.concatenate([starts, cstarts]), np.concatenate([ends, cends])
    cleaned, removed = _remove(text, starts, ends, window_chars)
    return DeconResult(cleaned, None, matches, removed, covered)
