"""Tests for pipeline.stages.quality (registry, profiles, thresholds, apply_filters, quality_score)."""
import dataclasses

import pytest

from pipeline.stages.quality import (FILTERS, PROFILES, QualityResult, apply_filters, default_thresholds,
                                     profile_filters, profile_thresholds, quality_score, thresholds_from_dict)
from pipeline.stages.types import Rejection

GOOD = ("The committee met on Monday to discuss the budget and the plans for next year.\n"
        "Members agreed that the library should have longer opening hours with more staff.\n"
        "They also voted to repair the roof of the town hall before the winter begins.\n"
        "A final report with all of the decisions will be published to residents next month.\n"
        "Residents can send their comments to the committee by letter or by email.\n")


def test_registry_order_and_module_api():
    assert list(FILTERS) == ["length", "boilerplate", "c4", "gopher_quality", "gopher_repetition", "fineweb",
                             "c4_badwords"]
    for name, module in FILTERS.items():
        assert module.NAME == name
        th = default_thresholds(name)
        assert dataclasses.is_dataclass(th) and th.__dataclass_params__.frozen
        assert isinstance(module.check(GOOD, "en", th), QualityResult)
        assert set(module.RULES) >= set(th.disabled_rules)


def test_profiles():
    assert PROFILES["c4"] == ["length", "c4", "c4_badwords"]
    assert PROFILES["gopher"] == ["length", "gopher_quality", "gopher_repetition"]
    assert PROFILES["fineweb"] == ["length", "gopher_repetition", "gopher_quality", "c4", "fineweb"]
    assert PROFILES["web"] == ["length", "boilerplate", "gopher_repetition", "gopher_quality", "c4", "fineweb"]
    assert PROFILES["all"] == list(FILTERS)
    web = dict(profile_filters("web"))
    assert web["c4"].disabled_rules == ("no_terminal_punct", "curly_bracket", "policy")
    assert web["fineweb"].max_char_dup_ratio == 0.30 and web["boilerplate"] == default_thresholds("boilerplate")
    c4_th = dict(profile_filters("fineweb"))["c4"]
    assert c4_th.disabled_rules == ("no_terminal_punct",)
    assert (c4_th.min_words_per_line, c4_th.min_sentences) == (3, 5)
    assert dict(profile_filters("c4"))["c4"] == default_thresholds("c4")


def test_profile_overrides_and_unknown_profile():
    chain = profile_filters("gopher", {"gopher_quality": {"min_words": 10}})
    assert dict(chain)["gopher_quality"].min_words == 10
    th = profile_thresholds("fineweb", "c4", {"min_sentences": 4})  # merged over the profile's overrides
    assert (th.min_sentences, th.min_words_per_line, th.disabled_rules) == (4, 3, ("no_terminal_punct",))
    with pytest.raises(ValueError, match="unknown profile 'c5'"):
        profile_filters("c5")


def test_thresholds_from_dict():
    th = thresholds_from_dict("c4", {"min_words_per_line": 3, "disabled_rules": ["policy"]})
    assert th.min_words_per_line == 3 and th.disabled_rules == ("policy",)
    assert thresholds_from_dict("fineweb", {"max_char_dup_ratio": 0}).max_char_dup_ratio == 0.0


def test_unknown_key_names_the_key():
    with pytest.raises(ValueError) as err:
        thresholds_from_dict("c4", {"min_wrods_per_line": 3})
    assert str(err.value) == "quality.c4: unknown key 'min_wrods_per_line'"


@pytest.mark.parametrize("name, d, message", [
    ("c4", {"min_words_per_line": "5"}, "quality.c4: key 'min_words_per_line' expects int"),
    ("c4", {"remove_citations": 1}, "quality.c4: key 'remove_citations' expects bool"),
    ("gopher_quality", {"min_words": True}, "quality.gopher_quality: key 'min_words' expects int"),
    ("c4", {"disabled_rules": ["no_end_mark"]}, "quality.c4: unknown rule 'no_end_mark'"),
    ("c5", {}, "quality: unknown filter 'c5'"),
])
def test_bad_config_fails_naming_the_key(name, d, message):
    with pytest.raises(ValueError, match=message):
        thresholds_from_dict(name, d)


def test_apply_filters_keeps_good_text():
    r = apply_filters(GOOD, "en", profile_filters("all"))
    assert r.rejection is None and r.text == GOOD.strip() and r.line_counts == {}
    assert {k.split(".")[0] for k in r.signals} == set(FILTERS)


def test_apply_filters_later_filters_see_cleaned_text():
    text = GOOD + "Home | About | Contact\n" * 3
    r = apply_filters(text, "en", [("c4", default_thresholds("c4")), ("fineweb", default_thresholds("fineweb"))])
    assert r.rejection is None and r.text == GOOD.strip()
    assert r.line_counts == {"c4.line.no_terminal_punct": 3}
    # fineweb alone would drop the navigation lines' duplicates
    alone = apply_filters(text, "en", [("fineweb", default_thresholds("fineweb"))])
    assert alone.rejection.reason == "fineweb.too_many_duplicate_line_chars"


def test_apply_filters_stops_at_first_rejection():
    text = "Too short."
    r = apply_filters(text, "en", profile_filters("gopher"))
    assert r.rejection == Rejection("length.too_short", 10)
    assert list(r.signals) == ["length.n_chars"]  # later filters did not run


def test_apply_filters_rejection_drops_line_counts():
    text = "Navigation menu\n" + GOOD
    chain = [("c4", default_thresholds("c4")),
             ("gopher_quality", thresholds_from_dict("gopher_quality", {"min_words": 1000}))]
    r = apply_filters(text, "en", chain)
    assert r.rejection.reason == "gopher_quality.too_few_words"
    assert r.line_counts == {} and r.text == GOOD.strip()  # the text the rejecting filter saw


def test_apply_filters_collects_skips():
    r = apply_filters("这是一个测试。" * 30, "zh", profile_filters("gopher"))
    assert "gopher_quality.too_few_stop_words" in r.skipped


def test_quality_score():
    assert quality_score({}, 0.9) == 0.9
    s = {"gopher_repetition.dup_5gram_char_frac": 0.1, "fineweb.char_dup_ratio": 0.5}
    assert quality_score(s, 0.8) == pytest.approx(0.4)
    assert quality_score(s, 2.0) == 0.5 and quality_score(s, -1.0) == 0.0
    clean = apply_filters(GOOD, "en", profile_filters("all")).signals
    assert 0.0 <= quality_score(clean, 0.95) <= 0.95
    assert quality_score(clean, 0.95) > quality_score({**clean, "fineweb.char_dup_ratio": 0.3}, 0.95)
