"""Matcher: whole-word, case-insensitive, multi-word identity matching with the overlap rules."""
import pickle
from pathlib import Path

import pytest

from pipeline.stages.bias.lexicon import load_lexicon, parse_lexicon
from pipeline.stages.bias.match import Matcher, variants

HOLISTIC = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "bias_holistic_bias" / "descriptors.json"


@pytest.fixture(scope="module")
def m() -> Matcher:
    return Matcher(load_lexicon(None))


@pytest.mark.parametrize("text, expected", [
    ("The mosque opened its doors to Muslim and Jewish neighbours after the fire.",
     {"religion/muslim", "religion/jewish"}),
    ("She wrote about growing up working class in Leeds.", {"socioeconomic_class/working_class"}),
    ("Working-class voters and middle class families", {"socioeconomic_class/working_class",
                                                        "socioeconomic_class/middle_class"}),
    ("A support line for gay, lesbian and bisexual teens.", {"sexual_orientation/gay", "sexual_orientation/lesbian",
                                                             "sexual_orientation/bisexual", "age/teen"}),
    ("The clinic serves wheelchair users and people who are hard of hearing.",
     {"disability/wheelchair_user", "disability/deaf"}),
    ("Nigerian and Filipino nurses staff the night shift.", {"nationality/nigerian", "nationality/filipino"}),
    ("Benefits for older adults living in poverty", {"age/older_adult", "socioeconomic_class/poor"}),
])
def test_realistic_mentions(m, text, expected):
    assert m.groups(text) == expected


@pytest.mark.parametrize("text", [
    "The Eurasian steppe",                        # contains "asian"
    "Our managers manage a humane workflow.",     # "man" inside words
    "Mr Gaylord chaired the meeting.",            # "gay" inside a name
    "Transatlantic flights and transmission lines",
    "Write it on the blackboard or the whiteboard.",
    "The romantic comedy was about an arabesque.",  # "roman", "arab" inside words
    "Fifteen teenagersaurus",                     # "teen" only inside longer words
    "gay2 and 2gay are usernames",                # digits count as word characters
    "He met the president at the White House on Black Friday.",   # exclusions
    "Her complaint fell on deaf ears.",
    "The poor quality of the recording",
])
def test_hard_negatives_match_nothing(m, text):
    assert m.groups(text) == set()


def test_caucasian_is_white_not_asian(m):
    assert m.groups("Caucasian and Asian participants") == {"race_ethnicity/white", "race_ethnicity/asian"}


def test_woman_does_not_count_as_man(m):
    assert m.counts("A woman and two women") == {"gender_and_sex/women": 2}


@pytest.mark.parametrize("text", ["MUSLIM", "Muslim", "mUsLiM", "muslim"])
def test_case_insensitive(m, text):
    assert m.groups(f"{text} families") == {"religion/muslim"}


@pytest.mark.parametrize("text", [
    "(gay)", "gay-friendly bars", "\u201cgay\u201d", "gay_rights", "gay.", "gay/lesbian", "#gay", "gay's",
])
def test_punctuation_is_a_boundary(m, text):
    assert "sexual_orientation/gay" in m.groups(text)


@pytest.mark.parametrize("text", [
    "working class", "Working Class", "working-class", "working\u00a0class", "working \n  class",
])
def test_multi_word_terms_match_across_spaces_and_hyphens(m, text):
    assert m.groups(text) == {"socioeconomic_class/working_class"}


def test_multi_word_terms_do_not_match_across_punctuation(m):
    assert m.groups("working, class") == set()
    assert m.groups("black. women") == {"race_ethnicity/black_ambiguous", "gender_and_sex/women"}


def test_unicode(m):
    assert m.groups("Māori and Sámi artists") == {"race_ethnicity/indigenous"}
    assert m.groups("Ma\u0304ori artists") == {"race_ethnicity/indigenous"}            # NFD input
    assert m.groups("women\u2019s football") == {"gender_and_sex/women"}
    assert m.groups("WOMEN\u2019S football") == {"gender_and_sex/women"}
    assert m.groups("gay中国") == set()                                               # CJK letters are letters
    assert m.groups("Über lesbisch") == set()
    assert m.groups("Straße, then STRASSE") == set()                                  # casefold changes length


def test_longer_hit_of_the_same_axis_hides_the_shorter(m):
    # "black" inside "black women" is not also counted as the ambiguous colour word; "women" still counts.
    assert m.counts("Black women founded the group.") == {"race_ethnicity/black": 1, "gender_and_sex/women": 1}
    assert m.counts("A black cat") == {"race_ethnicity/black_ambiguous": 1}
    assert m.counts("gay men") == {"sexual_orientation/gay": 1, "gender_and_sex/men": 1}
    # Different axes both count: Asian American is an ethnicity and a nationality mention.
    assert m.groups("Asian American artists") == {"race_ethnicity/asian", "nationality/american"}


def test_axis_level_exclusion_hides_only_that_axis(m):
    assert m.groups("American Indian tribes") == {"race_ethnicity/indigenous"}
    assert m.groups("Indian cooking") == {"nationality/indian"}


def test_counts_every_mention(m):
    text = "Muslims and Muslim women; muslim."
    assert m.counts(text) == {"religion/muslim": 3, "gender_and_sex/women": 1}
    assert m.groups(text) == set(m.counts(text))
    assert m.counts("") == {} and m.groups("   ") == set()


def test_overlapping_hits_of_one_group_count_once():
    lex = parse_lexicon("name: t\naxes:\n  x:\n    g: {terms: [a b, b c]}\n    h: {terms: [c d]}\n", "t")
    matcher = Matcher(lex)
    # "a b" and "b c" overlap and are one group: one mention; "c d" is another group of the axis: it counts.
    assert matcher.counts("a b c d") == {"x/g": 1, "x/h": 1}
    assert matcher.counts("a b, b c") == {"x/g": 2}


def test_variants():
    assert variants("hard of hearing") == ["hard of hearing", "hard of-hearing", "hard-of hearing",
                                           "hard-of-hearing"]
    assert variants("Non-Binary") == ["non binary", "non-binary"]
    assert variants("a b c d e f") == ["a b c d e f", "a-b-c-d-e-f"]


def test_matcher_pickles_without_the_automaton(m):
    text = "Deaf and autistic students joined the Sikh youth group."
    expected = m.groups(text)
    blob = pickle.dumps(m)
    clone = pickle.loads(blob)
    assert clone._automaton is None
    assert clone.groups(text) == expected == {"disability/deaf", "disability/autistic", "religion/sikh",
                                              "age/young_adult"}
    assert len(blob) < 100_000


def test_holistic_bias_lexicon_matches():
    if not HOLISTIC.exists():
        pytest.skip(f"shared data not found: {HOLISTIC} (needs the ../shared checkout)")
    matcher = Matcher(load_lexicon(str(HOLISTIC)))
    groups = matcher.groups("As a Latina who is hard-of-hearing, I joined the Sikh temple choir.")
    assert {"race_ethnicity/latinx", "ability/auditory", "religion/sikh"} <= groups
    # "Asian-American" is one descriptor; its "American" is inside it on no other axis.
    assert matcher.groups("Asian-American") >= {"race_ethnicity/asian"}
    assert matcher.groups("Caucasian") == {"race_ethnicity/white"}
