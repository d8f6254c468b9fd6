"""C4 bad-words filter: drop a page containing any LDNOOBW entry for its language.

C4 (Raffel et al. 2020, Sec. 2.2) dropped English pages with any word of the "List of Dirty, Naughty,
Obscene or Otherwise Bad Words"; mC4 and datatrove's C4BadWordsFilter (c4_filters.py) use the per-language
lists: whole-word match, but substring match for languages written without spaces. Lists are vendored in
pipeline/resources/ldnoobw/ (see PROVENANCE.md). Signal: `c4_badwords.n_hits`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "c4_badwords"
RULES = ("bad_word",)

# datatrove c4_filters _BADWORDS_ALLOWLIST: "common subwords in languages without spaces. These each
# filter >10% of documents of their language when disallowed."
ALLOWLIST = {"ja": frozenset({"sm", "グロ", "女の子"}), "zh": frozenset({"性"})}


@dataclass(frozen=True)
class Thresholds:
    # datatrove C4BadWordsFilter matches substrings for ja/th/zh; we add ko, whose words carry attached
    # particles ("욕+이"), so whole-word matching misses them.
    substring_langs: tuple[str, ...] = ("ja", "th", "zh", "ko")
    # List used for a language without its own: "" skips the rule (datatrove fail_on_missing_language=False),
    # "en" applies the English list (C4 was English-only). Skipping is the default: English entries are
    # ordinary words elsewhere (e.g. Romanian "cum").
    fallback_lang: str = ""
    # C4 dropped a page on a single hit (datatrove keep_fraction=0.0).
    max_hits: int = 0
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


def _resource_dir():
    return resources.files("pipeline") / "resources" / "ldnoobw"


@lru_cache(maxsize=1)
def available_langs() -> frozenset[str]:
    return frozenset(p.name[:-4] for p in _resource_dir().iterdir() if p.name.endswith(".txt"))


def load_words(lang: str) -> frozenset[str]:
    """The lowercased LDNOOBW entries for `lang`, minus datatrove's allowlist."""
    lines = (_resource_dir() / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip()) - ALLOWLIST.get(lang, frozenset())


def _trie_pattern(entries: list[str]) -> str:
    """One alternation factored by common prefixes, so matching costs O(entry length) per position."""
    trie: dict = {}
    for entry in entries:
        node = trie
        for ch in entry:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        ends = "" in node
        alts = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if ends else body

    return pattern(trie)


@lru_cache(maxsize=None)
def badwords_regex(lang: str, substring: bool) -> re.Pattern:
    """One compiled regex per (list language, match mode), built once per process."""
    body = _trie_pattern(sorted(load_words(lang)))
    return re.compile(body if substring else rf"(?<!\w)(?:{body})(?!\w)")


def list_lang(lang: str, th: Thresholds) -> str | None:
    """The list to use for `lang`: its own (exact code, then base code), the fallback, or None."""
    for code in (lang, lang.lower(), W.base_lang(lang)):
        if code in available_langs():
            return code
    return th.fallback_lang or None


def bad_word(n_hits: int, th: Thresholds) -> Rejection | None:
    return Rejection(f"{NAME}.bad_word", float(n_hits)) if n_hits > th.max_hits else None


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Drop the page if it has more than `max_hits` entries of its language's list."""
    if "bad_word" in th.disabled_rules:
        return QualityResult(text, None)
    code = list_lang(lang, th)
    if code is None:
        return QualityResult(text, None, skipped=[f"{NAME}.bad_word"])
    substring = W.base_lang(lang) in th.substring_langs or W.base_lang(code) in th.substring_langs
    n_hits = len(badwords_regex(code, substring).findall(text.lower()))
    return QualityResult(text, bad_word(n_hits, th), {f"{NAME}.n_hits": float(n_hits)})
