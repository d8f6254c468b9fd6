"""sorted() in bounded memory, for the file writers: an output file's group can hold 50,000 document rows
(~600 MB as Python objects), and a runner may hand them over as a lazy iterable (Dataflow, Winnow's Dask
runner) so that they never have to be in memory at once.

Up to `max_in_memory` items are sorted in memory as usual. Beyond that every item is pickled to a local
temporary file as it arrives, only (key, offset, length) per item is kept and sorted, and the items are read
back in key order one at a time. The order is exactly sorted(items, key=key): ties keep their input order."""
from __future__ import annotations

import contextlib
import itertools
import pickle
import tempfile
from typing import Callable, Iterable, Iterator


@contextlib.contextmanager
def sorted_items(items: Iterable, key: Callable, max_in_memory: int) -> Iterator[Iterator]:
    """with sorted_items(rows, key, 4096) as it: for row in it: ...  (the temporary file, if one was needed,
    is removed when the block ends)."""
    items = iter(items)
    head = list(itertools.islice(items, max_in_memory + 1))
    if len(head) <= max_in_memory:
        yield iter(sorted(head, key=key))
        return
    with tempfile.TemporaryFile(prefix="winnow-sort-") as f:
        index: list = []
        _spill(head, key, f, index)
        head.clear()
        _spill(items, key, f, index)
        index.sort(key=lambda e: (e[0], e[1]))                   # offsets rise: ties keep their input order
        f.flush()
        yield _read_back(f, index)


def _spill(items, key, f, index: list) -> None:
    for item in items:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        index.append((key(item), f.tell(), len(data)))
        f.write(data)


def _read_back(f, index) -> Iterator:
    for _, offset, length in index:
        f.seek(offset)
        yield pickle.loads(f.read(length))
