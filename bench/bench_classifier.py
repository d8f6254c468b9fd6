"""Throughput of the quality classifier vs fastText lid.176 on the same documents: docs/s per core (not a test).

Usage: python bench/bench_classifier.py [--docs PATH] [--model PATH] [--repeat 3]
Default input: ../shared/data/web_trafilatura_eval/documents.jsonl.gz (field `text`, 990 real pages, mean
about 10.7k chars). Both models get the whole list in one batched call, preprocessing included
(`Classifier.scores`: first 100,000 chars, lines joined; `LangIdModel.predict`: first 100,000 chars, whitespace
collapsed). Time is process CPU time (fastText predicts on the calling thread), best of --repeat passes, so the
figure is per core and less sensitive to other load on the machine than wall time.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import read_texts  # noqa: E402
from pipeline.stages.classifier import DEFAULT_MODEL, Classifier  # noqa: E402
from pipeline.stages.langid import LangIdModel  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "web_trafilatura_eval" / "documents.jsonl.gz"


def docs_per_cpu_second(fn, texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn(texts)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=pathlib.Path, default=DEFAULT_DOCS)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="quality model (default: the bundled one)")
    parser.add_argument("--label", default=None, help="positive label (default __label__hq)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.docs.exists():
        sys.exit(f"no input at {args.docs} (the shared data folder is needed; pass --docs)")
    texts = read_texts(args.docs)
    kb = sum(len(t.encode("utf-8")) for t in texts) / len(texts) / 1024
    clf = Classifier(args.model, label=args.label)
    lid = LangIdModel()
    rows = [("quality classifier (" + pathlib.Path(args.model).name + ")",
             docs_per_cpu_second(clf.scores, texts, args.repeat)),
            ("quality classifier, max_chars=10,000",
             docs_per_cpu_second(Classifier(args.model, label=args.label, max_chars=10_000).scores, texts,
                                 args.repeat)),
            ("lid.176 (LangIdModel.predict)", docs_per_cpu_second(lid.predict, texts, args.repeat))]
    print(f"{len(texts)} docs, mean {kb:.1f} KB, batched, best of {args.repeat} (CPU time)")
    print(f"{'model':<48}{'docs/s/core':>12}")
    for name, rate in rows:
        print(f"{name:<48}{rate:>12.0f}")
    print(f"classifier / lid.176: {rows[0][1] / rows[2][1]:.2f}x")


if __name__ == "__main__":
    main()
