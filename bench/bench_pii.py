"""Micro-benchmark of the PII stage: docs/s per detector and for `pii.check` on real pages (not a test).

Usage: python bench/bench_pii.py [--docs PATH ...] [--repeat 3]
Default input: ../shared/data/web_trafilatura_eval/documents.jsonl.gz and web_cc_samples/records.jsonl.gz
(field `text`). Each line is the best of `--repeat` passes over all documents, one process, one core.
"""
from __future__ import annotations

import argparse
import collections
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import best_seconds, read_texts  # noqa: E402
from pipeline.stages import pii  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_DOCS = [DATA / "web_trafilatura_eval" / "documents.jsonl.gz", DATA / "web_cc_samples" / "records.jsonl.gz"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=pathlib.Path, nargs="+", default=DEFAULT_DOCS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cfg = pii.PiiConfig()
    for path in args.docs:
        if not path.exists():
            print(f"skipped: no input at {path} (the shared data folder is needed; pass --docs)")
            continue
        texts = read_texts(path)
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        hits = collections.Counter(m.kind for t in texts for m in pii.find(t, cfg))
        print(f"{path.parent.name}/{path.name}: {len(texts)} docs, {mb:.1f} MB, hits {dict(hits)}")
        print(f"  {'step':<22}{'docs/s':>9}{'MB/s':>8}")
        steps = {"find_emails": pii.find_emails, "find_ips": pii.find_ips, "find_phones": pii.find_phones,
                 "check (redact)": lambda t: pii.check(t, cfg)}
        for name, fn in steps.items():
            seconds = best_seconds(fn, texts, args.repeat)
            print(f"  {name:<22}{len(texts) / seconds:>9.0f}{mb / seconds:>8.1f}")


if __name__ == "__main__":
    main()
