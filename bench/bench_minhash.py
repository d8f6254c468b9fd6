"""MinHash signatures/s on one core: `minhash.signature` vs datasketch `MinHash.update_batch` (not a test).

Usage: python bench/bench_minhash.py [--min-words 500] [--repeat 3] [--num-perm 128]
Input: the pages of ../shared/data/web_trafilatura_eval and the clean_reference_nltk docs with at least
--min-words words after `simplify`. Each contender is timed over all docs, best of --repeat, rounds
interleaved so background load hits all alike; CPU time (process_time) is the per-core figure, wall time is
shown beside it. datasketch gets the same shingles (the shingling cost is charged to everyone).
Writes bench/results/minhash.json (bench/bench_dedup.py includes it).
"""
from __future__ import annotations

import argparse
import os
import gzip
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.stages.dedup import minhash  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SOURCES = ["web_trafilatura_eval/documents.jsonl.gz", "clean_reference_nltk/genesis.jsonl.gz",
           "clean_reference_nltk/inaugural.jsonl.gz", "clean_reference_nltk/state_union.jsonl.gz"]


def load(min_words: int) -> list[str]:
    texts = []
    for rel in SOURCES:
        path = DATA / rel
        if not path.exists():
            sys.exit(f"no input at {path} (the shared data folder is needed)")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            texts += [t for t in (json.loads(line)["text"] for line in f) if len(minhash.simplify(t)) >= min_words]
    return texts


def datasketch_signature(text, num_perm, ngram, seed, hashfunc=None, shingles=None):
    from datasketch import MinHash
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc)
    m.update_batch(shingles if shingles is not None else sorted(minhash.shingles(text, ngram)))
    return m.hashvalues


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-words", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--num-perm", type=int, default=128)
    args = parser.parse_args(argv)
    texts = load(args.min_words)
    words = sum(len(minhash.simplify(t)) for t in texts) / len(texts)
    print(f"{len(texts)} docs with >= {args.min_words} words (mean {words:.0f}), num_perm={args.num_perm}, "
          f"5-grams, seed 1, best of {args.repeat}")
    given = {id(t): sorted(minhash.shingles(t, 5)) for t in texts}
    contenders = {
        "winnow minhash.signature": lambda t: minhash.signature(t, args.num_perm, 5, 1),
        # The previous minhash.signature: shingles() then update_batch with datasketch's default hash.
        "datasketch update_batch (sha1_hash32)": lambda t: datasketch_signature(t, args.num_perm, 5, 1),
        "datasketch update_batch (hash_shingle)":
            lambda t: datasketch_signature(t, args.num_perm, 5, 1, minhash.hash_shingle),
        # update_batch alone, shingling not timed: a lower bound on what datasketch can cost.
        "datasketch update_batch only (sha1, shingles given)":
            lambda t: datasketch_signature(t, args.num_perm, 5, 1, shingles=given[id(t)]),
    }
    ours, theirs = contenders["winnow minhash.signature"], contenders["datasketch update_batch (hash_shingle)"]
    assert all(np.array_equal(ours(t), theirs(t)) for t in texts[:20]), "signatures differ from datasketch"
    minhash.signature(texts[0])  # warm the word table and the powers cache outside the timing
    best = {name: (float("inf"), float("inf")) for name in contenders}
    for _ in range(args.repeat):
        for name, fn in contenders.items():
            minhash.hash_word.cache_clear()  # hash_shingle's word cache starts cold every round
            cpu, wall = time.process_time(), time.perf_counter()
            for t in texts:
                fn(t)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
    base, n = best["datasketch update_batch (sha1_hash32)"][0], len(texts)
    print(f"{'':<52}{'docs/s (cpu)':>13}{'docs/s (wall)':>15}{'ms/doc':>8}{'speed-up':>10}")
    for name, (cpu, wall) in best.items():
        print(f"{name:<52}{n / cpu:>13.0f}{n / wall:>15.0f}{cpu / n * 1000:>8.2f}{base / cpu:>9.1f}x")
    results = {"docs": n, "mean_words": round(words), "num_perm": args.num_perm, "repeat": args.repeat,
               "docs_per_cpu_s": {name: round(n / cpu, 1) for name, (cpu, _) in best.items()},
               "docs_per_wall_s": {name: round(n / wall, 1) for name, (_, wall) in best.items()}}
    os.makedirs(ROOT / "bench" / "results", exist_ok=True)
    with open(ROOT / "bench" / "results" / "minhash.json", "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
