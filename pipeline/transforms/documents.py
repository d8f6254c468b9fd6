"""Documents: the per-document stages over chunks of parsed records, each chunk's outcomes kept in the resume
cache (pipeline/io/chunk_cache.py) or replayed from it.

The stages, in order: normalize, url filter, langid | line dedup, quality (heuristics), quality classifier,
pii, decon. They are the same DoFns as the single-stage composites, run in order on one chunk: a chunk (up to
input.chunk_records records of one file) is the unit of work that Read spreads over the workers and the unit
that an interrupted run does not redo. Cross-document line dedup needs every document before any can be
cleaned, so with it on the chain runs in two parts: `Prepare` (up to langid) emits each chunk's documents
whole, `CommonLinesTable` counts their lines, and `Filter` removes the common lines and runs the rest; each
part caches its chunks (the second under the digest of the table, which is the same on a rerun).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.io import files
from pipeline.io.chunk_cache import ChunkCache
from pipeline.stages.dedup import lines
from pipeline.stages.document import new_document, set_text
from pipeline.stages.types import DeadLetter
from pipeline.transforms import common
from pipeline.transforms.classifier import ClassifierFn
from pipeline.transforms.common import DEAD_LETTER, REJECTED, STATS, Counters, dead_letter_row
from pipeline.transforms.decon import DeconFn
from pipeline.transforms.langid import LangIdFn
from pipeline.transforms.line_dedup import CommonLinesTable
from pipeline.transforms.pii import TOTALS, PiiFn
from pipeline.transforms.quality import QualityFn
from pipeline.transforms.urlfilter import UrlFilterFn

INPUT = "input"          # one element per input record, counted apart from the outcomes (the accounting check)
BATCHED = ("langid", "classifier")      # stages whose DoFn takes a list of docs


def _stages(cfg, quality_filters, part: str) -> list:
    pre, post = [], []
    if cfg.url_filter.enabled:
        pre.append(("url", UrlFilterFn(cfg.url_filter.stage_config())))
    if cfg.langid.enabled:
        pre.append(("langid", LangIdFn(cfg.langid.model, cfg.langid.languages, cfg.langid.min_score)))
    if cfg.quality.enabled:
        post.append(("quality", QualityFn(quality_filters)))
    if cfg.quality.classifier.enabled:
        post.append(("classifier", ClassifierFn(cfg.quality.classifier)))
    if cfg.pii.enabled:
        post.append(("pii", PiiFn(cfg.pii.stage_config())))
    if cfg.decon.enabled:
        post.append(("decon", DeconFn(cfg.decon.stage_config())))
    return {"all": pre + post, "pre": pre, "post": post}[part]


class DocumentsFn(beam.DoFn):
    """part "all" or "pre": (file key, chunk index, records or None) -> documents that go on (main; for "pre"
    one (file key, index, [documents]) per chunk), REJECTED, DEAD_LETTER, TOTALS (PII kind, hits) and INPUT
    markers. Records None: the chunk is in the cache; its outcomes and counter increments are replayed.
    part "post": (file key, index, [documents]) and the CommonLines side input -> documents, REJECTED, TOTALS."""

    def __init__(self, cfg, quality_filters, cache_root: str | None, part: str = "all"):
        self.part = part
        self.stages = _stages(cfg, quality_filters, part)
        self.batch_size = {"langid": cfg.langid.batch_size, "classifier": cfg.quality.classifier.batch_size}
        self.line_cfg = cfg.dedup.line.stage_config()
        self.cache_root = cache_root
        self.counters = Counters()

    def setup(self):
        for _, fn in self.stages:
            fn.setup()
        self.cache = ChunkCache(self.cache_root) if self.cache_root and self.part != "post" else None
        self.post_cache = None

    def process(self, chunk, table=None):
        fkey, index, items = chunk
        cache = self.cache
        if self.part == "post" and self.cache_root:
            if self.post_cache is None:
                self.post_cache = ChunkCache(files.join(self.cache_root, f"post-{table.digest()[:20]}"))
            cache = self.post_cache
            if FileSystems.exists(cache.entry(fkey, index)):
                items = None
        if items is None:
            n_input, outputs, counts = cache.read(fkey, index)
            for name, n in counts.items():
                self.counters.inc(name, n)
        else:
            with common.recording() as counts:
                outputs = self._run(items, table)
            n_input = len(items) if self.part != "post" else 0
            if cache is not None:
                cache.write(fkey, index, n_input, outputs, dict(counts))
        if self.part != "post":
            for _ in range(n_input):
                yield beam.pvalue.TaggedOutput(INPUT, "input")
        docs = []
        for tag, value in outputs:
            if tag is not None:
                yield beam.pvalue.TaggedOutput(tag, value)
            elif self.part == "pre":
                docs.append(value)
            else:
                yield value
        if self.part == "pre":
            yield fkey, index, docs

    def _run(self, items, table) -> list:
        """Every outcome of the chunk's records as (tag, value), tag None for documents that go on."""
        outputs = []
        docs = items if self.part == "post" else self._normalize(items, outputs)
        stats: dict[str, int] = {}
        if self.part == "post":
            docs = [self._remove_lines(d, table, stats) for d in docs]
        for name, fn in self.stages:
            if name in BATCHED:             # batched predictions, as the single-stage composites batch them
                size = self.batch_size[name]
                batches = [docs[i:i + size] for i in range(0, len(docs), size)]
                results = (out for b in batches for out in fn.process(b))
            else:
                results = (out for d in docs for out in fn.process(d))
            docs = []
            for out in results:
                if isinstance(out, beam.pvalue.TaggedOutput):
                    if out.tag == STATS:                    # summed per chunk: one element per name
                        stats[out.value[0]] = stats.get(out.value[0], 0) + out.value[1]
                    else:
                        outputs.append((out.tag, out.value))
                else:
                    docs.append(out)
        outputs.extend((None, d) for d in docs)
        outputs.extend((STATS, kv) for kv in sorted(stats.items()))
        return outputs

    def _normalize(self, records, outputs) -> list:
        docs = []
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
        return docs

    def _remove_lines(self, doc, table, stats):
        self.counters.inc("dedup.line.docs_in")
        res = lines.remove_common(doc["text"], lines.text_rank(doc["text_hash"]), table, self.line_cfg.min_chars)
        if not res.removed_lines:
            return doc
        for name, n in (("docs_cleaned", 1), ("removed_lines", res.removed_lines),
                        ("removed_chars", res.removed_chars)):
            self.counters.inc(f"dedup.line.{name}", n)
            stats[f"dedup.line.{name}"] = stats.get(f"dedup.line.{name}", 0) + n
        signals = {**(doc["quality_signals"] or {}), "dedup.line.removed_lines": float(res.removed_lines),
                   "dedup.line.removed_chars": float(res.removed_chars)}
        return dict(set_text(doc, res.text), quality_signals=signals)


class Documents(beam.PTransform):
    """chunks -> {"kept", REJECTED, DEAD_LETTER, TOTALS (dict kind -> hits, one element), STATS (dict name -> n,
    one element), INPUT}."""

    def __init__(self, cfg, quality_filters, cache_root: str | None):
        super().__init__()
        self.cfg, self.quality_filters, self.cache_root = cfg, quality_filters, cache_root

    def expand(self, chunks):
        cfg, q = self.cfg, self.quality_filters
        outs = (REJECTED, DEAD_LETTER, TOTALS, STATS, INPUT)
        if not cfg.dedup.line.enabled:
            r = chunks | "Stages" >> beam.ParDo(DocumentsFn(cfg, q, self.cache_root)).with_outputs(*outs, main="kept")
            kept, rejected, totals, stats = r.kept, [r[REJECTED]], [r[TOTALS]], [r[STATS]]
        else:
            a = chunks | "Prepare" >> beam.ParDo(DocumentsFn(cfg, q, self.cache_root, "pre")).with_outputs(
                *outs, main="chunks")
            table = a.chunks | "CommonLines" >> CommonLinesTable(cfg.dedup.line.stage_config())
            b = a.chunks | "Filter" >> beam.ParDo(DocumentsFn(cfg, q, self.cache_root, "post"),
                                                  beam.pvalue.AsSingleton(table)).with_outputs(
                REJECTED, TOTALS, STATS, main="kept")
            kept, rejected, totals = b.kept, [a[REJECTED], b[REJECTED]], [a[TOTALS], b[TOTALS]]
            stats = [a[STATS], b[STATS]]
            r = a
        all_rejected = rejected[0] if len(rejected) == 1 else rejected | "AllStageRejects" >> beam.Flatten()
        all_totals = totals[0] if len(totals) == 1 else totals | "AllPiiTotals" >> beam.Flatten()
        totals = all_totals | "SumPiiPerKind" >> beam.CombinePerKey(sum) | "PiiAsDict" >> beam.combiners.ToDict()
        all_stats = stats[0] if len(stats) == 1 else stats | "AllStats" >> beam.Flatten()
        stats = all_stats | "SumStats" >> beam.CombinePerKey(sum) | "StatsAsDict" >> beam.combiners.ToDict()
        return {"kept": kept, REJECTED: all_rejected, DEAD_LETTER: r[DEAD_LETTER], TOTALS: totals, STATS: stats,
                INPUT: r[INPUT]}
