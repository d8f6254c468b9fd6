"""The resume cache: what the per-document stages made of each chunk of input records, kept beside the
output (OUT.winnow-work) until the run is in place, so that a run killed or interrupted part way starts again
from the chunks it had finished.

A chunk is up to `input.chunk_records` consecutive records of one input file. Its entry holds every outcome
of its records (documents that went on, rejected documents, dead letters, PII totals) and the counter
increments that made them, so a resumed run replays them and ends with the same outputs and counters as an
uninterrupted one. Entries are valid for one input file version (path, size, modification time) and one
"chain key": the configuration of the per-document stages, the chunking, and the code and resources of
Winnow's pipeline package. Each entry is written to a temporary name and renamed, so an entry is whole or
absent. The files are pickles written by Winnow for Winnow: the folder is as trusted as the code.

Layout: WORK/<chain key>/<file key>/<chunk index>.chunk, WORK/<chain key>/<file key>/chunks.json (the number of
chunks, written once the file was parsed to its end).
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import uuid
from importlib import resources

import zstandard
from apache_beam.io.filesystems import FileSystems

from pipeline.io import files
from pipeline.io.outdir import failpoint

WORK_SUFFIX = ".winnow-work"
_WRITTEN = 0                 # chunks this process has cached
FORMAT = 1
# a chunk also ends once its records hold this many bytes of text (so 256 huge records never make one element)
CHUNK_MAX_BYTES = 16 << 20


def chain_key(cfg, quality_filters) -> str:
    """Everything that decides what the per-document stages make of a record: their config sections, the
    chunking, the language-ID model file, and Winnow's own code and resources (a new version never reuses an
    old version's entries)."""
    from pipeline.stages import langid
    model = cfg.langid.model or langid.default_model_path()
    parts = {
        "format": FORMAT, "chunk_records": cfg.input.chunk_records, "chunk_max_bytes": CHUNK_MAX_BYTES,
        "input": _asdict(cfg.input), "langid": _asdict(cfg.langid) if cfg.langid.enabled else None,
        "quality": [[n, repr(th)] for n, th in quality_filters] if cfg.quality.enabled else None,
        "pii": repr(cfg.pii.stage_config()) if cfg.pii.enabled else None,
        "url_filter": [_asdict(cfg.url_filter), [[p, _size(p)] for p in cfg.url_filter.block + cfg.url_filter.allow]]
        if cfg.url_filter.enabled else None,
        "classifier": [_asdict(cfg.quality.classifier), _size(cfg.quality.classifier.model or "")]
        if cfg.quality.classifier.enabled else None,
        "decon": [_asdict(cfg.decon), [[p, _size(p)] for p in cfg.decon.sets]] if cfg.decon.enabled else None,
        "lines": _asdict(cfg.dedup.line),
        "model": [model, _size(model)], "code": code_digest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _asdict(section) -> dict:
    import dataclasses
    return dataclasses.asdict(section)


def _size(path: str) -> int | None:
    try:
        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    except Exception:
        return None


_CODE = None


def code_digest() -> str:
    """sha256 of every file of the installed `pipeline` package but the sample corpus (a few ms)."""
    global _CODE
    if _CODE is None:
        root = str(resources.files("pipeline"))
        h = hashlib.sha256()
        for d, dirs, names in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", "sample"))
            for n in sorted(names):
                if n.endswith((".pyc", ".pyo")):
                    continue
                p = os.path.join(d, n)
                h.update(os.path.relpath(p, root).encode() + b"\0")
                with open(p, "rb") as fh:
                    h.update(fh.read())
        _CODE = h.hexdigest()
    return _CODE


def file_key(path: str, size: int | None, mtime: float | None) -> str:
    """One version of one input file."""
    return hashlib.sha256(f"{path}\0{size}\0{mtime}".encode()).hexdigest()[:20]


class ChunkCache:
    """Entries under `root` (= WORK/<chain key>); any Beam filesystem."""

    def __init__(self, root: str):
        self.root = root.rstrip("/")

    def entry(self, fkey: str, index: int) -> str:
        return files.join(self.root, fkey, f"{index:06d}.chunk")

    def done(self, fkey: str) -> tuple[set[int], int | None]:
        """(indices of the file's cached chunks, its number of chunks if it was parsed to the end before)."""
        found = FileSystems.match([files.join(self.root, fkey, "*")])[0].metadata_list
        names = {m.path.rsplit("/", 1)[-1] for m in found}
        indices = {int(n[:-6]) for n in names if n.endswith(".chunk") and n[:-6].isdigit()}
        count = None
        if "chunks.json" in names:
            try:
                count = json.loads(files.read_bytes(files.join(self.root, fkey, "chunks.json")))["chunks"]
            except (OSError, ValueError, KeyError):
                count = None
        return indices, count

    def write_count(self, fkey: str, n_chunks: int) -> None:
        _atomic_write(files.join(self.root, fkey, "chunks.json"), json.dumps({"chunks": n_chunks}).encode())

    def write(self, fkey: str, index: int, n_input: int, outputs: list, counts: dict) -> None:
        data = pickle.dumps((FORMAT, n_input, outputs, counts), protocol=5)
        _atomic_write(self.entry(fkey, index), zstandard.ZstdCompressor(level=3).compress(data))
        global _WRITTEN
        _WRITTEN += 1
        failpoint(f"after-chunk-{_WRITTEN}")        # tests kill a run after its n-th cached chunk

    def read(self, fkey: str, index: int) -> tuple[int, list, dict]:
        data = zstandard.ZstdDecompressor().decompress(files.read_bytes(self.entry(fkey, index)))
        fmt, n_input, outputs, counts = pickle.loads(data)
        if fmt != FORMAT:
            raise ValueError(f"resume cache entry of format {fmt}, expected {FORMAT}")
        return n_input, outputs, counts


def _atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    files.write_bytes(tmp, data)
    if "://" in path:
        FileSystems.rename([tmp], [path])
    else:
        os.replace(tmp, path)


def count_entries(root: str) -> int:
    """Chunks cached under `root` (WORK/<chain key>)."""
    if "://" not in root:
        if not os.path.isdir(root):
            return 0
        return sum(1 for _, _, names in os.walk(root) for n in names if n.endswith(".chunk"))
    return len(FileSystems.match([root.rstrip("/") + "/**.chunk"])[0].metadata_list)
