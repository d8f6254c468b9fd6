"""Recall, false positives and cost of the decon stage on web pages with injected eval items (not a test).

Usage: python bench/bench_decon.py [--items 400] [--pad 5000000] [--repeat 3] [--seed 0] [--n 13]
"Eval items": sentences and passages of ../shared/data/clean_reference_nltk (inaugural, state_union): passages
(consecutive sentences, 30-150 words, like reading-comprehension or MMLU/GSM8K items) and single sentences of
8-29 words; all of them are indexed (n=13 unless --n). `--items` passages (and half as many sentences) are
injected into the 990 pages of web_trafilatura_eval, once verbatim and once lightly edited (case, punctuation,
1-2 substituted words, whitespace/newlines). Recall = injected pages with more matches than their host page;
"removed" = verbatim items gone from the "remove"-mode text; FP = un-injected pages with any match,
and matches of an index of every other reference speech in the held-out speeches and in genesis (--cover-*:
coverage options). Time: best of
`--repeat` passes of `check` (drop mode) over the un-injected pages, one process, one core, with the real index and
with it padded to `--pad` random hashes (a large eval suite).
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import pathlib
import random
import re
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import best_seconds, read_texts  # noqa: E402
from pipeline.stages import decon  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PAGES = DATA / "web_trafilatura_eval" / "documents.jsonl.gz"
REFERENCE = [DATA / "clean_reference_nltk" / f"{name}.jsonl.gz" for name in ("inaugural", "state_union")]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_WORD = re.compile(r"[A-Za-z]{3,}")


def eval_items(paths) -> tuple[list[str], list[str]]:
    """(passages of 30-150 words, sentences of 8-29 words) from the reference texts."""
    return eval_items_of([t for p in paths for t in read_texts(p)])


def eval_items_of(texts) -> tuple[list[str], list[str]]:
    passages, sentences = [], []
    for text in texts:
        for para in re.split(r"\n\s*\n", text):
            group = []
            for sent in _SENTENCE_END.split(" ".join(para.split())):
                words = len(sent.split())
                if 8 <= words < 30:
                    sentences.append(sent)
                group.append(sent)
                if len(" ".join(group).split()) >= 30:
                    if len(" ".join(group).split()) <= 150:
                        passages.append(" ".join(group))
                    group = []
    return passages, sentences


def edit(item: str, vocab: list[str], rng: random.Random) -> str:
    """A light edit: case, punctuation, 1-2 substituted words, whitespace and newlines."""
    words = item.split(" ")
    case = rng.randrange(3)
    if case == 0:
        words = [w.lower() for w in words]
    elif case == 1:
        a = rng.randrange(len(words))
        words[a:a + 5] = [w.upper() for w in words[a:a + 5]]
    else:
        words = [w.title() if rng.random() < 0.3 else w for w in words]
    for i in rng.sample(range(len(words)), rng.choice((1, 2))):   # substitute 1-2 words
        words[i] = rng.choice([v for v in rng.sample(vocab, 5) if v.lower() != words[i].lower()] or ["zebra"])
    text = " ".join(words)
    for _ in range(rng.choice((1, 2))):
        kind = rng.randrange(5)
        if kind == 0:
            text = text.replace(",", "")
        elif kind == 1:
            text = text.replace(". ", "! ").rstrip(".") + "?"
        elif kind == 2:
            text = text.replace("'", "\u2019").replace('"', "\u201c")
        elif kind == 3:
            ws = text.split(" ")
            ws.insert(rng.randrange(1, len(ws)), "\u2014")
            text = " ".join(ws)
        else:
            text = text.replace(" -- ", "\u2013").replace(";", ",") + " ..."
    return "".join(c if c != " " or rng.random() > 0.15 else rng.choice(("\n", "  ", "\t", " \n ")) for c in text)


def inject(host: str, item: str, rng: random.Random) -> str:
    lines = host.split("\n")
    k = rng.randrange(len(lines) + 1)
    if rng.random() < 0.5 or k == len(lines):
        lines.insert(k, item)                                  # a line of its own
    else:
        lines[k] = f"{lines[k]} {item}"                         # glued to a line of the page
    return "\n".join(lines)


def held_out_false_positives(build_kw: dict, check_kw: dict) -> None:
    """Items of every other reference speech; matches in the speeches they do not come from and in genesis (8
    Bible versions). Speeches do share real text (quotes, formulas, boilerplate of the source site), so a match
    there is not always false: the n-gram (verbatim 13 words) and coverage-only counts are shown apart."""
    speeches = [t for p in REFERENCE for t in read_texts(p)]
    genesis = read_texts(DATA / "clean_reference_nltk" / "genesis.jsonl.gz")
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "half.jsonl"
        items = [x for part in eval_items_of(speeches[0::2]) for x in part]
        path.write_text("".join(json.dumps({"q": t}) + "\n" for t in items), encoding="utf-8")
        idx = decon.build_index([path], **build_kw)
    for name, docs in (("held-out speeches", speeches[1::2]), ("genesis", genesis)):
        results = [decon.check(d, idx, **check_kw) for d in docs]
        words = sum(len(d.split()) for d in docs)
        print(f"  {name} ({len(docs)} docs, {words:,} words; items of {len(speeches[0::2])} other speeches): "
              f"{sum(r.matches > 0 for r in results)} docs with a match, {sum(r.matches - r.covered for r in results)} "
              f"n-gram matches, {sum(r.covered for r in results)} items covered only "
              f"({sum(r.covered for r in results) / words * 1e4:.2f} per 10k words)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--pad", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=decon.DEFAULT_N)
    parser.add_argument("--cover-k", type=int, default=decon.COVER_K)
    parser.add_argument("--cover-max-df", type=int, default=decon.COVER_MAX_DF)
    parser.add_argument("--cover-fraction", type=float, default=decon.COVER_FRACTION)
    parser.add_argument("--cover-min-hits", type=int, default=decon.COVER_MIN_HITS)
    args = parser.parse_args(argv)
    build_kw = dict(n=args.n, cover_k=args.cover_k, cover_max_df=args.cover_max_df)
    check_kw = dict(cover_fraction=args.cover_fraction, cover_min_hits=args.cover_min_hits)
    if not PAGES.exists() or not all(p.exists() for p in REFERENCE):
        print(f"skipped: no input under {DATA} (the shared data folder is needed)")
        return
    rng = random.Random(args.seed)
    pages = read_texts(PAGES)
    passages, sentences = eval_items(REFERENCE)
    vocab = sorted({w for p in passages for w in _WORD.findall(p)})
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "nltk_items.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            for i, text in enumerate(passages + sentences):
                f.write(json.dumps({"id": f"item-{i}", "question": text}) + "\n")
        start = time.perf_counter()
        idx = decon.build_index([path], **build_kw)
        build_s = time.perf_counter() - start
        decon.save_index(idx, pathlib.Path(tmp) / "idx.npz")
        size_mb = (pathlib.Path(tmp) / "idx.npz").stat().st_size / 1e6
    print(f"index (n={args.n}, cover_k={args.cover_k}): {len(passages)} passages + {len(sentences)} sentences -> "
          f"{len(idx):,} hashes (+{len(idx.anchors):,} anchors of whole short items; {len(idx.cover_hashes):,} "
          f"coverage grams of {len(idx.cover_lengths):,} items < {3 * args.n} words), built in {build_s:.1f} s, "
          f"{size_mb:.1f} MB on disk")

    host = [decon.check(p, idx, **check_kw) for p in pages]
    host_matches = [r.matches for r in host]
    fp = sum(m > 0 for m in host_matches)
    print(f"false positives: {fp} of {len(pages)} un-injected pages have a match "
          f"({fp / len(pages):.2%}; matches per page {sorted(m for m in host_matches if m)}; "
          f"{sum(r.covered > 0 for r in host)} by coverage)")
    held_out_false_positives(build_kw, check_kw)

    print(f"{'recall':<28}{'verbatim':>10}{'edited':>10}{'removed':>10}")
    for name, pool, count in (("passages 30-150 words", passages, args.items),
                              ("sentences 8-29 words", sentences, args.items // 2)):
        found = {"verbatim": 0, "edited": 0}
        removed = 0
        for j, item in enumerate(rng.sample(pool, count)):
            h = j % len(pages)
            for variant, text in (("verbatim", item), ("edited", edit(item, vocab, rng))):
                doc = inject(pages[h], text, rng)
                result = decon.check(doc, idx, mode="remove", window_chars=0, **check_kw)
                found[variant] += result.matches > host_matches[h]
                if variant == "verbatim":
                    removed += " ".join(item.split()) not in " ".join(result.text.split())
        print(f"  {name:<26}{found['verbatim'] / count:>10.3f}{found['edited'] / count:>10.3f}"
              f"{removed / count:>10.3f}   ({count} items)")

    kb = sum(len(p.encode()) for p in pages) / len(pages) / 1e3
    rng_np = np.random.default_rng(args.seed)
    padded = dataclasses.replace(idx, hashes=np.unique(np.concatenate(
        [idx.hashes, rng_np.integers(0, 2**64 - 1, args.pad, dtype=np.uint64, endpoint=True)])))
    no_cover = dataclasses.replace(idx, cover_k=0, cover_hashes=np.zeros(0, np.uint64))
    print(f"time per page ({len(pages)} pages, mean {kb:.1f} KB), best of {args.repeat}:")
    steps = {"tokens()": decon.tokens,
             "tokens + xxh3 per token": lambda t: decon._token_hashes(decon.tokens(t)),
             f"check, index {len(idx):,}": lambda t: decon.check(t, idx, **check_kw),
             f"check, index {len(padded):,}": lambda t: decon.check(t, padded, **check_kw),
             "check, no coverage grams": lambda t: decon.check(t, no_cover)}
    for name, fn in steps.items():
        us = best_seconds(fn, pages, args.repeat) / len(pages) * 1e6
        print(f"  {name:<34}{us:>8.0f} us/doc {us / kb:>7.1f} us/KB")


if __name__ == "__main__":
    main()
