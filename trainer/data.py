"""Token shards -> training batches: manifest validation, a resumable seeded sampler, a row-group reader.

Sampling without replacement: each epoch is a seeded permutation of every block, built as a permutation of
row groups and, inside each, of rows, so a batch mostly touches one row group (reads stay sequential).
With DDP, rank r takes positions r, r + W, r + 2W, ... of that order: disjoint slices of one permutation.
Paths may be local or any fsspec URL (gs:// needs gcsfs).
"""
from __future__ import annotations

import hashlib
import os
import posixpath
from collections import OrderedDict
from dataclasses import dataclass

import fsspec
import numpy as np
import pyarrow.parquet as pq
import torch

import schemas
from schemas import manifest as manifest_schema
from schemas.manifest import MANIFEST_FILE, Manifest
from schemas.shards import SPLITS


class ShardError(RuntimeError):
    """A user error found before step 0, reported as one line: the shards, manifest or tokenizer are missing,
    corrupt or do not match, or a flag, --out or the checkpoints to resume from are unusable (trainer.train).
    (pipeline/cli.py recognises it by this class name, without importing torch.)"""


def _join(base: str, *parts: str) -> str:
    return posixpath.join(base.rstrip("/"), *parts) if "://" in base else os.path.join(base, *parts)


def _read(path: str) -> bytes:
    try:
        with fsspec.open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ShardError(f"missing file: {path}") from None
    except (OSError, ImportError, ValueError) as e:        # a folder, no permission, gs:// without gcsfs, ...
        raise ShardError(f"cannot read {path}: {e}") from None


@dataclass
class Run:
    """A validated pipeline output: the manifest, the tokenizer text and the shard files per split."""
    root: str
    manifest: Manifest
    tokenizer_json: str
    files: dict            # split -> [path]
    seq_len: int
    vocab_size: int
    eos_id: int


def open_run(shards_dir: str, verify: bool = True) -> Run:
    """Validate OUT (given OUT/shards): manifest present, tokenizer hash, every shard present with its sha256
    (verify=True), footers naming the same tokenizer. Raises ShardError with a clear message otherwise."""
    root = shards_dir.rstrip("/")
    root = root[: -len("/shards")] if root.endswith("/shards") else root
    try:
        manifest = manifest_schema.read(_join(root, MANIFEST_FILE), _read)
    except ShardError as e:
        raise ShardError(f"{e} (is --shards {shards_dir} the shards/ of a finished `winnow run`?)") from None
    except manifest_schema.ManifestError as e:
        raise ShardError(str(e)) from None
    tok_info = manifest.tokenizer
    if tok_info is None:
        raise ShardError(f"{root} has no tokenizer: the run had tokenize.enabled false, so it wrote no shards")
    tok_bytes = _read(_join(root, tok_info.path))
    if hashlib.sha256(tok_bytes).hexdigest() != tok_info.sha256:
        raise ShardError(f"tokenizer.json in {root} does not match the manifest's tokenizer sha256 "
                         f"{tok_info.sha256}: the shards were made with another tokenizer")
    files = {s: [] for s in SPLITS}
    for entry in manifest.shards:
        path = _join(root, entry.path)
        if verify:
            data = _read(path)
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise ShardError(f"shard {path} is corrupt: sha256 differs from the manifest")
        files.setdefault(entry.split, []).append(path)
    for split, paths in files.items():
        for path in paths[:1]:                   # footers: the same tokenizer and schema (first file per split)
            meta = _parquet(path).schema_arrow.metadata or {}
            if meta.get(schemas.META_TOKENIZER_HASH, b"").decode() != tok_info.sha256:
                raise ShardError(f"shard {path} was written with another tokenizer than {root}/tokenizer.json")
    if not files.get("train"):
        raise ShardError(f"no train shards listed in {_join(root, MANIFEST_FILE)}")
    return Run(root, manifest, tok_bytes.decode("utf-8"), files, manifest.tokens.seq_len, tok_info.vocab_size,
               tok_info.eos_id)


def _parquet(path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(fsspec.open(path, "rb").open())
    except FileNotFoundError:
        raise ShardError(f"missing shard: {path}") from None
    except Exception as e:
        raise ShardError(f"cannot read shard {path}: {e}") from None


class BlockStore:
    """Random access to blocks (rows) of a split's shard files, read one row group at a time (LRU cache)."""

    def __init__(self, files: list[str], seq_len: int, cache_row_groups: int = 16):
        self.files, self.block = files, seq_len + 1
        self.groups = []                                    # (file index, row group index, rows)
        for fi, f in enumerate(files):
            md = _parquet(f).metadata
            for g in range(md.num_row_groups):
                self.groups.append((fi, g, md.row_group(g).num_rows))
        self.sizes = np.array([g[2] for g in self.groups], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_blocks = int(self.offsets[-1])
        self.cache_size = cache_row_groups
        self._cache: OrderedDict = OrderedDict()
        self._handles: dict = {}

    def __getstate__(self):                                  # DataLoader workers open their own handles
        return {**self.__dict__, "_cache": OrderedDict(), "_handles": {}}

    def row_group(self, g: int) -> np.ndarray:
        arr = self._cache.get(g)
        if arr is not None:
            self._cache.move_to_end(g)
            return arr
        fi, rg, rows = self.groups[g]
        pf = self._handles.get(fi)
        if pf is None:
            pf = self._handles[fi] = _parquet(self.files[fi])
        col = pf.read_row_group(rg, columns=["input_ids"]).column(0).combine_chunks()
        arr = col.values.to_numpy(zero_copy_only=False).reshape(rows, self.block)
        self._cache[g] = arr
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return arr

    def blocks(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), seq_len + 1) int32 array of the blocks with these global indices."""
        ids = np.asarray(ids, dtype=np.int64)
        g = np.searchsorted(self.offsets, ids, side="right") - 1
        out = np.empty((len(ids), self.block), dtype=np.int32)
        for grp in np.unique(g):
            sel = g == grp
            out[sel] = self.row_group(int(grp))[ids[sel] - self.offsets[grp]]
        return out


class BlockSampler:
    """Seeded, resumable order of batches of block indices for one rank.

    State = (epoch, cursor): cursor counts this rank's batches already consumed in the epoch. Global batch b
    is positions [b*W*B, (b+1)*W*B) of the epoch's permutation and rank r takes every W-th of them, so ranks
    see disjoint blocks and every block is visited exactly once per epoch; the last batch may be smaller.
    (Under DDP a tail of fewer than W blocks, which cannot give every rank one, waits for the next epoch.)
    """

    def __init__(self, sizes, batch_size: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True):
        self.sizes, self.batch_size, self.seed = np.asarray(sizes, dtype=np.int64), batch_size, seed
        self.rank, self.world, self.shuffle = rank, world, shuffle
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_blocks = int(self.offsets[-1])
        per_step = world * batch_size
        tail = self.n_blocks % per_step
        self.batches_per_epoch = self.n_blocks // per_step + (1 if tail >= world else 0)
        if self.batches_per_epoch == 0:
            raise ShardError(f"{self.n_blocks} blocks cannot give each of {world} rank(s) one block")

    def order(self, epoch: int) -> np.ndarray:
        """All block indices of this epoch, in visiting order (before the rank slice)."""
        if not self.shuffle:
            return np.arange(self.n_blocks, dtype=np.int64)
        rng = np.random.default_rng([self.seed, epoch])
        parts = [self.offsets[g] + rng.permutation(int(self.sizes[g])) for g in rng.permutation(len(self.sizes))]
        return np.concatenate(parts).astype(np.int64)

    def batches(self, epoch: int, cursor: int = 0) -> list:
        """This rank's batches (arrays of block ids) of `epoch`, from batch `cursor` on."""
        order, per_step = self.order(epoch), self.world * self.batch_size
        return [order[b * per_step:(b + 1) * per_step][self.rank::self.world]
                for b in range(cursor, self.batches_per_epoch)]


class _BatchDataset(torch.utils.data.Dataset):
    """Map-style dataset whose 'index' is a whole batch of block ids (so workers build whole batches)."""

    def __init__(self, store: BlockStore, vocab_size: int):
        self.store, self.vocab_size = store, vocab_size

    def __getitem__(self, ids):
        arr = self.store.blocks(ids)
        if arr.size and (arr.max() >= self.vocab_size or arr.min() < 0):
            raise ShardError(f"token id {int(arr.max())} outside the vocabulary of {self.vocab_size}")
        return torch.from_numpy(arr.astype(np.int64))

    def __len__(self):
        return self.store.n_blocks


def _seed_worker(worker_id):          # workers draw no random numbers, but seed them anyway (reproducible)
    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    import random
    random.seed(seed)


def loader(store: BlockStore, batches: list, vocab_size: int, num_workers: int = 0, pin_memory: bool = False):
    """A DataLoader over `batches` (lists of block ids, in order); yields (B, seq_len + 1) int64 tensors.
    Each batch is built whole by one worker, and the DataLoader returns them in sampler order."""
    return torch.utils.data.DataLoader(
        _BatchDataset(store, vocab_size), sampler=batches, batch_size=None,
        num_workers=num_workers, pin_memory=pin_memory, worker_init_fn=_seed_worker,
        persistent_workers=False, prefetch_factor=4 if num_workers else None)
