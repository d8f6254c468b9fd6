"""Tests for pipeline.stages.quality.words (word split and script checks)."""
from pipeline.stages.quality import words as W


def test_split_words_latin():
    assert W.split_words("Hello, don't stop... well-known #tags 3.14") == [
        "Hello", ",", "don't", "stop", "...", "well-known", "#", "tags", "3", ".", "14"]


def test_split_words_cjk_one_token_per_character():
    assert W.split_words("我们在iPhone上，说日本語だ。") == [
        "我", "们", "在", "iPhone", "上", "，", "说", "日", "本", "語", "だ", "。"]


def test_split_words_keeps_combining_marks_in_words():
    # Devanagari vowel signs are Unicode marks, which a plain \w+ would split off.
    assert W.split_words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert W.split_words("café naïve") == ["café", "naïve"]


def test_n_words_ignores_punctuation():
    assert W.n_words(W.split_words("Hi, you... 好。")) == 3


def test_spaceless_script_by_language_and_by_text():
    assert W.spaceless_script("anything", "zh-Hans") == "cjk"
    assert W.spaceless_script("anything", "th") == "sea"
    assert W.spaceless_script("这是一个中文句子，没有空格。", "und") == "cjk"
    assert W.spaceless_script("ภาษาไทยไม่มีช่องว่างระหว่างคำ", "und") == "sea"
    assert W.spaceless_script("English with one 字.", "und") is None
    assert W.is_spaceless("日本語の文章です。", "xx")
    assert not W.is_spaceless("Deutsch", "de")


def test_terminal_punct_english_is_the_reference():
    assert W.terminal_punct((".",), "en") == (".",)
    assert "。" in W.terminal_punct((".",), "zh") and "।" in W.terminal_punct((".",), "hi")
