"""Helpers for integration tests: run the CLI in-process and read an output directory back."""
import glob
import os
import subprocess
import sys

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK_RUN = os.path.join(os.path.dirname(ROOT), "shared", "tools", "check_run.py")


def read_rows(out, kind, columns=None):
    rows = []
    for f in sorted(glob.glob(os.path.join(out, kind, "*.parquet"))):
        rows.extend(pq.read_table(f, columns=columns).to_pylist())
    return rows


def check_run(out):
    """The independent contract check from ../shared/tools (skipped by callers when absent)."""
    r = subprocess.run([sys.executable, CHECK_RUN, out], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def decode_docs(out):
    """Rebuild each doc's token ids from the shards: {doc_id: ids} for docs that lie wholly inside one shard."""
    docs = {}
    for f in sorted(glob.glob(os.path.join(out, "shards", "*", "*.parquet"))):
        t = pq.read_table(f).to_pylist()
        stream, starts = [], []
        for row in t:
            base = len(stream)
            for d, s in zip(row["doc_ids"], row["doc_starts"]):
                if not starts or starts[-1][0] != d:
                    starts.append((d, base + s))
            stream.extend(row["input_ids"])
        for i, (d, s) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else None
            if end is not None:                      # the last doc of a shard may be cut by the dropped tail
                docs[d] = stream[s:end - 1]          # minus its EOS
    return docs
