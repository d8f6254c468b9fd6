import pytest

from pipeline.stages.bias import ledger


def test_filter_of_and_tld():
    assert ledger.filter_of("gopher_quality.too_few_words") == "gopher_quality"
    assert ledger.filter_of("dedup.exact_duplicate") == "exact_dedup"
    assert ledger.filter_of("dedup.near_duplicate_of_index") == "near_dedup"
    assert ledger.tld_of("https://www.bbc.co.uk/news") == "uk"
    assert ledger.tld_of("http://192.168.0.1/x") is None and ledger.tld_of(None) is None


def test_events_stop_at_the_removing_filter():
    order = ["langid", "c4", "c4_badwords", "near_dedup"]
    ev = list(ledger.events(order, "c4_badwords.bad_word", [("all", "all"), ("identity", "so/gay")]))
    assert [(k, v) for k, v in ev if k[2] == "so/gay"] == [
        (("langid", "identity", "so/gay"), (1, 0)), (("c4", "identity", "so/gay"), (1, 0)),
        (("c4_badwords", "identity", "so/gay"), (1, 1))]
    kept = list(ledger.events(order, None, [("all", "all")]))
    assert [k[0] for k, _ in kept] == order and all(v == (1, 0) for _, v in kept)


def test_wilson_reference_values():
    lo, hi = ledger.wilson(5, 10)                       # p = 0.5, n = 10: 0.2366 .. 0.7634
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = ledger.wilson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert ledger.wilson(0, 0) == (0.0, 1.0)


def test_ledger_rows_ratio_and_flag():
    counts = {("c4_badwords", "all", "all"): (1000, 20), ("c4_badwords", "identity", "so/gay"): (50, 20),
              ("c4_badwords", "identity", "rel/x"): (5, 2), ("c4_badwords", "lang", "lang/en"): (1000, 20)}
    rows = ledger.ledger_rows(counts, max_ratio=2.0, min_docs=10)
    top = rows[0]
    assert top["group"] == "so/gay" and top["flagged"] and top["ratio"] == pytest.approx(20.0)
    small = next(r for r in rows if r["group"] == "rel/x")
    assert not small["flagged"]                           # under min_docs
    assert next(r for r in rows if r["group"] == "all")["ratio"] == pytest.approx(1.0)
