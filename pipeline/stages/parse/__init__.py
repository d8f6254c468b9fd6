"""Parse one input file into RawRecords, with a DeadLetter for each record that cannot be read.

Formats (`format_of`): JSON Lines, Parquet, WARC/WET/ARC, plain text. Compression (gzip, zstd) is
detected from magic bytes, not the name, so a stream Beam already decompressed works too. Bad data
never raises; a failing `fileobj.read` does (Beam retries the bundle). Positions, per format:
JSONL 0-based physical line number (blank lines skipped but counted), Parquet row index, WARC index
among the items yielded for the file, txt 0. A file that breaks mid-way yields one DeadLetter at the
next position and stops. Which WARC records are documents: see `warc._warc_item`.

This package is the public API (`format_of`, `iter_records`, `MAX_RAW_BYTES`); one module per concern:
  registry     file name -> format (`format_of`), format -> reader (`READERS`)
  common       shared limits, dead-letter construction, bounded reads
  compression  gzip/zstd detection and decompression (`_Input`, `_Corrupt`)
  records      a JSON object or Parquet row -> RawRecord (shared by jsonl and parquet)
  jsonl        JSON Lines
  parquet      Parquet
  warc         WARC, WET and ARC, with HTML decoding and text extraction
  text         plain text
"""
from __future__ import annotations

from typing import BinaryIO, Iterator

from pipeline.stages.parse.common import MAX_RAW_BYTES
from pipeline.stages.parse.registry import READERS, format_of
from pipeline.stages.types import DeadLetter, RawRecord

__all__ = ["MAX_RAW_BYTES", "format_of", "iter_records"]


def iter_records(path: str, fileobj: BinaryIO, *, max_record_bytes: int = 10_000_000,
                 html_main_content: bool = True) -> Iterator[RawRecord | DeadLetter]:
    """Yield a RawRecord or DeadLetter per record of `path`, read from the binary `fileobj`."""
    yield from READERS[format_of(path)](path, fileobj, max_record_bytes, html_main_content)
