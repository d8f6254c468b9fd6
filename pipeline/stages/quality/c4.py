"""C4 page cleaning (Raffel et al. 2020, Sec. 2.2), as TFDS `text/c4_utils.py` `clean_page` does it.

Removes lines (too long word, no terminal punctuation, too few words, "javascript", policy text) and
Wikipedia citation markers, then drops the page for "lorem ipsum", a curly bracket, or fewer than
`min_sentences` sentences. The text changes: `check` returns the kept lines joined by "\\n".
Reference: github.com/tensorflow/datasets/blob/master/tensorflow_datasets/text/c4_utils.py (clean_page);
each rule can be disabled, as datatrove's C4QualityFilter allows (FineWeb disables no_terminal_punct).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "c4"
LINE_RULES = ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")
PAGE_RULES = ("lorem_ipsum", "curly_bracket", "too_few_sentences")
RULES = LINE_RULES + PAGE_RULES

END_MARKS = (".", "?", "!", '"')  # TFDS c4_utils _END_MARKS
ELLIPSIS = "..."  # TFDS c4_utils _ELLIPSIS: a line ending with it has no end mark
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")  # TFDS c4_utils _POLICY_SUBSTRINGS
CITATION_RE = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")  # TFDS c4_utils get_clean_page_fn


@dataclass(frozen=True)
class Thresholds:
    # TFDS c4_utils _MIN_WORDS_PER_LINE = 5 (the code that built C4; the paper says 3, datatrove uses 3).
    min_words_per_line: int = 5
    # TFDS c4_utils _MIN_NUM_SENTENCES = 3 (the paper says 5, datatrove uses 5).
    min_sentences: int = 3
    # TFDS c4_utils _MAX_WORD_LENGTH = 1000: a line with a longer word is removed.
    max_word_length: int = 1000
    # TFDS c4_utils get_clean_page_fn: citation_regex always applied; datatrove remove_citations=True.
    remove_citations: bool = True
    # Rules (LINE_RULES, PAGE_RULES) to switch off, e.g. ("no_terminal_punct",) as FineWeb did.
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


# --- line rules: True means "remove this line" -------------------------------------------------------

def too_long_word(words: list[str], th: Thresholds) -> bool:
    return max(map(len, words), default=0) > th.max_word_length


def no_terminal_punct(line: str, end_marks: tuple[str, ...]) -> bool:
    return not line.endswith(end_marks) or line.endswith(ELLIPSIS)


def too_few_words(n_words: int, th: Thresholds) -> bool:
    return n_words < th.min_words_per_line


def javascript(line_lower: str) -> bool:
    # "Remove 'javascript must be enabled' notices" (TFDS).
    return "javascript" in line_lower


def policy(line_lower: str) -> bool:
    return any(p in line_lower for p in POLICY_SUBSTRINGS)


# --- page rules ----------------------------------------------------------------------------------------

def lorem_ipsum(line_lower: str) -> Rejection | None:
    return Rejection(f"{NAME}.lorem_ipsum") if "lorem ipsum" in line_lower else None


def curly_bracket(line: str) -> Rejection | None:
    # "Remove docs which probably contain javascript code" (TFDS).
    return Rejection(f"{NAME}.curly_bracket") if "{" in line else None


def too_few_sentences(n_sentences: int, th: Thresholds) -> Rejection | None:
    if n_sentences < th.min_sentences:
        return Rejection(f"{NAME}.too_few_sentences", float(n_sentences))
    return None


# TFDS counts sentences with NLTK's English punkt; we approximate it without NLTK: a boundary is ".!?"
# (+ closing quotes/brackets) then whitespace then a character that is not lowercase, unless the "." ends
# a common abbreviation or a one-letter initial ("Dr. Roberts", "J. Smith"); or a CJK full stop.
_BOUNDARY_RE = re.compile(r"([.!?]+)[\"'”’)\]]*\s+(?=(\S))")
_CJK_BOUNDARY_RE = re.compile(r"[。！？]+[」』”’）]*\s*(?=\S)")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e",
                            "gen", "gov", "sen", "rep", "rev", "col", "capt", "lt", "fig", "inc",
                            "co", "ltd", "jan", "feb", "aug", "sept", "oct", "nov", "dec"})


def count_sentences(line: str) -> int:
    """Sentences in one line (see _BOUNDARY_RE): 1 + boundaries inside it, 0 for an empty line."""
    if not line:
        return 0
    n = 1 + len(_CJK_BOUNDARY_RE.findall(line))
    for m in _BOUNDARY_RE.finditer(line):
        punct, nxt = m.groups()
        if nxt.islower():
            continue
        if punct == ".":
            word = _word_before(line, m.start())
            if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        n += 1
    return n


def _word_before(line: str, end: int) -> str:
    """The run of word characters (and inner dots, as in "e.g") just before line[end]."""
    start = end
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] == "."):
        start -= 1
    return line[start:end].lstrip(".")


def _clean_lines(text: str, lang: str, th: Thresholds, off: set[str]):
    """The TFDS clean_page loop -> (kept lines, sentences, lines seen, removed per line rule, rejection)."""
    spaceless = W.is_spaceless(text, lang)
    end_marks = W.terminal_punct(END_MARKS, lang)
    removed = dict.fromkeys(LINE_RULES, 0)
    kept_lines, n_sentences, n_lines = [], 0, 0
    for line in text.splitlines():
        n_lines += 1
        line = line.strip()
        words = W.split_words(line) if spaceless else line.split()
        if "too_long_word" not in off and too_long_word(words, th):
            removed["too_long_word"] += 1
            continue
        if th.remove_citations:
            line = CITATION_RE.sub("", line)
        if "no_terminal_punct" not in off and no_terminal_punct(line, end_marks):
            removed["no_terminal_punct"] += 1
            continue
        n_words = W.n_words(W.split_words(line)) if spaceless else len(line.split())
        if "too_few_words" not in off and too_few_words(n_words, th):
            removed["too_few_words"] += 1
            continue
        line_lower = line.lower()
        if "lorem_ipsum" not in off and (rejection := lorem_ipsum(line_lower)):
            return kept_lines, n_sentences, n_lines, removed, rejection
        if "javascript" not in off and javascript(line_lower):
            removed["javascript"] += 1
            continue
        if "curly_bracket" not in off and (rejection := curly_bracket(line)):
            return kept_lines, n_sentences, n_lines, removed, rejection
        if "policy" not in off and policy(line_lower):
            removed["policy"] += 1
            continue
        n_sentences += count_sentences(line)
        kept_lines.append(line)
    rejection = None if "too_few_sentences" in off else too_few_sentences(n_sentences, th)
    return kept_lines, n_sentences, n_lines, removed, rejection


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Clean the page line by line (TFDS clean_page order), then apply the page rules."""
    off = set(th.disabled_rules)
    skipped = []
    if not W.has_sentence_punct(lang) and "no_terminal_punct" not in off:
        off.add("no_terminal_punct")  # Thai/Lao end sentences with a space, not a mark
        skipped.append(f"{NAME}.no_terminal_punct")
    kept_lines, n_sentences, n_lines, removed, rejection = _clean_lines(text, lang, th, off)
    signals = {f"{NAME}.n_sentences": float(n_sentences),
               f"{NAME}.kept_line_frac": len(kept_lines) / n_lines if n_lines else 0.0}
    if rejection:
        return QualityResult(text, rejection, signals, {}, skipped)
    counts = {f"{NAME}.line.{rule}": n for rule, n in removed.items() if n}
    return QualityResult("\n".join(kept_lines).strip(), None, signals, counts, skipped)
