"""Write: document rows and dead letters into deterministic, sorted Parquet files (+ small JSON summaries)."""
from __future__ import annotations

import apache_beam as beam
import pyarrow as pa

import schemas
from pipeline import progress
from pipeline.io import external_sort, files, memory
from pipeline.stages import shard
from schemas.clusters import CLUSTER_SCHEMA
from schemas.dead_letter import DEAD_LETTER_SCHEMA
from schemas.documents import DOCUMENT_SCHEMA

_SCHEMAS = {"docs": DOCUMENT_SCHEMA, "rejects": DOCUMENT_SCHEMA, "dead_letter": DEAD_LETTER_SCHEMA,
            "clusters": CLUSTER_SCHEMA}


# Parquet row group of the document, dead-letter and cluster files: a file is built one group at a time
# (memory: one group as Arrow data, not the whole file twice), and readers can split files by group.
ROWS_PER_GROUP = 4096
# A file of more rows than this is sorted through a local temporary file (rows wait pickled on disk, only
# their keys in memory): ~12 MB of document rows as Python objects.
SORT_IN_MEMORY_ROWS = 1024


def _sort_key(kind):
    if kind == "clusters":
        return lambda r: r["cluster_id"]
    if kind == "dead_letter":
        return lambda r: (r["source"], r["position"], r["stage"], r["error"])
    return lambda r: r["doc_id"]


def _row_key(kind, row):
    if kind == "clusters":
        return row["cluster_id"]
    return f"{row['source']}#{row['position']}" if kind == "dead_letter" else row["doc_id"]


class AssignFileFn(beam.DoFn):
    def __init__(self, kind, rows_per_file):
        self.kind, self.rows_per_file = kind, rows_per_file

    def process(self, row, total):
        n = shard.n_files(total, self.rows_per_file)
        yield (shard.bucket_of(_row_key(self.kind, row), n, "file:"), n), row


class WriteFileFn(beam.DoFn):
    def __init__(self, kind, out_dir, config_hash):
        self.kind, self.out_dir, self.config_hash = kind, out_dir, config_hash

    def process(self, element, tokenizer_sha):
        (k, n), rows = element
        name = f"{self.kind}/{self.kind}-{k:05d}-of-{n:05d}.parquet"
        # bounded memory: beyond SORT_IN_MEMORY_ROWS, rows wait in a local temporary file, not as Python objects
        with external_sort.sorted_items(rows, _sort_key(self.kind), SORT_IN_MEMORY_ROWS) as ordered:
            sha, count = files.write_parquet_rows(files.join(self.out_dir, name), _SCHEMAS[self.kind],
                                                  schemas.footer_metadata(self.kind, self.config_hash, tokenizer_sha),
                                                  ordered, ROWS_PER_GROUP)
        memory.release_freed_memory()          # the next file starts from here, not from this one's peak
        progress.add(f"write.{self.kind}", count)
        yield {"path": name, "rows": count, "sha256": sha}

    def finish_bundle(self):
        progress.flush()


class WriteRows(beam.PTransform):
    """rows -> files OUT/<kind>/<kind>-KKKKK-of-NNNNN.parquet, rows sorted inside each file."""

    def __init__(self, kind, out_dir, rows_per_file, config_hash, tokenizer_sha):
        super().__init__()
        self.kind, self.out_dir, self.rows_per_file = kind, out_dir, rows_per_file
        self.config_hash, self.tokenizer_sha = config_hash, tokenizer_sha

    def expand(self, rows):
        total = rows | "Count" >> beam.combiners.Count.Globally()
        return (rows
                | "AssignFile" >> beam.ParDo(AssignFileFn(self.kind, self.rows_per_file), beam.pvalue.AsSingleton(total))
                | "GroupFiles" >> beam.GroupByKey()
                | "WriteFile" >> beam.ParDo(WriteFileFn(self.kind, self.out_dir, self.config_hash),
                                            beam.pvalue.AsSingleton(self.tokenizer_sha)))


class WriteJson(beam.DoFn):
    """Write the single element (a list or dict) as a JSON file."""

    def __init__(self, path):
        self.path = path

    def process(self, obj):
        files.write_json(self.path, obj)
        yield self.path


class WriteTableFn(beam.DoFn):
    """Write the single element (a list of rows) as one Parquet file (small summary tables: bias/)."""

    def __init__(self, path, schema, kind, config_hash):
        self.path, self.schema, self.kind, self.config_hash = path, schema, kind, config_hash

    def process(self, rows):
        table = pa.Table.from_pylist(rows, schema=self.schema)
        files.write_bytes(self.path, files.parquet_bytes(table, schemas.footer_metadata(self.kind, self.config_hash, None)))
        yield self.path
