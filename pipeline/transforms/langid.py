"""LangId: batched fastText predictions, model loaded once per worker process (Shared)."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.stages import langid
from pipeline.transforms.common import REJECTED, Counters, rejected

_SHARED = shared.Shared()


class LangIdFn(beam.DoFn):
    def __init__(self, model_path, languages, min_score):
        self.model_path = model_path
        self.languages = list(languages) if languages is not None else None
        self.min_score = min_score
        self.counters = Counters()

    def setup(self):
        path = self.model_path or langid.default_model_path()
        self.model = _SHARED.acquire(lambda: langid.LangIdModel(path), tag=f"langid:{path}")

    def process(self, batch):
        preds = self.model.predict([d["text"] for d in batch])
        for doc, (lang, score) in zip(batch, preds):
            doc = dict(doc, lang=lang, lang_score=score)
            self.counters.inc("langid.in")
            rej = langid.decide(lang, score, self.languages, self.min_score)
            if rej:
                yield rejected(self.counters, doc, rej)
            else:
                self.counters.inc("langid.out")
                yield doc


class LangId(beam.PTransform):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def expand(self, docs):
        return (docs
                | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.cfg.batch_size)
                | "Predict" >> beam.ParDo(LangIdFn(self.cfg.model, self.cfg.languages, self.cfg.min_score))
                .with_outputs(REJECTED, main="kept"))
