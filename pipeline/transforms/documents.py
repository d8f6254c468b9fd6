"""Documents: the per-document stages (normalize, LangId, Quality, Pii) over chunks of parsed records, each
chunk's outcomes kept in the resume cache (pipeline/io/chunk_cache.py) or replayed from it.

The stages are the same DoFns as the LangId, Quality and Pii composites, run in order on one chunk: a chunk
(up to input.chunk_records records of one file) is the unit of work that Read spreads over the workers and
the unit that an interrupted run does not redo.
"""
from __future__ import annotations

import apache_beam as beam

from pipeline.io.chunk_cache import ChunkCache
from pipeline.stages.document import new_document
from pipeline.stages.types import DeadLetter
from pipeline.transforms import common
from pipeline.transforms.common import DEAD_LETTER, REJECTED, Counters, dead_letter_row
from pipeline.transforms.langid import LangIdFn
from pipeline.transforms.pii import TOTALS, PiiFn
from pipeline.transforms.quality import QualityFn

INPUT = "input"          # one element per input record, counted apart from the outcomes (the accounting check)


class DocumentsFn(beam.DoFn):
    """(file key, chunk index, records or None) -> documents that go on (main), REJECTED, DEAD_LETTER, TOTALS
    (PII kind, hits) and INPUT markers. Records None: the chunk is in the cache; its outcomes and counter
    increments are replayed."""

    def __init__(self, cfg, quality_filters, cache_root: str | None):
        self.stages = []
        if cfg.langid.enabled:
            self.stages.append(("langid", LangIdFn(cfg.langid.model, cfg.langid.languages, cfg.langid.min_score)))
        if cfg.quality.enabled:
            self.stages.append(("quality", QualityFn(quality_filters)))
        if cfg.pii.enabled:
            self.stages.append(("pii", PiiFn(cfg.pii.stage_config())))
        self.batch_size = cfg.langid.batch_size
        self.cache_root = cache_root
        self.counters = Counters()

    def setup(self):
        for _, fn in self.stages:
            fn.setup()
        self.cache = ChunkCache(self.cache_root) if self.cache_root else None

    def process(self, chunk):
        fkey, index, records = chunk
        if records is None:
            n_input, outputs, counts = self.cache.read(fkey, index)
            for name, n in counts.items():
                self.counters.inc(name, n)
        else:
            with common.recording() as counts:
                outputs = self._run(records)
            n_input = len(records)
            if self.cache is not None:
                self.cache.write(fkey, index, n_input, outputs, dict(counts))
        for _ in range(n_input):
            yield beam.pvalue.TaggedOutput(INPUT, "input")
        for tag, value in outputs:
            yield value if tag is None else beam.pvalue.TaggedOutput(tag, value)

    def _run(self, records) -> list:
        """Every outcome of the chunk's records as (tag, value), tag None for documents that go on."""
        outputs, docs = [], []
        for item in records:
            self.counters.inc("input")
            if isinstance(item, DeadLetter):
                self.counters.inc("dead_letter.parse")
                outputs.append((DEAD_LETTER, dead_letter_row(item.source, item.position, item.stage, item.error,
                                                             item.raw)))
                continue
            try:
                docs.append(new_document(item))
            except Exception as e:          # a bug or a pathological record: keep the record, go on
                self.counters.inc("dead_letter.normalize")
                outputs.append((DEAD_LETTER, dead_letter_row(item.source, item.position, "normalize",
                                                             f"{type(e).__name__}: {e}",
                                                             item.text[:4096].encode("utf-8", "replace"))))
                continue
            self.counters.inc("normalize.out")
        for name, fn in self.stages:
            if name == "langid":            # batched predictions, as the LangId composite batches them
                batches = [docs[i:i + self.batch_size] for i in range(0, len(docs), self.batch_size)]
                results = (out for b in batches for out in fn.process(b))
            else:
                results = (out for d in docs for out in fn.process(d))
            docs = []
            for out in results:
                if isinstance(out, beam.pvalue.TaggedOutput):
                    outputs.append((out.tag, out.value))
                else:
                    docs.append(out)
        outputs.extend((None, d) for d in docs)
        return outputs


class Documents(beam.PTransform):
    """chunks -> {"kept", REJECTED, DEAD_LETTER, TOTALS (dict kind -> hits, one element), INPUT}."""

    def __init__(self, cfg, quality_filters, cache_root: str | None):
        super().__init__()
        self.cfg, self.quality_filters, self.cache_root = cfg, quality_filters, cache_root

    def expand(self, chunks):
        r = (chunks | "Stages" >> beam.ParDo(DocumentsFn(self.cfg, self.quality_filters, self.cache_root))
             .with_outputs(REJECTED, DEAD_LETTER, TOTALS, INPUT, main="kept"))
        totals = r[TOTALS] | "SumPiiPerKind" >> beam.CombinePerKey(sum) | "PiiAsDict" >> beam.combiners.ToDict()
        return {"kept": r.kept, REJECTED: r[REJECTED], DEAD_LETTER: r[DEAD_LETTER], TOTALS: totals,
                INPUT: r[INPUT]}
