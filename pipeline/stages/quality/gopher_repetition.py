"""Gopher repetition rules (Rae et al. 2021, Appendix A, Table A1): duplicate lines/paragraphs and
repeated n-grams, with datatrove's definitions (gopher_repetition_filter.py): paragraphs split on "\\n\\n+",
lines on "\\n+", character fractions over len(text), top n-gram = the most frequent one (" "-joined length
x count), duplicate n-grams = datatrove's left-to-right scan ("".joined length, skip n after a repeat).
Fast: n-grams are 64-bit rolling hashes (numpy), and only positions whose n-gram repeats are scanned.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "gopher_repetition"
TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)
RULES = ("too_many_duplicate_paragraphs", "too_many_duplicate_paragraph_chars", "too_many_duplicate_lines",
         "too_many_duplicate_line_chars", *(f"top_{n}gram_too_frequent" for n in TOP_NS),
         *(f"too_many_duplicate_{n}gram_chars" for n in DUP_NS))
_PARAGRAPH_RE = re.compile(r"\n{2,}")
_LINE_RE = re.compile(r"\n+")
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio) for the n-gram hash


@dataclass(frozen=True)
class Thresholds:
    # Gopher Table A1, in order: duplicate line / paragraph fraction, then their character fractions.
    max_dup_line_frac: float = 0.30
    max_dup_para_frac: float = 0.30
    max_dup_line_char_frac: float = 0.20
    max_dup_para_char_frac: float = 0.20
    # Gopher Table A1: top 2-, 3-, 4-gram character fraction.
    max_top_2gram_char_frac: float = 0.20
    max_top_3gram_char_frac: float = 0.18
    max_top_4gram_char_frac: float = 0.16
    # Gopher Table A1: duplicate 5- to 10-gram character fraction.
    max_dup_5gram_char_frac: float = 0.15
    max_dup_6gram_char_frac: float = 0.14
    max_dup_7gram_char_frac: float = 0.13
    max_dup_8gram_char_frac: float = 0.12
    max_dup_9gram_char_frac: float = 0.11
    max_dup_10gram_char_frac: float = 0.10
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items seen before, their total length), as datatrove's find_duplicates."""
    seen: set[str] = set()
    n_dup = n_chars = 0
    for item in items:
        if item in seen:
            n_dup += 1
            n_chars += len(item)
        else:
            seen.add(item)
    return n_dup, n_chars


def ngram_hashes(words: tuple[str, ...], max_n: int) -> dict[int, np.ndarray]:
    """n -> uint64 hash of the n-gram starting at each position (len(words) - n + 1 of them), n = 1..max_n.

    Built from the tokens' str hashes by h_n[p] = h_(n-1)[p] * _MULT + h_1[p + n - 1] (mod 2^64). Two
    different n-grams share a hash with probability ~2^-64: ~1e-12 over a 100k-word document.
    """
    h1 = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    hashes = {1: h1}
    for n in range(2, max_n + 1):
        prev = hashes[n - 1]
        hashes[n] = prev[:-1] * _MULT + h1[n - 1:]
    return hashes


def top_ngram_chars(hashes: np.ndarray, offsets: np.ndarray, n: int) -> int:
    """Characters covered by the most frequent n-gram: len(" ".join(gram)) x count (0 without n-grams).
    Ties go to the n-gram seen first, as Counter.most_common in datatrove."""
    if not len(hashes):
        return 0
    s = np.sort(hashes)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.append(starts, len(s)))
    top = counts.max()
    p = int(np.flatnonzero(np.isin(hashes, s[starts[counts == top]]))[0])
    return int(offsets[p + n] - offsets[p] + n - 1) * int(top)


def repeated_mask(hashes: np.ndarray) -> np.ndarray:
    """True where the value occurs more than once in `hashes`."""
    order = np.argsort(hashes)
    s = hashes[order]
    eq = s[1:] == s[:-1]
    mark = np.zeros(len(s), dtype=bool)
    mark[1:] |= eq
    mark[:-1] |= eq
    out = np.empty(len(s), dtype=bool)
    out[order] = mark
    return out


def duplicate_ngram_chars(hashes: dict[int, np.ndarray], offsets: np.ndarray, ns: tuple[int, ...]
                          ) -> dict[int, int]:
    """For each n in increasing `ns`: characters ("".join) of the n-grams datatrove's find_all_duplicate
    counts as repeats. It scans left to right and jumps n after a repeat; positions whose n-gram occurs
    once never match, so only the others are visited. An (n+1)-gram occurs twice only where its n-gram
    does, so each n narrows the positions left for the next."""
    out: dict[int, int] = {}
    cands = np.arange(len(hashes[ns[0]]))
    for n in ns:
        cands = cands[cands < len(hashes[n])]
        sub = hashes[n][cands]
        repeated = repeated_mask(sub)
        cands, sub = cands[repeated], sub[repeated]
        seen, idx, chars = set(), 0, 0
        for p, h in zip(cands.tolist(), sub.tolist()):
            if p < idx:
                continue
            if h in seen:
                chars += int(offsets[p + n] - offsets[p])
                idx = p + n
            else:
                seen.add(h)
                idx = p + 1
        out[n] = chars
    return out


def _ngram_tables(text: str) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """n-gram hashes (n <= 10) and character offsets (offsets[p] = chars of words[:p]) of `text`."""
    words = W.split_doc_words(text)
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=offsets[1:])
    return ngram_hashes(words, max(DUP_NS)), offsets


def measure_paragraphs(text: str) -> dict[str, float]:
    paragraphs = _PARAGRAPH_RE.split(text.strip())
    n_dup, n_chars = find_duplicates(paragraphs)
    return {f"{NAME}.dup_para_frac": n_dup / len(paragraphs),
            f"{NAME}.dup_para_char_frac": n_chars / max(len(text), 1)}


def measure_lines(text: str) -> dict[str, float]:
    lines = _LINE_RE.split(text)
    n_dup, n_chars = find_duplicates(lines)
    return {f"{NAME}.dup_line_frac": n_dup / len(lines),
            f"{NAME}.dup_line_char_frac": n_chars / max(len(text), 1)}


def measure_ngrams(text: str) -> dict[str, float]:
    hashes, offsets = _ngram_tables(text)
    dup_chars = duplicate_ngram_chars(hashes, offsets, DUP_NS)
    n_chars = max(len(text), 1)
    return {**{f"{NAME}.top_{n}gram_char_frac": top_ngram_chars(hashes[n], offsets, n) / n_chars for n in TOP_NS},
            **{f"{NAME}.dup_{n}gram_char_frac": dup_chars[n] / n_chars for n in DUP_NS}}


def _rule(rule: str, signal: str, field: str):
    """A rule: reject with reason `<NAME>.<rule>` when signal > the threshold `field`."""
    def apply(signals: dict[str, float], th: Thresholds) -> Rejection | None:
        value = signals[f"{NAME}.{signal}"]
        return Rejection(f"{NAME}.{rule}", value) if value > getattr(th, field) else None
    apply.__name__ = rule
    return apply


too_many_duplicate_paragraphs = _rule("too_many_duplicate_paragraphs", "dup_para_frac", "max_dup_para_frac")
too_many_duplicate_paragraph_chars = _rule("too_many_duplicate_paragraph_chars", "dup_para_char_frac",
                                           "max_dup_para_char_frac")
too_many_duplicate_lines = _rule("too_many_duplicate_lines", "dup_line_frac", "max_dup_line_frac")
too_many_duplicate_line_chars = _rule("too_many_duplicate_line_chars", "dup_line_char_frac",
                                      "max_dup_line_char_frac")
TOP_NGRAM_RULES = [_rule(f"top_{n}gram_too_frequent", f"top_{n}gram_char_frac", f"max_top_{n}gram_char_frac")
                   for n in TOP_NS]
DUP_NGRAM_RULES = [_rule(f"too_many_duplicate_{n}gram_chars", f"dup_{n}gram_char_frac",
                         f"max_dup_{n}gram_char_frac") for n in DUP_NS]

# datatrove's order: paragraphs, lines, top n-grams, duplicate n-grams; each group is measured only if
# the document survived the previous ones.
STAGES = (
    (measure_paragraphs, [too_many_duplicate_paragraphs, too_many_duplicate_paragraph_chars]),
    (measure_lines, [too_many_duplicate_lines, too_many_duplicate_line_chars]),
    (measure_ngrams, TOP_NGRAM_RULES + DUP_NGRAM_RULES),
)


def skipped_rules(text: str, lang: str) -> list[str]:
    """n-gram rules do not apply to Thai/Lao/Khmer/Myanmar/Tibetan: a token there is one character, a
    fraction of a word, so clean text repeats 5-grams. (A CJK character is about a morpheme: kept.)"""
    if W.spaceless_script(text, lang) == "sea":
        return [r.__name__ for r in TOP_NGRAM_RULES + DUP_NGRAM_RULES]
    return []


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Apply the Table A1 rules in datatrove's order."""
    signals: dict[str, float] = {}
    skipped = [r for r in skipped_rules(text, lang) if r not in th.disabled_rules]
    for measure, rules in STAGES:
        active = [r for r in rules if r.__name__ not in th.disabled_rules and r.__name__ not in skipped]
        if not active:
            continue
        signals.update(measure(text))
        for rule in active:
            if rejection := rule(signals, th):
                return QualityResult(text, rejection, signals, {}, [f"{NAME}.{r}" for r in skipped])
    return QualityResult(text, None, signals, {}, [f"{NAME}.{r}" for r in skipped])
