"""Train a fastText quality classifier the DCLM way (Li et al. 2024, https://arxiv.org/abs/2406.11794).

DCLM's recipe (`baselines/README.md` and `baselines/train_fasttext_classifier.py` in
github.com/mlfoundations/dclm): `fasttext.train_supervised` with `wordNgrams=2` (word unigrams and bigrams,
bigrams hashed into `bucket` rows) and fastText's other defaults otherwise ("we did not deviate from their
default values"): lr 0.1, dim 100, epoch 5, minCount 1, bucket 2,000,000, softmax loss; labels `__label__hq`
(positive) and `__label__cc` (negative). Those are the defaults of `train` below. Then, unlike DCLM, the model
is quantized to .ftz (product quantization with retraining, `cutoff` rows kept) so it is small enough to ship.

Inputs (positive and negative lists of paths):
- `.jsonl` / `.jsonl.gz` / `.json.gz`: one JSON object a line, document text in `text_field`
  (records without a string there are skipped and counted);
- `.txt` / `.txt.gz`: one document a line (fastText's own convention: a document that needs line breaks
  belongs in JSONL).
Blank documents are skipped; a text seen twice within a class is kept once; a text in both classes is dropped.

Split: a document is held out when a hash of (seed, text) falls below `holdout`, so the split does not depend
on file order and copies of a text always land on the same side. Training runs with `thread=1`: fastText's
Hogwild SGD can only be reproducible on one thread. With it (and the seed) the bundled model's build gave the
same bytes on every run; on tiny toy corpora fasttext-numpy2 0.10.4 was seen to give different bytes, or a
transient "Encountered NaN", now and then (retried, see `_retry_nan`), so byte-identity is not promised.
Preprocessing is `classifier.prepare` (first `max_chars` chars, lines joined with spaces), the same as when
scoring.
"""
from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import json
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from pipeline.stages.classifier import MAX_CHARS, Classifier, prepare, sha256_file

POSITIVE_LABEL = "__label__hq"
NEGATIVE_LABEL = "__label__cc"


# ------------------------------------------------------------------------------------------------ reading
def _open_text(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def read_docs(path: str, text_field: str = "text", stats: Optional[dict] = None) -> Iterator[str]:
    """Documents of one input file (format by extension, see the module docstring)."""
    stats = stats if stats is not None else {}
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith((".jsonl", ".json")):
        with _open_text(path) as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    stats["skipped_bad_record"] = stats.get("skipped_bad_record", 0) + 1
                    continue
                text = rec.get(text_field) if isinstance(rec, dict) else None
                if not isinstance(text, str):
                    stats["skipped_bad_record"] = stats.get("skipped_bad_record", 0) + 1
                    continue
                yield text
    elif name.endswith(".txt"):
        with _open_text(path) as f:
            for line in f:
                yield line.rstrip("\n")
    else:
        raise ValueError(f"classifier training input {path!r}: expected .jsonl, .jsonl.gz, .json.gz, .txt or "
                         ".txt.gz")


def _hash01(seed: int, text: str) -> float:
    """A deterministic number in [0, 1) from (seed, text)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8, key=str(seed).encode()).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def _load_class(paths: Sequence[str], text_field: str, max_chars: Optional[int]) -> tuple[dict[str, None], list]:
    """Prepared texts of one class (insertion-ordered, deduplicated) and per-file source records."""
    docs: dict[str, None] = {}
    sources = []
    for path in paths:
        stats: dict = {}
        n = 0
        for text in read_docs(str(path), text_field, stats):
            line = prepare(text, max_chars)
            if not line.strip():
                stats["skipped_blank"] = stats.get("skipped_blank", 0) + 1
                continue
            n += 1
            if line in docs:
                stats["skipped_duplicate"] = stats.get("skipped_duplicate", 0) + 1
                continue
            docs[line] = None
        sources.append({"file": os.path.basename(str(path)), "sha256": sha256_file(str(path)), "docs": n, **stats})
    return docs, sources


# ------------------------------------------------------------------------------------------------ metrics
def roc_auc(pos_scores: Iterable[float], neg_scores: Iterable[float]) -> float:
    """Area under the ROC curve = P(score of a random positive > that of a random negative), ties count 1/2
    (Mann-Whitney U from average ranks). NaN when a class is empty."""
    pos = np.asarray(list(pos_scores), dtype=np.float64)
    neg = np.asarray(list(neg_scores), dtype=np.float64)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    sorted_v = allv[order]
    ranks = np.empty(len(allv), dtype=np.float64)
    # average rank (1-based) over each run of equal values
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_v)) + 1]
    ends = np.r_[starts[1:], len(allv)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def binary_metrics(pos_scores: Sequence[float], neg_scores: Sequence[float], threshold: float = 0.5) -> dict:
    """Precision, recall, F1 of `score >= threshold` for the positive class, accuracy, and ROC AUC."""
    pos = np.asarray(pos_scores, dtype=np.float64)
    neg = np.asarray(neg_scores, dtype=np.float64)
    tp = int((pos >= threshold).sum())
    fn = len(pos) - tp
    fp = int((neg >= threshold).sum())
    tn = len(neg) - fp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = len(pos) + len(neg)
    return {"threshold": threshold, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "accuracy": round((tp + tn) / total, 4) if total else 0.0,
            "roc_auc": round(roc_auc(pos, neg), 4), "tp": tp, "fp": fp, "tn": tn, "fn": fn}


# ------------------------------------------------------------------------------------------------ training
def train(positive_paths: Sequence[str], negative_paths: Sequence[str], out_path: str, *,
          text_field: str = "text", seed: int = 1, holdout: float = 0.1, epoch: int = 5, lr: float = 0.1,
          word_ngrams: int = 2, bucket: int = 2_000_000, dim: int = 100, quantize: bool = True,
          cutoff: int = 100_000, max_docs: Optional[int] = None, max_chars: Optional[int] = MAX_CHARS,
          notes: str = "") -> dict:
    """Train, (quantize,) save to `out_path`, evaluate on the held-out split and write the model card
    `<out_path>.card.md` + `<out_path>.card.json`. Returns the metrics dict (also in the card).

    Defaults are DCLM's (module docstring). `max_docs`: at most this many documents per class, the ones with
    the lowest hash (an order-independent sample). `cutoff`: rows (words + bigram buckets) the quantized model
    keeps, the main lever on its size (about dim/2 + 1 bytes a row). `notes`: free text for the card (e.g.
    where the inputs came from).
    """
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")

    pos, pos_sources = _load_class(positive_paths, text_field, max_chars)
    neg, neg_sources = _load_class(negative_paths, text_field, max_chars)
    both = [t for t in pos if t in neg]
    for t in both:
        del pos[t], neg[t]

    def split(docs: dict[str, None]) -> tuple[list[str], list[str]]:
        ranked = sorted(docs, key=lambda t: _hash01(seed, t))
        if max_docs is not None:
            ranked = ranked[:max_docs]
        tr = [t for t in ranked if _hash01(seed + 1, t) >= holdout]
        te = [t for t in ranked if _hash01(seed + 1, t) < holdout]
        return tr, te

    pos_train, pos_test = split(pos)
    neg_train, neg_test = split(neg)
    if not pos_train or not neg_train:
        raise ValueError(f"classifier training needs documents of both classes (positive {len(pos_train)}, "
                         f"negative {len(neg_train)} for training)")
    examples = [(POSITIVE_LABEL, t) for t in pos_train] + [(NEGATIVE_LABEL, t) for t in neg_train]
    examples.sort(key=lambda e: _hash01(seed + 2, e[1]))       # deterministic shuffle: SGD sees classes mixed

    hyper = {"lr": lr, "dim": dim, "ws": 5, "epoch": epoch, "minCount": 1, "wordNgrams": word_ngrams,
             "loss": "softmax", "bucket": bucket, "thread": 1, "seed": seed}
    out_path = str(out_path)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="winnow-clf-") as tmp:
        train_file = os.path.join(tmp, "train.txt")
        with open(train_file, "w", encoding="utf-8") as f:
            for label, text in examples:
                f.write(f"{label} {text}\n")
        tries, hyper["lr"] = fit(train_file, hyper, out_path, quantize=quantize, cutoff=cutoff)

    clf = Classifier(out_path, label=POSITIVE_LABEL, max_chars=None)   # texts are prepared already
    metrics = binary_metrics(clf.scores(pos_test), clf.scores(neg_test))
    metrics.update(n_test_positive=len(pos_test), n_test_negative=len(neg_test))

    card = {
        "model": {"file": os.path.basename(out_path), "sha256": sha256_file(out_path),
                  "bytes": os.path.getsize(out_path), "labels": [POSITIVE_LABEL, NEGATIVE_LABEL],
                  "positive_label": POSITIVE_LABEL, "quantized": quantize,
                  "fasttext": _fasttext_version()},
        "data": {"positive_sources": pos_sources, "negative_sources": neg_sources, "text_field": text_field,
                 "dropped_in_both_classes": len(both),
                 "train": {"positive": len(pos_train), "negative": len(neg_train)},
                 "heldout": {"positive": len(pos_test), "negative": len(neg_test)}},
        "preprocessing": {"max_chars": max_chars, "newlines": "text.strip().splitlines() joined with ' '"},
        "split": {"holdout": holdout, "seed": seed, "max_docs_per_class": max_docs,
                  "rule": "held out when blake2b(text, key=str(seed+1)) / 2**64 < holdout"},
        "hyperparameters": {**hyper, **({"quantize": {"retrain": True, "qnorm": True, "cutoff": cutoff,
                                                      "dsub": 2}} if quantize else {})},
        "nan_retries": tries,
        "metrics_heldout": metrics,
        "notes": notes,
    }
    with open(out_path + ".card.json", "w", encoding="utf-8") as f:
        json.dump(card, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(out_path + ".card.md", "w", encoding="utf-8") as f:
        f.write(render_card(card))
    return metrics


def fit(train_file: str, hyper: dict, out_path: str, *, quantize: bool = False, cutoff: int = 100_000) \
        -> tuple[int, float]:
    """fastText supervised training of `train_file` (fastText's format) with `hyper`, saved to out_path, in a
    fresh process: in a long-lived one (a test session, a notebook) fastText was seen to hit "Encountered NaN"
    on every retry after other native code had run, and never in a fresh process. Returns (NaN retries, the
    learning rate used)."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="winnow-fit-") as tmp:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            return pool.submit(_fit, train_file, hyper, quantize, cutoff, tmp, out_path).result()


def _fit(train_file: str, hyper: dict, quantize: bool, cutoff: int, tmp: str, out_path: str) -> tuple[int, float]:
    """Train (and quantize) with fastText, save to out_path; returns (NaN retries, the learning rate used).
    A NaN (fastText diverging on a small, very easy corpus) is retried with the learning rate halved."""
    import fasttext
    fasttext.FastText.eprint = lambda *a, **k: None    # silence the load/save deprecation banner
    lr = hyper["lr"]
    model, tries = _retry_nan(lambda attempt: fasttext.train_supervised(
        input=train_file, verbose=0, **{**hyper, "lr": lr * 0.5 ** attempt}))
    lr_used = lr * 0.5 ** tries
    if quantize:
        model, q_tries = _quantize(model, train_file, tmp, cutoff)
        tries += q_tries
    model.save_model(out_path)
    return tries, lr_used


def _retry_nan(fn, tries: int = 4):
    """fn() again while it raises fastText's "Encountered NaN" (at most `tries` calls); returns (result, retries).

    fasttext-numpy2 0.10.4 diverges now and then on tiny, very easy corpora, even with thread=1 and a fixed seed
    (seen on a few hundred toy documents; never on the bundled model's data). The failure is transient, so the
    call is repeated (`fn(attempt)`: training halves its learning rate each time); the number of retries goes
    into the card."""
    for attempt in range(tries):
        try:
            return fn(attempt), attempt
        except RuntimeError as e:
            if "NaN" not in str(e) or attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _quantize(model, train_file: str, tmp: str, cutoff: int):
    """Product-quantize with retraining (qnorm, `cutoff` rows kept, dsub 2); on a NaN the unquantized model is
    reloaded and quantized again. Returns (model, retries)."""
    import fasttext
    saved = os.path.join(tmp, "unquantized.bin")
    model.save_model(saved)
    state = {"model": model}

    def attempt(_):
        m = state["model"]
        try:
            m.quantize(input=train_file, retrain=True, qnorm=True, cutoff=cutoff, thread=1, verbose=0)
        except RuntimeError:
            state["model"] = fasttext.load_model(saved)
            raise
        return m

    return _retry_nan(attempt)


def _fasttext_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    for dist in ("fasttext-numpy2", "fasttext", "fasttext-wheel"):
        try:
            return f"{dist} {version(dist)}"
        except PackageNotFoundError:
            continue
    return "unknown"


def render_card(card: dict) -> str:
    m, d, h = card["metrics_heldout"], card["data"], card["hyperparameters"]
    lines = [f"# Model card: {card['model']['file']}", "",
             "fastText supervised quality classifier (DCLM recipe), written by "
             "`pipeline/stages/classifier_train.py`.", "",
             f"- sha256: `{card['model']['sha256']}` ({card['model']['bytes']:,} bytes, "
             f"{'quantized' if card['model']['quantized'] else 'not quantized'}, {card['model']['fasttext']})",
             f"- labels: `{POSITIVE_LABEL}` (positive), `{NEGATIVE_LABEL}`",
             f"- preprocessing: first {card['preprocessing']['max_chars']} characters, "
             f"{card['preprocessing']['newlines']}", ""]
    if card.get("notes"):
        lines += [card["notes"].rstrip(), ""]
    lines += ["## Data", "", "| class | file | sha256 | docs |", "|---|---|---|---|"]
    for cls, key in (("positive", "positive_sources"), ("negative", "negative_sources")):
        for s in d[key]:
            lines.append(f"| {cls} | `{s['file']}` | `{s['sha256'][:16]}…` | {s['docs']:,} |")
    lines += ["", f"Train: {d['train']['positive']:,} positive, {d['train']['negative']:,} negative. "
              f"Held out: {d['heldout']['positive']:,} positive, {d['heldout']['negative']:,} negative "
              f"({card['split']['rule']}, holdout {card['split']['holdout']}). "
              f"Texts in both classes dropped: {d['dropped_in_both_classes']}.", "",
              "## Hyperparameters", "", "```", json.dumps(h, sort_keys=True), "```", "",
              "## Held-out metrics", "",
              "| precision@0.5 | recall@0.5 | F1@0.5 | accuracy | ROC AUC |", "|---|---|---|---|---|",
              f"| {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {m['accuracy']:.4f} | "
              f"{m['roc_auc']:.4f} |", ""]
    return "\n".join(lines)
