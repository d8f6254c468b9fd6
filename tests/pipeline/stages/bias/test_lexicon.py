"""Identity lexicons: the bundled YAML, the HolisticBias format, and load errors that name the place."""
import json
import pickle
from pathlib import Path

import pytest

from pipeline.stages.bias.lexicon import fold, load_lexicon, parse_lexicon, term_key

HOLISTIC = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "bias_holistic_bias" / "descriptors.json"

AXES = ["gender_and_sex", "sexual_orientation", "race_ethnicity", "religion", "nationality", "disability", "age",
        "socioeconomic_class"]


def holistic_path() -> str:
    if not HOLISTIC.exists():
        pytest.skip(f"shared data not found: {HOLISTIC} (needs the ../shared checkout)")
    return str(HOLISTIC)


def test_bundled_lexicon_has_the_eight_axes_and_readable_ids():
    lex = load_lexicon(None)
    assert lex.name == "winnow-identity" and lex.languages == ("en",)
    assert lex.axes == AXES
    assert len(lex.ids) == len(set(lex.ids)) >= 100
    assert lex.n_terms >= 500
    for gid in ("sexual_orientation/gay", "sexual_orientation/lesbian", "religion/sikh", "race_ethnicity/asian",
                "gender_and_sex/nonbinary", "disability/wheelchair_user", "socioeconomic_class/working_class",
                "nationality/nigerian", "age/older_adult"):
        assert lex.group(gid).terms, gid
    assert "working class" in lex.group("socioeconomic_class/working_class").terms


def test_ambiguous_words_sit_in_marked_groups_apart_from_their_precise_forms():
    lex = load_lexicon(None)
    ambiguous = {g.id for g in lex.groups if g.ambiguous}
    assert {"race_ethnicity/black_ambiguous", "race_ethnicity/white_ambiguous",
            "sexual_orientation/straight_ambiguous"} <= ambiguous
    assert lex.group("race_ethnicity/black_ambiguous").terms == ("black", "blacks")
    assert not lex.group("race_ethnicity/black").ambiguous
    assert "black women" in lex.group("race_ethnicity/black").terms
    assert "heterosexual" in lex.group("sexual_orientation/straight").terms
    assert all(g.note for g in lex.groups if g.ambiguous), "every ambiguous group says why"


def test_bundled_terms_have_no_slurs_from_the_bad_word_list():
    # Slurs are left out on purpose (README): the bad-word filter's job is a separate question.
    from pipeline.stages.quality.c4_badwords import load_words
    bad = {term_key(w) for w in load_words("en")}
    lex = load_lexicon(None)
    assert not [t for g in lex.groups for t in g.terms if term_key(t) in bad]


def test_fold_and_term_key():
    assert fold("  Working\u00a0Class\n FAMILIES ") == "working class families"
    assert fold("Women\u2019s") == "women's"
    assert fold("Ma\u0304ori") == "māori"          # NFD input is composed first
    assert term_key("Non-Binary") == term_key("non  binary") == "non binary"


def test_lexicon_pickles_and_subsets():
    lex = load_lexicon(None)
    assert pickle.loads(pickle.dumps(lex)) == lex
    sub = lex.subset(["religion/muslim", "age/teen"])
    assert sub.ids == ["religion/muslim", "age/teen"] and sub.exclusions == lex.exclusions
    with pytest.raises(AssertionError, match="unknown groups"):
        lex.subset(["religion/pastafarian"])


def _yaml(axes: str, top: str = "") -> str:
    return f"name: t\n{top}axes:\n{axes}"


@pytest.mark.parametrize("text, message", [
    (_yaml("  religion:\n    muslim: {terms: [muslim], colour: red}\n"), "religion/muslim: unknown key 'colour'"),
    (_yaml("  religion:\n    Muslim: {terms: [muslim]}\n"), "lower_snake"),
    (_yaml("  religion:\n    muslim: {terms: []}\n"), "non-empty list"),
    (_yaml("  religion:\n    muslim: {terms: ['--']}\n"), "no letters or digits"),
    (_yaml("  gender:\n    nb: {terms: [Non-Binary, non binary]}\n"), "duplicates 'Non-Binary'"),
    (_yaml("  religion:\n    a: {terms: [jewish]}\n    b: {terms: [Jewish]}\n"), "also in religion/a"),
    (_yaml("  religion:\n    a: {terms: [x], ambiguous: maybe}\n"), "true or false"),
    (_yaml("  religion:\n    a: {terms: [x]}\n", "colour: red\n"), "unknown key 'colour'"),
    (_yaml("  religion:\n    a: {terms: [x]}\n", "languages: en\n"), "languages"),
    ("[1, 2]", "neither a Winnow lexicon"),
    ("{not json", "not JSON or YAML"),
])
def test_bad_lexicon_files_fail_naming_the_place(text, message):
    with pytest.raises(ValueError, match=message):
        parse_lexicon(text, "my.yaml")


def test_same_term_in_two_axes_is_allowed():
    lex = parse_lexicon(_yaml("  a:\n    g: {terms: [queer]}\n  b:\n    g: {terms: [queer]}\n"), "t")
    assert lex.ids == ["a/g", "b/g"]


def test_axis_level_exclusions_are_kept_per_axis(tmp_path):
    path = tmp_path / "lex.yaml"
    path.write_text(_yaml("  nationality:\n    indian: {terms: [indian]}\n    exclusions: [american indian]\n",
                          "exclusions: [indian ocean]\n"), encoding="utf-8")
    lex = load_lexicon(str(path))
    assert lex.exclusions == (("", "indian ocean"), ("nationality", "american indian"))
    assert lex.ids == ["nationality/indian"]


def test_holistic_bias_format_inline(tmp_path):
    data = {"race_ethnicity": {"latinx": ["Latin", {"descriptor": "Latina", "gender": "female"}],
                               "combined": [{"descriptor": "BIPOC", "preference": "reviewed"}]},
            "religion": {"all": ["Sikh", "Jehovah's Witness", "Seventh-Day Adventist"]}}
    path = tmp_path / "descriptors.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    lex = load_lexicon(str(path))
    assert lex.name == "holistic_bias"
    # One group per bucket; an axis whose only bucket is "all" gets one group per descriptor.
    assert lex.ids == ["race_ethnicity/latinx", "race_ethnicity/combined", "religion/sikh",
                       "religion/jehovah_s_witness", "religion/seventh_day_adventist"]
    assert lex.group("race_ethnicity/latinx").terms == ("Latin", "Latina")
    assert not any(g.ambiguous for g in lex.groups)


def test_holistic_bias_descriptors_json_loads_as_external_lexicon():
    lex = load_lexicon(holistic_path())
    assert len(lex.axes) == 13
    assert {"ability", "body_type", "nonce", "political_ideologies"} <= set(lex.axes)
    assert lex.n_terms == sum(len(g.terms) for g in lex.groups) > 550
    assert "Deaf" in lex.group("ability/auditory").terms                   # {"descriptor": "Deaf", ...}
    assert {"Latina", "Latino", "Hispanic"} <= set(lex.group("race_ethnicity/latinx").terms)
    assert lex.group("religion/sikh").terms == ("Sikh",)
    assert lex.group("sexual_orientation/gay").terms
