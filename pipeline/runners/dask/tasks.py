"""The functions dask tasks run, besides the shuffle's own (shuffle.py): ParDo bundles, fused chains, lifted
combines, Create and Read partitions, leaves; and _K, a reference to another task's result in a task's arguments.

ParDo: one Beam bundle per partition; the output is {tag: [values]} and each consumer selects its tag. The DoFn
goes into the graph once (pickled); each worker thread unpickles and sets it up once per job and reuses it for
every bundle (as Beam's own workers do), so models load once per worker, not per partition.
Everything here is module level: dask pickles task functions by reference (module path and name), so workers
import this same package.
"""
from __future__ import annotations

import hashlib
import pickle
import threading

import apache_beam as beam
from apache_beam.internal import pickler
from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, Receiver, _OutputHandler
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from pipeline.runners.dask.shuffle import _GLOBAL, _bare, _buckets, _column, _load, _value, _windowed


class _K:
    """A reference to another task's result inside a task's arguments (every other argument is a literal)."""
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __reduce__(self):
        return _K, (self.key,)


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
