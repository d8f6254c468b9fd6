"""`winnow ablate`: does cleaning help? The same model, trained for the same token budget on raw and on cleaned
output of the same input, evaluated on one held-out set of clean text.

ABL/cleaned, ABL/raw and ABL/classifier are three pipeline runs: the given config with the heuristic filters only
(the quality classifier scores but cuts nothing), the same config with every filter and dedup off (parse,
Unicode repair and tokenization still run), and the heuristics followed by the quality classifier's cut (the
config's threshold or top fraction, else the top DEFAULT_TOP_FRACTION). The raw and classifier runs use the
cleaned run's tokenizer, so the models predict the same token ids and their losses compare.
ABL/train_{raw,cleaned,classifier} are the training runs; ABL/ablation.json, ablation.md and loss_curves.png
hold the result.

Training needs PyTorch (the `train` extra): the trainer is imported when ablate() starts, never with this module.
The PNG needs matplotlib (the `report` extra); without it the PNG is skipped with a note.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from importlib import resources

from pipeline.errors import RunError
from pipeline.driver.run import run_pipeline
from schemas.manifest import Manifest

RUNS = ("raw", "cleaned", "classifier")
# The classifier arm keeps this fraction of the heuristics' survivors when the config sets no cut of its own
# (DCLM keeps the top 10% of a pool ~100x larger than a sample run: half keeps enough tokens here)
DEFAULT_TOP_FRACTION = 0.5
# Training steps when none are given (not train.max_steps, 300 by default): ~0.6 epoch of the cleaned sample
# at the default batch 16 x 256 tokens, a few minutes for both runs on 2 CPU cores
DEFAULT_MAX_STEPS = 100
OUTPUTS = ("cleaned", "raw", "classifier", "train_cleaned", "train_raw", "train_classifier", "ablation.json",
           "ablation.md", "loss_curves.png")
COLUMNS = ("run", "input docs", "kept docs", "train tokens available", "tokens trained", "epochs over its data",
           "final train loss", "held-out loss", "held-out ppl")


def default_heldout() -> str:
    """The bundled held-out set: clean English disjoint from the sample (see its README)."""
    return str(resources.files("pipeline").joinpath("resources/sample/heldout/heldout.jsonl.gz"))


def raw_config(cfg, tokenizer_path: str):
    """cfg with every filter and dedup stage off, tokenizing with the given tokenizer.json."""
    off = {"enabled": False}
    return dataclasses.replace(
        cfg, url_filter=dataclasses.replace(cfg.url_filter, **off), langid=dataclasses.replace(cfg.langid, **off),
        quality=dataclasses.replace(cfg.quality, classifier=dataclasses.replace(cfg.quality.classifier, **off), **off),
        decon=dataclasses.replace(cfg.decon, **off),
        dedup=dataclasses.replace(cfg.dedup, line=dataclasses.replace(cfg.dedup.line, **off),
                                  exact=dataclasses.replace(cfg.dedup.exact, **off),
                                  near=dataclasses.replace(cfg.dedup.near, **off)),
        tokenize=dataclasses.replace(cfg.tokenize, tokenizer=tokenizer_path))


def heuristics_config(cfg):
    """cfg without the quality classifier's cut (it still scores): the heuristics-only arm."""
    return dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, classifier=dataclasses.replace(
        cfg.quality.classifier, threshold=None, keep_top_fraction=None)))


def classifier_config(cfg, tokenizer_path: str, top_fraction: float | None = None):
    """cfg with the quality classifier on and cutting: the config's own threshold or top fraction, else
    `top_fraction` (DEFAULT_TOP_FRACTION); tokenizing with the given tokenizer.json."""
    c = cfg.quality.classifier
    if top_fraction is not None or (c.threshold is None and c.keep_top_fraction is None):
        c = dataclasses.replace(c, threshold=None, keep_top_fraction=top_fraction or DEFAULT_TOP_FRACTION)
    return dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, classifier=dataclasses.replace(
        c, enabled=True)), tokenize=dataclasses.replace(cfg.tokenize, tokenizer=tokenizer_path))


def _prepare(out: str, overwrite: bool) -> None:
    if "://" in out:
        raise RunError("ablate writes a local output directory")
    if os.path.isdir(out) and os.listdir(out):
        if not overwrite:
            raise RunError(f"output {out} already exists; pass --overwrite to replace it")
        for name in OUTPUTS + tuple(n + ".winnow-tmp" for n in RUNS):
            path = os.path.join(out, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    os.makedirs(out, exist_ok=True)


def _row(name: str, manifest: Manifest, summary: dict, held: dict, tc) -> dict:
    train_blocks = sum(s.rows for s in manifest.shards if s.split == "train")
    blocks_trained = summary["steps"] * tc.batch_size * tc.grad_accum * summary["world"]
    return {"run": name, "input_docs": manifest.input_records, "kept_docs": manifest.kept,
            "dead_letter": manifest.dead_letter, "rejected": sum(manifest.rejected.values()),
            "train_tokens": manifest.tokens.train, "train_blocks": train_blocks,
            "tokens_trained": summary["tokens"], "blocks_trained": blocks_trained,
            "epochs": blocks_trained / train_blocks if train_blocks else None,
            "final_train_loss": summary["final_loss"], "final_val_loss": summary["final_val_loss"],
            "heldout_loss": held["loss"], "heldout_ppl": held["ppl"], "heldout_tokens": held["tokens"],
            "tokens_per_s": summary["tokens_per_s"], "steps": summary["steps"], "config_hash": manifest.config_hash}


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def markdown(result: dict) -> str:
    """The table (one row per run) and what it means, as Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---" + "|---:" * (len(COLUMNS) - 1) + "|"]
    for name in RUNS:
        r = result["runs"][name]
        cells = [name, _fmt(r["input_docs"], ","), _fmt(r["kept_docs"], ","), _fmt(r["train_tokens"], ","),
                 _fmt(r["tokens_trained"], ","), _fmt(r["epochs"], ".2f"), _fmt(r["final_train_loss"], ".3f"),
                 _fmt(r["heldout_loss"], ".3f"), _fmt(r["heldout_ppl"], ".1f")]
        lines.append("| " + " | ".join(cells) + " |")
    raw, cleaned, h, t = result["runs"]["raw"], result["runs"]["cleaned"], result["heldout"], result["train"]
    delta = result["heldout_loss_cleaned_minus_raw"]
    d2 = result["heldout_loss_classifier_minus_cleaned"]
    cut = result.get("classifier_cut") or {}
    how = (f"top {cut['keep_top_fraction']:.0%} by score" if cut.get("keep_top_fraction") is not None
           else f"score >= {cut.get('threshold')}")
    lines += [
        "",
        f"Same model ({t['model']}), same budget: {t['max_steps']} steps x {t['batch_size'] * t['grad_accum']} "
        f"blocks x {t['seq_len']} tokens = {cleaned['tokens_trained']:,} tokens each; one tokenizer (the cleaned "
        f"run's). Epochs = blocks trained / train blocks available: raw saw its data {raw['epochs']:.2f} times, "
        f"cleaned {cleaned['epochs']:.2f} times.",
        f"Held-out: {h['texts']} texts, {h['tokens']:,} predicted tokens ({h['path']}).",
        f"Held-out loss, cleaned - raw: {delta:+.3f} nats/token "
        f"({'cleaned lower' if delta < 0 else 'raw lower' if delta > 0 else 'equal'}; lower is better).",
        f"Held-out loss, classifier - cleaned: {d2:+.3f} nats/token "
        f"({'classifier lower' if d2 < 0 else 'heuristics only lower' if d2 > 0 else 'equal'}). Arms: raw (no "
        f"filters), cleaned (the heuristics), classifier (the heuristics, then the quality classifier keeps the "
        f"{how}; model {cut.get('model')}).",
        "Final train loss: the last step's, on each run's own data (raw keeps what the filters and dedup drop), "
        "so it does not compare across runs; the held-out loss does.",
        "",
    ]
    return "\n".join(lines)


def plot(curves: dict, result: dict, path: str) -> None:
    """Train loss of both runs against tokens trained, each run's held-out loss as a star at its end.
    ImportError when matplotlib is not installed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter
    fig = Figure(figsize=(8, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, color in zip(RUNS, ("tab:red", "tab:blue", "tab:green")):
        rows = [m for m in curves[name] if "loss" in m]
        r = result["runs"][name]
        ax.plot([m["tokens"] for m in rows], [m["loss"] for m in rows], color=color, lw=1.2,
                label=f"{name}: train loss ({r['epochs']:.2f} epochs of {r['train_tokens']:,} tokens)")
        ax.plot([r["tokens_trained"]], [r["heldout_loss"]], marker="*", ms=14, ls="none", color=color,
                markeredgecolor="black", label=f"{name}: held-out loss {r['heldout_loss']:.3f}")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e3:,.0f}k" if x else "0"))
    ax.set_xlabel("tokens trained")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(f"winnow ablate: raw vs heuristics vs heuristics + classifier, same model and budget "
                 f"(held-out: {result['heldout']['texts']} texts)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def write_plot(curves: dict, result: dict, path: str, log=sys.stdout) -> bool:
    """plot() to path; without matplotlib (the `report` extra) a note on log instead. Whether it wrote the PNG."""
    try:
        plot(curves, result, path)
    except ImportError as e:
        if (e.name or "").split(".")[0] != "matplotlib":
            raise
        print(f"note: matplotlib is not installed, so no {os.path.basename(path)} "
              "(pip install 'winnow-corpus[report]')", file=log)
        return False
    return True


def _read_metrics(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ablate(inputs: list[str], out: str, cfg, heldout: str | None = None, max_steps: int | None = None,
           device: str = "auto", overwrite: bool = False, runner: str | None = None,
           beam_args: list[str] | None = None, log=sys.stdout, top_fraction: float | None = None) -> dict:
    """Run both pipelines, train and evaluate both models, write ABL/ablation.{json,md} and loss_curves.png
    (skipped, with a note, when matplotlib is not installed)."""
    from trainer import evaluate
    from trainer.train import train

    if not cfg.tokenize.enabled:
        raise RunError("ablate trains on token shards: tokenize.enabled must be true")
    out = out.rstrip("/")
    heldout = heldout or default_heldout()
    max_steps = DEFAULT_MAX_STEPS if max_steps is None else max_steps
    try:
        texts = evaluate.load_texts(heldout)             # a bad held-out path fails before the long part
    except (OSError, ValueError) as e:
        raise RunError(f"--heldout: {e}") from None
    if not texts:
        raise RunError(f"--heldout: {heldout} holds no text")
    _prepare(out, overwrite)
    # log every step: a smooth curve costs one line per step; training itself is unchanged
    tc = dataclasses.replace(cfg.train, log_interval=1)
    t0, timing, manifests = time.perf_counter(), {}, {}

    manifests["cleaned"] = run_pipeline(inputs, os.path.join(out, "cleaned"), heuristics_config(cfg), runner,
                                        beam_args, log=log)
    tok_path = os.path.abspath(os.path.join(out, "cleaned", "tokenizer.json"))
    manifests["raw"] = run_pipeline(inputs, os.path.join(out, "raw"), raw_config(cfg, tok_path), runner,
                                    beam_args, log=log)
    manifests["classifier"] = run_pipeline(inputs, os.path.join(out, "classifier"),
                                           classifier_config(cfg, tok_path, top_fraction), runner, beam_args, log=log)
    for name in RUNS:
        assert manifests[name].tokenizer.sha256 == manifests["cleaned"].tokenizer.sha256, \
            "every arm must share one tokenizer"
    timing["pipelines_s"] = time.perf_counter() - t0
    with open(tok_path, encoding="utf-8") as fh:
        tok_json = fh.read()

    rows, curves = {}, {}
    for name in RUNS:
        t1 = time.perf_counter()
        print(f"\n== training on {name} ({max_steps} steps)", file=log)
        run_dir = os.path.join(out, "train_" + name)
        summary = train(os.path.join(out, name, "shards"), run_dir, tc, device=device, max_steps=max_steps,
                        log=lambda m: print(m, file=log))
        held = evaluate.heldout_loss(run_dir, texts, tok_json, device=summary["device"])
        rows[name] = _row(name, manifests[name], summary, held, tc)
        curves[name] = _read_metrics(os.path.join(run_dir, "metrics.jsonl"))
        timing[f"train_eval_{name}_s"] = time.perf_counter() - t1
    assert len({rows[n]["tokens_trained"] for n in RUNS}) == 1, "token budgets differ"
    timing["total_s"] = time.perf_counter() - t0

    result = {
        "inputs": list(inputs),
        "heldout": {"path": heldout, "texts": len(texts), "tokens": rows["cleaned"]["heldout_tokens"]},
        "train": {"max_steps": max_steps, "batch_size": cfg.train.batch_size, "grad_accum": cfg.train.grad_accum,
                  "seq_len": cfg.tokenize.seq_len, "model": cfg.train.model, "device": device},
        "tokenizer_sha256": manifests["cleaned"].tokenizer.sha256,
        "runs": rows,
        "heldout_loss_cleaned_minus_raw": rows["cleaned"]["heldout_loss"] - rows["raw"]["heldout_loss"],
        "heldout_loss_classifier_minus_cleaned": rows["classifier"]["heldout_loss"] - rows["cleaned"]["heldout_loss"],
        "classifier_cut": manifests["classifier"].quality_classifier,
        "timing_s": {k: round(v, 1) for k, v in timing.items()},
    }
    with open(os.path.join(out, "ablation.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    md = markdown(result)
    with open(os.path.join(out, "ablation.md"), "w", encoding="utf-8") as fh:
        fh.write(md)
    wrote = ["ablation.json", "ablation.md"]
    if write_plot(curves, result, os.path.join(out, "loss_curves.png"), log):
        wrote.append("loss_curves.png")
    print("\n" + md, file=log)
    print(f"wrote {out}/{', '.join(wrote)}", file=log)
    return result
