"""Which identity groups a text mentions: one Aho-Corasick automaton over every term of a lexicon.

The text is folded once (`lexicon.fold`: NFC, casefold, whitespace runs -> one space) and scanned once;
a hit counts only as a whole word sequence: the characters on either side are not letters or digits
("asian" never fires in "caucasian", "man" never in "manage"; "women's", "(gay)" and "gay_rights" do).
Multi-word terms match with a space or a hyphen between words ("working class", "working-class").
Rules on overlapping hits, in order:
1. a hit overlapping an exclusion of its axis (or a global one) is dropped ("black friday");
2. a hit strictly inside a longer hit of the same axis is dropped ("black" in "black women", while
   "women" still counts for gender_and_sex);
3. overlapping hits of one group count once.
"""
from __future__ import annotations

import itertools

import ahocorasick

from pipeline.stages.bias.lexicon import Lexicon, fold, term_key

_EVERY_AXIS = -1


def variants(term: str) -> list[str]:
    """The folded spellings a term matches: each gap between words a space or a hyphen (2^gaps, capped
    at 3 gaps; longer terms match with spaces or with hyphens throughout)."""
    words = term_key(term).split(" ")
    if len(words) > 4:
        return [" ".join(words), "-".join(words)]
    return [words[0] + "".join(s + w for s, w in zip(seps, words[1:]))
            for seps in itertools.product(" -", repeat=len(words) - 1)]


class Matcher:
    """Built once per lexicon; picklable (the automaton is rebuilt lazily after unpickling)."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.group_ids = lexicon.ids
        axes = lexicon.axes
        self._axis_of = [axes.index(g.axis) for g in lexicon.groups]
        self._automaton = None

    def __getstate__(self):
        return {"lexicon": self.lexicon}

    def __setstate__(self, state):
        self.__init__(state["lexicon"])

    @property
    def automaton(self) -> ahocorasick.Automaton:
        if self._automaton is None:
            self._automaton = self._build()
        return self._automaton

    def _build(self) -> ahocorasick.Automaton:
        # spelling -> ([group indexes], [axis indexes whose hits it excludes; -1 = every axis])
        entries: dict[str, tuple[list[int], list[int]]] = {}
        for gi, group in enumerate(self.lexicon.groups):
            for term in group.terms:
                for key in variants(term):
                    groups = entries.setdefault(key, ([], []))[0]
                    if gi not in groups:
                        groups.append(gi)
        axes = self.lexicon.axes
        for axis, phrase in self.lexicon.exclusions:
            for key in variants(phrase):
                entries.setdefault(key, ([], []))[1].append(axes.index(axis) if axis else _EVERY_AXIS)
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, (groups, excluded) in entries.items():
            automaton.add_word(key, (len(key), tuple(groups), tuple(excluded)))
        automaton.make_automaton()
        return automaton

    def hits(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, group index) of every counted hit, in " " + fold(text) + " " coordinates, by start."""
        folded = " " + fold(text) + " "   # padded: every hit has a character on each side
        terms: list[tuple[int, int, int]] = []
        excl: list[tuple[int, int, int]] = []
        for last, (length, groups, excluded) in self.automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if folded[start - 1].isalnum() or folded[end].isalnum():
                continue   # inside a longer word
            terms.extend((start, end, gi) for gi in groups)
            excl.extend((start, end, ai) for ai in excluded)
        if excl:   # rule 1; exclusion hits are few, a plain scan is enough
            terms = [h for h in terms if not any(
                s < h[1] and h[0] < e and ai in (_EVERY_AXIS, self._axis_of[h[2]]) for s, e, ai in excl)]
        # Rule 2: sorted by start, longer first, a hit lies inside a longer hit of its axis iff a hit of
        # that axis sorted before it with a different span reaches at least as far.
        terms.sort(key=lambda h: (h[0], -h[1]))
        max_end: dict[int, int] = {}
        kept: list[tuple[int, int, int]] = []
        for _, same_span in itertools.groupby(terms, key=lambda h: h[:2]):
            same_span = list(same_span)
            kept.extend(h for h in same_span if max_end.get(self._axis_of[h[2]], -1) < h[1])
            for h in same_span:
                axis = self._axis_of[h[2]]
                max_end[axis] = max(max_end.get(axis, -1), h[1])
        # Rule 3
        last_end: dict[int, int] = {}
        counted = []
        for h in kept:
            if h[0] >= last_end.get(h[2], -1):
                counted.append(h)
                last_end[h[2]] = h[1]
        return counted

    def counts(self, text: str) -> dict[str, int]:
        """Group id ("axis/group") -> number of counted mentions in `text`."""
        out: dict[str, int] = {}
        for _, _, gi in self.hits(text):
            gid = self.group_ids[gi]
            out[gid] = out.get(gid, 0) + 1
        return out

    def groups(self, text: str) -> set[str]:
        """The group ids mentioned in `text`."""
        return {self.group_ids[gi] for _, _, gi in self.hits(text)}
