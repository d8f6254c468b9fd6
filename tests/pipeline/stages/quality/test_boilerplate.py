"""Tests for pipeline.stages.quality.boilerplate (line rules, density classifier, web profile; the real pages are
in test_real_data.py)."""
import pytest

from pipeline.stages.quality import apply_filters, boilerplate, profile_filters
from pipeline.stages.quality.boilerplate import Thresholds, check, label_lines

TH = Thresholds()

PARA = ("The committee met on Monday to discuss the budget and the plans for the next year, and the members "
        "agreed that the library should have longer opening hours with more staff on the weekends and in the "
        "school holidays.")
PARA2 = ("They also voted to repair the roof of the town hall before the winter begins, because the rain has "
         "already damaged some of the old paintings that are kept in the main room of the building and in the "
         "hall.")
PARA_DE = ("Der Ausschuss hat sich am Montag getroffen, um über den Haushalt und die Pläne für das nächste "
           "Jahr zu sprechen, und die Mitglieder waren sich einig, dass die Bibliothek in den Ferien länger offen "
           "sein soll.")


def test_paragraphs_are_good():
    for para in (PARA, PARA2, PARA_DE):
        lang = "de" if para is PARA_DE else "en"
        assert len(para) >= TH.min_good_length
        assert boilerplate.classify(para, boilerplate.tokens(para), boilerplate.BW.STOP_WORDS[lang], TH) == "good"


def rule_of(line: str, lang: str = "en") -> str | None:
    """The structural rule that removes `line` when it stands between two good paragraphs (few_words, C4's
    words-per-line rule, is tested on its own below)."""
    return label_lines([PARA, line, PARA2], lang, TH, {"few_words"})[1]


@pytest.mark.parametrize("line, rule", [
    ("|", "separator"), ("* * *", "separator"), ("»", "separator"),
    ("Skip to content", "navigation"), ("Log in", "navigation"), ("Startseite", "navigation"),
    ("← Previous post", "navigation"),
    ("Home | News | Sport | Contact", "link_list"), ("Comics / demographics / economics / happy mutants",
                                                     "link_list"),
    ("Start » Aktuelles » Pressemitteilungen", "link_list"),
    ("© 2020 Example Ltd. All rights reserved.", "legal"), ("Alle Rechte vorbehalten", "legal"),
    ("We use cookies to give you the best experience on our website.", "legal"),
    ("Privacy Policy", "legal"),
    ("Sign up for our newsletter and get the best stories in your inbox.", "call_to_action"),
    ("Jetzt den Newsletter abonnieren", "call_to_action"),
    ("Share on Facebook", "share"), ("Tweet", "share"), ("Diesen Beitrag teilen", "share"),
    ("Posted on March 3, 2020 by Jane Doe", "byline"), ("By Jane Doe | March 3, 2020", "byline"),
    ("Veröffentlicht am 11.04.2012 von Max Muster", "byline"), ("Jul 3, 2019, 4:22am EDT", "byline"),
    ("3. März 2020", "byline"), ("4 Min Read", "byline"), ("Estimated reading time: 6 minutes", "byline"),
    ("Photo by Jane Doe on Unsplash", "credit"), ("Foto: dpa", "credit"), ("Getty Images", "credit"),
    ("Alex Wong/Getty Images", "credit"), ("Image credit: www.example.com", "credit"),
    ("Follow The Gazette on Twitter and Instagram @gazette", "call_to_action"),
    ("Enter your email address to receive notifications of new posts.", "call_to_action"),
    ("We may earn an affiliate commission when you buy through links on our site.", "call_to_action"),
    ("Copyright 2020 Town Gazette", "legal"), ("Copyright Policy", "legal"),
    ("Some rights reserved", "legal"),
])
def test_structural_rule_removes(line, rule):
    assert rule_of(line) == rule


@pytest.mark.parametrize("line", [
    "}", "return {'a': 1};", "Home is where the heart is.", "Share the cake with your friends",
    "Bake the cookies for twelve minutes until they are golden.",
    "Salt | pepper",  # two items are not a list
    "By the end of 2020 the bridge will be finished and open to all traffic coming from the north side.",
    "The council will publish the minutes of the meeting on March 3, 2020 for everyone to read.",
    # "copyright" as the topic, "affiliates" and "donated" are not notices; a credit is not a sentence
    "The museum provides free copyright licenses so that teachers can share and reuse the photographs.",
    "The club and its affiliates donated two hundred books to the school library last spring.",
    "Residents can send their comments to the committee by letter or by email.",
    "The photos were taken by Reuters.",
])
def test_structural_rules_keep(line):
    assert rule_of(line) is None


def test_call_to_action_spares_long_prose():
    long = ("Many readers told us that they subscribe to several newspapers at once, and the survey shows "
            "that most of them read the local paper first in the morning, before they open any national "
            "title, because the local news decides how their day will go in the town and at school.")
    assert rule_of(long) is None


def test_low_density_removes_menu_and_keeps_heading_between_paragraphs():
    lines = ["News", "Sport", "Weather", "Travel", "Log in", PARA, "Budget plans", PARA2, "Most read", "Cats",
             "Dogs"]
    labels = label_lines(lines, "en", TH, set())
    assert labels == ["low_density"] * 4 + ["navigation", None, None, None] + ["low_density"] * 3


def test_short_line_just_before_a_paragraph_is_its_heading():
    # jusText max_heading_distance: a short line within 200 characters before a good paragraph stays
    labels = label_lines(["Menu", "Budget plans", PARA, PARA2], "en", TH, {"few_words"})
    assert labels == ["navigation", None, None, None]
    # a two-word heading with no kept line before it is C4's short line (few_words), as c4 removed it before
    assert label_lines(["Menu", "Budget plans", PARA, PARA2], "en", TH, set())[1] == "few_words"
    assert label_lines(["Menu", "Town budget plans", PARA, PARA2], "en", TH, set())[1] is None


def test_lead_sentence_under_a_byline_is_kept():
    lines = ["Menu", "World", "Storm closes the harbour", "By Jane Doe", "Share",
             "The harbour was closed on Monday after the storm damaged two of the piers.", PARA, PARA2]
    labels = label_lines(lines, "en", TH, set())
    assert labels[3:5] == ["byline", "share"] and labels[5:] == [None, None, None]


def test_hard_wrapped_prose_and_code_survive():
    text = ("Return the index where to insert item x in list a, assuming a is\nsorted. The return value is "
            "such that all of the elements in the list\nbefore it are smaller, and all of the others are at "
            "least as large as\nthe item that is inserted.\n\nbisect_left(a, x, lo=0, hi=None)\n"
            "if (x < y) {\n    return a;\n}\n\n" + PARA)
    r = check(text, "en", Thresholds(disabled_rules=("few_words",)))
    assert r.rejection is None and r.text == text and r.line_counts == {}
    # the one-word code line "}" is C4's short line (few_words; in the web profile c4 removed it before)
    assert check(text, "en", TH).line_counts == {"boilerplate.line.few_words": 1}


def test_german_page():
    text = "\n".join(["Startseite", "Aktuelles", "Kontakt", PARA_DE, PARA_DE.replace("Montag", "Dienstag"),
                      "Impressum | Datenschutz | Kontakt"])
    r = check(text, "de", TH)
    assert r.rejection is None
    assert r.text == "\n".join(text.split("\n")[3:5])
    # "Impressum | Datenschutz | Kontakt" is all menu words; "Aktuelles" sits in the menu run
    assert r.line_counts == {"boilerplate.line.navigation": 3, "boilerplate.line.low_density": 1}


def test_language_without_stop_words_skips_low_density():
    text = "\n".join(["Главная", "Новости", PARA.replace("the", "это") * 2])
    r = check(text, "ru", Thresholds(disabled_rules=("few_words",)))
    assert r.skipped == ["boilerplate.low_density"] and "Главная" in r.text
    # C4's words-per-line rule (few_words) needs no word list: the one-word menu entries go
    assert check(text, "ru", TH).line_counts == {"boilerplate.line.few_words": 2}


def test_no_main_text_and_disabled_rules():
    text = "Home\nAbout us\nContact\n© 2020 Example\nThis page has moved."
    r = check(text, "en", TH)
    assert r.rejection.reason == "boilerplate.no_main_text" and r.rejection.value == 0.0
    assert check(text, "en", Thresholds(disabled_rules=("no_main_text",))).rejection is None
    r = check(f"{PARA}\nTweet\n{PARA2}", "en", Thresholds(disabled_rules=("share",)))
    assert "Tweet" in r.text
    with pytest.raises(ValueError, match="unknown rule 'menu'"):
        Thresholds(disabled_rules=("menu",))


ARTICLE = "\n".join([
    "Skip to content", "Home", "News", "Sport", "Weather", "Log in", "Town hall roof to be repaired",
    "Posted on March 3, 2020 by Jane Doe", "Share on Facebook", "Tweet",
    PARA, PARA2,
    "Residents can send their comments to the committee by letter or by email until the end of the month, "
    "and the committee will answer every letter it receives before the next meeting in April. Letters can "
    "be left at the town hall.",
    "A final report with all of the decisions will be published for the residents next month, together with "
    "the budget for the year and the list of the repairs that the town has planned for the summer.",
    "Related stories", "Library hours extended", "New bus line opens",
    "Home | About | Contact | Privacy", "© 2020 Town Gazette. All rights reserved.",
])


def test_web_profile_cleans_an_article_that_fineweb_keeps_with_its_boilerplate():
    r = apply_filters(ARTICLE, "en", profile_filters("fineweb"))
    assert r.rejection is None and "Skip to content" in r.text and "Posted on March 3, 2020" in r.text
    r = apply_filters(ARTICLE, "en", profile_filters("web"))
    assert r.rejection is None
    assert r.text.startswith(PARA)  # the title, cut off from the text by the byline, goes too
    assert "Skip to content" not in r.text and "Related stories" not in r.text and "©" not in r.text
    assert {"boilerplate.line.navigation", "boilerplate.line.byline", "boilerplate.line.share",
            "boilerplate.line.link_list", "boilerplate.line.legal"} <= set(r.line_counts)


def test_web_profile_keeps_technical_documentation():
    para3 = ("The second function works in the same way, but it takes the diameter of the circle instead of "
             "its radius, which is what most of the users of the old version of this library have asked for.")
    doc = "\n".join([PARA, "Example:", "", "def area(r):", "    return {'r': r, 'area': 3.14 * r * r}", "",
                      PARA2, "Parameters", "r: the radius.", "Returns", "A dict.", "", para3, "Parameters",
                      "d: the diameter.", "Returns", "A dict.", "", ARTICLE.split("\n")[12]])
    assert apply_filters(doc, "en", profile_filters("fineweb")).rejection is not None  # "{" (c4.curly_bracket)
    r = apply_filters(doc, "en", profile_filters("web"))
    # boilerplate's few_words (C4's 3 words a line, with context) drops the two-word code line; the one- and
    # two-word headings between kept lines ("Parameters", "Returns", "A dict.") stay
    assert r.rejection is None and "return {'r': r, 'area': 3.14 * r * r}" in r.text
    assert "def area(r):" not in r.text and "Parameters\nr: the radius.\nReturns\nA dict." in r.text
    assert boilerplate.check(doc, "en", Thresholds(disabled_rules=("few_words",))).text == doc


BIO = ("Jane Doe has written for the paper since 2010, and before that she was a teacher at one of the schools "
       "in the town, where she taught history and English to the children of the valley for more than ten years.")


def test_off_main_block_after_the_article_goes():
    lines = [PARA, PARA2] * 3 + ["Share on Facebook", "Tweet", "Email", "About the author", BIO]
    labels = label_lines(lines, "en", TH, set())
    assert labels[:6] == [None] * 6 and labels[-2:] == ["off_main", "off_main"]
    assert label_lines(lines, "en", TH, {"off_main"})[-2:] == ["teaser", "teaser"]
    labels = label_lines(lines[:-2] + ["Jane Doe", BIO], "en", TH, set())
    assert labels[-1] == "off_main"
    assert label_lines(lines[:-2] + ["Jane Doe", BIO], "en", TH, {"off_main"})[-1] is None


def test_teaser_heading_cuts_to_the_end_unless_the_article_goes_on():
    lines = [PARA, PARA2, "Related articles", "Library hours extended", BIO]
    assert label_lines(lines, "en", TH, set())[2:] == ["teaser"] * 3
    lines = [PARA, "Mehr zum Thema:", "Library hours extended", PARA2, PARA, PARA2]
    assert label_lines(lines, "en", TH, {"off_main"}) == [None, "teaser", "teaser", None, None, None]
    assert boilerplate.teaser_heading("Comments (12)", TH) and boilerplate.teaser_heading("12 Kommentare", TH)
    assert not boilerplate.teaser_heading("Related work shows that the library is used more.", TH)


def test_short_lines_inside_the_article_and_sentences_at_its_edges_stay():
    lines = [PARA, "1 cup flour", "2 eggs", "a pinch of salt", PARA2, "Update: we added a photo."]
    assert label_lines(lines, "en", TH, set()) == [None] * 6
    assert label_lines(lines, "en", TH, {"low_density"}) == [None] * 6


def test_repeated_blocks_of_short_lines_go_single_repeats_stay():
    block = ["Methods inherited from Base:", "close(self)", "open(self)"]
    lines = [PARA, *block, PARA2, *block, PARA, "Returns", PARA2, "Returns", PARA]
    labels = label_lines(lines, "en", TH, {"few_words"})
    assert labels[5:8] == ["repeated"] * 3 and labels[1:4] == [None] * 3 and labels[11] is None


def test_few_words_keeps_headings_inside_the_text_only():
    # C4's rule (< 3 words a line) with context: a run of <= max_inner_short_run short lines between kept
    # lines stays; short lines at the edges, code lines and longer runs go
    lines = ["Menu item", PARA, "The takeaway", PARA2, "Step one", "Step two", "Step three", PARA, "}", PARA2,
             "Cats", "Dogs"]
    labels = label_lines(lines, "en", TH, {"low_density"})
    assert labels == ["few_words", None, None, None] + ["few_words"] * 3 + [None, "few_words", None] \
        + ["few_words"] * 2
    assert label_lines(lines, "en", Thresholds(min_line_words=0), {"low_density"}) == [None] * len(lines)
    assert label_lines(lines, "en", TH, {"low_density", "few_words"}) == [None] * len(lines)


def test_few_words_keeps_the_end_of_a_hard_wrapped_sentence():
    lines = ["The committee met on Monday to discuss the budget and the plans for the",
             "next year.", "Cats"]
    assert label_lines(lines, "en", TH, {"low_density", "no_main_text"}) == [None, None, "few_words"]


def test_list_introduced_by_a_sentence_ending_with_a_colon_stays():
    items = ["set-option -g mouse on", "Laura Frank, Director of Engineering", "Rachel White, Developer Lead"]
    labels = label_lines([PARA, PARA2 + " Read about:", *items, "Share", "Tweet"], "en", TH, set())
    assert labels == [None, None, None, None, None, "share", "share"]
    labels = label_lines([PARA, PARA2, *items, "Share", "Tweet"], "en", TH, set())  # no colon: no list
    assert labels[2:5] == ["low_density"] * 3
    assert label_lines([PARA, PARA2 + " Read about:", *items], "en", Thresholds(max_list_run=0), set())[2:] == \
        ["low_density"] * 3


def test_numbered_list_goes_on_from_a_kept_item():
    lines = [PARA, PARA2 + " Here is the whole list:"] + [f"{n}. Singer Number{n}" for n in range(1, 15)] + ["Tweet"]
    labels = label_lines(lines, "en", TH, set())
    assert labels[:-1] == [None] * (len(lines) - 1) and labels[-1] == "share"


def test_teaser_cut_ends_where_the_article_goes_on_in_short_paragraphs():
    short = ["The harbour was closed on Monday after the storm damaged two of the piers.",
             "The boats were moved to the next town, where the harbour is deeper and safer.",
             "The council will decide on the repairs at its next meeting in the town hall.",
             "Until then the fishermen will have to use the small harbour in the next bay."]
    lines = [PARA, PARA2, "Related", "Library hours extended", *short]
    assert label_lines(lines, "en", TH, {"off_main"})[2:] == ["teaser", "teaser"] + [None] * 4
    assert label_lines(lines, "en", Thresholds(min_prose_run=0), {"off_main"})[2:] == ["teaser"] * 6


def test_invisible_format_characters_do_not_hide_the_full_stop():
    lines = ["Remove the tofu and drain it on paper towels.\u2063", "Add the noodles and the seasoning.\u2063",
             "Stir fry for two minutes to mix the noodles well.\u2063",
             "Serve hot with chilies if you like them, and some lime on the side.\u2063",
             "Wash the wok while it is still warm, so that the oil comes off more easily.\u2063"]
    r = check("\n".join(lines), "en", Thresholds(min_main_words=10))
    assert r.rejection is None and r.text == "\n".join(lines)


def test_an_image_credit_does_not_split_the_text():
    # the credit goes, and the context rules see it as a blank line: the caption and the short lines around
    # it stay with the article
    lines = [PARA, "A prototype of the new bus.", "Photo: Jane Doe", "Members met in the town hall.", PARA2]
    assert label_lines(lines, "en", TH, set()) == [None, None, "credit", None, None]


def test_a_notice_page_keeps_its_sentences():
    # a page whose title is a legal notice is that notice: its sentences stay, short notice lines go
    policy = ["This privacy policy has been compiled to better serve those who are concerned with how their "
              "personal information is being used online, and what we do with it.",
              "If at any time you would like to unsubscribe from receiving future emails, you can write to us.",
              PARA, PARA2, "Privacy Policy"]
    labels = label_lines(["Privacy Policy: Town Gazette", *policy], "en", TH, set())
    assert labels[1:] == [None, None, None, None, "legal"]
    labels = label_lines(["Town Gazette", *policy], "en", TH, set())
    assert labels[1:3] == ["legal", "call_to_action"]


def test_standfirst_above_the_byline_stays(monkeypatch):
    lines = ["Menu", "Harbour to close for repairs",
             "The harbour will close for two months after the storm damaged two of the old piers",
             "By", "Jane Doe", "March 3, 2020", "Share", "Tweet", "Email", PARA, PARA2]
    labels = label_lines(lines, "en", TH, set())
    assert labels[2] is None and labels[:2] == ["navigation", "low_density"] and labels[-2:] == [None, None]
    monkeypatch.setattr(boilerplate, "standfirst", lambda *a: None)
    assert label_lines(lines, "en", TH, set())[2] == "low_density"


STORY = ["HARBOUR – Two of the old piers were damaged in the storm on Monday night, the council said on Tuesday.",
         "The piers, built in 1902, had been repaired only last year after the spring floods.",
         "Four of the twelve boats in the harbour were lost. Each boat had a crew of three, who were all on land.",
         "A fisherman noticed on Tuesday morning that the boats were missing and called the coast guard.",
         "The damage is “serious” although the town has enough money for the repairs, an official said."]
RELATED = ["RELATED STORIES", "Do piers need new steel? It depends",
           "Storm damage sends timber and steel prices soaring across coastal region",
           "Fishermen move their boats to the next town", "Town gets creative as repairs go on"]
LAST = "The storm hit at a time when the town is already short of money after the floods of the spring."
FOOTER = ["Twitter", "Facebook", "LinkedIn", "Mail the editor", "Error Report", "Republishing"]


def test_the_article_goes_on_after_an_inserted_related_block(monkeypatch):
    lines = ["Home", PARA, *STORY, *RELATED, LAST, *FOOTER]
    labels = label_lines(lines, "en", TH, set())
    n = 2 + len(STORY)
    assert labels[n:n + 5] == ["low_density"] * 5 and labels[n + 5] is None and labels[n + 6] == "share"
    # teasers that alternate a title and a blurb stay removed
    lines = ["Home", PARA, *STORY, *RELATED[:2], LAST, RELATED[2], LAST.replace("spring", "winter"), *FOOTER]
    assert None not in label_lines(lines, "en", TH, set())[n:]
    monkeypatch.setattr(boilerplate, "resumed", lambda *a: None)
    assert label_lines(["Home", PARA, *STORY, *RELATED, LAST, *FOOTER], "en", TH, set())[n + 5] == "low_density"


def test_module_names():
    assert boilerplate.NAME == "boilerplate"
    assert set(boilerplate.LINE_RULES) <= set(boilerplate.RULES)
