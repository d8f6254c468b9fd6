"""Trainer throughput (part of `make bench`): shard-loader tokens/s vs the tokens/s the trainer consumes on
CPU (goal: loader >= 20x faster), and, when a CUDA GPU is present, tokens/s and MFU of gpt2-124m in bf16.
Makes its own shards from the bundled sample with `winnow run`. Writes bench/results/trainer.json."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
GPT2_TOKENIZER = os.path.join(os.path.dirname(ROOT), "shared", "data", "tokenizer_gpt2", "tokenizer.json")


def make_shards(tmp, **tokenize):
    from pipeline.cli import sample_inputs
    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    out = os.path.join(tmp, "out-" + "-".join(f"{k}{v}" for k, v in sorted(tokenize.items()) if k != "tokenizer"))
    run_pipeline(sample_inputs(), out, load_config(overrides={"tokenize": tokenize}), log=open(os.devnull, "w"))
    return os.path.join(out, "shards")


def loader_rate(shards, batch_size, num_workers, n_batches=300):
    from trainer.data import BlockSampler, BlockStore, loader, open_run
    run = open_run(shards, verify=False)
    store = BlockStore(run.files["train"], run.seq_len)
    sampler = BlockSampler(store.sizes, batch_size, seed=0)
    batches = [b for e in range(100) for b in sampler.batches(e)][:n_batches]
    t = time.perf_counter()
    tokens = sum(int(b.numel()) for b in loader(store, batches, run.vocab_size, num_workers=num_workers))
    return tokens / (time.perf_counter() - t)


def trainer_rate(shards, device, steps, **train):
    from trainer.config import from_dict
    from trainer.train import train as run_train
    with tempfile.TemporaryDirectory() as d:
        cfg = from_dict(dict(log_interval=1, eval_interval=10 ** 6, ckpt_interval=10 ** 6, max_steps=steps, **train))
        run_train(shards, d, cfg, device=device, log=lambda *a: None)
        rows = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))]
    steady = rows[len(rows) // 3:]                 # skip warm-up / compilation steps
    rate = sum(r["tokens_per_s"] for r in steady) / len(steady)
    mfu = [r["mfu"] for r in steady if "mfu" in r]
    return rate, (sum(mfu) / len(mfu) if mfu else None)


def main():
    import torch
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        shards = make_shards(tmp, vocab_size=8192, seq_len=256)
        for w in (0, 2):
            results[f"loader_tokens_per_s_workers{w}"] = round(loader_rate(shards, 16, w))
        rate, _ = trainer_rate(shards, "cpu", 30, batch_size=16, num_workers=2)
        results["trainer_tiny_cpu_tokens_per_s"] = round(rate)
        results["loader_over_trainer"] = round(results["loader_tokens_per_s_workers0"] / rate, 1)
        print(f"loader (CPU, batch 16 x 257 tokens): {results['loader_tokens_per_s_workers0']:,} tokens/s "
              f"in-process, {results['loader_tokens_per_s_workers2']:,} with 2 workers")
        print(f"trainer, tiny model on CPU: {rate:,.0f} tokens/s -> loader is {results['loader_over_trainer']}x faster")
        if torch.cuda.is_available() and os.path.exists(GPT2_TOKENIZER):
            shards = make_shards(tmp, tokenizer=GPT2_TOKENIZER, seq_len=1024)
            rate, mfu = trainer_rate(shards, "cuda", 60, model="gpt2-124m", batch_size=16, grad_accum=4,
                                     compile=True, num_workers=4, lr=6e-4, warmup_steps=10)
            results.update(gpt2_124m_cuda_tokens_per_s=round(rate), gpt2_124m_mfu=mfu,
                           gpu=torch.cuda.get_device_name(0))
            print(f"gpt2-124m on {results['gpu']} (bf16, compiled): {rate:,.0f} tokens/s, MFU {mfu}")
        else:
            results["gpu"] = None
            print("no CUDA GPU here: gpt2-124m tokens/s and MFU not measured")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    json.dump(results, open(os.path.join(ROOT, "bench", "results", "trainer.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
