import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from trainer_helpers import ROOT  # noqa: E402


@pytest.fixture(scope="session")
def shards_run(tmp_path_factory):
    """`winnow run` on the bundled sample with a small tokenizer and short blocks (several shards and
    row groups), shared by the trainer tests. Returns OUT."""
    sys.path.insert(0, ROOT)
    from pipeline.cli import sample_inputs
    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    out = str(tmp_path_factory.mktemp("shards") / "out")
    cfg = load_config(overrides={"tokenize": {"vocab_size": 1024, "seq_len": 64, "val_fraction": 0.05},
                                 "output": {"blocks_per_shard": 2000}})
    run_pipeline(sample_inputs(), out, cfg, log=open(os.devnull, "w"))
    return out
