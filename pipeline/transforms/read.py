"""Read: match input globs, parse every file into records (pure stages.parse), normalize into documents."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes

from pipeline import progress
from pipeline.stages import parse
from pipeline.stages.document import new_document
from pipeline.stages.types import DeadLetter
from pipeline.transforms.common import DEAD_LETTER, Counters, dead_letter_row


class ParseFileFn(beam.DoFn):
    def __init__(self, max_record_bytes: int, html_main_content: bool):
        self.max_record_bytes = max_record_bytes
        self.html_main_content = html_main_content
        self.counters = Counters()

    def process(self, readable):
        path = readable.metadata.path
        done = 0                                   # input bytes reported to the progress display
        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            for item in parse.iter_records(path, fh, max_record_bytes=self.max_record_bytes,
                                           html_main_content=self.html_main_content):
                self.counters.inc("input")
                done = _report_bytes(fh, done)
                if isinstance(item, DeadLetter):
                    self.counters.inc("dead_letter.parse")
                    yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead_letter_row(
                        item.source, item.position, item.stage, item.error, item.raw))
                    continue
                try:
                    doc = new_document(item)
                except Exception as e:          # a bug or a pathological record: keep the record, go on
                    self.counters.inc("dead_letter.normalize")
                    yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead_letter_row(
                        item.source, item.position, "normalize", f"{type(e).__name__}: {e}",
                        item.text[:4096].encode("utf-8", "replace")))
                    continue
                self.counters.inc("normalize.out")
                yield doc
        progress.add("read.bytes", max(0, (readable.metadata.size_in_bytes or 0) - done))

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
    """patterns -> documents (main) + dead letters (tag 'dead_letter')."""

    def __init__(self, patterns: list[str], max_record_bytes: int, html_main_content: bool):
        super().__init__()
        self.patterns = patterns
        self.max_record_bytes = max_record_bytes
        self.html_main_content = html_main_content

    def expand(self, pbegin):
        return (pbegin
                | "Patterns" >> beam.Create(self.patterns)
                | "Match" >> fileio.MatchAll()
                | "Open" >> fileio.ReadMatches()
                | "SpreadFiles" >> beam.Reshuffle()
                | "Parse" >> beam.ParDo(ParseFileFn(self.max_record_bytes, self.html_main_content))
                .with_outputs(DEAD_LETTER, main="docs"))
