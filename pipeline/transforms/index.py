"""BuildIndex: kept docs of a finished run -> one row per distinct LSH band key (smallest doc_id), so later
runs can drop near duplicates of this corpus (`dedup.near.against`) without reprocessing it."""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages.dedup import lsh, minhash


class _BandRowsFn(beam.DoFn):
    def __init__(self, params):
        self.p = params

    def process(self, row):
        sig = minhash.signature(row["text"], self.p["num_perm"], self.p["ngram"], self.p["seed"])
        for band, key in lsh.band_keys(sig, self.p["bands"], self.p["rows"]):
            yield (band, key), row["doc_id"]


class BuildIndex(beam.PTransform):
    def __init__(self, params):
        super().__init__()
        self.params = params

    def expand(self, rows):
        return (rows
                | "BandRows" >> beam.ParDo(_BandRowsFn(self.params))
                | "SmallestId" >> beam.CombinePerKey(min)
                | "ToRow" >> beam.MapTuple(lambda k, doc_id: {"band": k[0], "key": k[1], "doc_id": doc_id}))
