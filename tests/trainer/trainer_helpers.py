import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def small_train(**over):
    """A train: section for fast CPU tests (a 2-layer, 64-wide GPT)."""
    t = dict(model="tiny", n_layer=2, n_head=2, n_embd=64, batch_size=8, max_steps=12, warmup_steps=2,
             eval_interval=6, eval_batches=2, log_interval=1, ckpt_interval=6, num_workers=0, lr=3e-3)
    t.update(over)
    return t
