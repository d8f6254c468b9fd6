"""Decon: benchmark decontamination (stages/decon.py): eval-set n-gram index loaded once per worker; a doc
sharing n-grams with it is dropped (decon.contaminated) or has the spans cut out (mode remove)."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.stages import decon
from pipeline.stages.document import set_text
from pipeline.stages.types import Rejection
from pipeline.transforms.common import STATS, Counters, rejected

_SHARED = shared.Shared()


class _Index:
    def __init__(self, idx):
        self.idx = idx


def load(cfg: decon.DeconConfig) -> decon.DeconIndex:
    return decon.load_sets(list(cfg.sets), cfg.n, text_fields=cfg.text_fields, min_item_tokens=cfg.min_item_tokens,
                           cover_k=cfg.cover_k, cover_max_tokens=cfg.cover_max_tokens, cover_max_df=cfg.cover_max_df)


class DeconFn(beam.DoFn):
    def __init__(self, cfg: decon.DeconConfig):
        self.cfg = cfg
        self.counters = Counters()

    def setup(self):
        self.idx = _SHARED.acquire(lambda: _Index(load(self.cfg)), tag=f"decon:{self.cfg!r}").idx

    def process(self, doc):
        self.counters.inc("decon.in")
        yield beam.pvalue.TaggedOutput(STATS, ("decon.in", 1))
        res = decon.check(doc["text"], self.idx, mode=self.cfg.mode, min_matches=self.cfg.min_matches,
                          window_chars=self.cfg.window_chars, cover_fraction=self.cfg.cover_fraction,
                          cover_min_hits=self.cfg.cover_min_hits)
        if res.matches:
            doc = dict(doc, quality_signals={**(doc["quality_signals"] or {}), "decon.matches": float(res.matches)})
        rej = res.rejection
        if rej is None and res.removed_chars and not res.text.strip():      # nothing left once cut
            rej = Rejection("decon.contaminated", float(res.matches))
        if rej:
            yield rejected(self.counters, doc, rej)
            return
        if res.removed_chars:
            self.counters.inc("decon.docs_cleaned")
            self.counters.inc("decon.removed_chars", res.removed_chars)
            yield beam.pvalue.TaggedOutput(STATS, ("decon.docs_cleaned", 1))
            yield beam.pvalue.TaggedOutput(STATS, ("decon.removed_chars", res.removed_chars))
            doc = set_text(doc, res.text)
        self.counters.inc("decon.out")
        yield doc
