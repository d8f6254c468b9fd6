"""`winnow` command line: run | train | config show.

Flags Winnow does not know are passed to Beam's PipelineOptions (e.g. --direct_num_workers, --project).
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib import resources

from pipeline import config as config_mod

DEFAULT_OUTPUT = "out"


def sample_inputs() -> list[str]:
    base = resources.files("pipeline").joinpath("resources/sample")
    return sorted(os.path.join(str(base), n) for n in os.listdir(str(base))
                  if n.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".parquet", ".warc.gz", ".wet.gz", ".arc.gz", ".txt")))


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="winnow", description="Clean, deduplicate and tokenize crawled text on Apache Beam.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the pipeline (no --input: the bundled sample corpus)")
    r.add_argument("--input", action="append", default=None, metavar="GLOB",
                   help="input files (.jsonl[.gz|.zst], .parquet, .warc.gz/.wet.gz/.arc.gz, .txt); repeatable")
    r.add_argument("--output", default=DEFAULT_OUTPUT, help="output directory (default: ./out)")
    r.add_argument("--config", default=None, help="YAML config overriding the defaults")
    r.add_argument("--runner", default=None, help="direct (default: in-process FnApiRunner) or a Beam runner name")
    r.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    r.add_argument("--then-train", action="store_true",
                   help="when the run finishes, train on its shards (train options: --train-out, --max-steps, --device)")
    r.add_argument("--train-out", default=None, help="run directory for --then-train (default: OUTPUT/train)")
    r.add_argument("--max-steps", type=int, default=None, help="with --then-train: training steps")
    r.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="with --then-train")
    t = sub.add_parser("train", help="train the bundled GPT on the shards of a run (also under torchrun)")
    from trainer.train import add_arguments
    add_arguments(t)
    c = sub.add_parser("config", help="configuration")
    csub = c.add_subparsers(dest="config_cmd", required=True)
    show = csub.add_parser("show", help="print the effective config (defaults + --config)")
    show.add_argument("--config", default=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args, beam_args = _parser().parse_known_args(argv)
    try:
        if args.cmd == "config":
            if beam_args:
                raise config_mod.ConfigError(f"unknown arguments: {' '.join(beam_args)}")
            cfg = config_mod.load_config(args.config)
            print(cfg.to_yaml(), end="")
            print(f"# effective quality filters, in order (profile {cfg.quality.profile!r} + quality.thresholds):")
            for name, th in config_mod.quality_filters(cfg):
                print(f"#   {name}: {th}")
            print(f"# config hash: {cfg.hash()}")
            return 0
        if args.cmd == "train":
            if beam_args:
                raise config_mod.ConfigError(f"unknown arguments: {' '.join(beam_args)}")
            from trainer import train as train_mod
            return train_mod.main(argv[1:])
        if args.cmd == "run":
            from pipeline.run import RunError, run_pipeline
            cfg = config_mod.load_config(args.config)
            inputs = args.input or sample_inputs()
            try:
                run_pipeline(inputs, args.output, cfg, runner=args.runner, beam_args=beam_args,
                             overwrite=args.overwrite)
            except RunError as e:
                print(f"winnow: error: {e}", file=sys.stderr)
                return 2
            if args.then_train:
                from trainer import train as train_mod
                train_argv = ["--shards", args.output.rstrip("/") + "/shards",
                              "--out", args.train_out or args.output.rstrip("/") + "/train", "--device", args.device]
                train_argv += ["--config", args.config] if args.config else []
                train_argv += ["--max-steps", str(args.max_steps)] if args.max_steps else []
                return train_mod.main(train_argv)
            return 0
    except config_mod.ConfigError as e:
        print(f"winnow: config error: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
