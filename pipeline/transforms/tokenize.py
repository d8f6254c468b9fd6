"""Tokenize and Shard: train (or load) the tokenizer, encode kept docs in batches, pack shards per split.

Deterministic: the training sample is the docs with the smallest hash of doc_id; a doc's split and shard
come from hashes of its doc_id; a shard's docs are packed in doc_id order; file names are fixed by
(split, shard index, shard count).
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np
import pyarrow as pa

import schemas
from pipeline.io import files, memory
from pipeline.stages import shard, tokenize
from pipeline.transforms.common import Counters
from schemas.shards import ROWS_PER_ROW_GROUP, SHARD_SCHEMA

# Beam resource hint for shard packing (honoured by Dataflow; other runners ignore it): one task holds a whole
# shard's documents and their token arrays (blocks_per_shard x (seq_len + 1) tokens plus the docs' text).
PACKING_MIN_RAM = "4GB"


class _TokenizerCache:
    """Holds the Tokenizer built from a side-input JSON once per DoFn instance."""

    def __init__(self):
        self.sha = None
        self.tok = None
        self.eos = None

    def get(self, tok_json: str):
        sha = tokenize.sha256_text(tok_json)
        if sha != self.sha:
            self.tok = tokenize.load(tok_json)
            self.eos = tokenize.eos_id(self.tok)
            self.sha = sha
        return self.tok


class TrainTokenizer(beam.PTransform):
    """kept docs -> a one-element PCollection with the trained tokenizer.json text."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def expand(self, docs):
        n, max_chars, vocab = self.cfg.train_sample_docs, self.cfg.train_max_chars_per_doc, self.cfg.vocab_size
        return (docs
                | "SampleKey" >> beam.Map(lambda d: (shard.unit_hash(d["doc_id"], "tok:"), d["text"][:max_chars]))
                | "Sample" >> beam.combiners.Top.Smallest(n)
                | "Train" >> beam.Map(lambda sample: tokenize.train_bpe([t for _, t in sample], vocab)))


class EncodeFn(beam.DoFn):
    def __init__(self, val_fraction):
        self.val_fraction = val_fraction
        self.counters = Counters()

    def setup(self):
        self.cache = _TokenizerCache()

    def process(self, batch, tok_json):
        tok = self.cache.get(tok_json)
        for doc, ids in zip(batch, tokenize.encode_batch(tok, [d["text"] for d in batch])):
            split = shard.split_of(doc["doc_id"], self.val_fraction)
            self.counters.inc(f"tokenize.docs.{split}")
            yield split, (doc["doc_id"], doc["lang"], doc["source"], np.asarray(ids, dtype=np.int32))


class AssignShardFn(beam.DoFn):
    def __init__(self, seq_len, blocks_per_shard):
        self.tokens_per_shard = (seq_len + 1) * blocks_per_shard

    def process(self, element, totals):
        split, item = element
        n = shard.n_files(totals.get(split, 0), self.tokens_per_shard)
        yield (split, shard.bucket_of(item[0], n, "shard:"), n), item


class WriteShardFn(beam.DoFn):
    def __init__(self, out_dir, seq_len, config_hash):
        self.out_dir, self.seq_len, self.config_hash = out_dir, seq_len, config_hash
        self.counters = Counters()

    def setup(self):
        self.cache = _TokenizerCache()

    def process(self, element, tok_json):
        (split, k, n), items = element
        self.cache.get(tok_json)
        docs = sorted(items, key=lambda it: it[0])
        cols, dropped = shard.pack(docs, self.seq_len, self.cache.eos)
        n_docs = len(docs)
        del docs
        # rows of seq_len + 1 ids, straight from the packed numpy stream (as Python ints, a 2M-token shard
        # took ~75 MB; the stream is not copied again)
        ids = cols["input_ids"]
        offsets = np.arange(0, ids.size + 1, self.seq_len + 1, dtype=np.int32)
        input_ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids.reshape(-1), pa.int32()))
        table = pa.table({"input_ids": input_ids,
                          **{c: cols[c] for c in ("doc_ids", "doc_starts", "langs", "sources")}}, schema=SHARD_SCHEMA)
        del cols, ids
        name = f"{split}/{split}-{k:05d}-of-{n:05d}.parquet"
        meta = schemas.footer_metadata("shards", self.config_hash, self.cache.sha)
        # streamed to the file (no copy of the file in memory)
        sha, size = files.write_parquet_table(files.join(self.out_dir, "shards", name), table, meta,
                                              row_group_size=ROWS_PER_ROW_GROUP)
        n_rows = table.num_rows
        tokens = n_rows * (self.seq_len + 1)
        del table, input_ids
        memory.release_freed_memory()
        self.counters.inc(f"shard.tokens.{split}", tokens)
        self.counters.inc("shard.tokens_dropped", dropped)
        yield {"path": f"shards/{name}", "split": split, "rows": n_rows, "docs": n_docs,
               "tokens": tokens, "tokens_dropped": dropped, "sha256": sha, "bytes": size}


class TokenizeAndShard(beam.PTransform):
    """kept docs + tokenizer json (singleton PCollection) -> shard file records (dicts)."""

    def __init__(self, cfg, blocks_per_shard, out_dir, config_hash):
        super().__init__()
        self.cfg, self.blocks_per_shard = cfg, blocks_per_shard
        self.out_dir, self.config_hash = out_dir, config_hash

    def expand(self, pcolls):
        docs, tok_json = pcolls
        tok_side = beam.pvalue.AsSingleton(tok_json)
        encoded = (docs
                   | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.cfg.batch_size)
                   | "Encode" >> beam.ParDo(EncodeFn(self.cfg.val_fraction), tok_side))
        totals = (encoded
                  | "TokensPerDoc" >> beam.Map(lambda kv: (kv[0], len(kv[1][3]) + 1))
                  | "TokensPerSplit" >> beam.CombinePerKey(sum))
        return (encoded
                | "AssignShard" >> beam.ParDo(AssignShardFn(self.cfg.seq_len, self.blocks_per_shard),
                                              beam.pvalue.AsDict(totals))
                | "GroupShards" >> beam.GroupByKey()
                | "Pack" >> beam.ParDo(WriteShardFn(self.out_dir, self.cfg.seq_len, self.config_hash), tok_side)
                .with_resource_hints(min_ram=PACKING_MIN_RAM))
