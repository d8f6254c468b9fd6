"""Boilerplate line removal for WET-like text (one block a line): menus, link lists, legal notices, share
bars, bylines, image credits (`credit`: the other rules see such a line as blank), then jusText's
stopword-density classifier with context (Pomikálek 2011, "Removing Boilerplate and Duplicate Content from Web
Corpora", ch. 3; github.com/miso-belica/jusText core.py).
Structural rules use language-neutral cues plus the small lists of boilerplate_words.py (en/de/fr/es/it/pl).
Then structure: short runs between good lines and sentences at their edges stay (inner_runs, edges); blocks
with little good text away from the main block go (`off_main`), as does a section opened by a teaser heading
("Related", "Comments", "Mehr zum Thema": `teaser`) and a repeated block of short lines (`repeated`).
Lists stay with the text: what a sentence ending with ":" introduces (lists), a numbered list going on from a
kept item (numbered). A standfirst just above the byline stays (standfirst), as does the article's last
sentence after an inserted "Related stories" block (resumed); a page whose title is a legal notice ("Privacy
Policy") keeps its sentences. Last, C4's words-per-line rule with context (`few_words`): headings inside the
text stay.
Invisible format characters (U+2063 ...) are ignored by every rule. Rejects a page with too little left
(`boilerplate.no_main_text`). Removed lines: `boilerplate.line.<rule>`.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from pipeline.stages.quality import boilerplate_words as BW
from pipeline.stages.quality import words as W
from pipeline.stages.quality.base import QualityResult, check_rule_names
from pipeline.stages.types import Rejection

NAME = "boilerplate"
LINE_RULES = ("separator", "navigation", "link_list", "legal", "call_to_action", "share", "byline", "credit",
              "repeated", "low_density", "off_main", "teaser", "few_words")
PAGE_RULES = ("no_main_text",)
RULES = LINE_RULES + PAGE_RULES


@dataclass(frozen=True)
class Thresholds:
    # Winnow default: menu, share and byline entries are at most a few words ("Skip to content", "Share on
    # Facebook", "Posted on 3 March 2020 by Jane Doe"); longer lines are left to low_density.
    max_nav_words: int = 5
    max_byline_words: int = 12
    # Winnow default: a link list has >= 3 items of <= 4 words on average ("Home | News | Contact").
    min_link_list_items: int = 3
    max_link_list_item_words: float = 4.0
    # Winnow default: cookie banners and footers are under ~80 words; a longer paragraph is main text.
    max_legal_words: int = 80
    # Winnow default: a call to action is a sentence or two ("Sign up for our newsletter to get ...");
    # at 80 words, 3 paragraphs of main text on the trafilatura pages went (bench/bench_web_quality.py).
    max_call_to_action_words: int = 40
    # jusText length_low=70, length_high=200 (characters): below 70 a line is "short" and its neighbours
    # decide; from 200 on, a line dense in stop words is "good".
    short_line_length: int = 70
    min_good_length: int = 200
    # jusText stopwords_low=0.30 / stopwords_high=0.32 are for its long lists; ours are ~100 words, so
    # lower. Winnow default from bench/bench_web_quality.py on the English trafilatura pages (main-text
    # snippets kept / boilerplate snippets removed): 0.18/0.24 -> 90.6%/76.0%, 0.22/0.28 -> 89.8%/76.8%,
    # 0.26/0.32 -> 86.6%/78.7%.
    min_stopword_density: float = 0.22
    min_good_stopword_density: float = 0.28
    # jusText max_heading_distance=200: a short line this close (in characters) before a good line is a
    # heading of it and counts as near-good.
    max_heading_distance: int = 200
    # Winnow default: a short line that is a sentence (>= this many words, ends with . ! ?, dense in stop
    # words) counts as near-good, not short (lead sentences, captions).
    min_sentence_words: int = 5
    # Winnow default: with fewer words left the page has no main text (Gopher App. A needs 50 words, so
    # such a page would not pass gopher_quality either; this names why).
    min_main_words: int = 50
    # Winnow defaults from bench/bench_web_quality.py (web profile, main-text kept / boilerplate removed on
    # the English trafilatura pages, both id halves checked). A run of >= min_gap_lines removed lines
    # splits the kept text into blocks; a block with less than min_block_share of the best block's good
    # characters is off_main (gap 2/3/5 -> 87.5/83.2, 88.6/82.7, 87.9/81.9; share 0.15/0.3/0.5 ->
    # 89.1/80.3, 88.6/82.7, 86.1/84.6), unless it comes before the best block and holds
    # min_block_good_run good lines in a row (an article split by an ad: +2.7 main, -1.5 boilerplate).
    min_gap_lines: int = 3
    min_block_share: float = 0.3
    min_block_good_run: int = 2
    # Winnow default: up to this many lines only low_density removed, between two kept good lines, stay
    # (code, ingredients, table rows; 0/3/8/20 -> 88.6/82.7, 89.0/82.5, 89.9/82.2, 89.5/82.2).
    max_inner_run: int = 8
    # Winnow default: a sentence of at least this many words next to a kept good line stays (+0.4 main).
    min_edge_words: int = 4
    # Winnow default: min_repeated_run repeated kept lines shorter than max_repeated_length in a row are
    # a template block (stdlib pydoc pages kept 82% -> 92%, web numbers unchanged).
    max_repeated_length: int = 70
    min_repeated_run: int = 3
    # C4 (Raffel et al. 2020, sec. 2.2; datatrove C4QualityFilter): a line with fewer than min_line_words
    # words goes (`few_words`), but here with context: a run of at most max_inner_short_run such lines with
    # kept lines on both sides stays (a heading, a label or a one-word code line inside the text), and so
    # does the continuation of a hard-wrapped sentence. 0 switches the rule off.
    min_line_words: int = 3
    max_inner_short_run: int = 2
    # Winnow default: a cut teaser section also ends at min_prose_run kept prose lines in a row (the
    # article going on in paragraphs under 200 characters).
    min_prose_run: int = 3
    # Winnow default: up to this many lines only low_density removed, directly after a kept sentence that
    # ends with ":" (>= min_edge_words words), are the list, code or table it introduces.
    max_list_run: int = 8
    disabled_rules: tuple[str, ...] = ()

    def __post_init__(self):
        check_rule_names(NAME, self.disabled_rules, RULES)


_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SEPARATORS_RE = re.compile(r"\s[|»›·•/>–—]\s|\s?[|»›·•]\s?")
_MONTHS = ("jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|"
           "august|september|october|november|december|januar|jänner|februar|märz|mai|juni|juli|oktober|"
           "dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
           "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
           "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|stycznia|lutego|marca|"
           "kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia")
_DATE_RE = re.compile(rf"\b(\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
                      rf"({_MONTHS})\.?\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{4}}|"
                      rf"\d{{1,2}}(\.|st|nd|rd|th)?\s+(de\s+)?({_MONTHS})\.?,?\s+(de\s+)?\d{{4}})\b", re.I)
_CODE_MARKS = frozenset("(){}[];<>")
# Invisible format characters (soft hyphen, zero-width space/joiners, word joiner, invisible separators, BOM):
# the rules see lines without them, so "Drain the noodles.\u2063" ends with its full stop.
_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200d\u2060-\u2064\ufeff]")
_SENTENCE_END = (".", "!", "?", ":", '"', "”", "…")
_CODE_RE = re.compile(r"[{};]\s*$|^\s*(>>>|\$ |#include|def |class |import |from \S+ import|return\b)|"
                      r"\w\([^)]*\)|[=<>!]=|->|::")


def tokens(line: str) -> list[str]:
    return _WORD_RE.findall(line.lower())


# --- structural line rules: True means "remove this line" ---------------------------------------------

def separator(line: str) -> bool:
    """A line of only separator or bullet marks ("|", "* * *", "»", "----"); brackets and ";" stay (code)."""
    return not any(c.isalnum() or c in _CODE_MARKS for c in line)


def navigation(words: list[str], th: Thresholds) -> bool:
    return 0 < len(words) <= th.max_nav_words and all(w in BW.NAV_WORDS for w in words)


def link_list(line: str, th: Thresholds) -> bool:
    items = [i for i in _SEPARATORS_RE.split(line) if i.strip()]
    if len(items) < th.min_link_list_items:
        return False
    return sum(len(i.split()) for i in items) / len(items) <= th.max_link_list_item_words


_NOTICE_RE = re.compile(r"\b(19|20)\d\d\b|©|\(c\)|\brights\b|\breserved\b")


def legal(line: str, words: list[str], th: Thresholds) -> bool:
    if len(words) > th.max_legal_words:
        return False
    low = line.lower()
    if any(p in low for p in BW.LEGAL_PHRASES):
        return True
    # "copyright" alone is a topic ("free copyright licenses"); a notice has a year, a mark or few words
    if "copyright" in low and (len(words) <= 8 or _NOTICE_RE.search(low)):
        return True
    return "cookie" in low and any(c in low for c in BW.COOKIE_CONTEXT)


_FOLLOW_RE = re.compile(r"\bfollow (us|me|the [\w.]+|@?[\w.]+) on (twitter|facebook|instagram|linkedin|youtube)\b",
                        re.I)


def call_to_action(line: str, words: list[str], th: Thresholds) -> bool:
    if len(words) > th.max_call_to_action_words:
        return False
    low = line.lower()
    return (any(p in low for p in BW.CALL_TO_ACTION_PHRASES) or not BW.CALL_TO_ACTION_WORDS.isdisjoint(words)
            or _FOLLOW_RE.search(low) is not None)


_SHARE_FILLER = frozenset("this on via the it us article story post page link auf mit per diesen "
                          "beitrag artikel seite plus".split())


def share(words: list[str], th: Thresholds) -> bool:
    return (0 < len(words) <= th.max_nav_words + 1 and all(w in BW.SHARE_WORDS for w in words)
            and not all(w in _SHARE_FILLER for w in words))


_READING_TIME_RE = re.compile(
    r"((estimated )?reading time:?\s*)?\d+\s*(min|mins|minutes?)\.?( read| reading time)?$", re.I)


def credit(line: str, words: list[str], th: Thresholds) -> bool:
    """An image credit: a short line starting "Photo by", "Image:", "Foto:" ... or ending with a picture
    agency ("Getty Images", "/ Reuters"); a sentence ending with "." is not a credit."""
    if not words or len(words) > th.max_byline_words:
        return False
    low = line.strip().lower()
    return low.startswith(BW.CREDIT_STARTS) or low.rstrip(")").endswith(BW.CREDIT_ENDS)


def byline(line: str, words: list[str], th: Thresholds) -> bool:
    if len(words) > th.max_byline_words:
        return False
    date = _DATE_RE.search(line)
    if line.lower().startswith(BW.BYLINE_STARTS) and (date or len(words) <= 6):
        return True
    if _READING_TIME_RE.match(line.strip()):
        return True
    # a bare date: nothing but the date, a time, a weekday or a few filler words around it
    return date is not None and len(tokens(_DATE_RE.sub(" ", line))) <= 2


def repeated(lines: list[str], labels: list[str | None], th: Thresholds) -> None:
    """A run of >= min_repeated_run kept short lines (< max_repeated_length characters) each kept before on
    the page is a repeated template block (a menu printed twice, pydoc's "Methods inherited from ..."
    blocks); single repeated lines ("Parameters", "Returns") stay."""
    seen, run = set(), []
    for i, ln in enumerate(lines + ["\0end"]):
        key = ln.strip(" |\t")
        if not key:
            continue
        if i < len(lines) and labels[i]:
            continue
        if i < len(lines) and key in seen and len(key) < th.max_repeated_length:
            run.append(i)
            continue
        if len(run) >= th.min_repeated_run:
            for j in run:
                labels[j] = "repeated"
        run = []
        seen.add(key)


# --- jusText density classifier with context -------------------------------------------------------------

def headline(line: str, words: list[str]) -> bool:
    """Title Case without an end mark ("Inside the White House, Doubts About War Begin"): a heading or a
    teaser link, which its neighbours classify."""
    if len(words) < 3 or line.endswith(_SENTENCE_END):
        return False
    return sum(w[0].isupper() for w in line.split() if w[0].isalpha()) >= 0.6 * len(words)


def stop_density(words: list[str], stop: frozenset[str]) -> float:
    """The share of `words` that are stop words (jusText's cue for prose)."""
    return sum(w in stop for w in words) / max(len(words), 1)


def classify(line: str, words: list[str], stop: frozenset[str], th: Thresholds) -> str:
    """jusText's initial class: short | good | neargood | bad. Code-like lines are short (context decides),
    so code between prose paragraphs stays."""
    if _CODE_RE.search(line) or headline(line, words):
        return "short"
    density = stop_density(words, stop)
    if len(line) < th.short_line_length:
        sentence = (len(words) >= th.min_sentence_words and line.endswith(_SENTENCE_END)
                    and density >= th.min_stopword_density)
        return "neargood" if sentence else "short"
    if density >= th.min_good_stopword_density and len(line) >= th.min_good_length:
        return "good"
    return "neargood" if density >= th.min_stopword_density else "bad"


def _neighbours(classes: list[str], skip: set[str]) -> tuple[list[str], list[str]]:
    """For each index, the class of the nearest line before / after it whose class is not in `skip`;
    "bad" at the edges (jusText)."""
    prev, nxt, last = [], [None] * len(classes), "bad"
    for c in classes:
        prev.append(last)
        last = c if c not in skip else last
    last = "bad"
    for i in range(len(classes) - 1, -1, -1):
        nxt[i] = last
        last = classes[i] if classes[i] not in skip else last
    return prev, nxt


def join_runs(lines: list[str], classes: list[str], th: Thresholds) -> list[str]:
    """Consecutive near-good lines (blank lines between them allowed) that together reach min_good_length
    characters are good: articles written one sentence a paragraph, and hard-wrapped prose."""
    out, run = list(classes), []
    for i, c in enumerate(classes + ["bad"]):
        if c in ("neargood", "good"):
            run.append(i)
        elif c == "short" and i < len(lines) and not lines[i].strip():
            continue
        else:
            if len(run) >= 2 and sum(len(lines[j]) for j in run) >= th.min_good_length:
                for j in run:
                    out[j] = "good"
            run = []
    return out


def mark_headings(lines: list[str], classes: list[str], th: Thresholds) -> list[str]:
    """jusText: a short line within max_heading_distance characters before a good line becomes near-good."""
    out, distance = list(classes), None  # characters from the end of this line to the next good line
    for i in range(len(lines) - 1, -1, -1):
        if classes[i] == "good":
            distance = 0
        elif distance is not None:
            if classes[i] in ("bad", "removed"):
                distance = None
            elif classes[i] == "short" and lines[i].strip() and distance <= th.max_heading_distance:
                out[i] = "neargood"
            if distance is not None:
                distance += len(lines[i])
    return out


def revise(classes: list[str]) -> list[str]:
    """jusText's context-sensitive pass: short lines, then near-good lines, take their neighbours' class.
    Lines a structural rule removed ("removed") are bad neighbours of short lines, but a near-good line
    looks past them (a lead paragraph under a byline and a share bar belongs to the article)."""
    removed = [i for i, c in enumerate(classes) if c == "removed"]
    classes = ["bad" if c == "removed" else c
               for c in classes]
    prev, nxt = _neighbours(classes, {"short", "neargood"})
    prev_ng, nxt_ng = _neighbours(classes, {"short"})
    out = list(classes)
    for i, c in enumerate(classes):
        if c != "short":
            continue
        pair = {prev[i], nxt[i]}
        if pair == {"good"}:
            out[i] = "good"
        elif pair == {"bad"}:
            out[i] = "bad"
        else:  # one good, one bad: good only if the bad side has a near-good line in between
            near = (prev[i] == "bad" and prev_ng[i] == "neargood") or (nxt[i] == "bad" and nxt_ng[i] == "neargood")
            out[i] = "good" if near else "bad"
    for i in removed:
        out[i] = "removed"
    prev, nxt = _neighbours(out, {"short", "neargood", "removed"})
    for i, c in enumerate(out):
        if c == "neargood":
            out[i] = "bad" if prev[i] == nxt[i] == "bad" else "good"
    return out


def no_main_text(n_words: int, th: Thresholds) -> Rejection | None:
    return Rejection(f"{NAME}.no_main_text", float(n_words)) if n_words < th.min_main_words else None


def _structural_rule(line: str, words: list[str], th: Thresholds, off: set[str],
                     notice_page: bool = False) -> str | None:
    if "separator" not in off and separator(line):
        return "separator"
    notice = not notice_page or len(words) < th.min_sentence_words
    if notice and "legal" not in off and legal(line, words, th):
        return "legal"
    if notice and "call_to_action" not in off and call_to_action(line, words, th):
        return "call_to_action"
    if "navigation" not in off and navigation(words, th):
        return "navigation"
    if "share" not in off and share(words, th):
        return "share"
    if "byline" not in off and byline(line, words, th):
        return "byline"
    if "credit" not in off and credit(line, words, th):
        return "credit"
    if "link_list" not in off and link_list(line, th):
        return "link_list"
    return None


def wrapped(line: str, next_line: str) -> bool:
    """True when `next_line` continues the sentence of `line` (hard-wrapped text: docs, e-mail, pydoc):
    `line` has no end mark and `next_line` starts lowercase (after a pydoc "|" bar)."""
    nxt = next_line.lstrip("| ")
    return bool(line) and bool(nxt) and nxt[0].islower() and not line.endswith(_SENTENCE_END)


def _units(lines: list[str], labels: list[str | None]) -> list[tuple[int, int]]:
    """(start, end) line ranges: a hard-wrapped paragraph is one unit, any other line is its own."""
    units, start = [], 0
    for i in range(len(lines)):
        last = i + 1 == len(lines) or labels[i] or labels[i + 1] or not wrapped(lines[i], lines[i + 1])
        if last:
            units.append((start, i + 1))
            start = i + 1
    return units


def label_lines(lines: list[str], lang: str, th: Thresholds, off: set[str]) -> list[str | None]:
    """The rule that removes each line, or None to keep it. Structural rules first; the density classifier
    then classifies each unit (a line, or a hard-wrapped paragraph) and revises classes by context."""
    stop = BW.STOP_WORDS.get(W.base_lang(lang))
    lines = [_INVISIBLE_RE.sub("", ln) for ln in lines]
    # a page whose title (first line) is a legal notice ("Privacy Policy", "Terms of Use") is that notice:
    # its sentences are the text, and only short notice lines (menus, footers) go as legal or call_to_action
    title = next((ln for ln in lines if ln.strip()), "")
    notice_page = any(p in title.lower() for p in BW.LEGAL_PHRASES)
    labels = [_structural_rule(ln, tokens(ln), th, off, notice_page) if ln.strip() else None for ln in lines]
    # an image credit is not part of the text's flow: the context rules see it as a blank line
    credits = [i for i, rule in enumerate(labels) if rule == "credit"]
    for i in credits:
        lines[i], labels[i] = "", None
    labels = _label_flow(lines, labels, lang, stop, th, off)
    for i in credits:
        labels[i] = "credit"
    return labels


def _label_flow(lines, labels, lang, stop, th, off) -> list[str | None]:
    if stop is None or "low_density" in off:
        if "repeated" not in off:
            repeated(lines, labels, th)
        if "few_words" not in off:
            few_words(lines, labels, lang, th)
        return labels
    classes = ["removed" if rule else "short" for rule in labels]
    for start, end in _units(lines, labels):
        if labels[start] is None and lines[start].strip():
            unit = " ".join(ln.lstrip("| ") for ln in lines[start:end])
            classes[start:end] = [classify(unit, tokens(unit), stop, th)] * (end - start)
    final = revise(mark_headings(lines, join_runs(lines, classes, th), th))
    for i, c in enumerate(final):
        if c == "bad" and labels[i] is None and lines[i].strip():
            labels[i] = "low_density"
    inner_runs(lines, labels, final, th)
    lists(lines, labels, final, th)
    numbered(lines, labels)
    main_region(lines, labels, final, th, off)
    edges(lines, labels, final, th)
    standfirst(lines, labels, final, stop, th)
    if "teaser" not in off:
        teasers(lines, labels, final, classes, th)
        resumed(lines, labels, final, stop, th)
    if "repeated" not in off:
        repeated(lines, labels, th)
    if "few_words" not in off:
        few_words(lines, labels, lang, th)
    return labels


def _n_words(line: str, spaceless: bool) -> int:
    """Words as C4 counts them (whitespace-separated; characters and words for spaceless scripts)."""
    return W.n_words(W.split_words(line)) if spaceless else len(line.split())


def few_words(lines, labels, lang, th) -> None:
    """C4's words-per-line rule with context: a kept line of fewer than min_line_words words goes, unless it
    continues a hard-wrapped sentence of the kept line before it, or it is in a run of at most
    max_inner_short_run such lines between two kept lines (a heading, a label or a short code line inside
    the text: "Conclusion", "The takeaway", "}")."""
    if th.min_line_words <= 0:
        return
    spaceless = W.is_spaceless("\n".join(lines[:50]), lang)
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    short, code = [], []
    for k, i in enumerate(idx):
        prev = idx[k - 1] if k else None
        cont = prev is not None and labels[prev] is None and wrapped(lines[prev].rstrip(), lines[i])
        short.append(labels[i] is None and not cont and _n_words(lines[i].strip(), spaceless) < th.min_line_words)
        code.append(bool(_CODE_RE.search(lines[i])))
    k = 0
    while k < len(idx):
        if not short[k]:
            k += 1
            continue
        j = k
        while j < len(idx) and short[j]:
            j += 1
        inside = 0 < k and j < len(idx) and labels[idx[k - 1]] is None and labels[idx[j]] is None
        if not inside or j - k > th.max_inner_short_run or any(code[k:j]):
            for m in idx[k:j]:
                labels[m] = "few_words"
        k = j


_ITEM_NUMBER_RE = re.compile(r"\s*(\d{1,3})[.)]\s")


def numbered(lines, labels) -> None:
    """A numbered list is one block: items numbered on from a kept item ("1. ...", "2. ...", one a line)
    that only low_density removed stay (a top-100 list longer than any run rule allows)."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    expect = None
    for i in idx:
        m = _ITEM_NUMBER_RE.match(lines[i])
        n = int(m.group(1)) if m else None
        if n is not None and n == expect and labels[i] in (None, "low_density"):
            labels[i] = None
        elif n is None or labels[i] is not None:
            expect = None
            continue
        expect = n + 1


def lists(lines, labels, final, th) -> None:
    """A kept sentence ending with ":" (>= min_edge_words words) introduces what follows: up to
    max_list_run lines after it that are kept or only low_density removed (list items, code, a table)
    stay, up to the first line another rule removed."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    for k, i in enumerate(idx):
        line = lines[i].rstrip()
        if labels[i] is not None or final[i] != "good" or not line.endswith(":"):
            continue
        if len(tokens(line)) < th.min_edge_words:
            continue
        for j in idx[k + 1:k + 1 + th.max_list_run]:
            if labels[j] not in (None, "low_density"):
                break
            labels[j] = None


_COUNT_RE = re.compile(r"[\d\s()\[\]:»›>+-]+")


def teaser_heading(line: str, th: Thresholds) -> bool:
    """A short heading that opens a related-links, author or comments section ("Related", "Comments (12)",
    "12 Comments", "Mehr zum Thema")."""
    key = _COUNT_RE.sub(" ", line.lower()).strip()
    return (0 < len(key.split()) <= th.max_nav_words + 1 and not line.rstrip().endswith((".", "!", "?"))
            and key.startswith(BW.TEASER_HEADINGS))


def _prose_run(lines, idx: list[int], k: int, labels, final, classes, n: int) -> bool:
    """True when the n non-blank lines from idx[k] on are all kept prose: classified good or near-good and
    ending with a sentence mark (teaser titles have none)."""
    run = idx[k:k + n]
    return len(run) == n and all(labels[j] is None and final[j] == "good" and classes[j] in ("good", "neargood")
                                 and lines[j].rstrip().endswith((".", "!", "?", '"', "”")) for j in run)


def teasers(lines, labels, final, classes, th) -> None:
    """After the main text has begun, a teaser heading removes what follows up to the article going on (a
    kept good line of min_good_length characters followed by another kept good line, or min_prose_run kept
    prose lines in a row: teasers alternate titles and blurbs), or to the end."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    started, cut = False, False
    for k, i in enumerate(idx):
        if cut and labels[i] is None and final[i] == "good" and len(lines[i]) >= th.min_good_length:
            nxt = next((j for j in idx[k + 1:] if labels[j] is None), None)
            if nxt is not None and final[nxt] == "good":
                cut = False
        if cut and th.min_prose_run > 0 and _prose_run(lines, idx, k, labels, final, classes, th.min_prose_run):
            cut = False
        if not cut and started and teaser_heading(lines[i], th):
            cut = True
        if cut and labels[i] is None:
            labels[i] = "teaser"
        started = started or (labels[i] is None and final[i] == "good")


def edges(lines, labels, final, th) -> None:
    """A sentence (>= min_edge_words words, ends with . ! ?) that only low_density removed, directly before
    or after a kept good line, ends or starts that text (a closing remark, an update note, a lead)."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    keep = []
    for k, i in enumerate(idx):
        if labels[i] != "low_density" or not lines[i].rstrip().endswith((".", "!", "?")):
            continue
        if len(tokens(lines[i])) < th.min_edge_words:
            continue
        near = [idx[m] for m in (k - 1, k + 1) if 0 <= m < len(idx)]
        if any(labels[j] is None and final[j] == "good" for j in near):
            keep.append(i)
    for i in keep:
        labels[i] = None


def _byline_like(line: str, label: str | None) -> bool:
    low = line.strip().lower()
    return label == "byline" or low == "by" or (low.startswith("by ") and len(low.split()) <= 6)


def standfirst(lines, labels, final, stop, th) -> None:
    """The article's standfirst (deck): the byline block nearest before the first kept good line (byline
    lines, "By", names and other lines of <= 3 words) has up to 3 lines above it; among them, a sentence of
    >= 2 * min_sentence_words words, dense in stop words, not a Title Case headline, not repeated on the page,
    that only low_density removed, stays."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    first = next((k for k, i in enumerate(idx) if labels[i] is None and final[i] == "good"), None)
    if not first:
        return
    last = next((k for k in range(first - 1, -1, -1) if _byline_like(lines[idx[k]], labels[idx[k]])), None)
    if last is None:
        return
    top = last
    while top > 0 and (_byline_like(lines[idx[top - 1]], labels[idx[top - 1]])
                       or len(lines[idx[top - 1]].split()) <= 3):
        top -= 1
    counts = Counter(lines[i].strip() for i in idx)
    for j in idx[max(0, top - 3):top]:
        words = tokens(lines[j])
        if (labels[j] == "low_density" and len(words) >= 2 * th.min_sentence_words
                and counts[lines[j].strip()] == 1 and not headline(lines[j].strip(), words)
                and stop_density(words, stop) >= th.min_stopword_density):
            labels[j] = None


def resumed(lines, labels, final, stop, th) -> None:
    """The article going on after an inserted related-links block ("Related stories" and 4 titles, then the
    article's last sentence): a sentence of >= 2 * min_sentence_words words, ending . ! ?, dense in stop
    words, that only low_density removed, right after a teaser heading and at least 2 titles (removed lines
    without an end mark, 5 lines at most) that follow a kept good line. Teasers that alternate a title and a
    blurb stay removed (one title before each blurb)."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    for k, i in enumerate(idx):
        line = lines[i].strip()
        if labels[i] != "low_density" or not line.endswith((".", "!", "?")):
            continue
        words = tokens(line)
        if (len(words) < 2 * th.min_sentence_words
                or stop_density(words, stop) < th.min_good_stopword_density):
            continue
        m = k - 1
        while (m >= 0 and k - m <= 5 and labels[idx[m]] == "low_density"
               and not lines[idx[m]].rstrip().endswith(_SENTENCE_END)):
            m -= 1
        if (0 <= m < k - 3 and teaser_heading(lines[idx[m + 1]], th) and labels[idx[m]] is None
                and final[idx[m]] == "good"):
            labels[i] = None


def inner_runs(lines, labels, final, th) -> None:
    """A run of at most max_inner_run lines that only low_density removed, between two good lines, is part
    of the text (code samples, list items, table rows inside an article)."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    k = 0
    while k < len(idx):
        i = idx[k]
        if labels[i] != "low_density":
            k += 1
            continue
        j = k
        while j < len(idx) and labels[idx[j]] == "low_density":
            j += 1
        if (0 < k and j < len(idx) and j - k <= th.max_inner_run and final[idx[k - 1]] == "good"
                and labels[idx[k - 1]] is None and final[idx[j]] == "good" and labels[idx[j]] is None):
            for m in idx[k:j]:
                labels[m] = None
        k = j


def _blocks(lines: list[str], labels: list[str | None], th: Thresholds) -> list[list[int]]:
    """Kept non-blank lines grouped into blocks: a run of >= min_gap_lines removed lines ends a block."""
    blocks, cur, gap = [], [], 0
    for i, ln in enumerate(lines):
        if not ln.strip():
            continue
        if labels[i] is None:
            if gap >= th.min_gap_lines and cur:
                blocks.append(cur)
                cur = []
            cur.append(i)
            gap = 0
        else:
            gap += 1
    if cur:
        blocks.append(cur)
    return blocks


def main_region(lines, labels, final, th, off) -> None:
    """Structure: the main text is the block with the most characters of good lines; other blocks with
    much less good text are off the main text (author bios, teasers, comment threads)."""
    if "off_main" in off:
        return
    blocks = _blocks(lines, labels, th)
    if len(blocks) < 2:
        return
    scores = [sum(len(lines[i]) for i in b if final[i] == "good") for b in blocks]
    best = max(scores)
    first = scores.index(best)
    for n, (b, sc) in enumerate(zip(blocks, scores)):
        run = longest = 0
        for i in b:
            run = run + 1 if final[i] == "good" else 0
            longest = max(longest, run)
        if sc < th.min_block_share * best and (n > first or longest < th.min_block_good_run):
            for i in b:
                labels[i] = "off_main"


def check(text: str, lang: str, th: Thresholds) -> QualityResult:
    """Remove boilerplate lines; reject the page when fewer than min_main_words words are left."""
    off = set(th.disabled_rules)
    skipped = []
    if W.base_lang(lang) not in BW.STOP_WORDS and "low_density" not in off:
        skipped.append(f"{NAME}.low_density")  # no stop-word list for this language
    lines = text.split("\n")
    labels = label_lines(lines, lang, th, off)
    kept = [ln for ln, rule in zip(lines, labels) if rule is None]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    n_words = W.n_words(W.split_words(out))
    signals = {f"{NAME}.kept_line_frac": len(kept) / len(lines) if lines else 0.0,
               f"{NAME}.n_main_words": float(n_words)}
    if "no_main_text" not in off and (rejection := no_main_text(n_words, th)):
        return QualityResult(text, rejection, signals, {}, skipped)
    counts: dict[str, int] = {}
    for rule in labels:
        if rule is not None:
            counts[f"{NAME}.line.{rule}"] = counts.get(f"{NAME}.line.{rule}", 0) + 1
    return QualityResult(out, None, signals, counts, skipped)
