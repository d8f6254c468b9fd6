"""Tests for pipeline.stages.quality.c4 (TFDS c4_utils.clean_page), incl. the c4_utils_test.py cases."""
import pytest

from pipeline.stages.quality import c4
from pipeline.stages.types import Rejection

TH = c4.Thresholds()
FILLER = "This line is a sentence of filler.\nHere is another sentence of filler.\n"  # 2 sentences


def counts(result):
    return result.line_counts


# --- TFDS c4_utils_test.py cases (counters renamed: lines-no-endmark -> c4.line.no_terminal_punct, ...) --

EN_TEXT = """This line has enough words and ends in punctuation, Dr. Roberts!
Economic History | All Institutions | Open Access Articles | Digital Commons Network
"Open Access. Powered by Scholars. Published by Universities."
Digital Commons Network™/ Social and Behavioral Sciences...
Too few words.
You need to enable javascript in your browser in order to see this page.
You have JavaScript disabled and that means you can't see this page.
Adam Roberts has a cookie policy: always eat them.
Colin has a privacy policy: don't share people's secrets.
You'd better follow our terms of use!
"""


def test_tfds_clean_page():
    r = c4.check(EN_TEXT, "en", TH)
    assert r.rejection is None
    assert r.text == ('This line has enough words and ends in punctuation, Dr. Roberts!\n'
                      '"Open Access. Powered by Scholars. Published by Universities."')
    assert counts(r) == {"c4.line.too_few_words": 1, "c4.line.no_terminal_punct": 2,
                         "c4.line.javascript": 2, "c4.line.policy": 3}
    assert r.signals["c4.n_sentences"] == 4  # punkt: 1 ("Dr." is an abbreviation) + 3


def test_tfds_too_few_sentences():
    text = ("This first line has one sentence.\n"
            "This line looks like it has three sentences...but it's actually just 1.")
    assert c4.check(text, "en", TH).rejection == Rejection("c4.too_few_sentences", 2)


def test_tfds_curly_bracket():
    text = ("This page starts out with some text.\n"
            "Everything looks good at first, since these are sentences.\n"
            "But then, all of a sudden, there's a bunch of code like the next block.\n"
            "fn foo(a) { bar = a + 10; }.")
    r = c4.check(text, "en", TH)
    assert r.rejection == Rejection("c4.curly_bracket") and r.line_counts == {}


def test_tfds_lorem_ipsum():
    text = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
            "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip.")
    assert c4.check(text, "en", TH).rejection == Rejection("c4.lorem_ipsum")


def test_tfds_citations():
    text = ("This page has some text.\n"
            "Some lines don't end with punctuation\n"
            "And some of these lines end with citations.[3]\n"
            "Or have requested citations[citation needed]. Or the option to edit.[edit]\n")
    r = c4.check(text, "en", TH)
    assert r.text == ("This page has some text.\nAnd some of these lines end with citations.\n"
                      "Or have requested citations. Or the option to edit.")
    assert counts(r) == {"c4.line.no_terminal_punct": 1}


def test_tfds_policy():
    text = ("This page has with some text. So, that's good!\n"
            "But at the end it has some polciy lines.\n"
            "This line mentions the Terms of Use.\n"
            "This line should be okay.\n"
            "The privacy policy is mentioned in this line.\n"
            "Let's talk about the Cookie Policy now.\n")
    r = c4.check(text, "en", TH)
    assert r.text == ("This page has with some text. So, that's good!\n"
                      "But at the end it has some polciy lines.\nThis line should be okay.")
    assert counts(r) == {"c4.line.policy": 3}


# --- each threshold: just inside, just outside ------------------------------------------------------

def test_min_words_per_line():
    r = c4.check(FILLER + "One two three four five.", "en", TH)
    assert r.text.endswith("One two three four five.") and counts(r) == {}
    r = c4.check(FILLER + "One two three four.\nAnd a third sentence is here.", "en", TH)
    assert "One two three four." not in r.text and counts(r) == {"c4.line.too_few_words": 1}


def test_min_sentences():
    r = c4.check(FILLER + "A third sentence makes three.", "en", TH)
    assert r.rejection is None and r.signals["c4.n_sentences"] == 3
    assert c4.check(FILLER, "en", TH).rejection == Rejection("c4.too_few_sentences", 2)


def test_max_word_length():
    ok = FILLER + "A long word " + "x" * 1000 + " is fine here."
    assert counts(c4.check(ok, "en", TH)) == {}
    bad = FILLER + "A long word " + "x" * 1001 + " is removed here.\nThird sentence is right here."
    assert counts(c4.check(bad, "en", TH)) == {"c4.line.too_long_word": 1}


def test_no_terminal_punct_and_ellipsis():
    text = FILLER + 'He said "this ends with a quote."\nThis one trails off into...\nNo end mark here at all'
    r = c4.check(text, "en", TH)
    assert r.text == FILLER.strip() + '\nHe said "this ends with a quote."'
    assert counts(r) == {"c4.line.no_terminal_punct": 2}


def test_curly_bracket_only_counts_on_surviving_lines():
    # As TFDS: the page rule is checked after the line rules, so a removed line cannot drop the page.
    text = FILLER + "function f() { return 1 }\nThe third sentence is here."
    r = c4.check(text, "en", TH)
    assert r.rejection is None and counts(r) == {"c4.line.no_terminal_punct": 1}


def test_disabled_rules():
    text = FILLER + "No end mark on this line at all"
    th = c4.Thresholds(disabled_rules=("no_terminal_punct",))
    r = c4.check(text, "en", th)
    assert r.text.endswith("No end mark on this line at all") and r.signals["c4.n_sentences"] == 3
    th = c4.Thresholds(disabled_rules=("too_few_sentences",))
    assert c4.check("Short page with one sentence.", "en", th).rejection is None


def test_unknown_disabled_rule():
    with pytest.raises(ValueError, match="unknown rule 'no_end_mark'"):
        c4.Thresholds(disabled_rules=("no_end_mark",))


def test_fineweb_settings_keep_unpunctuated_lines():
    th = c4.Thresholds(min_words_per_line=3, min_sentences=5, disabled_rules=("no_terminal_punct",))
    text = "A title line here\n" + FILLER + "Two more sentences. Here they are.\nTiny line"
    r = c4.check(text, "en", th)
    assert r.rejection is None and r.text.startswith("A title line here")
    assert counts(r) == {"c4.line.too_few_words": 1}


# --- other languages ---------------------------------------------------------------------------------

def test_german_closing_quote_ends_a_line():
    text = ("Das ist der erste Satz dieser Seite.\nUnd hier folgt der zweite Satz.\n"
            "Er sagte: „Das ist ein sehr schönes Haus.“")
    assert c4.check(text, "de", TH).signals["c4.n_sentences"] == 3
    assert c4.check(text, "en", TH).rejection == Rejection("c4.too_few_sentences", 2)  # TFDS end marks


ZH_TEXT = ("今天天气很好，我们一起去公园散步。\n公园里有很多人在锻炼身体，有的人在跑步。\n"
           "孩子们在草地上玩耍，笑声传得很远。\n菜单\n首页")


def test_chinese_lines_are_kept():
    r = c4.check(ZH_TEXT, "zh", TH)
    assert r.rejection is None and r.signals["c4.n_sentences"] == 3
    assert r.text == "\n".join(ZH_TEXT.splitlines()[:3])
    assert counts(r) == {"c4.line.no_terminal_punct": 2}


def test_chinese_paragraph_on_one_line_is_not_one_long_word():
    line = "我们走到湖边，看到几只鸭子在水里游来游去。" * 60  # 1260 characters, no spaces
    r = c4.check("\n".join([line] * 3), "zh", TH)
    assert r.rejection is None and "c4.line.too_long_word" not in r.line_counts
    assert r.signals["c4.n_sentences"] == 180


def test_thai_skips_terminal_punctuation():
    text = "ภาษาไทยเป็นภาษาที่สวยงาม\nเราเรียนภาษาไทยทุกวัน\nวันนี้อากาศดีมาก"
    r = c4.check(text, "th", TH)
    assert r.rejection is None and r.skipped == ["c4.no_terminal_punct"]
