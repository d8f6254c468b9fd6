"""Tests for pipeline.stages.quality.fineweb: each rule just inside and just outside (FineWeb drops at
equality for the first three rules)."""
from pipeline.stages.quality import fineweb as F
from pipeline.stages.types import Rejection

TH = F.Thresholds()


def only(rule: str, **kw) -> F.Thresholds:
    return F.Thresholds(disabled_rules=tuple(r for r in F.RULES if r != rule), **kw)


def reject(text, rule, lang="en", **kw):
    return F.check(text, lang, only(rule, **kw)).rejection


def lines(n_punct: int, n_plain: int) -> str:
    return "\n".join([f"Sentence number {i} ends here." for i in range(n_punct)]
                     + [f"Line number {i} has no end mark" for i in range(n_plain)])


def test_too_few_punct_lines():
    assert reject(lines(4, 21), "too_few_punct_lines") is None  # 4 / 25 = 0.16
    assert reject(lines(3, 22), "too_few_punct_lines") == Rejection("fineweb.too_few_punct_lines", 0.12)


def test_line_punct_exclude_zero():
    assert reject(lines(0, 10), "too_few_punct_lines") == Rejection("fineweb.too_few_punct_lines", 0.0)
    assert reject(lines(0, 10), "too_few_punct_lines", line_punct_exclude_zero=True) is None


def test_too_many_short_lines():
    short, long_ = "x" * 30, "y" * 31
    text = "\n".join([f"{short[:-3]}{i:03d}" for i in range(66)] + [f"{long_}{i}" for i in range(34)])
    assert reject(text, "too_many_short_lines") is None  # 66 / 100
    text = "\n".join([f"{short[:-3]}{i:03d}" for i in range(67)] + [f"{long_}{i}" for i in range(33)])
    assert reject(text, "too_many_short_lines") == Rejection("fineweb.too_many_short_lines", 0.67)


def test_too_many_duplicate_line_chars():
    # duplicated characters / characters without newlines: 10 / 1001 inside, 10 / 1000 outside.
    dup = "d" * 10
    assert reject("\n".join([dup, dup, "u" * 981]), "too_many_duplicate_line_chars") is None
    assert reject("\n".join([dup, dup, "u" * 980]), "too_many_duplicate_line_chars") == Rejection(
        "fineweb.too_many_duplicate_line_chars", 0.01)


def test_blank_lines_are_not_duplicates():
    assert F.check("a line.\n\n\nanother line.", "en", TH).signals["fineweb.char_dup_ratio"] == 0.0


def test_too_many_newlines():
    # newlines / tokens (punctuation included): 3 / 10 inside, 4 / 10 outside.
    assert reject("one two\nthree four\nfive six\nseven eight nine .", "too_many_newlines") is None
    assert reject("one two\nthree four\nfive six\nseven\neight nine .", "too_many_newlines") == Rejection(
        "fineweb.too_many_newlines", 0.4)


def test_chinese_full_stops_count_as_punctuation():
    text = "\n".join(["今天天气很好，我们一起去公园散步。", "公园里有很多人在锻炼身体！", "孩子们在草地上玩耍，笑声传得很远。"])
    r = F.check(text, "zh", TH)
    assert r.rejection is None and r.signals["fineweb.line_punct_ratio"] == 1.0
    assert r.skipped == ["fineweb.too_many_short_lines"]  # every line is <= 30 characters
    assert F.check(text, "en", TH).rejection == Rejection("fineweb.too_few_punct_lines", 0.0)


def test_thai_skips_punctuation_rule():
    text = "ภาษาไทยเป็นภาษาที่สวยงามมากและมีประวัติศาสตร์ยาวนาน\nเราเรียนภาษาไทยทุกวันที่โรงเรียนใกล้บ้าน"
    r = F.check(text, "th", TH)
    assert r.rejection is None and r.skipped == ["fineweb.too_few_punct_lines"]
