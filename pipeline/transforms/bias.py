"""BiasLedger: who do the filters remove? For every filter x group (identity groups of the lexicon, language,
domain TLD): docs that reached it, docs it removed, rate, ratio to the filter's overall rate, Wilson interval
(stages/bias/ledger.py). Counts are combined per key (CombinePerKey), never gathered per document."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.stages.bias import ledger
from pipeline.stages.bias.lexicon import load_lexicon
from pipeline.stages.bias.match import Matcher
from pipeline.stages.quality import c4_badwords

_SHARED = shared.Shared()
LEDGER = "ledger"
REPRESENTATION = "representation"


class _Holder:
    def __init__(self, matcher):
        self.matcher = matcher


def _sum(values):
    values = list(values)
    return tuple(sum(v[i] for v in values) for i in range(len(values[0]))) if values else ()


class DocEventsFn(beam.DoFn):
    def __init__(self, order, lexicon_path, kept):
        self.order, self.lexicon_path, self.kept = order, lexicon_path, kept
        self.bad_th = c4_badwords.Thresholds()

    def setup(self):
        path = self.lexicon_path
        self.matcher = _SHARED.acquire(lambda: _Holder(Matcher(load_lexicon(path))), tag=f"lexicon:{path}").matcher

    def process(self, row):
        # the lexicon's terms are English words ("man" is a German pronoun): match docs in its languages only
        identity = self.matcher.groups(row["text"]) if row.get("lang") in self.matcher.lexicon.languages else ()
        groups = ledger.doc_groups(identity, row.get("lang"), row.get("url"))
        first = None if self.kept else row["drop_reasons"][0]
        for key, val in ledger.events(self.order, first, groups):
            yield beam.pvalue.TaggedOutput(LEDGER, (key, val))
        bad = c4_badwords.check(row["text"], row.get("lang") or "en", self.bad_th).rejection is not None
        for kg in groups:
            yield beam.pvalue.TaggedOutput(REPRESENTATION, (kg, (1, int(self.kept), int(bad))))


class BiasLedger(beam.PTransform):
    """(kept rows, rejected rows) -> {ledger: one list of ledger rows, representation: one list of rows}."""

    def __init__(self, order, lexicon_path, max_ratio, min_docs):
        super().__init__()
        self.order, self.lexicon_path = order, lexicon_path
        self.max_ratio, self.min_docs = max_ratio, min_docs

    def expand(self, pcolls):
        kept, rejected = pcolls
        a = kept | "KeptEvents" >> beam.ParDo(DocEventsFn(self.order, self.lexicon_path, True)) \
            .with_outputs(LEDGER, REPRESENTATION)
        b = rejected | "RejectedEvents" >> beam.ParDo(DocEventsFn(self.order, self.lexicon_path, False)) \
            .with_outputs(LEDGER, REPRESENTATION)
        max_ratio, min_docs = self.max_ratio, self.min_docs
        rows = ((a[LEDGER], b[LEDGER]) | "LedgerEvents" >> beam.Flatten()
                | "SumLedger" >> beam.CombinePerKey(_sum)
                | "LedgerDict" >> beam.combiners.ToDict()
                | "LedgerRows" >> beam.Map(lambda c: ledger.ledger_rows(c, max_ratio, min_docs)))
        rep = ((a[REPRESENTATION], b[REPRESENTATION]) | "RepEvents" >> beam.Flatten()
               | "SumRep" >> beam.CombinePerKey(_sum)
               | "RepDict" >> beam.combiners.ToDict()
               | "RepRows" >> beam.Map(ledger.representation_rows))
        return {LEDGER: rows, REPRESENTATION: rep}
