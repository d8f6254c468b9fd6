"""Tests for pipeline.stages.quality.c4_badwords (LDNOOBW lists), incl. the c4_utils_test.py badword cases."""
from pathlib import Path

import pytest

from pipeline.stages.quality import c4_badwords as B
from pipeline.stages.types import Rejection

TH = B.Thresholds()
SHARED_LISTS = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "wordlists_ldnoobw"
PADDING = ("This page starts out with some text.\nEverything looks good at first, since these are sentences.\n"
           "But then, all of a sudden, there's a badword... or not?\n")


def test_tfds_word_inside_longer_word_is_not_a_hit():
    r = B.check(PADDING + "I asked my friend for assistance polishing my cutlass.", "en", TH)
    assert r.rejection is None and r.signals == {"c4_badwords.n_hits": 0.0}


@pytest.mark.parametrize("sentence, hits", [
    ("He took the saddle and put it on his ass in preparation for travel.", 1),
    ("Ass is one of several species of small, horse-like animals.", 1),  # lowercased
    ('Donkey is one synonym for the word "ass".', 1),  # flanked by punctuation
    ("Ass, ass, ass.", 3),
])
def test_tfds_whole_word_hits(sentence, hits):
    assert B.check(PADDING + sentence, "en", TH).rejection == Rejection("c4_badwords.bad_word", hits)


def test_max_hits_inside_and_outside():
    th = B.Thresholds(max_hits=1)
    assert B.check("one ass here", "en", th).rejection is None
    assert B.check("ass and ass", "en", th).rejection == Rejection("c4_badwords.bad_word", 2)


def test_chinese_substring_match_and_allowlist():
    assert B.check("这部电影是三级片。", "zh", TH).rejection == Rejection("c4_badwords.bad_word", 1)
    # datatrove's allowlist: "性" is a common subword (性别 = gender).
    assert B.check("请填写您的性别和年龄。", "zh", TH).rejection is None
    assert B.check("かわいい女の子が歌っています。", "ja", TH).rejection is None


def test_german_list_is_used_for_german():
    assert "arschloch" in B.load_words("de")
    assert B.check("Du bist ein Arschloch!", "de", TH).rejection == Rejection("c4_badwords.bad_word", 1)
    assert B.check("Du bist ein Arschloch!", "de-AT", TH).rejection is not None  # base language


def test_language_without_list_is_skipped_by_default():
    r = B.check("Cum ești? Bine, mulțumesc.", "ro", TH)  # Romanian "cum" = "how"
    assert r.rejection is None and r.skipped == ["c4_badwords.bad_word"]
    th = B.Thresholds(fallback_lang="en")
    assert B.check("Cum ești? Bine, mulțumesc.", "ro", th).rejection == Rejection("c4_badwords.bad_word", 1)


def test_one_regex_per_language_is_cached():
    assert B.badwords_regex("en", False) is B.badwords_regex("en", False)


def test_trie_pattern_matches_exactly_the_entries():
    import re
    rx = re.compile(rf"(?:{B._trie_pattern(sorted(['ab', 'abc', 'abd', 'b c', 'x.y']))})$")
    for w in ["ab", "abc", "abd", "b c", "x.y"]:
        assert rx.match(w)
    for w in ["a", "abx", "b", "xzy", "abcd"]:
        assert not rx.match(w)


def test_vendored_lists_match_shared_copy():
    if not SHARED_LISTS.is_dir():
        pytest.skip(f"shared data not found at {SHARED_LISTS}")
    en = set(B._resource_dir().joinpath("en.txt").read_text(encoding="utf-8").splitlines())
    assert en == set((SHARED_LISTS / "en.txt").read_text(encoding="utf-8").splitlines())
    assert len(en) == 403
    for path in SHARED_LISTS.glob("*.txt"):
        ours = B._resource_dir().joinpath(path.name).read_text(encoding="utf-8").splitlines()
        assert set(ours) == set(path.read_text(encoding="utf-8").splitlines()), path.name
