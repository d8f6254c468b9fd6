"""Cross-document line dedup: the pure functions, and the Beam table against the in-memory reference."""
import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages.dedup import lines
from pipeline.stages.normalize import text_hash
from pipeline.transforms.line_dedup import CommonLinesTable

MENU = "Home | News | Contact"


def _doc(i, body, menu=MENU):
    return f"{menu}\nArticle {i}\n{body}\nCopyright 2024 Example Inc. All rights reserved."


def _bodies(n):
    return [f"This is the unique body of page number {w}, about topic {w * 7}." for w in
            ("one two three four five six seven eight nine ten eleven twelve".split()[:n])]


def test_normalize_line_is_ccnet_like():
    assert lines.normalize_line("  Copyright 2024, Example!  ") == "copyright 0000 example"
    assert lines.normalize_line("Page 3 of 10") == lines.normalize_line("page 7 of 12")
    assert lines.normalize_line("» | «") == ""


def test_common_lines_over_max_docs_are_removed_from_all_but_one():
    texts = [_doc(i, b) for i, b in enumerate(_bodies(6))]
    cfg = lines.LineDedupConfig(max_docs=3)
    table = lines.common_lines([(text_hash(t), t) for t in texts], cfg)
    # the menu and the copyright line (digits normalized) are in 6 docs; "Article N" too (digits -> 0)
    assert len(table) == 3
    results = [lines.remove_common(t, lines.text_rank(text_hash(t)), table) for t in texts]
    keepers = [r for r in results if r.removed_lines == 0]
    assert len(keepers) == 1                                    # one doc keeps its furniture
    for r, body in zip(results, _bodies(6)):
        assert body in r.text                                   # the unique body always stays
        if r.removed_lines:
            assert MENU not in r.text and "Copyright" not in r.text
            assert r.removed_lines == 3 and r.removed_chars > 0


def test_lines_in_few_docs_and_exact_copies_are_kept():
    texts = [_doc(i, b) for i, b in enumerate(_bodies(3))]
    texts += [texts[0]] * 5                                     # exact copies count once: 3 distinct docs
    table = lines.common_lines([(text_hash(t), t) for t in texts], lines.LineDedupConfig(max_docs=3))
    assert len(table) == 0
    assert lines.remove_common(texts[0], 1, table).removed_lines == 0


def test_copies_of_the_keeper_all_keep_the_line():
    texts = [_doc(i, b) for i, b in enumerate(_bodies(5))]
    table = lines.common_lines([(text_hash(t), t) for t in texts], lines.LineDedupConfig(max_docs=2))
    keeper = next(t for t in texts if lines.remove_common(t, lines.text_rank(text_hash(t)), table).removed_lines == 0)
    again = lines.remove_common(keeper, lines.text_rank(text_hash(keeper)), table)
    assert again.text == keeper                                 # its exact copies stay exact copies


def test_min_chars_spares_short_lines():
    texts = [f"ok\n{b}" for b in _bodies(5)]
    cfg = lines.LineDedupConfig(max_docs=2, min_chars=3)
    assert len(lines.common_lines([(text_hash(t), t) for t in texts], cfg)) == 0


def test_beam_table_equals_the_reference():
    texts = [_doc(i, b) for i, b in enumerate(_bodies(8))] + [_doc(9, "Another body.", menu="Other | Menu")]
    texts += texts[:2]
    docs = [{"text": t, "text_hash": text_hash(t)} for t in texts]
    cfg = lines.LineDedupConfig(max_docs=4)
    ref = lines.common_lines([(d["text_hash"], d["text"]) for d in docs], cfg)
    chunks = [("f", 0, docs[:5]), ("f", 1, docs[5:])]
    with TestPipeline(runner="FnApiRunner") as p:
        table = p | beam.Create(chunks) | CommonLinesTable(cfg)
        got = table | beam.Map(lambda t: (t.hashes.tolist(), t.keepers.tolist()))
        assert_that(got, equal_to([(ref.hashes.tolist(), ref.keepers.tolist())]))


def test_config_is_checked():
    import pytest
    with pytest.raises(ValueError):
        lines.LineDedupConfig(max_docs=0)
