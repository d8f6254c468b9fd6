"""Shuffle and spill files: how elements sit in partitions, the files' formats, the splits that write them and
the readers of their buckets.

GroupByKeyOnly, Reshuffle and lifted combines shuffle through files: a hash (or round-robin) split of every input
partition into N buckets, written to files under the shuffle directory (a task returns only their paths), a
barrier task that writes those paths, regrouped per output partition, to one file (n graph edges, not n²), then
one task per output partition that reads its column of that file and its bucket from every split. Shuffled data
never waits in worker memory. A GroupByKey group larger than `--dask_lazy_group_bytes` is indexed, not loaded:
its values are read from the files when the next step iterates them (an output file's group of 50,000 document
rows would be ~600 MB). GroupByKey keys are split by a hash of their deterministic encoding, so equal keys meet
in one bucket in every worker process and on every re-run.
Spill files park one partition on disk (the main input of a ParDo that waits for its side inputs).
Every file is written to a temporary name and renamed when complete: a task that dask runs again replaces it
whole. The functions here run inside dask tasks: module level, as dask pickles them by reference.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import struct
import threading
import zlib
from array import array

from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.trigger import _UnwindowedValues
from apache_beam.transforms.window import GlobalWindow, TimestampedValue, WindowFn
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

# A GroupByKey group whose values take more than this many bytes in the shuffle files is handed on as a reader
# over those files (re-read on every pass), not a list: a document row is ~6 KB pickled and ~12 KB as Python
# objects, and an output file's group holds up to 50,000 of them. Smaller groups are loaded (faster, and fewer
# reads on object stores).
DEFAULT_LAZY_GROUP_BYTES = 16 << 20


_GLOBAL = (GlobalWindow(),)


def _bare(wv: WindowedValue):
    """How an element is kept in a partition: the value alone when it has the default timestamp and window
    (global window, MIN_TIMESTAMP, as Beam gives Create and Read elements), else the WindowedValue whole (an
    element a DoFn gave a timestamp, a GroupByKey's output at the end of the window)."""
    if wv.timestamp == MIN_TIMESTAMP and wv.windows == _GLOBAL and not isinstance(wv.value, WindowedValue):
        return wv.value
    return wv


def _windowed(item, window_fn=None) -> WindowedValue:
    """The inverse of _bare; a TimestampedValue (a Create element) gets its timestamp, in window_fn's window."""
    if isinstance(item, WindowedValue):
        return item
    if isinstance(item, TimestampedValue) and window_fn is not None:
        return WindowedValue(item.value, item.timestamp,
                             tuple(window_fn.assign(WindowFn.AssignContext(item.timestamp, item.value))))
    return WindowedValue(item, MIN_TIMESTAMP, _GLOBAL)


def _value(item):
    return item.value if isinstance(item, WindowedValue) else item


def _open(path: str, mode: str):
    """A shuffle or spill file, for reading ("rb") or writing ("wb"). Writes go to a temporary name first and
    are renamed to `path` when complete, so a task that dask runs again (its worker died, its result was lost)
    replaces the file whole and a reader never sees a half-written one. Object stores (gs://, s3://) show an
    object only once its upload is complete."""
    if mode != "wb":
        return FileSystems.open(path) if "://" in path else open(path, mode)
    if "://" in path:
        return FileSystems.create(path)
    return _AtomicFile(path)


class _AtomicFile:
    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path, self.tmp = path, f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
        self.f = open(self.tmp, "wb")
        self.write, self.tell = self.f.write, self.f.tell

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.f.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            with contextlib.suppress(OSError):
                os.remove(self.tmp)
        return False


def _keep_lazy(obj):
    """Grouped values read from shuffle files stay a reader when pickled (Beam's _UnwindowedValues would
    pickle as the whole list)."""
    if type(obj) is _UnwindowedValues and type(obj._windowed_values) is _LazyValues:
        return _UnwindowedValues, (obj._windowed_values,)
    return NotImplemented


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        return _keep_lazy(obj)


def _cloud_pickler(f):
    import cloudpickle                   # lambdas, local classes: as dask itself does

    class _CloudPickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            r = _keep_lazy(obj)
            return super().reducer_override(obj) if r is NotImplemented else r
    return _CloudPickler(f, protocol=pickle.HIGHEST_PROTOCOL)


def _dump(obj, path: str) -> None:
    """Pickle straight into the file (no second copy of a large partition as bytes)."""
    with _open(path, "wb") as f:
        try:
            _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
            return
        except (pickle.PicklingError, TypeError, AttributeError):
            pass
    with _open(path, "wb") as f:
        _cloud_pickler(f).dump(obj)


def _dumps(obj) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        import cloudpickle
        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: str):
    with _open(path, "rb") as f:
        return pickle.load(f)


def _spill(items, directory: str, name: str):
    """Write one partition to a file; the task's result is only the path."""
    path = FileSystems.join(directory, f"{name}.pkl")
    _dump(items, path)
    return path


def _write_pickle(bucket, stem: str) -> str:
    """A bucket as one pickle (Reshuffle, lifted combines: read whole): its path."""
    path = stem + ".pkl"
    _dump(bucket, path)
    return path


def _split_to_files(items, n, split, directory: str, name: str, write=_write_pickle, *split_args):
    """Split one partition into n buckets and write each non-empty one with `write`: [what `write` returns
    (a path; (path, bytes) for GroupByKey's block files) or None] * n."""
    return [write(bucket, FileSystems.join(directory, f"{name}-{j}")) if bucket else None
            for j, bucket in enumerate(split(items, n, *split_args))]


def _columns(directory: str, name: str, *splits) -> str:
    """The shuffle's barrier: every split's [path or None] * n, regrouped per output partition and written to
    one file (n pickled columns after a table of their offsets); returns its path. Each reader depends on
    this one task and reads only its own column (_column): n graph edges and n reader tasks per shuffle, and
    no column list is ever sent to a worker whole."""
    blobs = [pickle.dumps(list(column), protocol=pickle.HIGHEST_PROTOCOL) for column in zip(*splits)]
    offsets = list(itertools.accumulate((len(b) for b in blobs), initial=8 * (len(blobs) + 2)))
    path = FileSystems.join(directory, f"{name}-columns")
    with _open(path, "wb") as f:
        f.write(struct.pack(f"<{len(offsets) + 1}Q", len(blobs), *offsets))
        for b in blobs:
            f.write(b)
    return path


def _column(barrier: str, j: int) -> list:
    """Column j of a barrier file: [the bucket j file of every split, or None]."""
    with _open(barrier, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if not 0 <= j < n:
            raise IndexError(f"column {j} of a shuffle of {n} partitions ({barrier})")
        f.seek(8 * (1 + j))
        start, end = struct.unpack("<QQ", f.read(16))
        f.seek(start)
        return pickle.loads(f.read(end - start))


def _buckets(column):
    for path in column:
        if path is not None:
            yield _load(path)


def _split_by_key(items, n, key_coder):
    """GroupByKeyOnly input (key, windowed value) -> n buckets of (encoded key, windowed value), by a hash of
    the key's encoding with the pipeline's deterministic key coder: equal keys meet in one bucket in every
    worker process and on every re-run, whatever their Python hash or repr (as Beam runners group)."""
    buckets = [[] for _ in range(n)]
    encode = key_coder.encode
    for item in items:
        k, v = _value(item)
        kb = encode(k)
        buckets[zlib.crc32(kb) % n].append((kb, v))
    return buckets


def _split_encoded(items, n):
    """(encoded key, value) -> n buckets by the hash of the encoded key (a lifted combine's accumulators)."""
    buckets = [[] for _ in range(n)]
    for kv in items:
        buckets[zlib.crc32(kv[0]) % n].append(kv)
    return buckets


def _split_round_robin(items, n, seed: str):
    """Reshuffle: round robin from a start that depends on the split (so small inputs do not all go to bucket
    0) but not on chance: a split that dask runs again writes the same buckets."""
    buckets = [[] for _ in range(n)]
    start = zlib.crc32(seed.encode()) % n
    for i, x in enumerate(items):
        buckets[(start + i) % n].append(x)
    return buckets


def _gather_bucket(barrier, j):
    return [x for bucket in _buckets(_column(barrier, j)) for x in bucket]


# A GroupByKey shuffle file is a run of blocks of up to _BLOCK_RECORDS records: a header (bytes of the keys'
# pickle, bytes of the values' pickle), the block's keys as one pickle, its windowed values as another. The
# reduce side can read the keys without unpickling the values, and a value is addressed by (block, index).
# One pickle per block, not per record: windowed values share their window, timestamp and pane objects
# inside a pickle, and per-record pickles cost more CPU.
_HEADER = struct.Struct("<QQ")
_BLOCK_RECORDS = 256


def _write_blocks(bucket, stem: str) -> tuple[str, int]:
    """GroupByKeyOnly map side: one bucket of (key, windowed value) pairs in blocks: (its path, its bytes)."""
    path, size = stem + ".rec", 0
    with _open(path, "wb") as f:
        for b in range(0, len(bucket), _BLOCK_RECORDS):
            block = bucket[b:b + _BLOCK_RECORDS]
            kb, vb = _dumps([kv[0] for kv in block]), _dumps([kv[1] for kv in block])
            f.write(_HEADER.pack(len(kb), len(vb)))
            f.write(kb)
            f.write(vb)
            size += _HEADER.size + len(kb) + len(vb)
    return path, size


def _blocks(f):
    """(keys, offset of the block, bytes of its values) for each block of an open shuffle file, with the file
    left positioned at the block's values."""
    while True:
        head = f.read(_HEADER.size)
        if not head:
            return
        offset = f.tell() - _HEADER.size
        klen, vlen = _HEADER.unpack(head)
        yield pickle.loads(f.read(klen)), offset, vlen


class _LazyValues:
    """One group's windowed values, read from the shuffle files each time they are iterated (so a DoFn can
    iterate them more than once); one block of values is in memory at a time. Holds three integers per
    value."""
    __slots__ = ("paths", "refs")

    def __init__(self, paths):
        self.paths, self.refs = paths, array("q")      # refs: file index, block offset, index in block, ...

    def __iter__(self):
        handles, at, values = {}, None, None
        try:
            for i in range(0, len(self.refs), 3):
                fi, offset, index = self.refs[i], self.refs[i + 1], self.refs[i + 2]
                if at != (fi, offset):
                    f = handles.get(fi)
                    if f is None:
                        f = handles[fi] = _open(self.paths[fi], "rb")
                    f.seek(offset)
                    klen, vlen = _HEADER.unpack(f.read(_HEADER.size))
                    f.seek(klen, 1)
                    values, at = pickle.loads(f.read(vlen)), (fi, offset)
                yield values[index]
        finally:
            for f in handles.values():
                f.close()

    def __len__(self):
        return len(self.refs) // 3


def _group_bucket(barrier, j, lazy_bytes, key_coder):
    """Group output partition j (column j of the barrier file: its bucket from every split, [(path, bytes) or
    None]) into (key, windowed values) (the GroupAlsoByWindow ParDo that follows reads them). Values come as
    lists, except for a group whose values take more than `lazy_bytes` in the shuffle files (an output file's
    rows, a hot key): that group's values are a _LazyValues reader, so a group of any size costs the reduce
    task three integers per value. Files that cannot hold such a group are read in one pass; otherwise a first
    pass indexes every record from the blocks' keys alone, and a second loads the values of the small groups.
    Keys arrive encoded (_split_by_key) and are grouped by their bytes, then decoded once per group."""
    parts = [c for c in _column(barrier, j) if c is not None]
    paths = [path for path, _ in parts]
    index: dict = {}                     # encoded key -> (key, list) or [key, _LazyValues, value bytes]
    decode = key_coder.decode
    if sum(size for _, size in parts) <= lazy_bytes:
        for path in paths:
            with _open(path, "rb") as f:
                for keys, _, vlen in _blocks(f):
                    for k, wv in zip(keys, pickle.loads(f.read(vlen))):
                        e = index.get(k)
                        if e is None:
                            e = index[k] = (decode(k), [])
                        e[1].append(wv)
        return list(index.values())
    for fi, path in enumerate(paths):
        with _open(path, "rb") as f:
            for keys, offset, vlen in _blocks(f):
                each = vlen / len(keys)                  # a value's share of its block
                for i, k in enumerate(keys):
                    e = index.get(k)
                    if e is None:
                        e = index[k] = [decode(k), _LazyValues(paths), 0]
                    e[1].refs.extend((fi, offset, i))
                    e[2] += each
                f.seek(vlen, 1)
    small = {h: [] for h, e in index.items() if e[2] <= lazy_bytes}
    if small:
        for path in paths:
            with _open(path, "rb") as f:
                for keys, _, vlen in _blocks(f):
                    if not any(k in small for k in keys):
                        f.seek(vlen, 1)
                        continue
                    for h, wv in zip(keys, pickle.loads(f.read(vlen))):
                        if h in small:
                            small[h].append(wv)
    return [(e[0], small[h] if h in small else e[1]) for h, e in index.items()]
