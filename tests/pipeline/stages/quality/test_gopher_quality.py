"""Tests for pipeline.stages.quality.gopher_quality: each rule just inside and just outside its threshold."""
import dataclasses

import pytest

from pipeline.stages.quality import gopher_quality as G
from pipeline.stages.types import Rejection

TH = G.Thresholds()
ZH_TEXT = ("今天天气很好，我们一起去公园散步。公园里有很多人在锻炼身体，有的人在跑步，有的人在打太极拳。"
           "孩子们在草地上玩耍，笑声传得很远。我们走到湖边，看到几只鸭子在水里游来游去。\n"
           "中午的时候，我们在附近的小饭馆吃了午饭，味道非常不错。下午我们又去了图书馆，借了几本关于历史和"
           "科学的书。回家的路上，大家都说这是一个愉快的周末。")
JA_TEXT = ("今日は朝から雨が降っていました。私は駅まで歩いて行き、電車に乗って会社へ向かいました。"
           "会社では新しい計画について同僚と話し合いました。昼ごはんは近くの店でラーメンを食べました。")


def doc(*words: str) -> str:
    return " ".join(words)


def only(rule: str) -> G.Thresholds:
    """Default thresholds with every other rule disabled."""
    return G.Thresholds(disabled_rules=tuple(r for r in G.RULES if r != rule))


def reject(text, rule, lang="en"):
    return G.check(text, lang, only(rule)).rejection


def test_too_few_words():
    assert reject(doc("the", "and", *["word"] * 48), "too_few_words") is None
    assert reject(doc("the", "and", *["word"] * 47), "too_few_words") == Rejection(
        "gopher_quality.too_few_words", 49)


def test_punctuation_is_not_a_word():
    r = G.check(doc(*["word ,"] * 50), "en", TH)
    assert r.signals["gopher_quality.n_words"] == 50


def test_too_many_words():
    assert reject(doc(*["word"] * 100_000), "too_many_words") is None
    assert reject(doc(*["word"] * 100_001), "too_many_words") == Rejection(
        "gopher_quality.too_many_words", 100_001)


def test_mean_word_length_too_short():
    words = ["the", "and"] + ["ab", "abcd"] * 24  # 150 chars / 50 words = 3.0
    assert reject(doc(*words), "mean_word_length_too_short") is None
    words[-1] = "abc"  # 149 / 50
    assert reject(doc(*words), "mean_word_length_too_short") == Rejection(
        "gopher_quality.mean_word_length_too_short", 2.98)


def test_mean_word_length_too_long():
    words = ["the", "and"] + ["abcdefghij"] * 47 + ["x" * 24]  # 500 / 50 = 10.0
    assert reject(doc(*words), "mean_word_length_too_long") is None
    words[-1] = "x" * 25
    assert reject(doc(*words), "mean_word_length_too_long") == Rejection(
        "gopher_quality.mean_word_length_too_long", 10.02)


def test_too_many_hashes():
    assert reject(doc(*["word"] * 50, *["#"] * 5), "too_many_hashes") is None  # 5 / 50 words
    assert reject(doc(*["word"] * 50, *["#"] * 6), "too_many_hashes") == Rejection(
        "gopher_quality.too_many_hashes", 0.12)


def test_too_many_ellipses():
    assert reject(doc(*["word"] * 50, *["..."] * 4, "…"), "too_many_ellipses") is None
    assert reject(doc(*["word"] * 50, *["..."] * 5, "…"), "too_many_ellipses") == Rejection(
        "gopher_quality.too_many_ellipses", 0.12)


def test_too_many_bullet_lines():
    lines = ["- the and word word"] * 9 + ["the and word word"]  # 9 / 10
    assert reject("\n".join(lines), "too_many_bullet_lines") is None
    lines = ["• the and word word"] * 19 + ["the and word word"]  # 19 / 20
    assert reject("\n".join(lines), "too_many_bullet_lines") == Rejection(
        "gopher_quality.too_many_bullet_lines", 0.95)


def test_too_many_ellipsis_lines():
    lines = ["the and word word..."] * 3 + ["the and word word."] * 7  # 3 / 10
    assert reject("\n".join(lines), "too_many_ellipsis_lines") is None
    lines[3] = "the and word word…"
    assert reject("\n".join(lines), "too_many_ellipsis_lines") == Rejection(
        "gopher_quality.too_many_ellipsis_lines", 0.4)


def test_too_few_alpha_words():
    assert reject(doc(*["word"] * 48, *["123"] * 12), "too_few_alpha_words") is None  # 48 / 60
    r = reject(doc(*["word"] * 48, *["12.5%"] * 13), "too_few_alpha_words")
    assert r == Rejection("gopher_quality.too_few_alpha_words", pytest.approx(48 / 61))


def test_alpha_ratio_counts_whitespace_words_not_punctuation_tokens():
    text = doc(*["Yes, it is, as you said, true."] * 10)
    assert G.check(text, "en", TH).signals["gopher_quality.alpha_word_ratio"] == 1.0


def test_alpha_ratio_of_tokens_counts_punctuation_tokens_as_datatrove_does():
    # "Yes , it is , as you said , true ." = 7 words + 4 punctuation tokens per sentence: 7 / 11 = 0.636
    text = doc(*["Yes, it is, as you said, true."] * 10)
    s = G.check(text, "en", TH).signals
    assert s["gopher_quality.alpha_token_ratio"] == pytest.approx(7 / 11)
    assert reject(text, "too_few_alpha_words") is None                     # 1.0 of whitespace words
    tokens = dataclasses.replace(only("too_few_alpha_words"), alpha_ratio_of="tokens")
    assert G.check(text, "en", tokens).rejection == Rejection(
        "gopher_quality.too_few_alpha_words", pytest.approx(7 / 11))
    with pytest.raises(ValueError, match="alpha_ratio_of"):
        G.Thresholds(alpha_ratio_of="spacy")


def test_too_few_stop_words():
    words = ["word"] * 48
    assert reject(doc("The", "and", *words), "too_few_stop_words") is None  # lowercased
    assert reject(doc("The", "end", *words), "too_few_stop_words") == Rejection(
        "gopher_quality.too_few_stop_words", 1)


def test_rule_order_first_failure_wins():
    r = G.check(doc(*["ab"] * 10), "en", TH)  # too few words, too short, no stop words
    assert r.rejection == Rejection("gopher_quality.too_few_words", 10)


def test_non_english_skips_stop_words():
    text = ("Das ist ein ganz normaler deutscher Text über das Wetter in Berlin. Heute scheint die Sonne, "
            "und viele Menschen gehen im Park spazieren oder sitzen in einem Café am Fluss. Morgen soll es "
            "regnen, deshalb bleiben die meisten Leute wahrscheinlich zu Hause und lesen ein gutes Buch. "
            "Am Abend treffen sie sich mit Freunden.")
    r = G.check(text, "de", TH)
    assert r.rejection is None and r.skipped == ["gopher_quality.too_few_stop_words"]
    assert G.check(text, "en", TH).rejection == Rejection("gopher_quality.too_few_stop_words", 0)


@pytest.mark.parametrize("text, lang", [(ZH_TEXT, "zh"), (ZH_TEXT, "und"), (JA_TEXT, "ja")])
def test_cjk_article_is_kept(text, lang):
    r = G.check(text, lang, TH)
    assert r.rejection is None
    assert r.signals["gopher_quality.n_words"] >= 50  # one word per character
    assert r.skipped == ["gopher_quality.mean_word_length_too_short",
                         "gopher_quality.mean_word_length_too_long", "gopher_quality.too_few_stop_words"]
