"""Near-dedup benchmark (not a test): decision quality on real document revisions, the LSH S-curve, signature
speed, and end-to-end dedup cost at 10k / 50k / 100k documents. Prints tables, writes bench/results/dedup.json.

Quality: `../shared/data/neardup_doc_revisions` (705 revisions of 255 documentation files). A predicted pair =
two docs in the same dedup cluster; true pairs = same ground-truth cluster; the 180 listed cross-cluster
similar pairs count as neither. Scale: corpora derived from the real pages of `web_trafilatura_eval` and
`web_cc_samples` by a seeded mutation (near copies at a spread of Jaccard, exact copies, line mixes).

Usage: python bench/bench_dedup.py [--sizes 10000 50000 100000] [--max-minutes 15] [--skip-quality] [--skip-scale]
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from schemas import manifest as manifest_schema  # noqa: E402
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
REVISIONS = os.path.join(DATA, "neardup_doc_revisions")
PAGES = [os.path.join(DATA, "web_trafilatura_eval", "documents.jsonl.gz"),
         os.path.join(DATA, "web_cc_samples", "records.jsonl.gz")]
RESULTS = os.path.join(ROOT, "bench", "results", "dedup.json")

BANDS = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0001)]   # Jaccard bands of the true pairs
HIGH_J = 0.8                                                              # the goal: F1 >= 0.95 above this
THRESHOLDS = (0.7, 0.75, 0.8, 0.85)                                     # swept, each with and without verify
DEDUP_ONLY = {"langid": {"enabled": False}, "quality": {"enabled": False}, "pii": {"enabled": False},
              "tokenize": {"enabled": False},
              "dedup": {"exact": {"enabled": True}, "near": {"enabled": True}}}


def read_jsonl(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- predicted clusters from a run's docs/ + rejects/ ---

def predicted_labels(out_dir: str) -> dict[str, str]:
    """source_id -> cluster label. Union of doc_id with cluster_id and duplicate_of, so an exact duplicate
    follows its survivor into a near cluster even where its own cluster_id was not updated (see report)."""
    import glob
    import pyarrow.parquet as pq
    from pipeline.stages.dedup.components import UnionFind
    rows = []
    for kind in ("docs", "rejects"):
        for f in sorted(glob.glob(os.path.join(out_dir, kind, "*.parquet"))):
            rows += pq.read_table(f, columns=["doc_id", "source_id", "cluster_id", "duplicate_of"]).to_pylist()
    uf = UnionFind()
    for r in rows:
        for other in (r["cluster_id"], r["duplicate_of"]):
            uf.union(r["doc_id"], other or r["doc_id"])
    return {r["source_id"]: uf.find(r["doc_id"]) for r in rows}


def cluster_id_labels(out_dir: str) -> dict[str, str]:
    """source_id -> cluster_id as written (the literal reading of the output contract)."""
    import glob
    import pyarrow.parquet as pq
    out = {}
    for kind in ("docs", "rejects"):
        for f in sorted(glob.glob(os.path.join(out_dir, kind, "*.parquet"))):
            for r in pq.read_table(f, columns=["source_id", "cluster_id"]).to_pylist():
                out[r["source_id"]] = r["cluster_id"]
    return out


# --- scoring ---

def load_truth():
    docs = read_jsonl(os.path.join(REVISIONS, "documents.jsonl.gz"))
    pos = {frozenset((p["a"], p["b"])): p["jaccard_5gram_words"]
           for p in read_jsonl(os.path.join(REVISIONS, "positive_pairs.jsonl.gz"))}
    similar = {frozenset((p["a"], p["b"]))
               for p in read_jsonl(os.path.join(REVISIONS, "cross_cluster_similar_pairs.jsonl.gz"))}
    cluster = {d["id"]: d["cluster"] for d in docs}
    within = {frozenset(ab) for ab in itertools.combinations(sorted(cluster), 2) if cluster[ab[0]] == cluster[ab[1]]}
    assert within == set(pos), "positive_pairs.jsonl.gz should list every within-cluster pair"
    assert not similar & set(pos), "a similar pair is also a positive"
    return docs, cluster, pos, similar


def prf(tp, n_pred, n_true):
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def score(labels: dict[str, str], cluster: dict[str, str], pos: dict, similar: set) -> dict:
    ids = sorted(cluster)
    assert set(labels) == set(ids), "every input document must come back in docs/ or rejects/"
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(labels[i], []).append(i)
    pred = {frozenset(ab) for g in groups.values() for ab in itertools.combinations(g, 2)}
    tp = pred & set(pos)
    false = pred - set(pos) - similar                    # merged pairs of distinct documents
    n_neg = len(ids) * (len(ids) - 1) // 2 - len(pos) - len(similar)
    out = {"predicted_pairs": len(pred), "true_pairs": len(pos), **prf(len(tp), len(tp) + len(false), len(pos))}
    out["recall_by_band"] = {}
    for lo, hi in BANDS:
        band = [ab for ab, j in pos.items() if lo <= j < hi]
        out["recall_by_band"][f"[{lo:.1f},{min(hi, 1.0):.1f}{']' if hi > 1 else ')'}"] = (
            round(len([ab for ab in band if ab in pred]) / len(band), 4) if band else None, len(band))
    # J>=0.8 view: true = positives with J>=0.8; predicted = merged pairs that are not low-J positives and not
    # similar-listed, i.e. high-J hits + false merges. Low-J positives merged are neither right nor wrong here.
    high = {ab for ab, j in pos.items() if j >= HIGH_J}
    hit_high = pred & high
    out["high_j"] = {"true_pairs": len(high), **prf(len(hit_high), len(hit_high) + len(false), len(high))}
    out["false_merge_pairs"] = len(false)
    out["false_merge_rate"] = len(false) / n_neg
    wrong_docs = {d for ab in false for d in ab}
    out["docs_wrongly_merged"] = len(wrong_docs)
    out["docs_wrongly_merged_pct"] = round(100 * len(wrong_docs) / len(ids), 2)
    out["similar_pairs_merged"] = len(pred & similar)
    out["false_merge_examples"] = sorted(([cluster[a], cluster[b]] for a, b in map(sorted, false)))[:5]
    return out


def configs() -> list[tuple[str, dict]]:
    """(name, dedup.near overrides): every swept threshold with and without verify, and the default threshold
    with the in-memory union-find, which must give the same clusters as the distributed rounds."""
    from pipeline.config import load_config
    default = load_config().dedup.near.threshold
    out = []
    for t in THRESHOLDS:
        tag = f"t={t}" + (" (default)" if t == default else "")
        out += [(tag, {"threshold": t}), (f"{tag} verify", {"threshold": t, "verify": True})]
    return out + [(f"t={default} local clustering", {"threshold": default, "clustering": "local"})]


def quality_runs(tmp: str) -> list[dict]:
    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    docs, cluster, pos, similar = load_truth()
    inp = os.path.join(REVISIONS, "documents.jsonl.gz")
    rows = []
    for name, near in configs():
        cfg = load_config(overrides={**DEDUP_ONLY, "dedup": {"exact": {"enabled": True}, "near": near}})
        out = os.path.join(tmp, "quality-" + str(len(rows)))
        t = time.perf_counter()
        with open(os.devnull, "w") as devnull:
            manifest = run_pipeline([inp], out, cfg, overwrite=True, log=devnull)
        s = score(predicted_labels(out), cluster, pos, similar)
        literal = score(cluster_id_labels(out), cluster, pos, similar)
        n = manifest.dedup["near"]
        rows.append({"config": name, "near": near, "bands": n["bands"], "rows": n["rows"],
                     "converged": n["converged"], "seconds": round(time.perf_counter() - t, 1),
                     "rejected": manifest.rejected, **s,
                     "recall_by_cluster_id_only": literal["recall"]})
        print(f"  {name}: F1 {s['f1']}, high-J F1 {s['high_j']['f1']}, false merges {s['false_merge_pairs']} "
              f"({rows[-1]['seconds']} s)", flush=True)
    return rows


# --- S-curve ---

def s_curve(threshold: float, num_perm=128, bands=None, rows=None) -> dict:
    from pipeline.stages.dedup import lsh
    if bands is None:
        bands, rows = lsh.optimal_params(threshold, num_perm)
    js = [round(0.5 + 0.05 * i, 2) for i in range(11)]
    return {"threshold": threshold, "num_perm": num_perm, "bands": bands, "rows": rows,
            "p_candidate": {j: round(lsh.candidate_probability(j, bands, rows), 4) for j in js}}


# --- signature speed ---

def signature_speed(texts: list[str]) -> dict:
    """Signatures per CPU-second on one core (process time, so other load on the machine does not count):
    `minhash.signature` vs datasketch `update_batch` with its default sha1_hash32. bench/bench_minhash.py, when
    present, has the full comparison; its results file is included as is."""
    from datasketch import MinHash
    from pipeline.stages.dedup import minhash
    shingled = [list(minhash.shingles(t, 5)) for t in texts]

    def ours():
        for t in texts:
            minhash.signature(t)

    def datasketch_batch():                     # shingling excluded: only hashing + permutations
        for s in shingled:
            MinHash(num_perm=128, seed=1).update_batch(s)

    out = {"docs": len(texts)}
    for name, fn in (("winnow minhash.signature (incl. shingling)", ours),
                     ("datasketch update_batch (sha1, shingles given)", datasketch_batch)):
        best = min(_cpu_time(fn) for _ in range(3))
        out[name] = round(len(texts) / best, 1)
    other = os.path.join(ROOT, "bench", "results", "minhash.json")
    if os.path.exists(other):
        with open(other) as f:
            out["bench_minhash"] = json.load(f)
    return out


def _cpu_time(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


# --- derived corpora for the scale runs ---

def load_pages() -> list[tuple[str, str]]:
    return [(r["id"], r["text"]) for path in PAGES for r in read_jsonl(path)]


def mutate(text: str, rng: random.Random, vocab: list[str], word_rate: float, line_rate: float) -> str:
    """Drop or replace ~word_rate of the words, then move ~line_rate of the lines to random places."""
    lines = [line.split() for line in text.split("\n")]
    total = sum(map(len, lines))
    k = int(word_rate * total + rng.random())
    edits = set(rng.sample(range(total), min(k, total)))
    pos, new = 0, []
    for words in lines:
        kept = []
        for w in words:
            if pos in edits:
                if rng.random() < 0.5:
                    kept.append(rng.choice(vocab))
            else:
                kept.append(w)
            pos += 1
        new.append(kept)
    for _ in range(int(line_rate * len(new) + rng.random())):
        new.insert(rng.randrange(len(new)), new.pop(rng.randrange(len(new))))
    return "\n".join(" ".join(ws) for ws in new)


def derived_record(i: int, pages, vocab, seed: int = 0) -> tuple[dict, str, int]:
    """Doc i of the derived corpus: copy k = i // len(pages) of page p = i % len(pages). Copy 0 is the page;
    later copies are 70% near copies (0-4% of words edited, 0-5% of lines moved), 5% exact copies, 25%
    mixes of three chunks of random pages (distinct docs). Returns (record, kind, source page)."""
    p, k = i % len(pages), i // len(pages)
    pid, text = pages[p]
    rng = random.Random(f"{seed}:{i}")
    u = rng.random()
    if k == 0:
        kind = "original"
    elif u < 0.05:
        kind = "exact"
    elif u < 0.75:
        kind = "near"
        text = mutate(text, rng, vocab, rng.uniform(0, 0.04), rng.uniform(0, 0.05))
    else:
        kind, chunks = "mix", []
        for q in rng.sample(range(len(pages)), 3):
            lines = pages[q][1].split("\n")
            n = max(1, len(lines) // 3)
            start = rng.randrange(max(1, len(lines) - n + 1))
            chunks.append("\n".join(lines[start:start + n]))
        text = mutate("\n".join(chunks), rng, vocab, 0.02, 0.0)
    return {"id": f"{pid}~{k}", "text": text}, kind, p


def write_corpus(n: int, path: str, pages, vocab) -> dict:
    kinds: dict[str, int] = {}
    chars = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for i in range(n):
            rec, kind, _ = derived_record(i, pages, vocab)
            kinds[kind] = kinds.get(kind, 0) + 1
            chars += len(rec["text"])
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return {"kinds": kinds, "mean_chars": round(chars / n)}


def near_copy_jaccards(pages, vocab, sample: int = 1500) -> dict:
    """Word-5-gram Jaccard of near copies to their source page (first `sample` near copies)."""
    from pipeline.stages.dedup import minhash
    js, i = [], len(pages)
    while len(js) < sample:
        rec, kind, p = derived_record(i, pages, vocab)
        i += 1
        if kind == "near":
            a, b = minhash.shingles(pages[p][1], 5), minhash.shingles(rec["text"], 5)
            js.append(len(a & b) / len(a | b) if a | b else 1.0)
    js.sort()
    q = {f"p{int(x * 100)}": round(js[int(x * (len(js) - 1))], 3) for x in (0.1, 0.25, 0.5, 0.75, 0.9)}
    q["share_ge_0.8"] = round(sum(j >= 0.8 for j in js) / len(js), 3)
    return q


def cpu_split(pages, vocab, n: int = 1000) -> dict:
    """CPU ms per derived doc of the per-doc work in a dedup-only run (pure functions, one core): what the
    end-to-end figure is made of, the rest being Beam (shuffles, joins, encoding) and Parquet writing."""
    import io
    from pipeline.config import NearDedupConfig
    from pipeline.stages import document, parse
    from pipeline.stages.dedup import lsh, minhash
    near = NearDedupConfig()
    bands, rows = lsh.optimal_params(near.threshold, near.num_perm)
    raw = "".join(json.dumps(derived_record(i, pages, vocab)[0], ensure_ascii=False) + "\n" for i in range(n))
    out, recs, docs, sigs = {}, [], [], []
    steps = (("parse (jsonl)", lambda: recs.extend(parse.iter_records("x.jsonl", io.BytesIO(raw.encode())))),
             ("normalize (ftfy, NFC, doc_id)", lambda: docs.extend(document.new_document(r) for r in recs)),
             ("minhash signature", lambda: sigs.extend(minhash.signature(d["text"]) for d in docs)),
             ("band keys", lambda: [lsh.band_keys(g, bands, rows) for g in sigs]))
    for name, fn in steps:
        out[name] = round(1000 * _cpu_time(fn) / n, 3)
    return out


_WRAP = ("import json,resource,subprocess,sys,time;t=time.perf_counter();"
         "rc=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL).returncode;dt=time.perf_counter()-t;"
         "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
         "print(json.dumps({'rc':rc,'wall':dt,'cpu':u.ru_utime+u.ru_stime,'maxrss_kb':u.ru_maxrss}))")


def scale_run(n: int, tmp: str, pages, vocab, cfg_path: str) -> dict:
    inp = os.path.join(tmp, f"derived-{n}.jsonl.gz")
    t = time.perf_counter()
    info = write_corpus(n, inp, pages, vocab)
    gen_s = time.perf_counter() - t
    out = os.path.join(tmp, f"out-{n}")
    cmd = [os.path.join(ROOT, ".venv", "bin", "winnow"), "run", "--input", inp, "--output", out,
           "--config", cfg_path, "--overwrite"]
    # a fresh wrapper per run, so RUSAGE_CHILDREN's max RSS is this run's alone (FnApiRunner: one process)
    res = json.loads(subprocess.run([sys.executable, "-c", _WRAP, *cmd], check=True, capture_output=True,
                                    text=True).stdout)
    if res["rc"]:
        raise RuntimeError(f"winnow run failed on {n} docs (rc {res['rc']}): {' '.join(cmd)}")
    m = manifest_schema.read(out)
    os.remove(inp)
    subprocess.run(["rm", "-rf", out], check=True)
    return {"docs": n, "mean_chars": info["mean_chars"], "kinds": info["kinds"], "generate_s": round(gen_s, 1),
            "wall_s": round(res["wall"], 1), "cpu_s": round(res["cpu"], 1), "docs_per_s": round(n / res["wall"], 1),
            "docs_per_cpu_s": round(n / res["cpu"], 1), "peak_rss_mb": round(res["maxrss_kb"] / 1024),
            "kept": m.kept, "rejected": m.rejected, "converged": m.dedup["near"]["converged"],
            "counters": {k: v for k, v in m.counters.items()
                         if k.startswith(("near_dedup.buckets", "near_dedup.cand"))}}


def scale_runs(sizes: list[int], tmp: str, max_minutes: float) -> dict:
    import yaml
    pages = load_pages()
    vocab = sorted({w for _, t in pages for w in t.split()})
    cfg_path = os.path.join(tmp, "dedup-only.yaml")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(DEDUP_ONLY, f)
    out = {"pages": len(pages), "near_copy_jaccard_to_source": near_copy_jaccards(pages, vocab), "runs": [],
           "skipped": []}
    print(f"  near copies' Jaccard to their page: {out['near_copy_jaccard_to_source']}", flush=True)
    out["cpu_ms_per_doc"] = cpu_split(pages, vocab)
    print(f"  CPU ms/doc: {out['cpu_ms_per_doc']}", flush=True)
    for n in sorted(sizes):
        done = out["runs"]
        if done:   # linear extrapolation from the largest finished run (wall time, generation included)
            last = done[-1]
            est = (last["wall_s"] + last["generate_s"]) * n / last["docs"]
            if est > max_minutes * 60:
                out["skipped"].append({"docs": n, "estimated_s": round(est)})
                print(f"  {n} docs skipped: ~{est / 60:.0f} min estimated (> {max_minutes} min)", flush=True)
                continue
        r = scale_run(n, tmp, pages, vocab, cfg_path)
        done.append(r)
        print(f"  {n} docs: {r['wall_s']} s wall, {r['cpu_s']} s cpu, {r['docs_per_s']} docs/s, "
              f"peak RSS {r['peak_rss_mb']} MB", flush=True)
    return out


# --- report ---

def print_report(res: dict) -> None:
    if "quality" in res:
        print("\n### Quality on neardup_doc_revisions (705 docs, 804 true pairs; dedup only)\n")
        print("| config | b x r | P | R | F1 | P (J>=0.8) | R (J>=0.8) | F1 (J>=0.8) | false-merge pairs (rate) "
              "| docs wrongly merged | similar merged |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in res["quality"]:
            h = r["high_j"]
            print(f"| {r['config']} | {r['bands']}x{r['rows']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                  f"{r['f1']:.3f} | {h['precision']:.3f} | {h['recall']:.3f} | {h['f1']:.3f} | "
                  f"{r['false_merge_pairs']} ({r['false_merge_rate']:.2e}) | {r['docs_wrongly_merged']} "
                  f"({r['docs_wrongly_merged_pct']}%) | {r['similar_pairs_merged']}/180 |")
        bands = list(res["quality"][0]["recall_by_band"])
        print("\nRecall by Jaccard band of the true pairs (pairs per band in the header):\n")
        print("| config | " + " | ".join(f"{b} (n={res['quality'][0]['recall_by_band'][b][1]})" for b in bands) + " |")
        print("|---|" + "---|" * len(bands))
        for r in res["quality"]:
            print(f"| {r['config']} | " + " | ".join(f"{r['recall_by_band'][b][0]:.3f}" for b in bands) + " |")
    if "s_curve_by_threshold" in res:
        print("\n### S-curve: P(two docs of Jaccard J share a band) = 1 - (1 - J^rows)^bands, 128 permutations, "
              "(bands, rows) derived from the threshold\n")
        curves = res["s_curve_by_threshold"]
        js = list(curves[0]["p_candidate"])
        print("| threshold (b x r) | " + " | ".join(f"J={float(j):.2f}" for j in js) + " |")
        print("|---|" + "---|" * len(js))
        for c in curves:
            print(f"| {c['threshold']} ({c['bands']} x {c['rows']}) | "
                  + " | ".join(f"{p:.3f}" for p in c["p_candidate"].values()) + " |")
    if "signatures" in res:
        print("\n### Signatures per CPU-second, one core\n")
        for k, v in res["signatures"].items():
            if k != "bench_minhash":
                print(f"  {k:<48} {v}")
    if "scale" in res:
        print(f"\n### End to end, dedup only (`winnow run`, FnApiRunner, 1 process), corpora derived from "
              f"{res['scale']['pages']} real pages\n")
        print("| docs | mean chars | wall s | CPU s | CPU s w/o normalize | docs/s (wall) | docs/CPU-s | peak RSS MB "
              "| kept | exact dups | near dups |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        norm_ms = res["scale"]["cpu_ms_per_doc"]["normalize (ftfy, NFC, doc_id)"]
        for r in res["scale"]["runs"]:
            print(f"| {r['docs']:,} | {r['mean_chars']:,} | {r['wall_s']} | {r['cpu_s']} | "
                  f"{r['cpu_s'] - r['docs'] * norm_ms / 1000:.1f} | {r['docs_per_s']} | "
                  f"{r['docs_per_cpu_s']} | {r['peak_rss_mb']:,} | {r['kept']:,} | "
                  f"{r['rejected'].get('dedup.exact_duplicate', 0):,} | "
                  f"{r['rejected'].get('dedup.near_duplicate', 0):,} |")
        for s in res["scale"]["skipped"]:
            print(f"| {s['docs']:,} | skipped: ~{s['estimated_s'] / 60:.0f} min estimated |")
        print("\nCPU ms per doc of the per-doc steps (one core): " + ", ".join(
            f"{k} {v}" for k, v in res["scale"]["cpu_ms_per_doc"].items()))


def _code_version() -> dict:
    import pipeline
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "HEAD"), "pipeline_changes": git("status", "--porcelain", "--", "pipeline"),
            "pipeline_package": os.path.dirname(pipeline.__file__)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000, 100_000])
    ap.add_argument("--max-minutes", type=float, default=15.0, help="skip a size whose extrapolated run is longer")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--report", action="store_true", help="only print the tables of the last results file")
    ap.add_argument("--results", default=RESULTS, help="results file (default bench/results/dedup.json)")
    args = ap.parse_args(argv)
    if args.report:
        with open(args.results) as f:
            return print_report(json.load(f))
    if not os.path.isdir(REVISIONS):
        sys.exit(f"bench needs {DATA} (../shared beside the repo)")
    from pipeline.config import load_config
    near = load_config().dedup.near
    res: dict = {"code": _code_version()}
    prev = {}
    if (args.skip_quality or args.skip_scale) and os.path.exists(args.results):
        with open(args.results) as f:
            prev = json.load(f)                     # a section not rerun is kept, with the code it was run on
    for section, skipped in (("quality", args.skip_quality), ("scale", args.skip_scale)):
        if skipped and section in prev:
            res[section] = prev[section]
            res.setdefault("carried_over", {})[section] = prev.get("carried_over", {}).get(section, prev.get("code"))
    with tempfile.TemporaryDirectory(prefix="winnow-bench-dedup-") as tmp:
        res["s_curve"] = s_curve(near.threshold, near.num_perm, near.bands, near.rows)
        res["s_curve_by_threshold"] = [s_curve(t, near.num_perm) for t in THRESHOLDS]
        if not args.skip_quality:
            print("quality runs:", flush=True)
            res["quality"] = quality_runs(tmp)
        res["signatures"] = signature_speed([t for _, t in load_pages()][:990])
        if not args.skip_scale:
            print("scale runs:", flush=True)
            res["scale"] = scale_runs(args.sizes, tmp, args.max_minutes)
    print_report(res)
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(res, f, indent=2, default=str)
    print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
