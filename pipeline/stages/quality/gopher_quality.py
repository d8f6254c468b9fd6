"""Gopher quality rules (Rae et al. 2021, "Scaling Language Models", Appendix A, quality filters).

Drops documents with too few/many words, odd mean word length, many "#" or "...", mostly bullet or
ellipsis lines, few alphabetic words, or no English stop words. Counting follows datatrove's
GopherQualityFilter (gopher_quality_filter.py); words come from `words.split_doc_words`.
Signals: `gopher_quality.<n_words|mean_word_length|hash_word_ratio|...>`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "gopher_quality"
RULES = ("too_few_words", "too_many_words", "mean_word_length_too_short", "mean_word_length_too_long",
         "too_many_hashes", "too_many_ellipses", "too_many_bullet_lines", "too_many_ellipsis_lines",
         "too_few_alpha_words", "too_few_stop_words")
# Gopher: "the, be, to, of, and, that, have, with". Languages without a list skip too_few_stop_words.
STOP_WORDS = {"en": frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})}
BULLETS = ("•", "-")  # datatrove: lines starting with "•" or "-" are bullet lines
ELLIPSES = ("...", "…")
ALPHA_RATIO_OF = {"words": "alpha_word_ratio", "tokens": "alpha_token_ratio"}


@dataclass(frozen=True)
class Thresholds:
    # Gopher App. A: "does not contain between 50 and 100,000 words".
    min_words: int = 50
    max_words: int = 100_000
    # Gopher App. A: "mean word length is outside the range of 3 to 10 characters".
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    # Gopher App. A: "symbol-to-word ratio greater than 0.1 for either the hash symbol or the ellipsis".
    max_symbol_word_ratio: float = 0.1
    # Gopher App. A: "more than 90% of lines starting with a bullet point".
    max_bullet_line_ratio: float = 0.9
    # Gopher App. A: "or more than 30% ending with an ellipsis".
    max_ellipsis_line_ratio: float = 0.3
    # Gopher App. A: "80% of words in a document contain at least one alphabetic character".
    min_alpha_word_ratio: float = 0.8
    # What that 80% is of: "words" = whitespace-separated words (Gopher, dolma); "tokens" = word-tokenizer
    # tokens with punctuation runs as tokens of their own (datatrove, whose tokens come from spaCy/NLTK;
    # clean prose then scores 0.85-0.9, so more documents fall under 0.8).
    alpha_ratio_of: str = "words"
    # Gopher App. A: "contain at least two of the following English words".
    min_stop_words: int = 2
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)
        if self.alpha_ratio_of not in ALPHA_RATIO_OF:
            raise ValueError(f"{NAME}.alpha_ratio_of must be one of {', '.join(ALPHA_RATIO_OF)}, "
                             f"got {self.alpha_ratio_of!r}")


def too_few_words(s: dict, th: Thresholds) -> Rejection | None:
    return _below(s, "n_words", th.min_words, "too_few_words")


def too_many_words(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "n_words", th.max_words, "too_many_words")


def mean_word_length_too_short(s: dict, th: Thresholds) -> Rejection | None:
    return _below(s, "mean_word_length", th.min_mean_word_length, "mean_word_length_too_short")


def mean_word_length_too_long(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "mean_word_length", th.max_mean_word_length, "mean_word_length_too_long")


def too_many_hashes(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "hash_word_ratio", th.max_symbol_word_ratio, "too_many_hashes")


def too_many_ellipses(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "ellipsis_word_ratio", th.max_symbol_word_ratio, "too_many_ellipses")


def too_many_bullet_lines(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "bullet_line_ratio", th.max_bullet_line_ratio, "too_many_bullet_lines")


def too_many_ellipsis_lines(s: dict, th: Thresholds) -> Rejection | None:
    return _above(s, "ellipsis_line_ratio", th.max_ellipsis_line_ratio, "too_many_ellipsis_lines")


def too_few_alpha_words(s: dict, th: Thresholds) -> Rejection | None:
    return _below(s, ALPHA_RATIO_OF[th.alpha_ratio_of], th.min_alpha_word_ratio, "too_few_alpha_words")


def too_few_stop_words(s: dict, th: Thresholds) -> Rejection | None:
    return _below(s, "n_stop_words", th.min_stop_words, "too_few_stop_words")


def _below(s: dict, signal: str, limit: float, rule: str) -> Rejection | None:
    value = s[f"{NAME}.{signal}"]
    return Rejection(f"{NAME}.{rule}", value) if value < limit else None


def _above(s: dict, signal: str, limit: float, rule: str) -> Rejection | None:
    value = s[f"{NAME}.{signal}"]
    return Rejection(f"{NAME}.{rule}", value) if value > limit else None


def measure(text: str, lang: str) -> dict[str, float]:
    """All signals. Words are the word tokens of `split_doc_words` (datatrove's non-symbol tokens), except
    for the alpha ratio, which uses whitespace-separated words as Gopher and dolma do: datatrove counts
    each punctuation token as a word there, which puts clean prose at 0.85-0.9 against the 0.8 minimum.
    `alpha_token_ratio` is datatrove's version (used with `alpha_ratio_of: tokens`)."""
    tokens = W.split_doc_words(text)
    words = [t for t in tokens if t[0].isalnum() or t[0] == "_"]
    n_words = max(len(words), 1)
    chunks = text.split()
    lines = text.splitlines() or [""]
    stop_words = STOP_WORDS.get(W.base_lang(lang), frozenset())
    return {f"{NAME}.{k}": float(v) for k, v in {
        "n_words": len(words),
        "mean_word_length": sum(map(len, words)) / n_words,
        "hash_word_ratio": text.count("#") / n_words,
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / n_words,
        "bullet_line_ratio": sum(ln.lstrip().startswith(BULLETS) for ln in lines) / len(lines),
        "ellipsis_line_ratio": sum(ln.rstrip().endswith(ELLIPSES) for ln in lines) / len(lines),
        "alpha_word_ratio": sum(1 for c in chunks if c.isalpha() or any(map(str.isalpha, c)))
        / max(len(chunks), 1),
        "alpha_token_ratio": sum(1 for t in tokens if any(map(str.isalpha, t))) / max(len(tokens), 1),
        # Lowercased (datatrove compares case-sensitively, missing "The"); every occurrence counts.
        "n_stop_words": sum(1 for t in words if t.lower() in stop_words) if stop_words else 0,
    }.items()}


def skipped_rules(text: str, lang: str) -> list[str]:
    """Rules that do not apply: word length without spaces between words; English stop words elsewhere."""
    skipped = []
    if W.is_spaceless(text, lang):  # one token per CJK/Thai character: the mean length is ~1
        skipped += ["mean_word_length_too_short", "mean_word_length_too_long"]
    if W.base_lang(lang) not in STOP_WORDS:
        skipped.append("too_few_stop_words")
    return skipped


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Apply the rules in Gopher's order; the first that fires rejects."""
    signals = measure(text, lang)
    skipped = [r for r in skipped_rules(text, lang) if r not in th.disabled_rules]
    for rule in (too_few_words, too_many_words, mean_word_length_too_short, mean_word_length_too_long,
                 too_many_hashes, too_many_ellipses, too_many_bullet_lines, too_many_ellipsis_lines,
                 too_few_alpha_words, too_few_stop_words):
        if rule.__name__ in th.disabled_rules or rule.__name__ in skipped:
            continue
        if rejection := rule(signals, th):
            return QualityResult(text, rejection, signals, {}, [f"{NAME}.{r}" for r in skipped])
    return QualityResult(text, None, signals, {}, [f"{NAME}.{r}" for r in skipped])
