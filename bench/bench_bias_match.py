"""Micro-benchmark of identity matching: docs/s of `Matcher.groups` (not a test).

Usage: python bench/bench_bias_match.py [--docs PATH] [--repeat 3] [--holistic PATH] [--naive-docs 50]
Default input: ../shared/data/web_trafilatura_eval/documents.jsonl.gz (field `text`). Lexicons: Winnow's
bundled one and HolisticBias descriptors.json. Baseline: one compiled `\bterm\b` regex per term on the same
folded text (the naive approach the automaton replaces), timed on the first --naive-docs documents only (it
runs at a few docs/s); it checks presence per group without the overlap rules, so it does less work.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import best_seconds, read_texts  # noqa: E402
from pipeline.stages.bias.lexicon import Lexicon, fold, load_lexicon, term_key  # noqa: E402
from pipeline.stages.bias.match import Matcher  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_DOCS = DATA / "web_trafilatura_eval" / "documents.jsonl.gz"
DEFAULT_HOLISTIC = DATA / "bias_holistic_bias" / "descriptors.json"


class RegexPerTerm:
    """Naive baseline: for each group, for each term, `re.search(r"\\bterm\\b")`."""

    def __init__(self, lexicon: Lexicon):
        self.patterns = [(g.id, [re.compile(rf"\b{re.escape(term_key(t))}\b")
                                 for t in g.terms]) for g in lexicon.groups]

    def groups(self, text: str) -> set[str]:
        norm = fold(text)
        return {gid for gid, pats in self.patterns if any(p.search(norm) for p in pats)}


def docs_per_s(fn, texts: list[str], repeat: int) -> float:
    return len(texts) / best_seconds(fn, texts, repeat)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=pathlib.Path, default=DEFAULT_DOCS)
    parser.add_argument("--holistic", type=pathlib.Path, default=DEFAULT_HOLISTIC)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-docs", type=int, default=50, help="documents the regex baseline runs on")
    args = parser.parse_args(argv)
    if not args.docs.exists():
        sys.exit(f"no input at {args.docs} (the shared data folder is needed; pass --docs)")
    texts = read_texts(args.docs)
    kb = sum(len(t.encode("utf-8")) for t in texts) / len(texts) / 1024
    print(f"{len(texts)} docs, mean {kb:.1f} KB, best of {args.repeat}, one core")
    lexicons = {"winnow (bundled)": load_lexicon(None)}
    if args.holistic.exists():
        lexicons["holistic_bias"] = load_lexicon(str(args.holistic))
    norm = docs_per_s(fold, texts, args.repeat)
    print(f"{'fold only':<34}{norm:>10.0f} docs/s")
    print(f"{'lexicon':<18}{'method':<16}{'docs/s':>10}  groups  terms  docs with a mention")
    for name, lex in lexicons.items():
        matcher, naive = Matcher(lex), RegexPerTerm(lex)
        mentioned = sum(bool(matcher.groups(t)) for t in texts)
        for method, fn, docs in (("aho-corasick", matcher.groups, texts),
                                 ("regex per term", naive.groups, texts[:args.naive_docs])):
            rate = docs_per_s(fn, docs, args.repeat)
            print(f"{name:<18}{method:<16}{rate:>10.0f}  {len(lex.groups):>6}  {lex.n_terms:>5}  {mentioned}")


if __name__ == "__main__":
    main()
