"""Tests for pipeline.stages.quality.gopher_repetition: each Table A1 rule just inside and just outside,
and the fast n-gram code against a direct, slow reading of datatrove's definitions."""
import random
import re
from collections import Counter

import pytest

from pipeline.stages.quality import gopher_repetition as G
from pipeline.stages.quality import words as W
from pipeline.stages.types import Rejection


def min_len(chars: int, limit: float) -> int:
    """The shortest text length at which `chars` repeated characters are not above `limit`."""
    return next(n for n in range(1, 10**6) if chars / n <= limit)


def only(*rules: str) -> G.Thresholds:
    return G.Thresholds(disabled_rules=tuple(r for r in G.RULES if r not in rules))


def reject(text, rule, lang="en"):
    return G.check(text, lang, only(rule)).rejection


# --- paragraphs and lines ----------------------------------------------------------------------------

def test_too_many_duplicate_paragraphs():
    uniq = [f"paragraph {i}" for i in range(7)]
    assert reject("\n\n".join(["same"] * 4 + uniq[:6]), "too_many_duplicate_paragraphs") is None  # 3/10
    assert reject("\n\n".join(["same"] * 5 + uniq[:6]), "too_many_duplicate_paragraphs") == Rejection(
        "gopher_repetition.too_many_duplicate_paragraphs", 4 / 11)


def test_too_many_duplicate_paragraph_chars():
    # 20 duplicated chars / len(text); len = 20 + 2 + 20 + 2 + n
    rule = "too_many_duplicate_paragraph_chars"
    assert reject("\n\n".join(["x" * 20, "x" * 20, "y" * 56]), rule) is None  # 20 / 100
    assert reject("\n\n".join(["x" * 20, "x" * 20, "y" * 55]), rule) == Rejection(
        f"gopher_repetition.{rule}", 20 / 99)


def test_too_many_duplicate_lines():
    uniq = [f"line {i}" for i in range(7)]
    assert reject("\n".join(["same"] * 4 + uniq[:6]), "too_many_duplicate_lines") is None  # 3/10
    assert reject("\n".join(["same"] * 5 + uniq[:6]), "too_many_duplicate_lines") == Rejection(
        "gopher_repetition.too_many_duplicate_lines", 4 / 11)


def test_blank_lines_do_not_count_as_lines():
    # Lines are split on "\n+", as datatrove: blank lines between paragraphs are not duplicate lines.
    r = G.check("\n\n".join(f"line {i}" for i in range(10)), "en", G.Thresholds())
    assert r.signals["gopher_repetition.dup_line_frac"] == 0.0


def test_too_many_duplicate_line_chars():
    rule = "too_many_duplicate_line_chars"
    assert reject("\n".join(["x" * 20, "x" * 20, "y" * 58]), rule) is None  # 20 / 100
    assert reject("\n".join(["x" * 20, "x" * 20, "y" * 57]), rule) == Rejection(
        f"gopher_repetition.{rule}", 20 / 99)


# --- n-grams -----------------------------------------------------------------------------------------

def test_top_2gram():
    rule = "top_2gram_too_frequent"
    head = " ".join(["ab cd"] * 4)  # ("ab", "cd") x 4 = 5 chars x 4 = 20 chars, 23 chars of text
    assert reject(head + " " + "z" * 76, rule) is None  # 20 / 100
    assert reject(head + " " + "z" * 75, rule) == Rejection(f"gopher_repetition.{rule}", 20 / 99)


@pytest.mark.parametrize("n, limit", [(3, 0.18), (4, 0.16)])
def test_top_3_and_4_grams(n, limit):
    gram = " ".join(f"w{i}" for i in range(n))  # "w0 w1 w2": 3n - 1 chars
    head = " ".join([gram] * 4)
    covered = (3 * n - 1) * 4
    pad = min_len(covered, limit) - len(head) - 1
    rule = f"top_{n}gram_too_frequent"
    assert reject(head + " " + "z" * pad, rule) is None
    assert reject(head + " " + "z" * (pad - 1), rule) == Rejection(
        f"gopher_repetition.{rule}", covered / (len(head) + pad))


@pytest.mark.parametrize("n, limit", list(zip(G.DUP_NS, (0.15, 0.14, 0.13, 0.12, 0.11, 0.10))))
def test_duplicate_ngram_chars(n, limit):
    gram = " ".join(f"w{i}" for i in range(n))  # repeated once: "".join -> 2n chars counted
    head = gram + " " + gram
    pad = min_len(2 * n, limit) - len(head) - 1
    rule = f"too_many_duplicate_{n}gram_chars"
    assert reject(head + " " + "z" * pad, rule) is None
    assert reject(head + " " + "z" * (pad - 1), rule) == Rejection(
        f"gopher_repetition.{rule}", 2 * n / (len(head) + pad))


def test_order_is_datatrove_s():
    text = "\n\n".join(["same same same"] * 5)
    r = G.check(text, "en", G.Thresholds())
    assert r.rejection.reason == "gopher_repetition.too_many_duplicate_paragraphs"
    assert "gopher_repetition.dup_line_frac" not in r.signals  # later stages not measured


# --- fast code == direct reading of datatrove's definitions ------------------------------------------

def slow_top(words, n):
    counts = Counter(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    if not counts:
        return 0
    gram, count = counts.most_common(1)[0]
    return len(gram) * count


def slow_dup(words, n):
    seen, idx, chars = set(), 0, 0
    while idx < len(words) - n + 1:
        gram = tuple(words[idx:idx + n])
        if gram in seen:
            chars += sum(map(len, gram))
            idx += n
        else:
            seen.add(gram)
            idx += 1
    return chars


def test_fast_ngram_code_matches_slow_definitions():
    rng = random.Random(0)
    for _ in range(400):
        vocab = ["a", "bb", "ccc", "dd", "e", "ffff", "g7"][:rng.choice([2, 3, 7])]
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 80))]
        hashes, offsets = G._ngram_tables(" ".join(words))
        dup = G.duplicate_ngram_chars(hashes, offsets, G.DUP_NS)
        assert dup == {n: slow_dup(words, n) for n in G.DUP_NS}, words
        assert [G.top_ngram_chars(hashes[n], offsets, n) for n in G.TOP_NS] == [
            slow_top(words, n) for n in G.TOP_NS], words


def test_paragraph_and_line_definitions():
    text = "a\n\n\nb\n\na\nc\n"
    assert re.split(r"\n{2,}", text.strip()) == ["a", "b", "a\nc"]
    signals = G.measure_paragraphs(text) | G.measure_lines(text)
    assert signals["gopher_repetition.dup_para_frac"] == 0.0
    assert signals["gopher_repetition.dup_line_frac"] == 1 / 5  # ["a", "b", "a", "c", ""]


# --- other languages ---------------------------------------------------------------------------------

ZH_TEXT = ("今天天气很好，我们一起去公园散步。公园里有很多人在锻炼身体，有的人在跑步，有的人在打太极拳。"
           "孩子们在草地上玩耍，笑声传得很远。我们走到湖边，看到几只鸭子在水里游来游去。\n"
           "中午的时候，我们在附近的小饭馆吃了午饭，味道非常不错。下午我们又去了图书馆，借了几本关于历史和"
           "科学的书。回家的路上，大家都说这是一个愉快的周末。")


def test_chinese_article_is_kept_and_spam_is_not():
    assert G.check(ZH_TEXT, "zh", G.Thresholds()).rejection is None
    spam = "今天特价，快来购买！" * 30
    assert G.check(spam, "zh", G.Thresholds()).rejection.reason == "gopher_repetition.top_2gram_too_frequent"


def test_thai_skips_ngram_rules():
    text = "ภาษาไทยเป็นภาษาที่สวยงาม เราเรียนภาษาไทยทุกวัน วันนี้อากาศดีมาก"
    r = G.check(text, "th", G.Thresholds())
    assert r.rejection is None
    assert r.skipped == [f"gopher_repetition.{rule}" for rule in G.RULES[4:]]
    assert "gopher_repetition.top_2gram_char_frac" not in r.signals


def test_cached_split_is_shared():
    W.split_doc_words.cache_clear()
    G.check(ZH_TEXT, "zh", G.Thresholds())
    assert W.split_doc_words.cache_info().currsize == 1
