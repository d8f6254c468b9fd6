"""Pii: find emails, phones and IPs (stages/pii.py); redact them with typed placeholders or only count them;
optionally drop docs with too many hits. Totals per kind are a side output for the manifest."""
from __future__ import annotations

import apache_beam as beam

from pipeline.stages import pii
from pipeline.stages.document import set_text
from pipeline.transforms.common import REJECTED, Counters, rejected

TOTALS = "pii_totals"


class PiiFn(beam.DoFn):
    def __init__(self, cfg: pii.PiiConfig):
        self.cfg = cfg
        self.counters = Counters()

    def process(self, doc):
        res = pii.check(doc["text"], self.cfg)
        for kind, n in res.counts.items():
            self.counters.inc(f"pii.{kind}", n)
            yield beam.pvalue.TaggedOutput(TOTALS, (kind, n))
        out = dict(set_text(doc, res.text) if res.text != doc["text"] else doc, pii_counts=dict(res.counts))
        if res.rejection:
            yield rejected(self.counters, out, res.rejection)
        else:
            yield out


class Pii(beam.PTransform):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def expand(self, docs):
        r = docs | "FindPii" >> beam.ParDo(PiiFn(self.cfg)).with_outputs(REJECTED, TOTALS, main="kept")
        totals = r[TOTALS] | "SumPerKind" >> beam.CombinePerKey(sum) | "AsDict" >> beam.combiners.ToDict()
        return {"kept": r.kept, REJECTED: r[REJECTED], TOTALS: totals}
