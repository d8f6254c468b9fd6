"""Word splitting and script checks shared by the word-based quality filters.

`split_words` approximates NLTK `word_tokenize` (which datatrove's Gopher and FineWeb filters use): word
runs and punctuation runs are separate tokens. Scripts written without spaces between words (CJK, Thai,
Lao, Khmer, Myanmar, Tibetan) have no word boundaries to find, so each of their characters (with its
combining marks) is one token: word counts stay meaningful and word rules do not wipe those languages out.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# ISO 639-1/3 codes of languages written without spaces between words: CJK, where a character is about
# a morpheme, and Thai/Lao/Khmer/Myanmar/Tibetan ("sea"), where a character is a fraction of a word.
CJK_LANGS = frozenset({"zh", "ja", "yue", "wuu", "lzh"})
SEA_LANGS = frozenset({"th", "lo", "km", "my", "bo"})
# Of those, scripts that mark sentence ends with spaces, not punctuation (Thai and Lao): rules that
# count lines ending in punctuation are skipped for them.
NO_SENTENCE_PUNCT_LANGS = frozenset({"th", "lo"})

_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003134f"
)  # CJK radicals, ideographs (+ extensions), hiragana, katakana
_SEA = "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Tibetan, Myanmar, Khmer
_SPACELESS = _CJK + _SEA


def _bmp_class(keep) -> str:
    """Regex class body (ranges) of the BMP characters for which `keep(char)` is true.

    BMP only: a class with non-BMP ranges makes `re` much slower (~40x measured). Other characters are
    caught by the catch-all `\\S` alternative of _TOKEN_RE.
    """
    ranges, start = [], None
    for cp in range(0x10000):
        if keep(chr(cp)):
            start = cp if start is None else start
        elif start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
            start = None
    return "".join(ranges)


_IS_SPACELESS = re.compile(f"[{_SPACELESS}]").match
# Combining marks (Unicode M*), which `\w` does not match although they are part of words (Devanagari
# vowel signs, Thai vowels, decomposed accents).
_MARKS = _bmp_class(lambda c: unicodedata.category(c)[0] == "M")
_WORD = _bmp_class(lambda c: (c.isalnum() or c == "_" or unicodedata.category(c)[0] == "M")
                   and not _IS_SPACELESS(c))
# One token: a CJK character; or a Thai/Lao/... character with its marks; or a run of other word characters
# (letters, digits, marks; ' or - inside, as in "don't", "well-known"); or a run of symbols; or any other
# single non-space character.
_TOKEN_RE = re.compile(
    rf"[{_CJK}]|[{_SEA}][{_MARKS}]*|[{_WORD}]+(?:['’\-][{_WORD}]+)*|[^\w\s{_MARKS}]+|\S"
)
_CJK_RE = re.compile(f"[{_CJK}]")
_SEA_RE = re.compile(f"[{_SEA}]")
_NON_WORD_RE = re.compile(r"\W+")

# Sentence-final marks for scripts that do not use ".!?" (CJK, Devanagari, Myanmar, Khmer, Tibetan,
# Arabic, Urdu) and closing quotes used after them; added for every language except English, which keeps
# the reference sets exactly. FineWeb-2 likewise extends the terminal punctuation per language.
EXTRA_TERMINAL_PUNCT = ("。", "！", "？", "．", "」", "』", "”", "“", "»", "।", "॥", "။", "។", "།", "؟", "۔")


def base_lang(lang: str) -> str:
    """'zh-Hans' -> 'zh', 'pt_BR' -> 'pt', 'EN' -> 'en'."""
    return lang.lower().replace("_", "-").split("-")[0]


@lru_cache(maxsize=8)
def spaceless_script(text: str, lang: str) -> str | None:
    """"cjk" or "sea" for a spaceless language, or for text whose word characters are mostly of those
    scripts (whichever has more); None for space-delimited text."""
    base = base_lang(lang)
    if base in CJK_LANGS or base in SEA_LANGS:
        return "cjk" if base in CJK_LANGS else "sea"
    n_cjk = len(_CJK_RE.findall(text)) if _CJK_RE.search(text) else 0
    n_sea = len(_SEA_RE.findall(text)) if _SEA_RE.search(text) else 0
    if n_cjk + n_sea == 0 or n_cjk + n_sea <= 0.5 * len(_NON_WORD_RE.sub("", text)):
        return None
    return "cjk" if n_cjk >= n_sea else "sea"


def is_spaceless(text: str, lang: str) -> bool:
    """True for text without spaces between words (see spaceless_script)."""
    return spaceless_script(text, lang) is not None


def has_sentence_punct(lang: str) -> bool:
    """False for languages whose sentences end without punctuation (Thai, Lao)."""
    return base_lang(lang) not in NO_SENTENCE_PUNCT_LANGS


def terminal_punct(reference: tuple[str, ...], lang: str) -> tuple[str, ...]:
    """The reference's line-final marks, plus EXTRA_TERMINAL_PUNCT for languages other than English."""
    return reference if base_lang(lang) == "en" else reference + EXTRA_TERMINAL_PUNCT


def split_words(text: str) -> list[str]:
    """Word and punctuation tokens of `text`."""
    return _TOKEN_RE.findall(text)


@lru_cache(maxsize=4)
def split_doc_words(text: str) -> tuple[str, ...]:
    """`split_words` of a whole document, cached: several filters split the same text in a row."""
    return tuple(_TOKEN_RE.findall(text))


def n_words(tokens) -> int:
    """Tokens of `split_words` that are words (start with a letter, digit or '_'), not punctuation."""
    return sum(1 for t in tokens if t[0].isalnum() or t[0] == "_")
