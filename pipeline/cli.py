"""`winnow` command line: run | train | ablate | index build | bias probe | report | config show.

Flags Winnow does not know are passed to Beam's PipelineOptions (e.g. --direct_num_workers, --project).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources

from pipeline import config as config_mod
from trainer.config import TrainConfigError

DEFAULT_OUTPUT = "out"
TRAIN_EXTRA = "pip install 'winnow-corpus[train]'"


def sample_inputs() -> list[str]:
    base = resources.files("pipeline").joinpath("resources/sample")
    return sorted(os.path.join(str(base), n) for n in os.listdir(str(base))
                  if n.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".parquet", ".warc.gz", ".wet.gz", ".arc.gz", ".txt")))


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("winnow-corpus")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="winnow", description="Clean, deduplicate and tokenize crawled text on Apache Beam.",
                                 allow_abbrev=False)
    ap.add_argument("--version", action="version", version=f"winnow {_version()}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the pipeline (no --input: the bundled sample corpus)", allow_abbrev=False)
    r.add_argument("--verbose", action="store_true", help="show Beam's and Dask's log lines and tracebacks")
    r.add_argument("--input", action="append", default=None, metavar="GLOB",
                   help="input files (.jsonl[.gz|.zst], .parquet, .warc.gz/.wet.gz/.arc.gz, .txt); repeatable")
    r.add_argument("--output", default=DEFAULT_OUTPUT, help="output directory (default: ./out)")
    r.add_argument("--config", default=None, help="YAML config overriding the defaults")
    r.add_argument("--runner", default=None,
                   help="direct (in-process FnApiRunner) | dask | portable | dataflow | flink | spark, or any Beam "
                        "runner name. Default: dask on a LocalCluster of one worker per usable CPU, or direct when "
                        "there is one CPU or under 8 MB of input; the run says which. See docs/runners.md")
    r.add_argument("--dask-address", default=None, metavar="HOST:PORT",
                   help="--runner dask: a running dask scheduler (default: a LocalCluster started for the run)")
    r.add_argument("--dask-memory-limit", default=None, metavar="SIZE",
                   help="--runner dask with a LocalCluster: memory per worker (e.g. 2GB); above ~60%% of it dask "
                        "spills intermediate results to disk (default: machine memory / workers)")
    r.add_argument("--workers", type=int, default=None,
                   help="--runner dask/portable without a cluster: local worker processes (default: usable CPUs)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    r.add_argument("--finalize-in-job", action="store_true",
                   help="the job's last step writes the manifest and moves OUTPUT into place, instead of this "
                        "process after the job (automatic under a Flex Template launch, --template_location)")
    r.add_argument("--then-train", action="store_true",
                   help="when the run finishes, train on its shards (train options: --train-out, --max-steps, --device)")
    r.add_argument("--train-out", default=None, help="run directory for --then-train (default: OUTPUT/train)")
    r.add_argument("--max-steps", type=int, default=None, help="with --then-train: training steps")
    r.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="with --then-train")
    t = sub.add_parser("train", help="train the bundled GPT on the shards of a run (also under torchrun)")
    from trainer.args import add_arguments
    add_arguments(t)
    a = sub.add_parser("ablate", help="train the same model on raw and on cleaned output, compare on held-out text",
                       allow_abbrev=False)
    a.add_argument("--verbose", action="store_true", help="show Beam's and Dask's log lines and tracebacks")
    a.add_argument("--input", action="append", default=None, metavar="GLOB", help="as for run (default: the sample)")
    a.add_argument("--output", default="ablate", help="output directory (default: ./ablate)")
    a.add_argument("--config", default=None, help="YAML config of the cleaned run (the raw run turns filters off)")
    a.add_argument("--heldout", default=None, help="held-out texts: .jsonl[.gz] (`text`), .txt[.gz] or a folder "
                   "(default: the bundled held-out set)")
    a.add_argument("--max-steps", type=int, default=None, help="training steps per run (default: 100)")
    a.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    a.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier ablate")
    a.add_argument("--classifier-top-fraction", type=float, default=None, metavar="F",
                   help="the classifier arm keeps this fraction of the best-scoring docs (default: the config's "
                        "quality.classifier cut, else 0.5)")
    ix = sub.add_parser("index", help="near-dedup index of a finished run (for dedup.near.against)")
    ixsub = ix.add_subparsers(dest="index_cmd", required=True)
    b = ixsub.add_parser("build", help="save the LSH band index of OUT's kept docs (default: OUT/index)",
                         allow_abbrev=False)
    b.add_argument("--verbose", action="store_true", help="show Beam's and Dask's log lines and tracebacks")
    b.add_argument("out", help="a finished `winnow run` output directory")
    b.add_argument("--index", default=None, help="index directory (default: OUT/index)")
    b.add_argument("--runner", default=None)
    b.add_argument("--overwrite", action="store_true")
    bp = sub.add_parser("bias", help="bias checks")
    bsub = bp.add_subparsers(dest="bias_cmd", required=True)
    pr = bsub.add_parser("probe", help="counterfactual probe: does swapping only the group term flip keep/drop?")
    pr.add_argument("--config", default=None, help="YAML config (its quality filters and bias.lexicon)")
    pr.add_argument("--profile", default="all", help="quality profile to probe (default: all filters)")
    pr.add_argument("--output", default=None, help="also write the rows as JSON Lines here")
    pr.add_argument("--top", type=int, default=20, help="rows to print")
    q = sub.add_parser("quality", help="the learned quality classifier")
    qsub = q.add_subparsers(dest="quality_cmd", required=True)
    qt = qsub.add_parser("train", help="train a fastText quality classifier (DCLM recipe), report held-out "
                         "precision / recall / AUC, write a model card", allow_abbrev=False)
    qt.add_argument("--positive", action="append", required=True, metavar="GLOB",
                    help="high-quality texts: .jsonl[.gz] (--text-field) or .txt[.gz] (one doc a line); repeatable")
    qt.add_argument("--negative", action="append", required=True, metavar="GLOB", help="low-quality texts; repeatable")
    qt.add_argument("--out", required=True, help="model file to write (.ftz quantized, .bin with --no-quantize)")
    qt.add_argument("--text-field", default="text")
    qt.add_argument("--seed", type=int, default=1)
    qt.add_argument("--holdout", type=float, default=0.1, help="held-out fraction (default 0.1)")
    qt.add_argument("--epoch", type=int, default=5)
    qt.add_argument("--max-docs", type=int, default=None, help="at most this many docs per class")
    qt.add_argument("--bucket", type=int, default=2_000_000, help="hashed word-bigram buckets (DCLM: 2M)")
    qt.add_argument("--dim", type=int, default=100, help="vector size (DCLM: 100)")
    qt.add_argument("--no-quantize", action="store_true")
    qt.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    d = sub.add_parser("decon", help="benchmark decontamination")
    dsub = d.add_subparsers(dest="decon_cmd", required=True)
    db = dsub.add_parser("build", help="hash the n-grams of eval sets into an index (uint64 hashes only: no eval "
                         "text) for decon.sets", allow_abbrev=False)
    db.add_argument("--input", action="append", required=True, metavar="GLOB", help="eval sets, .jsonl[.gz]")
    db.add_argument("--out", required=True, help="index file to write (.npz)")
    db.add_argument("--n", type=int, default=13, help="n-gram length (default 13, GPT-3)")
    db.add_argument("--text-field", action="append", default=None, metavar="FIELD",
                    help="record fields that are eval items (default: every string field); repeatable")
    db.add_argument("--overwrite", action="store_true", help="replace an existing index file")
    rp = sub.add_parser("report", help="(re)write the data card OUT/report/index.html of a finished run")
    rp.add_argument("out")
    c = sub.add_parser("config", help="configuration")
    csub = c.add_subparsers(dest="config_cmd", required=True)
    show = csub.add_parser("show", help="print the effective config (defaults + --config)")
    show.add_argument("--config", default=None)
    return ap


def _bias_probe(args) -> int:
    import json

    from pipeline.stages.bias.lexicon import load_lexicon
    from pipeline.stages.bias.probe import load_templates, probe
    cfg = config_mod.load_config(args.config, overrides={"quality": {"profile": args.profile, "filters": None}})
    rows = probe(config_mod.quality_filters(cfg), load_lexicon(cfg.bias.lexicon), load_templates())
    print(f"{'filter':<20} {'group':<40} {'texts':>6} {'dropped':>8} {'flips':>6} {'flip rate':>9}  terms that flip")
    for r in rows[:args.top]:
        print(f"{r['filter']:<20} {r['group']:<40} {r['n_texts']:>6} {r['n_dropped']:>8} {r['flips']:>6} "
              f"{r['flip_rate']:>9.1%}  {', '.join(r['flipped_terms'][:5])}")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return 0


def _globs(patterns: list[str], flag: str) -> list[str]:
    import glob
    found = sorted({p for pat in patterns for p in glob.glob(pat, recursive=True) if os.path.isfile(p)})
    if not found:
        raise UsageError(f"{flag} {' '.join(patterns)}: no such file")
    return found


def _new_file(path: str, overwrite: bool) -> None:
    if os.path.isdir(path):
        raise UsageError(f"--out {path} is a folder; name a file")
    if os.path.exists(path) and not overwrite:
        raise UsageError(f"--out {path} exists; pass --overwrite to replace it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"--out {path}: no folder {parent}")


def _quality_train(args) -> int:
    from pipeline.stages import classifier_train
    pos, neg = _globs(args.positive, "--positive"), _globs(args.negative, "--negative")
    _new_file(args.out, args.overwrite)
    if not 0 < args.holdout < 1:
        raise UsageError(f"--holdout must be in (0, 1) (got {args.holdout})")
    try:
        m = classifier_train.train(pos, neg, args.out, text_field=args.text_field, seed=args.seed,
                                   holdout=args.holdout, epoch=args.epoch, max_docs=args.max_docs,
                                   bucket=args.bucket, dim=args.dim,
                                   quantize=not args.no_quantize)
    except ValueError as e:
        raise UsageError(str(e).splitlines()[0]) from None
    print(json.dumps(m, indent=2, sort_keys=True, default=str))
    print(f"wrote {args.out} and its model card {args.out}.card.md")
    return 0


def _decon_build(args) -> int:
    from pipeline.stages import decon
    paths = _globs(args.input, "--input")
    if not args.out.endswith(".npz"):
        raise UsageError(f"--out {args.out}: an index file name ends in .npz")
    _new_file(args.out, args.overwrite)
    try:
        idx = decon.build_index(paths, args.n, args.text_field)
        tmp = args.out + ".winnow-tmp.npz"
        decon.save_index(idx, tmp)
        os.replace(tmp, args.out)
    except ValueError as e:
        raise UsageError(str(e).splitlines()[0]) from None
    print(f"wrote {args.out}: {len(idx):,} hashed {args.n}-grams of {sum(idx.item_counts.values()):,} items "
          f"from {len(paths)} file(s); skipped (too short): {sum(idx.skipped_counts.values()):,}")
    return 0


def _own_flags(ap: argparse.ArgumentParser) -> list[str]:
    """Every flag of every winnow (sub)command, for suggestions."""
    out = []
    for action in ap._actions:
        out += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += _own_flags(sub)
    return sorted(set(out))


def _check_extra(ap, args, extra: list[str]) -> None:
    """Arguments argparse did not take: Beam options for the commands that build a pipeline, else an error."""
    if not extra:
        return
    if args.cmd in ("run", "ablate", "index"):
        from pipeline import runners
        try:
            runners.check_beam_args(extra, _own_flags(ap))
        except runners.RunnerError as e:
            raise UsageError(str(e)) from None
        return
    raise UsageError(f"unknown arguments: {' '.join(extra)}")


class UsageError(ValueError):
    pass


def _trainer(what: str):
    """trainer.train, imported only by the commands that train: the pipeline itself never imports torch, which
    is an optional dependency (the `train` extra). MissingExtra when torch is not installed."""
    from pipeline.errors import MissingExtra
    try:
        from trainer import train as train_mod
    except ImportError as e:
        if (e.name or "").split(".")[0] != "torch":
            raise
        raise MissingExtra(f"`winnow {what}` needs PyTorch: {TRAIN_EXTRA}") from None
    return train_mod


def main(argv: list[str] | None = None) -> int:
    """Run one command; every user error is one line on stderr with exit status 2, the bias gate 3, an
    interrupt 130, a bug 1 (its traceback with --verbose)."""
    argv = sys.argv[1:] if argv is None else argv
    ap = _parser()
    args, extra = ap.parse_known_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    from pipeline.progress import configure_logging
    configure_logging(verbose)          # before anything imports apache_beam (its import logs a warning)
    from pipeline.errors import GateError, MissingExtra, RunError, environment_cause, was_interrupted
    from schemas.manifest import ManifestError
    try:
        _check_extra(ap, args, extra)
        return _dispatch(args, extra, argv)
    except KeyboardInterrupt:
        print("winnow: interrupted", file=sys.stderr)
        return 130
    except GateError as e:
        print(f"winnow: {e}", file=sys.stderr)
        return 3
    except (config_mod.ConfigError, TrainConfigError) as e:
        print(f"winnow: config error: {e}", file=sys.stderr)
        return 2
    except (RunError, UsageError, MissingExtra, ManifestError) as e:
        print(f"winnow: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if was_interrupted(e):
            print("winnow: interrupted", file=sys.stderr)
            return 130
        if type(e).__name__ == "ShardError":           # trainer/data.py (not imported here: it needs torch)
            print(f"winnow: error: {e}", file=sys.stderr)
            return 2
        cause = environment_cause(e)
        if verbose:
            import traceback
            traceback.print_exc()
        if cause:
            print(f"winnow: error: {cause}", file=sys.stderr)
            return 2
        first = (str(e).strip().splitlines() or [""])[0][:300]
        print(f"winnow: internal error: {type(e).__name__}: {first}"
              + ("" if verbose else " (run again with --verbose for the traceback)"), file=sys.stderr)
        return 1


def _dispatch(args, extra: list[str], argv: list[str]) -> int:
    if args.cmd == "config":
        cfg = config_mod.load_config(args.config)
        print(cfg.to_yaml(), end="")
        print(f"# effective quality filters, in order (profile {cfg.quality.profile!r} + quality.thresholds):")
        for name, th in config_mod.quality_filters(cfg):
            print(f"#   {name}: {th}")
        print(f"# config hash: {cfg.hash()}")
        return 0
    if args.cmd == "train":
        train_mod = _trainer("train")
        if args.config:          # the whole file, as `winnow run` reads it: a typo in any section is an error
            try:
                config_mod.load_config(args.config)
            except config_mod.ConfigError as e:
                print(f"winnow train: error: {e}", file=sys.stderr)        # as the trainer reports its own
                return 2
        return train_mod.main(argv[1:])
    if args.cmd == "ablate":
        _trainer("ablate")                      # before the pipelines run, not after them
        from pipeline.ablate import ablate
        if args.max_steps is not None and args.max_steps < 1:
            raise UsageError(f"--max-steps must be at least 1 (got {args.max_steps})")
        f = args.classifier_top_fraction
        if f is not None and not 0 < f <= 1:
            raise UsageError(f"--classifier-top-fraction must be in (0, 1] (got {f})")
        ablate(args.input or sample_inputs(), args.output, config_mod.load_config(args.config),
               heldout=args.heldout, max_steps=args.max_steps, device=args.device,
               overwrite=args.overwrite, beam_args=extra, top_fraction=args.classifier_top_fraction)
        return 0
    if args.cmd == "report":
        from pipeline.io import outdir
        from pipeline.report import write_report
        if not outdir.is_winnow_output(args.out.rstrip("/")):
            raise UsageError(f"{args.out} is not a finished run (no Winnow manifest.json)")
        print(write_report(args.out))
        return 0
    if args.cmd == "bias":
        return _bias_probe(args)
    if args.cmd == "quality":
        return _quality_train(args)
    if args.cmd == "decon":
        return _decon_build(args)
    if args.cmd == "index":
        from pipeline.index import build_index
        build_index(args.out, args.index, args.runner, extra, args.overwrite)
        return 0
    if args.cmd == "run":
        from pipeline.driver.run import run_pipeline
        if args.max_steps is not None and args.max_steps < 1:
            raise UsageError(f"--max-steps must be at least 1 (got {args.max_steps})")
        if args.then_train and args.train_out and os.path.isdir(args.train_out) and os.listdir(args.train_out):
            raise UsageError(f"--train-out {args.train_out} is not empty; choose a new folder (or train it with "
                             "`winnow train --resume` / `--overwrite` after the run)")
        cfg = config_mod.load_config(args.config)
        train_mod = _trainer("run --then-train") if args.then_train else None
        run_pipeline(args.input or sample_inputs(), args.output, cfg, runner=args.runner, beam_args=extra,
                     overwrite=args.overwrite, workers=args.workers, dask_address=args.dask_address,
                     dask_memory_limit=args.dask_memory_limit, finalize_in_job=args.finalize_in_job)
        if args.then_train:
            train_argv = ["--shards", args.output.rstrip("/") + "/shards",
                          "--out", args.train_out or args.output.rstrip("/") + "/train", "--device", args.device]
            train_argv += ["--config", args.config] if args.config else []
            train_argv += ["--max-steps", str(args.max_steps)] if args.max_steps is not None else []
            return train_mod.main(train_argv)
        return 0
    return 1


def entry() -> None:
    """The `winnow` command: main(), then leave without interpreter finalization. Arrow's native thread pools
    can abort the process while they are torn down at exit ("terminate called without an active exception",
    exit -6, apache/arrow#34314) after a run that had finished and written everything. Output streams and
    logging are flushed first; every file and cluster is closed by then."""
    import signal

    from pipeline.errors import request_interrupt, unraisable_hook
    # Ctrl-C, and `kill` / job schedulers (SIGTERM) with the same clean-up
    signal.signal(signal.SIGINT, request_interrupt)
    signal.signal(signal.SIGTERM, request_interrupt)
    sys.unraisablehook = unraisable_hook(sys.unraisablehook)   # no tracebacks from callbacks a Ctrl-C cut off
    rc = main()
    import logging
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    entry()
