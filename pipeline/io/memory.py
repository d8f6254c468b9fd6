"""Hand memory that a large step freed back to the operating system.

After a file writer finishes, the rows, Arrow batches and Parquet buffers it built are freed, but a process's
RSS stays at its high-water mark: glibc keeps freed chunks inside its heaps (it returns only the free top of
a heap), and Arrow's memory pool (mimalloc or jemalloc) keeps freed pages for reuse. The next large step
then starts from that mark instead of reusing the memory: on the Dask runner a worker that wrote a document
file, packed a shard and then wrote a rejects file peaked higher with each. `release_freed_memory()` returns
the free pages of both allocators (glibc's `malloc_trim`, Arrow's `release_unused`); it costs milliseconds,
so it runs once per written file, not per record. Where glibc is absent (macOS, musl) only Arrow's part runs.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa


def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    pa.default_memory_pool().release_unused()
    if _TRIM is not None:
        _TRIM(0)
