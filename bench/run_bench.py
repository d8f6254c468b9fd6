"""`make bench`: docs/s per stage (pure functions, one core) and end to end (`winnow run` on the FnApiRunner),
with peak RSS, on the real web pages in ../shared/data. Prints a table and writes bench/results/bench.json.
Not a test: no assertions; the numbers go into bench/RESULTS.md with date, commit and machine.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")


def load_pages():
    path = os.path.join(DATA, "web_trafilatura_eval", "documents.jsonl.gz")
    if not os.path.exists(path):
        sys.exit(f"bench needs {path} (../shared beside the repo)")
    raw = gzip.open(path, "rb").read()
    return path, raw


def timed(fn, n):
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    return n / dt, dt


def stage_rates(path, raw):
    from pipeline import config
    from pipeline.stages import document, langid, parse, quality, tokenize
    from pipeline.stages.dedup import minhash
    cfg = config.load_config()
    rows = {}
    recs = []
    rate, _ = timed(lambda: recs.extend(parse.iter_records(path, io.BytesIO(gzip.compress(raw)))), 1)
    n = len(recs)
    rows["parse (jsonl.gz)"] = n * rate
    docs = []
    rows["normalize"] = timed(lambda: docs.extend(document.new_document(r) for r in recs), n)[0]
    model = langid.LangIdModel()
    texts = [d["text"] for d in docs]
    preds = []
    rows["langid (batched)"] = timed(lambda: preds.extend(
        p for i in range(0, n, 512) for p in model.predict(texts[i:i + 512])), n)[0]
    for name, th in config.quality_filters(cfg):
        rows[f"quality.{name}"] = timed(lambda: [quality.apply_filters(t, "en", [(name, th)]) for t in texts], n)[0]
    filters = config.quality_filters(cfg)
    rows["quality (profile, all filters)"] = timed(lambda: [quality.apply_filters(t, "en", filters) for t in texts], n)[0]
    rows["minhash signature"] = timed(lambda: [minhash.signature(t) for t in texts], n)[0]
    tok_json = tokenize.train_bpe(texts[:500], 8192)
    tok = tokenize.load(tok_json)
    rows["tokenize (encode_batch)"] = timed(lambda: [tokenize.encode_batch(tok, texts[i:i + 256])
                                                     for i in range(0, n, 256)], n)[0]
    return n, rows


def end_to_end(path, copies, workers=1):
    """winnow run on `copies` copies of the pages; copy c > 0 gets one extra first line, so the copies are
    near duplicates (not exact ones) and every stage, near dedup included, does its full work."""
    tmp = tempfile.mkdtemp(prefix="winnow-bench-")
    inp = os.path.join(tmp, "pages.jsonl.gz")
    n = 0
    with gzip.open(inp, "wt", encoding="utf-8") as out:
        for c in range(copies):
            for line in gzip.open(path, "rt", encoding="utf-8"):
                r = json.loads(line)
                r["id"] = f"{r['id']}-copy{c}"
                if c:
                    r["text"] = f"Mirror {c} of this page.\n" + r["text"]
                out.write(json.dumps(r, ensure_ascii=False) + "\n")
                n += 1
    cmd = [os.path.join(ROOT, ".venv", "bin", "winnow"), "run", "--input", inp, "--output", os.path.join(tmp, "out")]
    if workers > 1:
        cmd += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"docs": n, "workers": workers, "seconds": round(dt, 1), "docs_per_s": round(n / dt, 1),
            "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
            "peak_rss_mb": round(after.ru_maxrss / 1024, 0)}   # largest single process (driver or a worker)


def main():
    path, raw = load_pages()
    n, rows = stage_rates(path, raw)
    print(f"per-stage throughput on {n} real web pages (web_trafilatura_eval), one core:")
    for k, v in rows.items():
        print(f"  {k:<34} {v:>10,.0f} docs/s")
    e2e = [end_to_end(path, c, w) for c, w in ((1, 1), (4, 1), (4, 2))]
    print("\nend to end, `winnow run` (FnApiRunner, default config; 4x = the pages + 3 near-duplicate mirrors):")
    for r in e2e:
        print(f"  {r['docs']:>6} docs  {r['workers']} worker(s)  {r['seconds']:>7} s  {r['docs_per_s']:>7} docs/s  cpu {r['cpu_s']} s  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "bench.json"), "w") as f:
        json.dump({"stages_docs_per_s": rows, "end_to_end": e2e, "pages": n}, f, indent=2)


if __name__ == "__main__":
    main()
