"""Read: match input files, parse each into records (pure stages.parse), cut them into chunks of up to
input.chunk_records records, and spread the chunks over the workers. The chunks go to Documents
(transforms/documents.py), which normalizes them and runs the per-document stages. With a resume cache, a chunk
already in it is passed on as (file key, index, None), and a file whose chunks are all cached is not read."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from pipeline import progress
from pipeline.io.chunk_cache import CHUNK_MAX_BYTES, ChunkCache, file_key
from pipeline.stages import parse
from pipeline.stages.types import DeadLetter


class ParseFileFn(beam.DoFn):
    """readable file -> (file key, chunk index, list of RawRecord | DeadLetter, or None if cached)."""

    def __init__(self, max_record_bytes: int, html_main_content: bool, chunk_records: int,
                 cache_root: str | None = None):
        self.max_record_bytes = max_record_bytes
        self.html_main_content = html_main_content
        self.chunk_records = chunk_records
        self.cache_root = cache_root

    def setup(self):
        self.cache = ChunkCache(self.cache_root) if self.cache_root else None

    def process(self, readable):
        meta = readable.metadata
        fkey = file_key(meta.path, meta.size_in_bytes, meta.last_updated_in_seconds)
        cached, count = self.cache.done(fkey) if self.cache else (set(), None)
        if count is not None and cached >= set(range(count)):
            progress.add("read.bytes", meta.size_in_bytes or 0)
            for i in range(count):
                yield fkey, i, None
            return
        done = 0                                   # input bytes reported to the progress display
        chunk, size, index = [], 0, 0
        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            for item in parse.iter_records(meta.path, fh, max_record_bytes=self.max_record_bytes,
                                           html_main_content=self.html_main_content):
                done = _report_bytes(fh, done)
                chunk.append(item)
                size += len(item.raw) if isinstance(item, DeadLetter) else len(item.text)
                if len(chunk) >= self.chunk_records or size >= CHUNK_MAX_BYTES:
                    yield fkey, index, None if index in cached else chunk
                    chunk, size, index = [], 0, index + 1
        if chunk:
            yield fkey, index, None if index in cached else chunk
            index += 1
        if self.cache is not None:
            self.cache.write_count(fkey, index)
        progress.add("read.bytes", max(0, (meta.size_in_bytes or 0) - done))

    def finish_bundle(self):
        progress.flush()


def _report_bytes(fh, done: int) -> int:
    """Progress: the stored (often compressed) bytes of the file consumed so far."""
    try:
        pos = fh.tell()
    except Exception:             # a stream without tell(): the whole file is counted when it ends
        return done
    if pos > done:
        progress.add("read.bytes", pos - done)
        return pos
    return done


class Read(beam.PTransform):
    """input files -> chunks of records, spread over the workers."""

    def __init__(self, paths: list[str], max_record_bytes: int, html_main_content: bool, chunk_records: int,
                 cache_root: str | None = None):
        super().__init__()
        self.paths = paths
        self.args = (max_record_bytes, html_main_content, chunk_records, cache_root)

    def expand(self, pbegin):
        return (pbegin
                | "Patterns" >> beam.Create(self.paths)
                | "Match" >> fileio.MatchAll()
                | "Open" >> fileio.ReadMatches()
                | "SpreadFiles" >> beam.Reshuffle()
                | "Parse" >> beam.ParDo(ParseFileFn(*self.args))
                # a big file's chunks leave Parse in one bundle: redistribute them so every worker gets a share
                | "SpreadChunks" >> beam.Reshuffle())
