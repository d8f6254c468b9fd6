"""Packing token streams into fixed blocks and routing docs to splits and shards (pure, deterministic).

A shard's docs are packed in doc_id order, each followed by EOS, into rows of `seq_len + 1` tokens; the
incomplete tail block of each shard is dropped and counted (`tokens_dropped`).
"""
from __future__ import annotations

import hashlib
import math
from typing import Iterable

import numpy as np


def unit_hash(key: str, salt: str = "") -> float:
    """A stable number in [0, 1) from a string (first 8 bytes of blake2b)."""
    h = hashlib.blake2b((salt + key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64


def split_of(doc_id: str, val_fraction: float) -> str:
    return "val" if unit_hash(doc_id, "split:") < val_fraction else "train"


def n_files(total: int, per_file: int) -> int:
    return max(1, math.ceil(total / max(1, per_file)))


def bucket_of(key: str, n: int, salt: str = "") -> int:
    return min(n - 1, int(unit_hash(key, salt) * n))


def pack(docs: Iterable[tuple[str, str, str, np.ndarray]], seq_len: int, eos: int) -> tuple[dict, int]:
    """docs: (doc_id, lang, source, token ids) already in order. Returns (columns dict, tokens dropped).

    Columns follow schemas.shards.SHARD_SCHEMA: input_ids (an int32 array of n_rows x (seq_len + 1): a view of
    the packed stream, no copy), doc_ids, doc_starts, langs, sources; a doc that continues from the previous
    row is listed first at offset 0.
    """
    block = seq_len + 1
    ids_parts, spans = [], []          # spans: (global start, doc_id, lang, source)
    pos = 0
    for doc_id, lang, source, ids in docs:
        spans.append((pos, doc_id, lang, source))
        ids_parts.append(np.asarray(ids, dtype=np.int32))
        ids_parts.append(np.array([eos], dtype=np.int32))
        pos += len(ids) + 1
    stream = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int32)
    del ids_parts
    n_rows = len(stream) // block
    dropped = len(stream) - n_rows * block
    starts = [sp[0] for sp in spans]
    ends = starts[1:] + [pos]                       # a doc occupies [start, end), its EOS included
    cols = {"input_ids": stream[:n_rows * block].reshape(n_rows, block),
            "doc_ids": [], "doc_starts": [], "langs": [], "sources": []}
    j0 = 0
    for r in range(n_rows):
        lo, hi = r * block, (r + 1) * block
        while ends[j0] <= lo:                       # first doc still running at lo
            j0 += 1
        j = j0
        row = ([], [], [], [])
        while j < len(spans) and starts[j] < hi:
            row[0].append(spans[j][1])
            row[1].append(max(0, starts[j] - lo))
            row[2].append(spans[j][2])
            row[3].append(spans[j][3])
            j += 1
        cols["doc_ids"].append(row[0])
        cols["doc_starts"].append(row[1])
        cols["langs"].append(row[2])
        cols["sources"].append(row[3])
    return cols, dropped
