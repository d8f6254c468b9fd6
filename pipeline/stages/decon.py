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
from dataclasses import dataclass
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

    def contains(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), bool)
        if not len(self.hashes):
            return out
        top = h >> self.shift
        maybe = np.flatnonzero((self.bitmap[top >> np.uint64(3)] >> (top & np.uint64(7)).astype(np.uint8)) & 1)
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

    def __len__(self) -> int:
        return len(self.hashes)

    @cached_property   # built on first use (in the worker), not pickled with a fresh index
    def _sets(self) -> tuple[_HashSet, _HashSet]:
        return _HashSet(self.hashes), _HashSet(self.anchors)

    def fingerprint(self) -> str:
        """A short digest of what `check` depends on (for cache keys)."""
        h = hashlib.blake2b(self.hashes.tobytes(), digest_size=16)
        h.update(self.anchors.tobytes())
        h.update(json.dumps([self.n, self.lengths, self.anchor_lengths, self.normalization]).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class DeconResult:
    text: str                      # "remove" mode: the text without the matched spans; else the input
    rejection: Rejection | None    # "drop" mode and matches >= min_matches: decon.contaminated (value: matches)
    matches: int                   # windows (n-grams, or whole short items) found in the index
    removed_chars: int             # characters of the input removed ("remove" mode)


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
                min_item_tokens: int = MIN_ITEM_TOKENS) -> DeconIndex:
    """Index the eval items of JSONL(.gz) files: each string field (or each of `text_fields`) is one item.

    An item of n words or more adds its n-grams; one of m words, min_item_tokens <= m < n, adds itself whole
    (an m-gram) and its first min_item_tokens words as an anchor; a shorter one is skipped (and counted).
    """
    DeconConfig(n=n, min_item_tokens=min_item_tokens)   # validates n and min_item_tokens
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
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as e:   # JSONDecodeError is a ValueError
            raise ValueError(f"decon: cannot read eval set {path}: {e}") from None
        if n_records == 0:
            raise ValueError(f"decon: eval set {path} holds no record")
        if text_fields is not None and n_with_fields == 0:
            raise ValueError(f"decon: no record of {path} has any of the fields {', '.join(text_fields)}")
    return DeconIndex(n, _unique(grams), _unique(anchors), tuple(sorted(lengths)),
                      (min_item_tokens,) if anchors else (), tuple(sources), items, skipped)


def _unique(parts: list[np.ndarray]) -> np.ndarray:
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)


def save_index(idx: DeconIndex, path) -> None:
    """Write `idx` as .npz: uint64 arrays `hashes` and `anchors` and a JSON header (no eval text)."""
    header = {"format": FORMAT, "version": 1, "n": idx.n, "lengths": list(idx.lengths),
              "anchor_lengths": list(idx.anchor_lengths), "sources": list(idx.sources),
              "item_counts": idx.item_counts, "skipped_counts": idx.skipped_counts,
              "normalization": idx.normalization, "unicode": unicodedata.unidata_version,
              "count": len(idx), "anchor_count": len(idx.anchors)}
    with open(path, "wb") as f:   # a file object: np.savez would append ".npz" to a name without it
        np.savez(f, hashes=idx.hashes, anchors=idx.anchors,
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
            if header.get("normalization") != NORMALIZATION:
                raise ValueError(f"it was built with normalization {header.get('normalization')!r}, this Winnow "
                                 f"uses {NORMALIZATION!r}: rebuild it from the eval sets")
            if not (_sorted_unique_uint64(hashes, header["count"])
                    and _sorted_unique_uint64(anchors, header["anchor_count"])):
                raise ValueError("its hashes are not sorted unique uint64 arrays of the header's length")
            return DeconIndex(int(header["n"]), hashes, anchors, tuple(header["lengths"]),
                              tuple(header["anchor_lengths"]), tuple(header["sources"]),
                              dict(header["item_counts"]), dict(header["skipped_counts"]))
    except (OSError, EOFError, KeyError, ValueError, AttributeError, TypeError, zipfile.BadZipFile) as e:
        # a .npy file loads as an array, which is no context manager (AttributeError/TypeError)
        raise ValueError(f"decon: {path} is not a usable Winnow decon index: {e}") from None


def merge(indexes: list[DeconIndex]) -> DeconIndex:
    """One index holding every gram of `indexes` (all built with the same n)."""
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
                      tuple(s for i in indexes for s in i.sources), *counts)


def load_sets(specs: list[str], n: int = DEFAULT_N, *, text_fields=None,
              min_item_tokens: int = MIN_ITEM_TOKENS) -> DeconIndex:
    """One index from eval sets (.jsonl, .jsonl.gz) and prebuilt indexes (.npz), merged; their n must be `n`."""
    if not specs:
        raise ValueError("decon: no eval set given")
    eval_sets = [s for s in specs if str(s).endswith(EVAL_SUFFIXES)]
    indexes = [build_index(eval_sets, n, text_fields, min_item_tokens=min_item_tokens)] if eval_sets else []
    for spec in specs:
        if str(spec).endswith(INDEX_SUFFIX):
            idx = load_index(spec)
            if idx.n != n:
                raise ValueError(f"decon: index {spec} was built with n={idx.n}, but n={n} is configured")
            indexes.append(idx)
        elif spec not in eval_sets:
            raise ValueError(f"decon: {spec}: expected an eval set ({', '.join(EVAL_SUFFIXES)}) or an index "
                             f"({INDEX_SUFFIX})")
    return indexes[0] if len(indexes) == 1 else merge(indexes)


# --- per document ------------------------------------------------------------------------------------------

def find(text: str, idx: DeconIndex) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) token positions (in `tokens(text)`) of every n-gram or whole short item found in the index."""
    th = _token_hashes(tokens(text))
    grams, anchors = idx._sets
    s = _prefix(th)
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
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


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
          window_chars: int = WINDOW_CHARS) -> DeconResult:
    """Count the eval n-grams in `text`; at `min_matches` or more, reject it ("drop") or cut them out ("remove").

    "remove" follows GPT-3 App. C: each match goes with `window_chars` characters on both sides (GPT-3 and the
    janitor: 200). GPT-3 then dropped pieces under 200 characters and documents cut into more than 10 pieces; we
    keep every piece (joined by newlines) and leave short documents to the length filters; "drop" with
    `min_matches` is the whole-document rule.
    """
    if mode not in MODES:
        raise ValueError(f"decon.mode: {mode!r} is not one of {', '.join(MODES)}")
    starts, ends = find(text, idx)
    matches = len(starts)
    if matches == 0 or matches < min_matches:
        return DeconResult(text, None, matches, 0)
    if mode == "drop":
        return DeconResult(text, Rejection(f"{NAME}.contaminated", matches), matches, 0)
    cleaned, removed = _remove(text, starts, ends, window_chars)
    return DeconResult(cleaned, None, matches, removed)
