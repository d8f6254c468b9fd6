"""Held-out evaluation (trainer/evaluate.py) and `winnow ablate` (pipeline/ablate.py) on the bundled sample."""
import gzip
import io
import json
import math
import os
import random

import pytest
import torch

from trainer_helpers import small_train
from pipeline import ablate as ablate_mod
from pipeline.config import load_config
from pipeline.errors import RunError
from pipeline.stages import tokenize as tokenize_stage
from trainer import checkpoint, evaluate
from trainer.model import GPT, GPTConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def heldout_texts():
    return evaluate.load_texts(ablate_mod.default_heldout())


@pytest.fixture(scope="module")
def untrained(tmp_path_factory, heldout_texts):
    """A small BPE tokenizer and an untrained GPT saved as a checkpoint the way train() saves one."""
    tok_json = tokenize_stage.train_bpe(heldout_texts[:10], vocab_size=300)
    vocab = tokenize_stage.load(tok_json).get_vocab_size()
    torch.manual_seed(0)
    cfg = GPTConfig(block_size=32, vocab_size=vocab, n_layer=1, n_head=2, n_embd=32)
    run_dir = str(tmp_path_factory.mktemp("untrained"))
    checkpoint.save(os.path.join(run_dir, "checkpoints"), 0, {
        "model": GPT(cfg).state_dict(), "model_args": vars(cfg), "step": 0,
        "tokenizer_sha256": tokenize_stage.sha256_text(tok_json)}, keep_last=1)
    return run_dir, tok_json, cfg


def test_untrained_model_scores_about_ln_vocab(untrained):
    run_dir, tok_json, cfg = untrained
    rng = random.Random(0)
    texts = [" ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
                      for _ in range(200)) for _ in range(5)]
    res = evaluate.heldout_loss(run_dir, texts, tok_json)
    # small-init logits are near zero: about uniform over the padded vocabulary
    assert res["loss"] == pytest.approx(math.log(cfg.padded_vocab_size), abs=0.05)
    assert res["ppl"] == pytest.approx(math.exp(res["loss"]))
    assert res["step"] == 0 and res["checkpoint"].endswith("ckpt-00000000.pt")


def test_counts_every_predicted_token_and_is_deterministic(untrained, heldout_texts):
    run_dir, tok_json, cfg = untrained
    texts = heldout_texts[:3]
    ids = evaluate.token_stream(texts, tok_json, None)
    eos = tokenize_stage.eos_id(tokenize_stage.load(tok_json))
    assert ids.count(eos) == 3 and ids[-1] == eos
    n = cfg.block_size + 1
    blocks = [ids[i:i + n] for i in range(0, len(ids), n)]
    a = evaluate.heldout_loss(run_dir, texts, tok_json, max_tokens=None)
    b = evaluate.heldout_loss(os.path.join(run_dir, "checkpoints"), texts, tok_json, max_tokens=None)
    assert a["tokens"] == sum(len(blk) - 1 for blk in blocks)       # the first token of a block has no target
    assert a["loss"] == b["loss"]
    capped = evaluate.heldout_loss(run_dir, texts, tok_json, max_tokens=10 * n)
    assert capped["tokens"] == 10 * cfg.block_size


def test_refuses_another_tokenizer(untrained, heldout_texts):
    run_dir, _, _ = untrained
    other = tokenize_stage.train_bpe(heldout_texts[10:20], vocab_size=300)
    with pytest.raises(ValueError, match="another tokenizer"):
        evaluate.heldout_loss(run_dir, heldout_texts[:2], other)


def test_load_texts_formats(tmp_path):
    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "one", "id": 1}) + "\n\n" + json.dumps({"text": "  "}) + "\n")
    (tmp_path / "b.txt").write_text("two\nlines", encoding="utf-8")
    (tmp_path / "c.parquet").write_bytes(b"ignored")
    assert evaluate.load_texts(str(tmp_path / "a.jsonl.gz")) == ["one"]
    assert evaluate.load_texts(str(tmp_path)) == ["one", "two\nlines"]
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"id": 2}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        evaluate.load_texts(str(tmp_path / "bad.jsonl"))


def test_bundled_heldout_is_outside_the_sample_inputs(heldout_texts):
    from pipeline.cli import sample_inputs
    assert not any("heldout" in p for p in sample_inputs())
    assert len(heldout_texts) >= 50


def test_raw_config_turns_off_every_filter():
    cfg = load_config()
    raw = ablate_mod.raw_config(cfg, "/x/tokenizer.json")
    assert not (raw.langid.enabled or raw.quality.enabled or raw.dedup.exact.enabled or raw.dedup.near.enabled
                or raw.dedup.line.enabled or raw.quality.classifier.enabled or raw.decon.enabled
                or raw.url_filter.enabled)
    assert raw.tokenize.tokenizer == "/x/tokenizer.json" and raw.tokenize.seq_len == cfg.tokenize.seq_len
    assert raw.train == cfg.train and cfg.langid.enabled


def test_refuses_a_non_empty_output(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(RunError, match="already exists"):
        ablate_mod.ablate(["unused"], str(tmp_path), load_config(), log=io.StringIO())


def test_ablate_on_the_bundled_sample(tmp_path, heldout_texts):
    from pipeline.cli import sample_inputs
    held = tmp_path / "held.jsonl"
    held.write_text("".join(json.dumps({"text": t}) + "\n" for t in heldout_texts[:5]), encoding="utf-8")
    cfg = load_config(overrides={"tokenize": {"vocab_size": 512, "seq_len": 64},
                                 "train": small_train(batch_size=4, eval_interval=10)})
    out = tmp_path / "abl"
    res = ablate_mod.ablate(sample_inputs(), str(out), cfg, heldout=str(held), max_steps=20, device="cpu",
                            log=io.StringIO())
    raw, cleaned, clf = res["runs"]["raw"], res["runs"]["cleaned"], res["runs"]["classifier"]
    for name in ("raw", "cleaned", "classifier"):
        assert (out / name / "manifest.json").is_file() and (out / f"train_{name}" / "metrics.jsonl").is_file()
    assert raw["input_docs"] == cleaned["input_docs"]
    assert raw["kept_docs"] >= cleaned["kept_docs"] and raw["rejected"] == 0
    assert raw["train_tokens"] > cleaned["train_tokens"]
    assert raw["tokens_trained"] == cleaned["tokens_trained"] == clf["tokens_trained"] == 20 * 4 * 64
    # the third arm: the heuristics, then the classifier keeps the best-scoring half of their survivors
    assert res["classifier_cut"]["keep_top_fraction"] == ablate_mod.DEFAULT_TOP_FRACTION
    assert clf["kept_docs"] < cleaned["kept_docs"] and clf["train_tokens"] < cleaned["train_tokens"]
    assert math.isfinite(clf["heldout_loss"])
    assert res["heldout_loss_classifier_minus_cleaned"] == pytest.approx(clf["heldout_loss"] - cleaned["heldout_loss"])
    assert raw["epochs"] < cleaned["epochs"]
    for r in (raw, cleaned):
        assert math.isfinite(r["heldout_loss"]) and r["heldout_ppl"] == pytest.approx(math.exp(r["heldout_loss"]))
    assert res["heldout"]["texts"] == 5
    assert json.loads((out / "ablation.json").read_text())["runs"]["raw"]["kept_docs"] == raw["kept_docs"]
    md = (out / "ablation.md").read_text()
    assert "| run | input docs | kept docs |" in md and "| raw |" in md and "| cleaned |" in md and "| classifier |" in md
    assert (out / "loss_curves.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(RunError, match="already exists"):
        ablate_mod.ablate(sample_inputs(), str(out), cfg, heldout=str(held), log=io.StringIO())


def _tiny_result():
    runs = {name: {"epochs": 0.5, "train_tokens": 1000, "tokens_trained": 500, "heldout_loss": 5.0 - i}
            for i, name in enumerate(ablate_mod.RUNS)}
    curves = {name: [{"step": 1, "tokens": 250, "loss": 6.0}, {"step": 2, "tokens": 500, "loss": 5.5}]
              for name in ablate_mod.RUNS}
    return curves, {"runs": runs, "heldout": {"texts": 3}}


def test_loss_curves_png(tmp_path):
    curves, result = _tiny_result()
    log = io.StringIO()
    assert ablate_mod.write_plot(curves, result, str(tmp_path / "loss_curves.png"), log)
    assert (tmp_path / "loss_curves.png").read_bytes()[:8] == PNG_MAGIC and log.getvalue() == ""


def test_loss_curves_are_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch):
    """matplotlib is the optional `report` extra: without it ablate writes everything but the PNG."""
    import sys
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)        # `import matplotlib...` raises ImportError
    curves, result = _tiny_result()
    log = io.StringIO()
    assert not ablate_mod.write_plot(curves, result, str(tmp_path / "loss_curves.png"), log)
    assert not (tmp_path / "loss_curves.png").exists()
    assert log.getvalue() == ("note: matplotlib is not installed, so no loss_curves.png "
                              "(pip install 'winnow-corpus[report]')\n")
