"""Tests for pipeline.stages.quality.length."""
from pipeline.stages.quality import length
from pipeline.stages.types import Rejection

TH = length.Thresholds()


def test_min_chars_inside_and_outside():
    kept = length.check("a" * 100, "en", TH)
    assert kept.rejection is None and kept.signals == {"length.n_chars": 100.0}
    assert length.check("a" * 99, "en", TH).rejection == Rejection("length.too_short", 99)


def test_whitespace_does_not_count():
    assert length.check("  \n" + "a" * 99 + "\n\n", "en", TH).rejection == Rejection("length.too_short", 99)
    assert length.check("", "en", TH).rejection == Rejection("length.too_short", 0)


def test_max_chars_inside_and_outside():
    assert length.check("a" * 190_000, "en", TH).rejection is None
    assert length.check("a" * 190_001, "en", TH).rejection == Rejection("length.too_long", 190_001)


def test_cjk_counts_characters():
    text = "今天天气很好，我们一起去公园散步。" * 6  # 102 characters
    assert length.check(text, "zh", TH).rejection is None


def test_disabled_rule():
    th = length.Thresholds(disabled_rules=("too_short",))
    assert length.check("", "en", th).rejection is None
