"""UrlFilter: block/allow lists of domains and URLs (stages/urlfilter.py), lists loaded once per worker."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.stages import urlfilter
from pipeline.transforms.common import Counters, rejected

_SHARED = shared.Shared()


class _Lists:                     # Shared needs a weak-referenceable object
    def __init__(self, lists):
        self.lists = lists


class UrlFilterFn(beam.DoFn):
    def __init__(self, cfg: urlfilter.UrlFilterConfig):
        self.cfg = cfg
        self.counters = Counters()

    def setup(self):
        key = f"urlfilter:{self.cfg.block}:{self.cfg.allow}"
        self.lists = _SHARED.acquire(lambda: _Lists(urlfilter.UrlLists.load(list(self.cfg.block),
                                                                            list(self.cfg.allow))), tag=key).lists

    def process(self, doc):
        self.counters.inc("url.in")
        if not doc["url"]:
            self.counters.inc("url.missing")
        rej = urlfilter.check(doc["url"], self.lists)
        if rej:
            yield rejected(self.counters, doc, rej)
        else:
            self.counters.inc("url.out")
            yield doc
