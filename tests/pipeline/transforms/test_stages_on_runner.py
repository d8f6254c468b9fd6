"""Read, LangId and Quality composites on a real Beam runner (FnApiRunner) with assert_that."""
import gzip
import json

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from pipeline import config
from pipeline.stages.normalize import text_hash
from pipeline.transforms.common import DEAD_LETTER, REJECTED
from pipeline.transforms.documents import INPUT, Documents
from pipeline.transforms.pii import TOTALS
from pipeline.transforms.langid import LangId
from pipeline.transforms.quality import Quality
from pipeline.transforms.read import Read

EN = ("The city council approved the new budget on Monday after a long debate. Members agreed that the "
      "library would stay open on weekends. The mayor said the decision reflected what residents had asked for "
      "at the public meetings held across the district during the spring.")
FR = ("Le conseil municipal a approuvé le nouveau budget lundi après un long débat. Les membres ont convenu "
      "que la bibliothèque resterait ouverte le week-end.")


def doc(doc_id, text, lang=None, score=None):
    return {"doc_id": doc_id, "source": "s", "source_id": doc_id, "text": text, "n_chars": len(text),
            "lang": lang, "lang_score": score, "drop_reasons": [], "drop_values": [], "quality_signals": {},
            "quality_skipped": [], "quality_score": None, "text_hash": text_hash(text)}


def test_read_splits_records_and_dead_letters(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "a", "text": EN}) + "\n")
        f.write("{not json\n")
        f.write(json.dumps({"id": "b", "text": 7}) + "\n")
        f.write(json.dumps({"text": FR, "url": "http://x.fr/"}) + "\n")
    cfg = config.load_config(overrides={"langid": {"enabled": False}, "quality": {"enabled": False},
                                        "pii": {"enabled": False}})
    with beam.Pipeline(runner=FnApiRunner()) as p:
        chunks = p | Read([str(path)], 10_000_000, True, chunk_records=3)
        assert_that(chunks | "Sizes" >> beam.Map(lambda c: (c[1], len(c[2]))), equal_to([(0, 3), (1, 1)]),
                    label="chunks")
        r = chunks | Documents(cfg, [], cache_root=None)
        assert_that(r["kept"] | "Ids" >> beam.Map(lambda d: (d["source_id"], d["url"])),
                    equal_to([("a", None), ("3", "http://x.fr/")]), label="docs")
        assert_that(r[DEAD_LETTER] | "Pos" >> beam.Map(lambda d: (d["position"], d["stage"])),
                    equal_to([(1, "parse"), (2, "parse")]), label="dead")
        assert_that(r[INPUT] | beam.combiners.Count.Globally(), equal_to([4]), label="input")


MORE = ("Local businesses welcomed the plan, noting that longer opening hours bring more visitors to the "
        "old market square. Several schools also asked whether students could use the reading rooms for "
        "exam preparation, and the librarian promised an answer before the summer holidays begin.")


def test_documents_runs_the_stages_in_order_on_a_chunk():
    """normalize -> langid -> quality (line cleaning) -> pii on one chunk; each rejection names its stage."""
    cfg = config.load_config()
    from pipeline.stages.types import RawRecord
    page = "Home\n" + EN + "\n" + MORE + " Write to clerk@example.org.\nAccept cookies"
    records = [RawRecord(source="s", position=i, source_id=str(i), url=None, text=t)
               for i, t in enumerate([page, FR, "x"])]
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create([("f", 0, records)]) | Documents(cfg, config.quality_filters(cfg), cache_root=None)
        assert_that(r["kept"] | "K" >> beam.Map(lambda d: (d["source_id"], d["lang"], "Home" in d["text"],
                                                           "clerk@example.org" in d["text"], d["pii_counts"])),
                    equal_to([("0", "en", False, False, {"email": 1})]), label="k")
        assert_that(r[REJECTED] | "R" >> beam.Map(lambda d: (d["source_id"], d["drop_reasons"][0])),
                    equal_to([("1", "langid.unwanted_language"), ("2", "langid.low_score")]), label="r")
        assert_that(r[TOTALS], equal_to([{"email": 1}]), label="totals")


def test_langid_keeps_english_and_rejects_french():
    cfg = config.load_config().langid
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create([doc("en", EN), doc("fr", FR)]) | LangId(cfg)
        assert_that(r.kept | "K" >> beam.Map(lambda d: (d["doc_id"], d["lang"])), equal_to([("en", "en")]), label="k")
        assert_that(r[REJECTED] | "R" >> beam.Map(lambda d: (d["doc_id"], d["lang"], d["drop_reasons"])),
                    equal_to([("fr", "fr", ["langid.unwanted_language"])]), label="r")


def test_quality_rejects_with_reason_and_value_and_cleans_kept_text():
    filters = config.quality_filters(config.load_config())
    junk = "buy now " * 3
    more = ("Local businesses welcomed the plan, noting that longer opening hours bring more visitors to the "
            "old market square. Several schools also asked whether students could use the reading rooms for "
            "exam preparation, and the librarian promised an answer before the summer holidays begin.")
    page = "Home\n" + EN + "\n" + more + "\nAccept cookies"
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create([doc("junk", junk, "en", 0.9), doc("page", page, "en", 0.9)]) | Quality(filters)
        assert_that(r.kept | "K" >> beam.Map(lambda d: (d["doc_id"], "Home" in d["text"], d["text_hash"] == text_hash(d["text"]))),
                    equal_to([("page", False, True)]), label="k")
        assert_that(r[REJECTED] | "R" >> beam.Map(lambda d: (d["doc_id"], len(d["drop_reasons"]), len(d["drop_values"]))),
                    equal_to([("junk", 1, 1)]), label="r")


def test_quality_error_goes_to_dead_letter_not_lost():
    broken = [("length", None)]          # thresholds missing: the filter raises on every doc
    with beam.Pipeline(runner=FnApiRunner()) as p:
        r = p | beam.Create([doc("x", EN, "en", 0.9)]) | Quality(broken)
        assert_that(r.kept, equal_to([]), label="k")
        assert_that(r[DEAD_LETTER] | "D" >> beam.Map(lambda d: (d["stage"], "doc_id x" in d["error"])),
                    equal_to([("quality", True)]), label="d")
