"""LineDedup: the table of common lines (stages/dedup/lines.py) over every document of the run.

Distributed and hot-key safe: each distinct document text (exact copies once, by text_hash) emits its
distinct line hashes; a combiner counts them per line and keeps the lowest survivor rank (combiner lifting
pre-aggregates per worker, so a line on millions of pages is never one huge group); lines over max_docs go
to one sorted table, a side input of the step that removes them (8 + 8 bytes a common line).
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np

from pipeline.stages.dedup import lines


class CountAndKeeper(beam.CombineFn):
    """(rank) values -> (documents, lowest rank)."""

    def create_accumulator(self):
        return (0, None)

    def add_input(self, acc, rank):
        return (acc[0] + 1, rank if acc[1] is None or rank < acc[1] else acc[1])

    def merge_accumulators(self, accs):
        n, best = 0, None
        for c, r in accs:
            n += c
            if r is not None and (best is None or r < best):
                best = r
        return (n, best)

    def extract_output(self, acc):
        return acc


def _doc_keys(chunk, min_chars):
    """(text_hash, the doc's distinct line hashes as sorted uint64 bytes): 8 bytes a line cross the shuffle."""
    _, _, docs = chunk
    for d in docs:
        yield d["text_hash"], np.array(sorted(lines.doc_keys(d["text"], min_chars)), dtype=np.uint64).tobytes()


def _line_pairs(item):
    text_hash, keys = item
    rank = lines.text_rank(text_hash)
    for h in np.frombuffer(keys, dtype=np.uint64).tolist():
        yield h, rank


class CommonLinesTable(beam.PTransform):
    """chunks (file key, index, [docs]) -> one CommonLines (singleton)."""

    def __init__(self, cfg: lines.LineDedupConfig):
        super().__init__()
        self.cfg = cfg

    def expand(self, chunks):
        cfg = self.cfg
        return (chunks
                | "DocLines" >> beam.FlatMap(_doc_keys, cfg.min_chars)
                | "OneCopy" >> beam.CombinePerKey(min)                  # exact copies count once
                | "LineKeys" >> beam.FlatMap(_line_pairs)
                | "CountLines" >> beam.CombinePerKey(CountAndKeeper())
                | "Common" >> beam.Filter(lambda kv: kv[1][0] > cfg.max_docs)
                | "Pairs" >> beam.Map(lambda kv: (kv[0], kv[1][1]))
                | "Gather" >> beam.combiners.ToList()
                | "Table" >> beam.Map(lines.CommonLines.from_pairs))
