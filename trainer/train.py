"""The training loop: `winnow train --shards OUT/shards --out RUN_DIR`, or under torchrun for DDP.

AdamW, linear warm-up + cosine decay, gradient accumulation and clipping, bf16 autocast on CUDA (fp32 on
CPU), optional torch.compile, periodic validation on the val shards, atomic keep-last-N checkpoints with the
sampler and RNG state. On CPU a run stopped at step k and resumed gives bit-identical losses.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

from trainer import checkpoint
from trainer.args import add_arguments
from trainer.config import PRESETS, TrainConfig, TrainConfigError
from trainer.config import load as load_train_config
from trainer.data import BlockSampler, BlockStore, ShardError, loader, open_run
from trainer.model import GPT, GPTConfig

# Peak dense bf16 tensor FLOPS by device name, for MFU (vendor data sheets). Unknown devices: MFU omitted.
PEAK_BF16_FLOPS = {"H100": 989e12, "A100": 312e12}


def _names(entries: list[str]) -> str:
    shown = ", ".join(sorted(entries)[:3])
    return shown + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")


def _foreign_entries(out_dir: str) -> list[str]:
    """What in out_dir is not part of a training run: anything but a checkpoints/ folder holding only
    ckpt-<step>.pt[.tmp] files and a metrics.jsonl file (symlinks count as foreign). [] = a run (or empty)."""
    foreign = []
    for name in os.listdir(out_dir):
        path = os.path.join(out_dir, name)
        if name == "metrics.jsonl" and os.path.isfile(path) and not os.path.islink(path):
            continue
        if name == "checkpoints" and os.path.isdir(path) and not os.path.islink(path):
            for inner in os.listdir(path):
                ipath = os.path.join(path, inner)
                if not (checkpoint.NAME_RE.fullmatch(inner.removesuffix(".tmp")) and os.path.isfile(ipath)
                        and not os.path.islink(ipath)):
                    foreign.append(f"checkpoints/{inner}")
            continue
        foreign.append(name + ("/" if os.path.isdir(path) else ""))
    return foreign


def check_out_dir(out_dir: str, resume: bool, overwrite: bool) -> bool:
    """Refuse (ShardError) an --out that would mix two runs or that --overwrite must not delete; read-only.
    True when out_dir holds a run that --overwrite is to delete (see clear_run)."""
    if resume and overwrite:
        raise ShardError("--resume and --overwrite contradict each other: continue the run in --out, or replace it")
    if not os.path.lexists(out_dir):
        return False
    if not os.path.isdir(out_dir):
        raise ShardError(f"--out {out_dir} exists and is not a directory")
    if resume or not os.listdir(out_dir):
        return False
    foreign = _foreign_entries(out_dir)
    if overwrite:
        if foreign:
            raise ShardError(f"--overwrite: {out_dir} is not a Winnow training run (it holds {_names(foreign)}), "
                             f"so it is left as it is; --overwrite only deletes a folder holding nothing but "
                             f"checkpoints/ and metrics.jsonl")
        return True
    if foreign:
        raise ShardError(f"--out {out_dir} is not empty and is not a Winnow training run (it holds "
                         f"{_names(foreign)}); choose a new or empty folder (--resume continues a run there, "
                         f"--overwrite replaces only a training run)")
    raise ShardError(f"--out {out_dir} already holds a training run; pass --resume to continue it or "
                     f"--overwrite to replace it")


def clear_run(out_dir: str) -> None:
    """Delete the run check_out_dir() accepted for --overwrite (checked again first): its ckpt-<step>.pt[.tmp]
    files one by one, then checkpoints/ (rmdir: fails rather than delete anything else) and metrics.jsonl."""
    if _foreign_entries(out_dir):                           # changed since the check: leave it alone
        raise ShardError(f"--overwrite: {out_dir} changed and is no longer only a training run; left as it is")
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    if os.path.isdir(ckpt_dir):
        for name in os.listdir(ckpt_dir):
            if checkpoint.NAME_RE.fullmatch(name.removesuffix(".tmp")):
                os.remove(os.path.join(ckpt_dir, name))
        os.rmdir(ckpt_dir)
    metrics = os.path.join(out_dir, "metrics.jsonl")
    if os.path.isfile(metrics):
        os.remove(metrics)


def _trim_metrics(path: str, step: int) -> None:
    """Drop the rows of metrics.jsonl after `step` (and any torn line), so that a run resumed from an older
    checkpoint does not log those steps twice."""
    if not os.path.isfile(path):
        return
    keep, dropped = [], 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
                ok = isinstance(row, dict) and int(row["step"]) <= step
            except (ValueError, KeyError, TypeError):
                ok = False
            if ok:
                keep.append(line if line.endswith("\n") else line + "\n")
            elif line.strip():
                dropped += 1
    if dropped:
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.writelines(keep)
        os.replace(path + ".tmp", path)


def _check_steps(max_steps: int | None, stop_after: int | None) -> None:
    if max_steps is not None and max_steps < 1:
        raise ShardError(f"--max-steps must be >= 1, got {max_steps}")
    if stop_after is not None and stop_after < 1:
        raise ShardError(f"--stop-after must be >= 1, got {stop_after}")


def get_lr(step: int, tc) -> float:
    """Linear warm-up to tc.lr, cosine decay to tc.min_lr at tc.max_steps (nanoGPT)."""
    if step < tc.warmup_steps:
        return tc.lr * (step + 1) / (tc.warmup_steps + 1)
    if step >= tc.max_steps:
        return tc.min_lr
    ratio = (step - tc.warmup_steps) / max(1, tc.max_steps - tc.warmup_steps)
    return tc.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (tc.lr - tc.min_lr)


def model_config(tc, seq_len: int, vocab_size: int) -> GPTConfig:
    args = dict(PRESETS[tc.model])
    for k in ("n_layer", "n_head", "n_embd"):
        if getattr(tc, k) is not None:
            args[k] = getattr(tc, k)
    return GPTConfig(block_size=seq_len, vocab_size=vocab_size, dropout=tc.dropout, **args)


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


class _Batches:
    """Endless iterator over this rank's batches that knows its position: (epoch, cursor) = batches consumed.
    `digest` fingerprints every block id consumed (tests use it to show what each rank saw)."""

    def __init__(self, store, sampler, vocab, epoch, cursor, num_workers, pin):
        self.store, self.sampler, self.vocab = store, sampler, vocab
        self.epoch, self.cursor, self.num_workers, self.pin = epoch, cursor, num_workers, pin
        self._it, self._ids = None, None
        self.digest = hashlib.blake2b(digest_size=16)

    def __next__(self):
        while True:
            if self._it is None:
                self._ids = self.sampler.batches(self.epoch, self.cursor)
                self._pos = 0
                self._it = iter(loader(self.store, self._ids, self.vocab, self.num_workers, self.pin))
            try:
                batch = next(self._it)
            except StopIteration:
                self._it, self.epoch, self.cursor = None, self.epoch + 1, 0
                continue
            self.digest.update(np.asarray(self._ids[self._pos], dtype=np.int64).tobytes())
            self._pos += 1
            self.cursor += 1
            return batch


def train(shards: str, out_dir: str, cfg: TrainConfig, device: str = "auto", max_steps: int | None = None,
          resume: bool = False, stop_after: int | None = None, log=print, overwrite: bool = False) -> dict:
    """Train on OUT/shards into out_dir; returns a summary (final losses, tokens, throughput).

    cfg: the TrainConfig (trainer/config.py).
    stop_after: stop after this step with a checkpoint, as a preempted job would (the LR schedule still
    runs to max_steps); `resume=True` later continues exactly where it stopped.
    out_dir must be new or empty unless resume (continue the run there) or overwrite (replace it; only a
    folder holding nothing but a training run, see check_out_dir). Usage errors raise ShardError before step 0.
    Under DDP every rank checks out_dir (read-only; ranks share the filesystem, as --resume needs), only
    rank 0 deletes, and the others wait at a barrier until it has."""
    _check_steps(max_steps, stop_after)
    replace_run = check_out_dir(out_dir, resume, overwrite)
    tc = cfg
    if max_steps is not None:
        tc = dataclasses.replace(tc, max_steps=max_steps)
    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world = (int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])) if ddp else (0, 1)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ShardError("--device cuda asked for, but torch sees no CUDA device")
    if ddp:
        import torch.distributed as dist
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
        if device == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
    dev = torch.device(device)
    master = rank == 0
    torch.use_deterministic_algorithms(dev.type == "cpu")
    torch.manual_seed(tc.seed)

    run = open_run(shards, verify=tc.verify_shards)
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    ckpt_path, ckpt, skipped = checkpoint.load_newest(ckpt_dir) if resume else (None, None, [])
    if skipped:
        what = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in skipped)
        if ckpt is None:
            raise ShardError(f"--resume: no checkpoint in {ckpt_dir} is readable ({what})")
        if master:
            names = ", ".join(os.path.basename(p) for p, _ in skipped)
            verb = "is" if len(skipped) == 1 else "are"
            print(f"winnow train: checkpoint{'s' if len(skipped) > 1 else ''} {names} {verb} unreadable "
                  f"({'; '.join(why for _, why in skipped)}); resuming from {os.path.basename(ckpt_path)}",
                  file=sys.stderr, flush=True)
    if resume and ckpt is None and master:
        log(f"--resume: no checkpoint in {ckpt_dir}, starting from step 0")
    if ckpt is not None and ckpt["tokenizer_sha256"] != run.manifest.tokenizer.sha256:
        raise ShardError(f"checkpoint {ckpt_path} was trained with another tokenizer than {run.root}")
    gcfg = GPTConfig(**ckpt["model_args"]) if ckpt else model_config(tc, run.seq_len, run.vocab_size)
    if run.vocab_size > gcfg.vocab_size:
        raise ShardError(f"tokenizer has {run.vocab_size} tokens but the model only {gcfg.vocab_size}")
    if run.seq_len > gcfg.block_size:
        raise ShardError(f"shards hold blocks of {run.seq_len} tokens, the model's context is {gcfg.block_size}")

    model = GPT(gcfg).to(dev)
    opt = model.configure_optimizer(tc.weight_decay, tc.lr, (tc.beta1, tc.beta2), dev.type)
    step, epoch, cursor = 0, 0, 0
    if ckpt:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, epoch, cursor = ckpt["step"], ckpt["sampler"]["epoch"], ckpt["sampler"]["cursor"]
        checkpoint.set_rng_state(ckpt["rng"])
    raw_model = model
    if tc.compile:
        model = torch.compile(model)
    if ddp:
        from torch.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    store = BlockStore(run.files["train"], run.seq_len)
    sampler = BlockSampler(store.sizes, tc.batch_size, tc.seed, rank, world)
    batches = _Batches(store, sampler, gcfg.vocab_size, epoch, cursor, tc.num_workers, dev.type == "cuda")
    val_batches = _val_batches(run, tc, rank, world, gcfg.vocab_size)
    autocast = (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if dev.type == "cuda"
                else contextlib.nullcontext())
    tokens_per_step = tc.batch_size * tc.grad_accum * run.seq_len * world
    flops, peak = raw_model.flops_per_token(), peak_flops(dev)

    if master:
        try:
            if replace_run:
                clear_run(out_dir)
            os.makedirs(out_dir, exist_ok=True)
            metrics_path = os.path.join(out_dir, "metrics.jsonl")
            if resume:
                _trim_metrics(metrics_path, step)
            metrics = open(metrics_path, "a")
        except OSError as e:
            raise ShardError(f"--out {out_dir}: {e.strerror or e}: {e.filename or out_dir}") from None
    else:
        metrics = None
    if ddp:
        torch.distributed.barrier()                         # the other ranks wait for rank 0's --overwrite
    bar = _progress(tc.max_steps, step, master)
    if master:
        log(f"model {gcfg.n_layer}x{gcfg.n_head}x{gcfg.n_embd}, {raw_model.num_params() / 1e6:.2f}M params, "
            f"vocab {gcfg.vocab_size} (padded {gcfg.padded_vocab_size}), {store.n_blocks} train blocks, "
            f"device {dev}, world {world}")
    last = {}
    t_run, tokens_run = time.perf_counter(), 0
    end = min(tc.max_steps, stop_after) if stop_after else tc.max_steps
    while step < end:
        t0 = time.perf_counter()
        lr = get_lr(step, tc)
        for g in opt.param_groups:
            g["lr"] = lr
        loss_sum = torch.zeros((), device=dev)
        for micro in range(tc.grad_accum):
            batch = next(batches).to(dev, non_blocking=True)
            x, y = batch[:, :-1], batch[:, 1:]
            sync = contextlib.nullcontext() if not ddp or micro == tc.grad_accum - 1 else model.no_sync()
            with sync, autocast:
                _, loss = model(x, y)
                loss = loss / tc.grad_accum
            loss.backward()
            loss_sum += loss.detach()
        if tc.grad_clip:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), tc.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        loss_val = _mean_over_ranks(loss_sum, ddp)
        dt = time.perf_counter() - t0
        tokens_run += tokens_per_step
        row = {"step": step, "loss": loss_val, "lr": lr, "tokens": step * tokens_per_step,
               "tokens_per_s": round(tokens_per_step / dt, 1)}
        if peak:
            row["mfu"] = round(flops * tokens_per_step / dt / (peak * world), 4)
        if val_batches and (step % tc.eval_interval == 0 or step == tc.max_steps):
            row["val_loss"] = evaluate(raw_model, val_batches, dev, autocast, ddp)
        if master and (step % tc.log_interval == 0 or "val_loss" in row or step == tc.max_steps):
            metrics.write(json.dumps(row) + "\n")
            metrics.flush()
        last.update(row)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_val:.3f}", tok_s=f"{row['tokens_per_s']:.0f}")
        if step % tc.ckpt_interval == 0 or step == end:
            if master:
                checkpoint.save(ckpt_dir, step, {
                    "model": raw_model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "sampler": {"epoch": batches.epoch, "cursor": batches.cursor, "seed": tc.seed},
                    "rng": checkpoint.rng_state(), "model_args": dataclasses.asdict(gcfg),
                    "train_config": dataclasses.asdict(tc), "tokenizer_sha256": run.manifest.tokenizer.sha256,
                    "shards_config_hash": run.manifest.config_hash}, tc.keep_last)
            if ddp:
                torch.distributed.barrier()
    if bar is not None:
        bar.close()
    if metrics:
        metrics.close()
    elapsed = time.perf_counter() - t_run
    summary = {"steps": step, "final_loss": last.get("loss"), "final_val_loss": last.get("val_loss"),
               "tokens": step * tokens_per_step, "tokens_per_s": round(tokens_run / elapsed, 1) if tokens_run else None,
               "params": raw_model.num_params(), "device": str(dev), "world": world, "rank": rank,
               "sampler": {"epoch": batches.epoch, "cursor": batches.cursor},
               "data_digest": batches.digest.hexdigest()}
    if ddp:
        torch.distributed.destroy_process_group()
    return summary


def _val_batches(run, tc, rank, world, vocab):
    """The first eval_batches val batches of this rank, in file order (the same at every evaluation)."""
    if not run.files.get("val"):
        return []
    store = BlockStore(run.files["val"], run.seq_len)
    bs = min(tc.batch_size, max(1, store.n_blocks // world))
    try:
        sampler = BlockSampler(store.sizes, bs, tc.seed, rank, world, shuffle=False)
    except ShardError:
        return []
    out = []
    for batch in loader(store, sampler.batches(0), vocab):
        out.append(batch)
        if len(out) >= tc.eval_batches:
            break
    return out


@torch.no_grad()
def evaluate(model, batches, dev, autocast, ddp) -> float:
    model.eval()
    total = torch.zeros((), device=dev)
    for batch in batches:
        batch = batch.to(dev)
        with autocast:
            _, loss = model(batch[:, :-1], batch[:, 1:])
        total += loss.float()
    model.train()
    return _mean_over_ranks(total / len(batches), ddp)


def _mean_over_ranks(t: torch.Tensor, ddp: bool) -> float:
    if ddp:
        import torch.distributed as dist
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)       # gloo has no AVG
        t /= dist.get_world_size()
    return float(t.item())


def _progress(total, initial, master):
    if not master:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True, file=sys.stderr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="winnow train", description=__doc__.splitlines()[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        _check_steps(args.max_steps, args.stop_after)
        tc = load_train_config(args.config)
        summary = train(args.shards, args.out, tc, args.device, args.max_steps, args.resume, args.stop_after,
                        overwrite=args.overwrite)
    except (ShardError, TrainConfigError) as e:
        print(f"winnow train: error: {e}", file=sys.stderr)
        return 2
    # every rank prints its own line (rank, data_digest): one write, flushed, so that the ranks' lines on a
    # shared pipe (torch.distributed.run) do not run into each other
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
