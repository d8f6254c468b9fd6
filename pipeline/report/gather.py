"""The data card's numbers: read a finished run's manifest and Parquet outputs, return plain data. No HTML, no
charts.

Parquet is read column by column in batches (never `text`), so memory does not grow with the corpus.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems   # local paths and gs:// alike, as the run writes them

from pipeline.driver.funnel import funnel
from pipeline.io import files
from schemas import manifest as manifest_mod
from schemas.manifest import Manifest

TOP_CLUSTERS = 10
LENGTH_EDGES = np.logspace(0, 8, 81)   # n_chars bins: 10 per decade, 1 to 10^8, fixed so batches add up
LENGTH_KINDS = ("kept", "filtered", "duplicate")


@dataclass
class CardData:
    """Everything the data card shows, for one finished run."""
    manifest: Manifest
    funnel: list[tuple[str, int]]           # (stage, documents remaining after it)
    langs: dict[str, Counter]               # "input" (parsed: kept + rejected), "kept" -> lang -> documents
    hist: dict[str, np.ndarray]             # LENGTH_KINDS -> documents per n_chars bin (LENGTH_EDGES)
    length_edges: np.ndarray
    medians: dict[str, float | None]        # LENGTH_KINDS -> approximate median n_chars (None: no document)
    exact_sizes: Counter                    # exact-duplicate group size -> groups
    near_sizes: Counter                     # near-duplicate cluster size -> clusters
    top_clusters: list[dict]                # the largest clusters: cluster_id, size, survivor, members_truncated
    urls: dict[str, str]                    # doc_id -> URL, for the largest clusters' survivors
    errors: Counter                         # (stage, error kind) -> dead letters
    ledger: list[dict] | None               # bias/ledger.parquet rows (None: no ledger)
    representation: list[dict] | None       # bias/representation.parquet rows (None: no table)


def gather_run(out_dir: str) -> CardData:
    """The data of the finished run in out_dir (local or a URL)."""
    out_dir = out_dir.rstrip("/")
    m = manifest_mod.read(out_dir, files.read_bytes)
    clusters = cluster_stats(out_dir, m)
    stats = doc_stats(out_dir, m, {r["survivor"] for r in clusters["top"] if r["survivor"]})
    return CardData(
        manifest=m, funnel=funnel(m), langs=stats["langs"], hist=stats["hist"], length_edges=LENGTH_EDGES,
        medians={k: approx_median(h) for k, h in stats["hist"].items()}, exact_sizes=stats["exact_sizes"],
        near_sizes=clusters["sizes"], top_clusters=clusters["top"], urls=stats["urls"],
        errors=dead_letter_errors(out_dir, m), ledger=read_table(out_dir, "bias/ledger.parquet"),
        representation=read_table(out_dir, "bias/representation.parquet"))


def scan(out_dir: str, rel_paths, columns):
    """Record batches of `columns` (those present) from the Parquet files at rel_paths under out_dir."""
    for rel in rel_paths:
        with FileSystems.open(files.join(out_dir, rel), compression_type="uncompressed") as fh:
            pf = pq.ParquetFile(fh)
            cols = [c for c in columns if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=65536, columns=cols)


def read_table(out_dir: str, rel: str):
    path = files.join(out_dir, rel)
    return pq.read_table(io.BytesIO(files.read_bytes(path))).to_pylist() if FileSystems.exists(path) else None


def doc_stats(out_dir: str, m: Manifest, survivors: set) -> dict:
    """One pass over docs/ and rejects/: languages, n_chars histograms, exact-duplicate groups, survivors' URLs."""
    langs = {"input": Counter(), "kept": Counter()}
    hist = {k: np.zeros(len(LENGTH_EDGES) - 1, np.int64) for k in LENGTH_KINDS}
    exact_of, urls = Counter(), {}

    def add_hist(key, n):
        hist[key] += np.histogram(np.clip(n, 1, LENGTH_EDGES[-1]), LENGTH_EDGES)[0]

    for kind in ("docs", "rejects"):
        cols = ["lang", "n_chars"] + (["doc_id", "url"] if kind == "docs" else ["drop_reasons", "duplicate_of"])
        for b in scan(out_dir, m.paths(kind), cols):
            counts = pc.value_counts(pc.fill_null(b.column("lang"), "(none)")).to_pylist()
            for targets in ([langs["input"], langs["kept"]] if kind == "docs" else [langs["input"]]):
                targets.update({c["values"]: c["counts"] for c in counts})
            n = b.column("n_chars").to_numpy(zero_copy_only=False)
            if kind == "docs":
                add_hist("kept", n)
                hit = pc.is_in(b.column("doc_id"), pa.array(sorted(survivors), pa.string()))
                for r in b.filter(hit).select(["doc_id", "url"]).to_pylist():
                    urls[r["doc_id"]] = r["url"]
                continue
            first = pc.list_element(b.column("drop_reasons"), 0)   # rejects always hold a reason
            dup = pc.fill_null(pc.starts_with(first, "dedup."), False).to_numpy(zero_copy_only=False)
            add_hist("duplicate", n[dup])
            add_hist("filtered", n[~dup])
            of = pc.filter(b.column("duplicate_of"), pc.fill_null(pc.equal(first, "dedup.exact_duplicate"), False))
            exact_of.update({c["values"]: c["counts"] for c in pc.value_counts(of).to_pylist()})
    # a group = the survivor + its exact duplicates
    return {"langs": langs, "hist": hist, "urls": urls, "exact_sizes": Counter(n + 1 for n in exact_of.values())}


def cluster_stats(out_dir: str, m: Manifest) -> dict:
    """Near-duplicate cluster sizes (clusters/: clusters of two or more docs) and the largest clusters."""
    sizes, top = Counter(), []
    for b in scan(out_dir, m.paths("clusters"), ["cluster_id", "size", "survivor", "members_truncated"]):
        sizes.update(Counter(b.column("size").to_pylist()))
        k = min(TOP_CLUSTERS, b.num_rows)
        top.extend(pc.take(b, pc.select_k_unstable(b, k, [("size", "descending")])).to_pylist() if k else [])
        top = sorted(top, key=lambda r: (-r["size"], r["cluster_id"]))[:TOP_CLUSTERS]
    return {"sizes": sizes, "top": top}


def dead_letter_errors(out_dir: str, m: Manifest) -> Counter:
    """(stage, error kind) -> dead letters; the kind is the error text before its first ':', digits as N."""
    errors = Counter()
    for b in scan(out_dir, m.paths("dead_letter"), ["stage", "error"]):
        for r in b.to_pylist():
            errors[(r["stage"] or "", re.sub(r"\d+", "N", (r["error"] or "").split(":", 1)[0])[:120])] += 1
    return errors


def approx_median(hist) -> float | None:
    if not hist.sum():
        return None
    i = int(np.searchsorted(np.cumsum(hist), hist.sum() / 2))
    return float(np.sqrt(LENGTH_EDGES[i] * LENGTH_EDGES[i + 1]))   # geometric centre of the median's bin
