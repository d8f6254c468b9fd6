"""Length filter: drop empty, tiny and enormous documents before the costlier filters.

Input: text; output: a QualityResult with signal `length.n_chars` (characters after stripping whitespace).
The maximum is TFDS C4's `c4_utils.is_valid_length(max_length=1.9e5)`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "length"
RULES = ("too_short", "too_long")


@dataclass(frozen=True)
class Thresholds:
    # Winnow default: a cheap pre-filter below what later rules keep (C4 needs 3 lines of 5 words, Gopher
    # 50 words); it mostly drops empty pages.
    min_chars: int = 100
    # TFDS c4_utils is_valid_length(max_length=1.9e5), applied by C4 before cleaning.
    max_chars: int = 190_000
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


def too_short(n_chars: int, th: Thresholds) -> Rejection | None:
    return Rejection(f"{NAME}.too_short", float(n_chars)) if n_chars < th.min_chars else None


def too_long(n_chars: int, th: Thresholds) -> Rejection | None:
    return Rejection(f"{NAME}.too_long", float(n_chars)) if n_chars > th.max_chars else None


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Drop documents whose stripped length is outside [min_chars, max_chars]. `lang` is unused."""
    n_chars = len(text.strip())
    signals = {f"{NAME}.n_chars": float(n_chars)}
    for rule in (too_short, too_long):
        if rule.__name__ not in th.disabled_rules and (rejection := rule(n_chars, th)):
            return QualityResult(text, rejection, signals)
    return QualityResult(text, None, signals)
