"""`winnow train` flags, in a torch-free module so the CLI (and the Dataflow launcher) can build its parser
without importing torch."""
from __future__ import annotations

import argparse


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shards", required=True, help="OUT/shards of a `winnow run` (local path or fsspec URL)")
    ap.add_argument("--out", required=True,
                    help="run directory: checkpoints/, metrics.jsonl (new or empty unless --resume or --overwrite)")
    ap.add_argument("--config", default=None, help="YAML config (its `train:` section)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--max-steps", type=int, default=None,
                    help="total training steps, >= 1 (default: the config's train.max_steps)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from the newest readable checkpoint in --out (an unreadable newer one is "
                         "skipped, with a warning); no checkpoint: start from step 0")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace the training run in --out. Only a folder that holds nothing but checkpoints/ "
                         "(ckpt-<step>.pt[.tmp] files only) and/or metrics.jsonl is deleted; any other content "
                         "makes it refuse and leave the folder as it is")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="stop after this step (>= 1) with a checkpoint (time-sliced jobs); --resume continues")
