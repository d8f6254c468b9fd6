"""The whole Winnow graph as one composite transform, `Winnow`, one line per stage (like TFDS c4.py):

    outputs = p | "Winnow" >> Winnow(cfg, input_files, out_dir, config_hash)

It reads the inputs and writes every output file under `out_dir` (documents, rejects, dead letters, clusters,
shards, tokenizer, bias ledger) plus small JSON files the driver turns into the manifest
(pipeline/driver/manifest.py). It returns its PCollections by name (kept documents, rejected rows, dead letters, ...) so a test can
`assert_that` on them on any runner; `sinks` holds one element per finished sink, for a step that must run
after every file is written (pipeline/driver/finalize.py). The driver that runs it is pipeline/driver/run.py.
"""
from __future__ import annotations

import apache_beam as beam

from pipeline import config as config_mod
from pipeline.io import files
from pipeline.stages import tokenize as tokenize_stage
from pipeline.transforms.bias import LEDGER, REPRESENTATION, BiasLedger
from pipeline.transforms.classifier import TopFractionCut
from pipeline.transforms.common import DEAD_LETTER, REJECTED, STATS
from pipeline.transforms.dedup import ExactDedup, ResolveExactCopies
from pipeline.transforms.documents import INPUT as DOC_INPUT
from pipeline.transforms.documents import Documents
from pipeline.transforms.near_dedup import CLUSTERS, UNCONVERGED, NearDedup
from pipeline.transforms.pii import TOTALS as PII_TOTALS
from pipeline.transforms.read import Read
from pipeline.transforms.tokenize import TokenizeAndShard, TrainTokenizer
from pipeline.transforms.write import WriteJson, WriteRows, WriteTableFn
from schemas.bias import LEDGER_SCHEMA, REPRESENTATION_SCHEMA
from schemas.index import BANDS_GLOB

# Small JSON files the sinks write under out_dir and the driver reads (and deletes) to build the manifest.
COUNTS_FILE = "_counts.json"
SHARDS_FILE = "_shards.json"
FILES_FILE = "_files_{}.json"
DEDUP_FILE = "_dedup.json"
PII_FILE = "_pii.json"
STATS_FILE = "_stats.json"
SINK_FILES = [COUNTS_FILE, SHARDS_FILE, DEDUP_FILE, PII_FILE, STATS_FILE] + \
    [FILES_FILE.format(k) for k in ("docs", "rejects", "dead_letter", "clusters")]


def _outcome_key(kind):
    if kind == "kept":
        return lambda _: "kept"
    if kind == "dead_letter":
        return lambda _: "dead_letter"
    return lambda row: "rejected:" + row["drop_reasons"][0]


class Winnow(beam.PTransform):
    """Every stage, wired: applied to the pipeline's root, it reads `inputs` (input file paths) and writes
    every output under `out_dir`. `tokenizer_json`: the text of a tokenizer to load (None: train one when
    tokenize.tokenizer is "train"); `cache_root`: the resume cache (None: no cache).

    Returns a dict of PCollections: `kept` (documents kept), `rejected` (rejected rows with their reasons),
    `dead_letter` (unreadable records), `clusters` (near-duplicate cluster rows, when near dedup is on) and
    `sinks` (one element per finished sink)."""

    def __init__(self, cfg, inputs, out_dir, config_hash, tokenizer_json=None, cache_root=None):
        super().__init__()
        self.cfg, self.inputs, self.out_dir, self.config_hash = cfg, list(inputs), out_dir, config_hash
        self.tokenizer_json, self.cache_root = tokenizer_json, cache_root

    def expand(self, p):
        cfg, inputs, out_dir, config_hash = self.cfg, self.inputs, self.out_dir, self.config_hash
        tokenizer_json, cache_root = self.tokenizer_json, self.cache_root
        done = []
        chunks = p | "Read" >> Read(inputs, cfg.input.max_record_bytes, cfg.input.html_main_content,
                                    cfg.input.chunk_records, cache_root)
        # normalize, langid, quality and pii, one chunk of records at a time (each chunk cached for resume)
        r = chunks | "Documents" >> Documents(cfg, config_mod.quality_filters(cfg), cache_root)
        docs, rejected, dead = r["kept"], [r[REJECTED]], [r[DEAD_LETTER]]
        clf = cfg.quality.classifier
        if clf.enabled and clf.keep_top_fraction is not None:
            c = docs | "QualityTopFraction" >> TopFractionCut(clf.keep_top_fraction)
            docs, rejected = c.kept, rejected + [c[REJECTED]]
        clusters = None
        # counted independently of the outcomes, so the invariant input == kept + rejected + dead_letter can fail
        input_count = r[DOC_INPUT]
        if cfg.pii.enabled:
            done.append(r[PII_TOTALS] | "WritePiiTotals" >> beam.ParDo(WriteJson(files.join(out_dir, PII_FILE))))
        done.append(r[STATS] | "WriteStats" >> beam.ParDo(WriteJson(files.join(out_dir, STATS_FILE))))
        exact_copies = None
        if cfg.dedup.exact.enabled:
            r = docs | "ExactDedup" >> ExactDedup()
            docs, exact_copies = r.kept, r[REJECTED]
        if cfg.dedup.near.enabled:
            index_rows = None
            if cfg.dedup.near.against:       # a saved index of an earlier corpus (`winnow index build`)
                index_rows = p | "ReadIndex" >> beam.io.ReadFromParquet(
                    files.join(cfg.dedup.near.against, BANDS_GLOB))
            r = docs | "NearDedup" >> NearDedup(cfg.dedup.near, index_rows)
            if exact_copies is not None:
                exact_copies = (exact_copies, r["kept"], r[REJECTED]) | "ResolveExactCopies" >> ResolveExactCopies()
            docs, rejected, clusters = r["kept"], rejected + [r[REJECTED]], r[CLUSTERS]
            done.append(r[UNCONVERGED] | "WriteDedupCheck" >> beam.ParDo(WriteJson(files.join(out_dir, DEDUP_FILE))))
        kept = docs
        if exact_copies is not None:
            rejected.append(exact_copies)

        if cfg.tokenize.enabled:
            if tokenizer_json is None:
                tok_json = kept | "TrainTokenizer" >> TrainTokenizer(cfg.tokenize)
            else:
                tok_json = p | "LoadTokenizer" >> beam.Create([tokenizer_json])
            shards = (kept, tok_json) | "TokenizeAndShard" >> TokenizeAndShard(
                cfg.tokenize, cfg.output.blocks_per_shard, out_dir, config_hash)
            done.append(shards | "GatherShards" >> beam.combiners.ToList()
                        | "WriteShardList" >> beam.ParDo(WriteJson(files.join(out_dir, SHARDS_FILE))))
            done.append(tok_json | "WriteTokenizer" >> beam.Map(
                lambda t: files.write_bytes(files.join(out_dir, "tokenizer.json"), t.encode("utf-8"))))
            tok_sha = tok_json | "TokenizerSha" >> beam.Map(tokenize_stage.sha256_text)
        else:
            tok_sha = p | "NoTokenizer" >> beam.Create([""])

        rejects = (rejected or [p | "NoRejects" >> beam.Create([])]) | "AllRejects" >> beam.Flatten()
        dead_letter = dead | "AllDeadLetters" >> beam.Flatten()
        if cfg.bias.enabled:
            order = filter_order(cfg)
            g = cfg.bias.gate
            b = (kept, rejects) | "BiasLedger" >> BiasLedger(order, cfg.bias.lexicon, g.max_ratio, g.min_docs)
            done.append(b[LEDGER] | "WriteLedger" >> beam.ParDo(WriteTableFn(
                files.join(out_dir, "bias", "ledger.parquet"), LEDGER_SCHEMA, "bias_ledger", config_hash)))
            done.append(b[REPRESENTATION] | "WriteRepresentation" >> beam.ParDo(WriteTableFn(
                files.join(out_dir, "bias", "representation.parquet"), REPRESENTATION_SCHEMA, "bias_representation",
                config_hash)))

        outcomes = [input_count]
        if clusters is not None:
            written = clusters | "Write_clusters" >> WriteRows("clusters", out_dir, cfg.output.docs_per_file,
                                                               config_hash, tok_sha)
            done.append(written | "Gather_clusters" >> beam.combiners.ToList()
                        | "List_clusters" >> beam.ParDo(WriteJson(files.join(out_dir, FILES_FILE.format("clusters")))))
        for kind, rows in (("docs", kept), ("rejects", rejects), ("dead_letter", dead_letter)):
            written = rows | f"Write_{kind}" >> WriteRows(kind, out_dir, cfg.output.docs_per_file, config_hash, tok_sha)
            done.append(written | f"Gather_{kind}" >> beam.combiners.ToList()
                        | f"List_{kind}" >> beam.ParDo(WriteJson(files.join(out_dir, FILES_FILE.format(kind)))))
            outcomes.append(rows | f"Outcome_{kind}" >> beam.Map(_outcome_key("kept" if kind == "docs" else kind)))
        done.append(outcomes | "AllOutcomes" >> beam.Flatten()
                    | "CountOutcomes" >> beam.combiners.Count.PerElement()
                    | "GatherCounts" >> beam.combiners.ToDict()
                    | "WriteCounts" >> beam.ParDo(WriteJson(files.join(out_dir, COUNTS_FILE))))
        out = {"kept": kept, "rejected": rejects, "dead_letter": dead_letter,
               "sinks": done | "AllSinks" >> beam.Flatten()}
        if clusters is not None:
            out["clusters"] = clusters
        return out


def filter_order(cfg) -> list[str]:
    """The stages that can remove a document, in pipeline order (the bias ledger's filters)."""
    return ((["url"] if cfg.url_filter.enabled else []) + (["langid"] if cfg.langid.enabled else [])
            + ([n for n, _ in config_mod.quality_filters(cfg)] if cfg.quality.enabled else [])
            + (["quality_classifier"] if cfg.quality.classifier.cuts else [])
            + (["pii"] if cfg.pii.enabled else []) + (["decon"] if cfg.decon.enabled else [])
            + (["exact_dedup"] if cfg.dedup.exact.enabled else []) + (["near_dedup"] if cfg.dedup.near.enabled else []))
