"""FineWeb quality rules (Penedo et al. 2024, "The FineWeb Datasets"), as datatrove's
FineWebQualityFilter (fineweb_quality_filter.py): few lines ending in punctuation, many short lines,
duplicated line characters, or many newlines per word (lists). Lines are `text.split("\\n")`.
Signals: `fineweb.<line_punct_ratio|short_line_ratio|char_dup_ratio|newline_word_ratio>`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.quality.gopher_repetition import find_duplicates
from pipeline.stages.types import Rejection

NAME = "fineweb"
RULES = ("too_few_punct_lines", "too_many_short_lines", "too_many_duplicate_line_chars", "too_many_newlines")
STOP_CHARS = (".", "'", '"', "!", "?")  # datatrove FineWebQualityFilter stop_chars


@dataclass(frozen=True)
class Thresholds:
    # FineWeb line_punct_thr=0.12; as FineWeb, a ratio equal to it is dropped too.
    min_line_punct_ratio: float = 0.12
    # FineWeb line_punct_exclude_zero=False: True keeps documents with no punctuated line at all.
    line_punct_exclude_zero: bool = False
    # FineWeb short_line_thr=0.67 (dropped at equality too); a line is short at <= short_line_length=30.
    max_short_line_ratio: float = 0.67
    short_line_length: int = 30
    # FineWeb char_duplicates_ratio=0.01 (dropped at equality too).
    max_char_dup_ratio: float = 0.01
    # FineWeb new_line_ratio=0.3: newlines per word.
    max_newline_word_ratio: float = 0.3
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


def too_few_punct_lines(s: dict, th: Thresholds) -> Rejection | None:
    ratio = s[f"{NAME}.line_punct_ratio"]
    if ratio <= th.min_line_punct_ratio and not (ratio == 0 and th.line_punct_exclude_zero):
        return Rejection(f"{NAME}.too_few_punct_lines", ratio)
    return None


def too_many_short_lines(s: dict, th: Thresholds) -> Rejection | None:
    ratio = s[f"{NAME}.short_line_ratio"]
    return Rejection(f"{NAME}.too_many_short_lines", ratio) if ratio >= th.max_short_line_ratio else None


def too_many_duplicate_line_chars(s: dict, th: Thresholds) -> Rejection | None:
    ratio = s[f"{NAME}.char_dup_ratio"]
    return Rejection(f"{NAME}.too_many_duplicate_line_chars", ratio) if ratio >= th.max_char_dup_ratio else None


def too_many_newlines(s: dict, th: Thresholds) -> Rejection | None:
    ratio = s[f"{NAME}.newline_word_ratio"]
    return Rejection(f"{NAME}.too_many_newlines", ratio) if ratio > th.max_newline_word_ratio else None


def measure(text: str, lang: str, th: Thresholds) -> dict[str, float]:
    lines = text.split("\n")
    stop_chars = W.terminal_punct(STOP_CHARS, lang)
    non_empty = [ln for ln in lines if ln.strip()]
    n_tokens = len(W.split_doc_words(text))  # datatrove: word_tokenize, punctuation tokens included
    return {
        f"{NAME}.line_punct_ratio": sum(ln.endswith(stop_chars) for ln in lines) / len(lines),
        f"{NAME}.short_line_ratio": sum(len(ln) <= th.short_line_length for ln in lines) / len(lines),
        f"{NAME}.char_dup_ratio": find_duplicates(non_empty)[1] / max(len(text) - text.count("\n"), 1),
        f"{NAME}.newline_word_ratio": text.count("\n") / max(n_tokens, 1),
    }


def skipped_rules(text: str, lang: str) -> list[str]:
    """Thai/Lao end sentences without punctuation; a CJK line of 30 characters holds as much as ~90
    Latin ones, so whole CJK articles written one sentence per line would count as short lines."""
    skipped = []
    if not W.has_sentence_punct(lang):
        skipped.append("too_few_punct_lines")
    if W.spaceless_script(text, lang) == "cjk":
        skipped.append("too_many_short_lines")
    return skipped


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Apply FineWeb's rules in its order, minus the rules skipped for this language."""
    signals = measure(text, lang, th)
    skipped = [r for r in skipped_rules(text, lang) if r not in th.disabled_rules]
    for rule in (too_few_punct_lines, too_many_short_lines, too_many_duplicate_line_chars, too_many_newlines):
        if rule.__name__ in th.disabled_rules or rule.__name__ in skipped:
            continue
        if rejection := rule(signals, th):
            return QualityResult(text, rejection, signals, {}, [f"{NAME}.{r}" for r in skipped])
    return QualityResult(text, None, signals, {}, [f"{NAME}.{r}" for r in skipped])
