"""QualityClassifier: a fastText quality score per document (stages/classifier.py), batched, model loaded once
per worker. Writes quality_classifier_score and quality_bucket, folds the score into quality_score (the
dedup survivor rank), and drops below `threshold` when one is set. `keep_top_fraction` is a cut over the
whole run, made after all docs are scored (`TopFractionCut`)."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.stages import classifier
from pipeline.stages.types import Rejection
from pipeline.transforms.common import REJECTED, STATS, Counters, rejected

_SHARED = shared.Shared()
NAME = "quality_classifier"
HIST_BINS = 10_000             # resolution of the top-fraction cut (scores are binned, so the cut is exact per bin)


class ClassifierFn(beam.DoFn):
    """batch of docs -> scored docs (main) or REJECTED (below the threshold)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.counters = Counters()

    def setup(self):
        path, label = self.cfg.model or classifier.DEFAULT_MODEL, self.cfg.label
        self.model = _SHARED.acquire(lambda: classifier.Classifier(path, label), tag=f"clf:{path}:{label}")

    def process(self, batch):
        scores = self.model.scores([d["text"] for d in batch])
        for doc, score in zip(batch, scores):
            bucket = classifier.bucket(score, self.cfg.buckets)
            self.counters.inc(f"{NAME}.in")
            self.counters.inc(f"{NAME}.bucket_{bucket}")
            yield beam.pvalue.TaggedOutput(STATS, (f"{NAME}.bucket_{bucket}", 1))
            base = doc["quality_score"] if doc["quality_score"] is not None else (doc["lang_score"] or 1.0)
            doc = dict(doc, quality_classifier_score=score, quality_bucket=bucket, quality_score=float(base) * score)
            if self.cfg.threshold is not None and score < self.cfg.threshold:
                yield rejected(self.counters, doc, Rejection(f"{NAME}.low_score", score))
                continue
            self.counters.inc(f"{NAME}.out")
            yield doc


def _bin(score: float) -> int:
    return min(HIST_BINS - 1, max(0, int(score * HIST_BINS)))


def cut_bin(hist: dict, fraction: float) -> int:
    """The lowest score bin kept so that the kept docs (every doc in bins >= it) are at most `fraction` of all,
    and at least one bin is kept. Deterministic: the histogram does not depend on order."""
    total = sum(hist.values())
    if not total:
        return 0
    budget, kept = fraction * total, 0
    for b in sorted(hist, reverse=True):
        if kept and kept + hist[b] > budget:
            return b + 1
        kept += hist[b]
    return 0


class _CutFn(beam.DoFn):
    def __init__(self):
        self.counters = Counters()

    def process(self, doc, lowest_bin):
        s = doc.get("quality_classifier_score")
        if s is not None and _bin(s) < lowest_bin:
            yield rejected(self.counters, doc, Rejection(f"{NAME}.below_top_fraction", s))
        else:
            yield doc


class TopFractionCut(beam.PTransform):
    """Keep the best-scoring `fraction` of the scored docs (DCLM: top 10%), by a histogram of HIST_BINS bins."""

    def __init__(self, fraction: float):
        super().__init__()
        self.fraction = fraction

    def expand(self, docs):
        hist = (docs | "Bins" >> beam.Map(lambda d: _bin(d["quality_classifier_score"] or 0.0))
                | "CountBins" >> beam.combiners.Count.PerElement() | "Histogram" >> beam.combiners.ToDict())
        lowest = hist | "CutBin" >> beam.Map(cut_bin, self.fraction)
        return docs | "Cut" >> beam.ParDo(_CutFn(), beam.pvalue.AsSingleton(lowest)).with_outputs(
            REJECTED, main="kept")
