"""Quality: the configured filters in order (stages.quality.apply_filters); a counter per drop reason."""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages import quality
from pipeline.stages.document import set_text
from pipeline.transforms.common import DEAD_LETTER, REJECTED, Counters, dead_letter_row, rejected


class QualityFn(beam.DoFn):
    def __init__(self, filters):
        self.filters = filters
        self.counters = Counters()

    def process(self, doc):
        self.counters.inc("quality.in")
        try:
            res = quality.apply_filters(doc["text"], doc["lang"] or "unknown", self.filters)
        except Exception as e:       # a filter bug must not lose the doc: dead-letter it with the error
            self.counters.inc("dead_letter.quality")
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, dead_letter_row(
                doc["source"], -1, "quality",      # -1: the position is not carried past parsing; ids are in the error
                f"{type(e).__name__}: {e} (doc_id {doc['doc_id']}, source_id {doc['source_id']})",
                doc["text"].encode("utf-8", "replace")))
            return
        score = quality.quality_score(res.signals, doc["lang_score"] or 0.0)
        signals = {**(doc["quality_signals"] or {}), **res.signals}     # line dedup signals come before
        doc = dict(doc, quality_signals=signals, quality_skipped=list(res.skipped), quality_score=score)
        if res.rejection:
            yield rejected(self.counters, doc, res.rejection)
            return
        for name, n in res.line_counts.items():
            self.counters.inc(name, n)
        self.counters.inc("quality.out")
        yield set_text(doc, res.text)


class Quality(beam.PTransform):
    def __init__(self, filters):
        super().__init__()
        self.filters = filters

    def expand(self, docs):
        return docs | "Filter" >> beam.ParDo(QualityFn(self.filters)).with_outputs(REJECTED, DEAD_LETTER, main="kept")
