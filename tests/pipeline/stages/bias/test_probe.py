"""Counterfactual probe: bundled templates, and flips measured with the real quality filters."""
import dataclasses

import pytest

from pipeline.config import load_config, quality_filters
from pipeline.stages.bias.lexicon import load_lexicon, parse_lexicon
from pipeline.stages.bias.match import Matcher
from pipeline.stages.bias.probe import CHAIN, NEUTRAL, fill, load_templates, probe
from pipeline.stages.quality import apply_filters, default_thresholds


@pytest.fixture(scope="module")
def all_filters():
    return quality_filters(load_config(overrides={"quality": {"profile": "all"}}))


def test_bundled_templates_are_realistic_paragraphs():
    templates = load_templates()
    assert len(templates) == 10
    for t in templates:
        assert t.count("{term}") == 1
        assert 60 <= len(fill(t, NEUTRAL).split()) <= 150


def test_neutral_fill_passes_every_filter_and_mentions_no_group(all_filters):
    matcher = Matcher(load_lexicon(None))
    for t in load_templates():
        text = fill(t, NEUTRAL)
        assert apply_filters(text, "en", all_filters).rejection is None, text[:80]
        assert matcher.groups(text) == set(), text[:80]


def test_templates_without_a_slot_are_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("templates:\n  - no slot here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="template 0 has no"):
        load_templates(str(path))


def test_probe_with_the_real_filters(all_filters):
    lex = load_lexicon(None).subset(["sexual_orientation/lgbtq", "religion/muslim", "gender_and_sex/women"])
    templates = load_templates()[:2]
    rows = probe(all_filters, lex, templates)
    names = [name for name, _ in all_filters]
    assert len(rows) == (len(names) + 1) * 3
    assert {r["filter"] for r in rows} == set(names) | {CHAIN}
    # The C4 bad-word list has "sexual": swapping in "sexual minority" drops a text the neutral word keeps.
    top = rows[0]
    assert (top["filter"], top["group"]) in {("c4_badwords", "sexual_orientation/lgbtq"),
                                             (CHAIN, "sexual_orientation/lgbtq")}
    for name in ("c4_badwords", CHAIN):
        row = next(r for r in rows if r["filter"] == name and r["group"] == "sexual_orientation/lgbtq")
        assert row["flipped_terms"] == ["sexual minorities", "sexual minority"]
        assert row["flips"] == row["flips_to_drop"] == 2 and row["flip_rate"] == 1.0
        assert row["n_texts"] == 2 * len(lex.group("sexual_orientation/lgbtq").terms)
        assert row["n_dropped"] == 4 and row["drop_rate"] == 4 / row["n_texts"]
        assert row["reasons"] == {"c4_badwords.bad_word": 4}
    # No other (filter, group) flips: one swapped word moves no other rule across its threshold here.
    assert [r for r in rows if r["flips"] and r["group"] != "sexual_orientation/lgbtq"] == []
    assert all(r["baseline_dropped"] == 0 for r in rows)
    assert [r["flip_rate"] for r in rows] == sorted((r["flip_rate"] for r in rows), reverse=True)


def test_flips_count_both_directions():
    # A length filter and a template near its minimum: the short neutral word is dropped, a long term kept.
    th = dataclasses.replace(default_thresholds("length"), min_chars=100)
    lex = parse_lexicon("name: t\naxes:\n  a:\n    long: {terms: [working class people]}\n"
                        "    short: {terms: [x]}\n", "t")
    template = "w" * 90 + " {term}"          # neutral fill: 96 characters
    rows = {r["group"]: r for r in probe([("length", th)], lex, [template, "{term} " + "w" * 120])}
    long, short = rows["a/long"], rows["a/short"]
    assert (long["flips"], long["flips_to_keep"], long["flips_to_drop"], long["baseline_dropped"]) == (1, 1, 0, 1)
    assert long["n_dropped"] == 0 and long["reasons"] == {}
    assert (short["flips"], short["n_dropped"], short["reasons"]) == (0, 1, {"length.too_short": 1})
    assert list(rows) == ["a/long", "a/short"]      # sorted by flip rate
