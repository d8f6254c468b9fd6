"""Bias ledger and representation on real pages, with the bundled lexicon and HolisticBias; the gate."""
import os

import pyarrow.parquet as pq
import pytest

from pipeline.config import load_config
from pipeline.errors import GateError
from pipeline.driver.run import run_pipeline

pytestmark = pytest.mark.integration


def test_ledger_and_representation_with_holistic_bias(tmp_path, shared):
    pages = shared("web_cc_samples", "records.jsonl.gz")
    lexicon = shared("bias_holistic_bias", "descriptors.json")
    cfg = load_config(overrides={"langid": {"languages": None}, "tokenize": {"enabled": False},
                                 "bias": {"lexicon": lexicon, "gate": {"min_docs": 5}}})
    m = run_pipeline([pages], str(tmp_path / "o"), cfg)
    ledger = pq.read_table(tmp_path / "o" / "bias" / "ledger.parquet").to_pylist()
    rep = pq.read_table(tmp_path / "o" / "bias" / "representation.parquet").to_pylist()
    assert m.bias["ledger_rows"] == len(ledger) > 50
    overall = {r["filter"]: r for r in ledger if r["kind"] == "all"}
    assert overall["langid"]["reached"] == m.input_records - m.dead_letter
    for r in ledger:                                   # every row is consistent with its filter's overall row
        assert 0 <= r["removed"] <= r["reached"] <= overall[r["filter"]]["reached"]
        assert r["wilson_low"] <= r["removal_rate"] <= r["wilson_high"]
    assert any(r["kind"] == "identity" for r in ledger) and any(r["kind"] == "tld" for r in ledger)
    total = next(r for r in rep if r["group"] == "all")
    assert total["input_docs"] == overall["langid"]["reached"] and total["kept_docs"] == m.kept


def test_gate_finishes_outputs_then_fails(tmp_path, shared):
    src = shared("web_cc_samples", "records.jsonl.gz")
    cfg = load_config(overrides={"tokenize": {"enabled": False},
                                 "bias": {"gate": {"max_ratio": 0.0, "min_docs": 1, "enforce": True}}})
    with pytest.raises(GateError, match="bias gate"):
        run_pipeline([src], str(tmp_path / "o"), cfg)
    assert os.path.exists(tmp_path / "o" / "manifest.json")          # outputs finished before the gate
