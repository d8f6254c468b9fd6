"""Micro-benchmark of the quality filters: ms/doc per filter and per profile (not a test).

Usage: python bench/bench_quality.py [--docs PATH] [--lang en] [--repeat 3]
Default input: ../shared/data/web_trafilatura_eval/documents.jsonl.gz (field `text`). Each filter is
timed alone, with the word-split cache cleared per document, so shared tokenization is charged to every
filter that needs it; profiles are timed as chains (the cache then serves later filters).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import best_seconds, read_texts  # noqa: E402
from pipeline.stages.quality import FILTERS, PROFILES, apply_filters, profile_filters  # noqa: E402
from pipeline.stages.quality import words  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "web_trafilatura_eval" / "documents.jsonl.gz"


def clear_caches() -> None:
    words.split_doc_words.cache_clear()
    words.spaceless_script.cache_clear()


def time_per_doc(fn, texts: list[str], repeat: int) -> float:
    """Best of `repeat` runs, in ms per document."""
    return best_seconds(fn, texts, repeat, before_each=clear_caches) / len(texts) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=pathlib.Path, default=DEFAULT_DOCS)
    parser.add_argument("--lang", default="en", help="language passed to every filter")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.docs.exists():
        sys.exit(f"no input at {args.docs} (the shared data folder is needed; pass --docs)")
    texts = read_texts(args.docs)
    kb = sum(len(t.encode("utf-8")) for t in texts) / len(texts) / 1024
    print(f"{len(texts)} docs, mean {kb:.1f} KB, lang={args.lang}, best of {args.repeat}")
    print(f"{'filter':<20}{'ms/doc':>8}  kept")
    for name, module in FILTERS.items():
        th = module.Thresholds()
        ms = time_per_doc(lambda t: module.check(t, args.lang, th), texts, args.repeat)
        kept = sum(module.check(t, args.lang, th).rejection is None for t in texts)
        print(f"{name:<20}{ms:>8.3f}  {kept}/{len(texts)}")
    for profile in PROFILES:
        chain = profile_filters(profile)
        ms = time_per_doc(lambda t: apply_filters(t, args.lang, chain), texts, args.repeat)
        kept = sum(apply_filters(t, args.lang, chain).rejection is None for t in texts)
        print(f"{'profile ' + profile:<20}{ms:>8.3f}  {kept}/{len(texts)}")


if __name__ == "__main__":
    main()
