"""A Beam runner on dask.distributed: WinnowDaskRunner, and a LocalCluster helper.

Beam 2.77 ships a DaskRunner that translates a graph into `dask.bag` calls, but as shipped it: computes only
the last transform's bag (a graph with several sinks silently skips all others); drops the tag of
multi-output ParDos (each consumer of `.with_outputs(...)` sees every output); evaluates side inputs by
iterating a bag inside each consuming task (re-running the side input's lineage per partition); treats
Reshuffle and Read as no-ops (one input file = one partition = one core); and through graph fusion
recomputes shared upstream chains once per consumer.

WinnowDaskRunner keeps Beam's own dask overrides (which reduce a graph to Create, ParDo, GroupByKeyOnly,
Flatten, Reshuffle and Read primitives) and builds an explicit low-level dask graph from them, with keys it
controls:
- ParDo: one Beam bundle per partition; the output is {tag: [values]} and each consumer selects its tag.
  The DoFn goes into the graph once (pickled); each worker thread unpickles and sets it up once per job and
  reuses it for every bundle (as Beam's own workers do), so models load once per worker, not per partition.
- side input: one task that gathers the side PCollection, a dependency of the consuming bundles.
- GroupByKeyOnly / Reshuffle: hash (or round-robin) split of every input partition into N buckets, written
  to files under the shuffle directory (a task returns only their paths), a barrier task that writes those
  paths, regrouped per output partition, to one file (n graph edges, not n²), then one task per output
  partition that reads its column of that file and its bucket from every split. Shuffled data never waits
  in worker memory. A GroupByKey group larger than `--dask_lazy_group_bytes` is indexed, not loaded: its
  values are read from the files when the next step iterates them (an output file's group of 50,000
  document rows would be ~600 MB).
- a ParDo with side inputs cannot start until its side inputs are complete (a file writer waits for the
  global row count, shard packing for the token totals): its main-input partitions are written to the
  shuffle directory as soon as they exist and read back by the bundle, instead of waiting in memory.
- fusion: each partition's chain of per-partition steps between two shuffles (ParDos, tag selects, the split
  or spill that ends it) runs as one dask task, with intermediates dropped after their last use. Unfused,
  dask ran the first step of many partitions before the next step of any, and per-worker memory grew with
  the corpus (1.7 GB and rising at 100k docs, against 0.65 GB at 10k).
- CombinePerKey (without side inputs) is lifted: one accumulator per key per partition before the shuffle,
  merged after it. Unlifted, Count.Globally over document rows sent every document to one task.
- the job computes one leaf task per unconsumed output, so every sink runs.
So a worker holds one partition's chain at a time per thread, not a share of the corpus: peak RSS per worker
depends on the partition size (`--dask_npartitions` and `--dask_reshuffle_partitions`, which Winnow sizes from
the number of workers and the input bytes) and the largest
input file (one file is parsed by one task), not on the corpus size; large groups stay on disk.
`--dask_shuffle_dir`: where those files go (any Beam filesystem path every worker can reach; default: a new
local temporary directory, right for a LocalCluster). It is deleted when the job finishes.
`--dask_partition_size` (elements per partition in Beam's DaskRunner) is refused: partitions here are sized
by count.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import pickle
import random
import re
import struct
import tempfile
import threading
import zlib
from array import array

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.internal import pickler
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, Receiver, _OutputHandler
from apache_beam.runners.dask import overrides as dask_ov
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner, DaskRunnerResult
from apache_beam.transforms.window import GlobalWindow, GlobalWindows, TimestampedValue, WindowFn
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.trigger import _UnwindowedValues

from pipeline.io import files

DEFAULT_NPARTITIONS = 8
# The runner calls Beam internals (DoFnInvoker, _OutputHandler, the dask overrides): other versions are refused.
TESTED_BEAM = "2.77."


class UnsupportedGraph(ValueError):
    """A pipeline this runner cannot run correctly, refused before anything runs (one line: what, and where)."""

    def __init__(self, what: str, label: str = ""):
        where = f" (step {label!r})" if label else ""
        super().__init__(f"--runner dask does not support {what}{where}: use --runner direct or portable")
# A GroupByKey group whose values take more than this many bytes in the shuffle files is handed on as a reader
# over those files (re-read on every pass), not a list: a document row is ~6 KB pickled and ~12 KB as Python
# objects, and an output file's group holds up to 50,000 of them. Smaller groups are loaded (faster, and fewer
# reads on object stores).
DEFAULT_LAZY_GROUP_BYTES = 16 << 20
DEFAULT_RESHUFFLE_FACTOR = 4              # without --dask_reshuffle_partitions: that many times npartitions


# --- functions run inside dask tasks (module level: pickled by reference) ---

class _K:
    """A reference to another task's result inside a task's arguments (every other argument is a literal)."""
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __reduce__(self):
        return _K, (self.key,)


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


class _TagReceiver(Receiver):
    def __init__(self, tag, receivers):
        self.tag, self.receivers = tag, receivers

    def receive(self, windowed_value):
        self.receivers.out.setdefault(self.tag, []).append(_bare(windowed_value))


class _Receivers(dict):
    """tag -> receiver; every receiver appends to the current bundle's {tag: [values]} in `out`."""
    out: dict | None = None

    def __missing__(self, tag):
        r = self[tag] = _TagReceiver(tag, self)
        return r


class _DoFnRunner:
    """One DoFn instance, set up once and reused for every bundle of its ParDo that a worker thread runs (as
    Beam's own workers do): models and tokenizers load once per worker, not once per partition."""

    def __init__(self, spec: bytes, side_values):
        fn, label, window_fn, args, kwargs, side_specs, full_label = pickler.loads(spec)
        self.window_fn, self.step = window_fn, full_label
        self.receivers = _Receivers()
        handler = _OutputHandler(window_fn=window_fn, main_receivers=self.receivers[None],
                                 tagged_receivers=self.receivers, per_element_output_counter=None,
                                 output_batch_converter=None, process_yields_batches=False,
                                 process_batch_yields_elements=False)
        sides = [SideInputMap(kind, view_options, [_windowed(v, mapping_fn) for v in values])
                 for (kind, view_options, mapping_fn), values in zip(side_specs, side_values)]
        self.invoker = DoFnInvoker.create_invoker(
            DoFnSignature(fn), handler, context=DoFnContext(label, state=None), side_inputs=sides,
            input_args=list(args), input_kwargs=kwargs, user_state_context=None,
            bundle_finalizer_param=beam.DoFn.BundleFinalizerParam())
        self.invoker.invoke_setup()

    def bundle(self, items) -> dict:
        out = self.receivers.out = {}
        try:
            self.invoker.invoke_start_bundle()
            for item in items:
                self.invoker.invoke_process(_windowed(item, self.window_fn))
            self.invoker.invoke_finish_bundle()
        finally:
            self.receivers.out = None
        return out

    def teardown(self) -> None:
        try:
            self.invoker.invoke_teardown()
        except Exception:                # best effort, as in Beam
            pass


_LOCAL = threading.local()        # per worker thread: {spec digest: _DoFnRunner} of the current run


def _run_dofn(items, spec, run_id, *side_values) -> dict:
    """One partition = one Beam bundle of the ParDo; returns {tag: [values]} (main output: tag None)."""
    if getattr(_LOCAL, "run_id", None) != run_id:           # a new job on this worker: drop the last one's
        for r in getattr(_LOCAL, "runners", {}).values():
            r.teardown()
        _LOCAL.run_id, _LOCAL.runners = run_id, {}
    key = hashlib.sha1(spec).digest()
    runner = _LOCAL.runners.get(key)
    if runner is None:
        runner = _LOCAL.runners[key] = _DoFnRunner(spec, side_values)
    try:
        return runner.bundle(items)
    except BaseException as e:
        del _LOCAL.runners[key]                              # a failed instance is not reused
        runner.teardown()
        raise _naming_step(e, runner.step)


def _naming_step(e: BaseException, step: str) -> BaseException:
    """The exception with the Beam step that raised it in its message, as Beam's runners report it (same type,
    when the type can be built from a message)."""
    if not isinstance(e, Exception) or isinstance(e, OSError) or len(e.args) != 1 or not isinstance(e.args[0], str) \
            or f"[while running '{step}']" in e.args[0]:
        return e                          # OSError keeps its errno (disk full is reported as such)
    try:
        named = type(e)(f"{e} [while running '{step}']")
    except Exception:
        return e
    named.__cause__ = e
    return named.with_traceback(e.__traceback__)


def _run_dofn_spilled(path, spec, run_id, *side_values) -> dict:
    return _run_dofn(_load(path), spec, run_id, *side_values)


def _select(outputs: dict, tag):
    return outputs.get(tag, [])


def _concat(*parts):
    return [x for part in parts for x in part]


def _run_fused(blob: bytes, *external):
    """Several tasks of one partition run as one dask task (see _Graph.fuse): intermediates live only inside
    this call, and each is dropped after its last use. Returns the results that other tasks read: a list,
    or the result itself when there is one."""
    steps, ext_keys, outputs, uses = pickle.loads(blob)
    env = dict(zip(ext_keys, external))
    left = dict(uses)
    keep = set(outputs)
    for key, func, args in steps:
        env[key] = func(*[env[a.key] if isinstance(a, _K) else a for a in args])
        for a in args:
            if isinstance(a, _K) and a.key in left:
                left[a.key] -= 1
                if not left[a.key] and a.key not in keep:
                    del env[a.key]
    return env[outputs[0]] if len(outputs) == 1 else [env[k] for k in outputs]


def _pick(results, i):
    return results[i]


def _create_part(pickled):
    return list(pickler.loads(pickled))


def _read_bundles(pickled):
    bundles = pickler.loads(pickled)
    out = []
    for b in bundles:
        out.extend(b.source.read(b.source.get_range_tracker(b.start_position, b.stop_position)))
    return out


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
# inside a pickle, and per-record pickles cost ~50% more CPU over a whole run.
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


def _combine_fn(blob: bytes):
    """The CombineFn of a lifted CombinePerKey, unpickled and set up once per worker thread."""
    cache = getattr(_LOCAL, "combine_fns", None)
    if cache is None:
        cache = _LOCAL.combine_fns = {}
    key = hashlib.sha1(blob).digest()
    fn = cache.get(key)
    if fn is None:
        from apache_beam.transforms.combiners import curry_combine_fn
        raw, args, kwargs = pickler.loads(blob)
        fn = beam.CombineFn.maybe_from_callable(raw)
        fn = curry_combine_fn(fn, args, kwargs) if args or kwargs else fn
        fn.setup()
        if len(cache) > 256:
            cache.clear()
        cache[key] = fn
    return fn


def _combine_partial(items, blob: bytes, key_coder):
    """Map side of a lifted CombinePerKey: one accumulator per key in this partition, keyed by the key's
    deterministic encoding (as _split_by_key)."""
    fn = _combine_fn(blob)
    encode = key_coder.encode
    accs: dict = {}
    for item in items:
        k, v = _value(item)
        kb = encode(k)
        acc = accs.get(kb)
        accs[kb] = fn.add_input(fn.create_accumulator() if acc is None else acc, v)
    return [(kb, fn.compact(acc)) for kb, acc in accs.items()]


_END_OF_GLOBAL_WINDOW = GlobalWindow().max_timestamp()


def _combine_final(barrier, j, blob: bytes, key_coder):
    """Reduce side: merge the accumulators of every key in one output partition, then extract the outputs,
    timestamped at the end of the global window (Beam's default timestamp combiner)."""
    fn = _combine_fn(blob)
    accs: dict = {}
    for bucket in _buckets(_column(barrier, j)):
        for kb, acc in bucket:
            accs.setdefault(kb, []).append(acc)
    decode = key_coder.decode
    return [WindowedValue((decode(kb), fn.extract_output(fn.merge_accumulators(a))), _END_OF_GLOBAL_WINDOW, _GLOBAL)
            for kb, a in accs.items()]


def _done(*parts):
    """A leaf: depends on the last partitions of a branch, so that the branch runs."""
    return len(parts)


# --- the runner ---

class WinnowDaskOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--dask_shuffle_dir", default=None,
                            help="Directory for shuffle and spill files, reachable by every dask worker (any Beam "
                                 "filesystem path); default: a new local temporary directory. Deleted at the end.")
        parser.add_argument("--dask_reshuffle_partitions", type=int, default=None,
                            help="A Reshuffle spreads its elements over this many partitions (the steps after it "
                                 "run one task per partition: smaller tasks balance better over the workers); "
                                 f"default {DEFAULT_RESHUFFLE_FACTOR} x --dask_npartitions.")
        parser.add_argument("--dask_lazy_group_bytes", type=int, default=DEFAULT_LAZY_GROUP_BYTES,
                            help="A GroupByKey group whose values take more than this many bytes in the shuffle "
                                 "files is passed on as a reader over those files, not a list (bounded memory "
                                 f"for groups of any size); default {DEFAULT_LAZY_GROUP_BYTES}.")


class WinnowDaskResult(DaskRunnerResult):
    """Beam's result, plus removal of the run's shuffle directory once the job has ended (done or failed). Its
    `client` stays open for the caller (metrics, diagnostics): close it when done."""

    def __init__(self, client, futures, shuffle_dir: str):
        super().__init__(client, futures)
        self.shuffle_dir = shuffle_dir

    def wait_until_finish(self, duration=None):
        try:
            return super().wait_until_finish(duration)
        finally:
            if self.state == "FAILED":
                # the other tasks of a failed job keep running and writing: stop them before deleting
                with contextlib.suppress(Exception):
                    self.client.cancel(self.futures)
            if self.state in ("DONE", "FAILED"):
                self._delete_shuffle_dir()

    def _delete_shuffle_dir(self, tries: int = 5) -> None:
        """Remove the shuffle files; a task still finishing may add one meanwhile, so try a few times, and never
        let the clean-up hide the job's own error (a leftover folder is reported, the run's scratch folder
        around it is removed by the run)."""
        import logging
        import time
        for i in range(tries):
            try:
                files.delete_tree(self.shuffle_dir)
                return
            except OSError as e:
                if i == tries - 1:
                    logging.getLogger(__name__).warning("could not remove %s: %s", self.shuffle_dir, e)
                    return
                time.sleep(0.2 * (i + 1))

    def metrics(self):
        raise UnsupportedGraph("metrics (Winnow's outputs carry their own counts)")


class WinnowDaskRunner(DaskRunner):
    """Beam on dask.distributed with every sink run, tagged outputs routed, side inputs computed once, and
    shuffles through files."""

    def run_pipeline(self, pipeline, options):
        import dask.distributed as ddist
        if not beam.__version__.startswith(TESTED_BEAM):
            raise UnsupportedGraph(f"apache-beam {beam.__version__} (it uses Beam internals and is tested with "
                                   f"{TESTED_BEAM}x only)")
        dask_options = options.view_as(DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = DaskOptions._extract_bag_kwargs(dask_options)
        if bag_kwargs.get("partition_size"):
            raise ValueError("WinnowDaskRunner sizes partitions by count: use --dask_npartitions, not "
                             "--dask_partition_size")
        winnow_options = options.view_as(WinnowDaskOptions)
        base = winnow_options.dask_shuffle_dir
        if base:
            shuffle_dir = FileSystems.join(base.rstrip("/"), f"winnow-shuffle-{os.getpid()}-{random.getrandbits(32):08x}")
        else:
            shuffle_dir = tempfile.mkdtemp(prefix="winnow-shuffle-")
        try:                                  # the graph first: a refused pipeline leaves no client or folder
            pipeline.replace_all(dask_ov.dask_overrides())
            graph = _Graph(bag_kwargs.get("npartitions") or DEFAULT_NPARTITIONS, shuffle_dir,
                           winnow_options.dask_lazy_group_bytes, winnow_options.dask_reshuffle_partitions)
            pipeline.visit(graph)
            leaves = graph.leaf_keys()
            graph.fuse(leaves)
        except BaseException:
            files.delete_tree(shuffle_dir)
            raise
        client = ddist.Client(**dask_options)
        futures = client.get(graph.dask_graph(), leaves, sync=False)
        return WinnowDaskResult(client, futures, shuffle_dir)


def _check_windowing(node) -> None:
    """Only the global window and bounded data: this runner keeps each element's timestamp but has no
    watermarks or triggers, and does not merge or assign windows in its shuffles. A node's outputs only: its
    inputs (main and side) are the outputs of nodes visited before it."""
    for pcoll in node.outputs.values():
        if not isinstance(pcoll, pvalue.PCollection):
            continue
        if not pcoll.is_bounded:
            raise UnsupportedGraph("unbounded PCollections", node.full_label)
        try:
            windowing = pcoll.windowing if pcoll.producer else None
        except Exception:                 # a transform that cannot say: judged by its consumers
            windowing = None
        if windowing is not None and not isinstance(windowing.windowfn, GlobalWindows):
            raise UnsupportedGraph(f"windowing other than the global window ({type(windowing.windowfn).__name__})",
                                   node.full_label)
        if windowing is not None and not windowing.is_default():
            raise UnsupportedGraph("triggers, allowed lateness or a non-default timestamp combiner", node.full_label)


def _check_dofn(fn, label: str) -> None:
    """DoFn features this runner would silently skip: refused."""
    sig = DoFnSignature(fn)
    if not fn._process_defined:
        raise UnsupportedGraph("batched DoFns without a per-element process method", label)
    if sig.is_stateful_dofn():                # state or timers
        raise UnsupportedGraph("state and timers", label)
    if sig.is_splittable_dofn() or sig.is_unbounded_per_element():
        raise UnsupportedGraph("splittable DoFns", label)
    if sig.has_bundle_finalization():
        raise UnsupportedGraph("bundle finalization", label)


def _key_coder(pcoll, label: str):
    """The deterministic coder of a grouped PCollection's keys (Beam's own rule for GroupByKey): keys are
    grouped and hashed by their encoding. A key type without a deterministic encoding (a pickled object,
    a float's representation, ...) is refused, as Beam's other runners refuse it."""
    from apache_beam import coders
    coder = coders.registry.get_coder(pcoll.element_type)
    try:
        key_coder = coder.key_coder()
    except (ValueError, AttributeError, NotImplementedError):
        key_coder = coders.registry.get_coder(object)
    try:
        return key_coder.as_deterministic_coder(label)
    except (ValueError, TypeError) as e:     # TypeError: Beam 2.77's PickleCoder.as_deterministic_coder
        raise UnsupportedGraph(f"keys without a deterministic coder ({str(e).splitlines()[0]})", label) from None


# tasks that take exactly one partition and may join the fused task of the task that made it
_CHAINED = {"_run_dofn", "_select", "_split_to_files", "_spill", "_combine_partial"}
# tasks whose partition may be handed on inside a fused task (not paths, side inputs or leaves)
_PRODUCERS = {"_run_dofn", "_run_dofn_spilled", "_select", "_gather_bucket", "_group_bucket", "_create_part",
              "_read_bundles", "_combine_partial", "_combine_final"}


class _Graph(PipelineVisitor):
    """Low-level dask graph: for each primitive, a list of partition keys. Task arguments that refer to other
    tasks are _K; `fuse()` gives each partition's chain between shuffles one task, and `dask_graph()` returns
    the graph in dask's own form."""

    def __init__(self, npartitions: int, shuffle_dir: str, lazy_group_bytes: int = DEFAULT_LAZY_GROUP_BYTES,
                 reshuffle_partitions: int | None = None):
        self.n = npartitions
        self.reshuffle_n = max(1, reshuffle_partitions or DEFAULT_RESHUFFLE_FACTOR * npartitions)
        self.dir = shuffle_dir
        self.lazy_group_bytes = lazy_group_bytes
        self.run_id = shuffle_dir            # unique per job: DoFn instances are reused within a job only
        self.tasks: dict = {}                # key -> (func, *args) or a literal (pickled DoFn spec)
        self.alias: dict = {}                # the single output of a fused task -> the fused task's key
        self.parts: dict = {}                # AppliedPTransform -> [partition keys]
        self.tagged: set = set()             # producers whose partitions are {tag: [values]}
        self.consumed: set = set()
        self._selected: dict = {}            # (producer, tag) -> [partition keys]
        self._sides: dict = {}               # PCollection -> gathered key
        self._ids = itertools.count()
        self._lifted = None                  # the CombinePerKey whose parts are being skipped

    def _name(self, what: str, label: str = "") -> str:
        """A unique task name, `ParDo-522-Write_rejects_WriteFile`: the Beam step's label follows the number, so
        that dask's task prefix (what it groups tasks by to estimate durations and to schedule) stays the
        primitive's name. Keys prefixed with Beam labels made the scheduler's decisions worse: a 20k-doc run
        took 185 s instead of 115 s."""
        label = re.sub(r"[^A-Za-z0-9_.]+", "_", label).strip("_")[:100]
        return f"{what}-{next(self._ids)}" + (f"-{label}" if label else "")

    def parts_of(self, pcoll) -> list:
        producer = pcoll.producer
        self.consumed.add(producer)
        keys = self.parts[producer]
        if producer not in self.tagged:
            return keys
        sel = (producer, pcoll.tag)
        if sel not in self._selected:
            self._selected[sel] = self._add(self._name("select", f"{producer.full_label}.{pcoll.tag}"),
                                            [(_select, _K(k), pcoll.tag) for k in keys])
        return self._selected[sel]

    def side_key(self, pcoll):
        if pcoll not in self._sides:
            name = self._name("side", pcoll.producer.full_label)
            self.tasks[name] = (_concat, *[_K(k) for k in self.parts_of(pcoll)])
            self._sides[pcoll] = name
        return self._sides[pcoll]

    def enter_composite_transform(self, node) -> None:
        """CombinePerKey without side inputs is lifted: combined per key inside each partition before the
        shuffle, then merged per key after it. Unlifted, a global combine (a row count, a ToList) sends every
        element to one task: with whole documents as elements, a worker held all of them."""
        t = node.transform
        if self._lifted is not None or not isinstance(t, beam.CombinePerKey):
            return
        if any(isinstance(a, pvalue.AsSideInput) for a in [*t.args, *t.kwargs.values()]):
            return
        _check_windowing(node)
        key_coder = _key_coder(node.inputs[0], node.full_label)
        self._lifted = node
        name = self._name("Combine", node.full_label)
        blob = pickler.dumps((t.fn, list(t.args), dict(t.kwargs)))
        partial = self._add(name + "-partial", [(_combine_partial, _K(k), blob, key_coder)
                                                for k in self.parts_of(node.inputs[0])])
        keys = self._shuffle(name, [(_split_to_files, _K(k), self.n, _split_encoded, self.dir, f"{name}-{i}")
                                    for i, k in enumerate(partial)], _combine_final, blob, key_coder)
        for out in node.outputs.values():
            self.parts[out.producer] = keys

    def leave_composite_transform(self, node) -> None:
        if node is self._lifted:
            self._lifted = None

    def visit_transform(self, node) -> None:
        if self._lifted is not None:
            return
        t = node.transform
        _check_windowing(node)
        inputs = [self.parts_of(i) for i in node.inputs if not isinstance(i, pvalue.PBegin)]
        name = self._name(type(t).__name__, node.full_label)
        if isinstance(t, beam.Impulse):
            keys = self._add(name, [(_create_part, pickler.dumps([b""]))])
        elif isinstance(t, dask_ov._Create):
            values = list(t.values)
            size = max(1, -(-len(values) // self.n))
            chunks = [values[i:i + size] for i in range(0, len(values), size)] or [[]]
            keys = self._add(name, [(_create_part, pickler.dumps(c)) for c in chunks])   # (opaque to dask)
        elif isinstance(t, dask_ov._Read):
            if not t.source.is_bounded():
                raise UnsupportedGraph("unbounded sources", node.full_label)
            bundles = list(t.source.split(desired_bundle_size=64 << 20))
            keys = self._add(name, [(_read_bundles, pickler.dumps([b])) for b in bundles]
                             or [(_create_part, pickler.dumps([]))])
        elif isinstance(t, beam.ParDo):
            _check_dofn(t.fn, node.full_label)
            keys = self._pardo(node, name, inputs[0])
            self.tagged.add(node)
        elif isinstance(t, dask_ov._GroupByKeyOnly):
            key_coder = _key_coder(node.inputs[0], node.full_label)
            keys = self._shuffle(name, [(_split_to_files, _K(k), self.n, _split_by_key, self.dir, f"{name}-{i}",
                                         _write_blocks, key_coder) for i, k in enumerate(inputs[0])],
                                 _group_bucket, self.lazy_group_bytes, key_coder)
        elif isinstance(t, dask_ov._Reshuffle):
            # a Reshuffle is there to spread the work after it: into its own, larger number of partitions, so
            # that the steps fused after it balance over the workers (11 partitions of a 20k-doc run left one
            # worker idle for the last partition's ~8 s)
            n_out = self.reshuffle_n
            keys = self._shuffle(name, [(_split_to_files, _K(k), n_out, _split_round_robin, self.dir, f"{name}-{i}",
                                         _write_pickle, f"{name}-{i}") for i, k in enumerate(inputs[0])],
                                 _gather_bucket, n_out=n_out)
        elif isinstance(t, dask_ov._Flatten):
            keys = [k for ks in inputs for k in ks]
        else:                             # Beam's DaskRunner passed these on as identities: wrong results
            raise UnsupportedGraph(f"the primitive {type(t).__name__}", node.full_label)
        self.parts[node] = keys

    def _add(self, name, tasks) -> list:
        keys = [(name, i) for i in range(len(tasks))]
        for k, task in zip(keys, tasks):
            self.tasks[k] = task
        return keys

    def _pardo(self, node, name, in_keys) -> list:
        t = node.transform
        args, kwargs = t.args, t.kwargs       # side inputs as placeholders (raw_side_inputs holds the AsList ...)
        main_input = next(iter(node.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        specs, sides = [], []
        for si in node.side_inputs:
            specs.append((type(si), si._view_options(), si._window_mapping_fn))
            sides.append(_K(self.side_key(si.pvalue)))
        spec_key = name + "-spec"
        # full_label: two ParDos with equal DoFns but different side inputs must not share an instance
        self.tasks[spec_key] = pickler.dumps((t.fn, t.label, window_fn, args, kwargs, specs, node.full_label))
        spec = _K(spec_key)
        if not sides:
            return self._add(name, [(_run_dofn, _K(k), spec, self.run_id) for k in in_keys])
        # the bundles wait for the side inputs: park their main input on disk meanwhile
        spilled = self._add(name + "-spill", [(_spill, _K(k), self.dir, f"{name}-{i}") for i, k in enumerate(in_keys)])
        return self._add(name, [(_run_dofn_spilled, _K(k), spec, self.run_id, *sides) for k in spilled])

    def _shuffle(self, name, split_tasks, gather, *gather_args, n_out: int | None = None) -> list:
        """split tasks (each writes its partition's n buckets) -> one barrier -> n readers. Every reader
        depends on the barrier alone, not on every split (n² edges made the scheduler's and the workers' task
        state grow with the square of the partition count), and reads its column from the barrier's file."""
        splits = self._add(name + "-split", split_tasks)
        barrier = name + "-files"
        # the file is named after the shuffle (whose keys are (name, j)): a key as an argument is a dependency
        self.tasks[barrier] = (_columns, self.dir, name, *[_K(k) for k in splits])
        return self._add(name, [(gather, _K(barrier), j, *gather_args) for j in range(n_out or self.n)])

    def leaf_keys(self) -> list:
        keys = []
        for node, parts in self.parts.items():
            if node not in self.consumed:
                name = self._name("leaf")
                self.tasks[name] = (_done, *[_K(k) for k in parts])
                keys.append(name)
        return keys

    # --- fusion ---

    def _is_task(self, key) -> bool:
        return isinstance(self.tasks.get(key), tuple)

    def _deps(self, key) -> list:
        task = self.tasks[key]
        return [a.key for a in task[1:] if isinstance(a, _K)] if isinstance(task, tuple) else []

    def fuse(self, leaves: list) -> None:
        """Give each partition's chain of per-partition tasks between shuffles (ParDos, tag selects, and the
        split or spill that ends it) one dask task. Without this, dask runs the first step of many partitions
        before the next step of any, and every worker holds a growing share of the corpus."""
        parent: dict = {}

        def root(k):
            while parent.get(k, k) != k:
                k = parent[k]
            return k

        for key, task in self.tasks.items():
            if not isinstance(task, tuple) or task[0].__name__ not in _CHAINED:
                continue
            data = [d for d in self._deps(key) if self._is_task(d)]
            if len(data) == 1 and self.tasks[data[0]][0].__name__ in _PRODUCERS:
                parent[key] = root(data[0])
                parent.setdefault(data[0], data[0])
        groups: dict = {}
        for key in self.tasks:                       # insertion order is a topological order
            if key in parent:
                groups.setdefault(root(key), []).append(key)
        users: dict = {}
        for key in self.tasks:
            for d in self._deps(key):
                users.setdefault(d, []).append(key)
        for leaf in leaves:
            users.setdefault(leaf, [])
        for n, members in enumerate(g for g in groups.values() if len(g) > 1):
            inside = set(members)
            outputs = [k for k in members if any(u not in inside for u in users.get(k, []))]
            external = sorted({d for k in members for d in self._deps(k) if d not in inside}, key=repr)
            uses = {}
            for k in members:
                for d in self._deps(k):
                    if d in inside:
                        uses[d] = uses.get(d, 0) + 1
            steps = [(k, self.tasks[k][0], self.tasks[k][1:]) for k in members]
            first = members[0][0] if isinstance(members[0], tuple) else members[0]
            fused = f"fused-{n}-{first}"          # named after its first step (dask's task prefix: "fused")
            self.tasks[fused] = (_run_fused, pickle.dumps((steps, external, outputs, uses)),
                                 *[_K(d) for d in external])
            for k in members:
                del self.tasks[k]
            if len(outputs) == 1:     # its readers read the fused task itself: one task fewer per partition
                self.alias[outputs[0]] = fused
            for i, k in enumerate(outputs if len(outputs) > 1 else []):
                self.tasks[k] = (_pick, _K(fused), i)

    def dask_graph(self) -> dict:
        """The tasks with _K references replaced by the keys dask resolves (a fused task's single output by
        the fused task's key)."""
        def key(a):
            return self.alias.get(a.key, a.key) if isinstance(a, _K) else a
        return {k: (t[0], *map(key, t[1:])) if isinstance(t, tuple) else t for k, t in self.tasks.items()}


@contextlib.contextmanager
def local_cluster(n_workers: int, threads_per_worker: int = 1, memory_limit: str | None = None):
    """A dask.distributed LocalCluster of worker processes for one run; yields its scheduler address."""
    import dask
    import dask.distributed as ddist
    kw = {"memory_limit": memory_limit} if memory_limit else {}
    # pipeline.progress's dask_setup runs in each worker before it imports Beam: drops Beam's import-time
    # "apitools not found" warning unless the driver logs verbosely (pipeline/progress.py)
    kw["preload"] = ["pipeline.progress"]
    # No dashboard; the scheduler's HTTP endpoint (health, metrics) takes a free port, not 8787. Without a
    # dashboard nobody reads dask's statistical profiler, which keeps one call tree per second (up to 10,000)
    # in every worker and the scheduler: a worker grew ~30 MB in the 4-minute read phase of a 100k-doc run.
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            ddist.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                               **kw) as cluster:
        yield cluster.scheduler_address
