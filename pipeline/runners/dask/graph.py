"""The Beam graph -> dask task graph builder (_Graph), and the fuser that runs each partition's chain as one task.

_Graph visits the primitives Beam's own dask overrides reduce a graph to (Create, ParDo, GroupByKeyOnly, Flatten,
Reshuffle and Read) and builds an explicit low-level dask graph from them, with keys it controls:
- ParDo: one Beam bundle per partition (tasks.py); the output is {tag: [values]} and each consumer selects its tag.
- side input: one task that gathers the side PCollection, a dependency of the consuming bundles.
- GroupByKeyOnly / Reshuffle: a split of every input partition into bucket files, one barrier, then one reader
  task per output partition (shuffle.py).
- a ParDo with side inputs cannot start until its side inputs are complete (a file writer waits for the
  global row count, shard packing for the token totals): its main-input partitions are written to the
  shuffle directory as soon as they exist and read back by the bundle, instead of waiting in memory.
- fusion: each partition's chain of per-partition steps between two shuffles (ParDos, tag selects, the split
  or spill that ends it) runs as one dask task, with intermediates dropped after their last use. Unfused,
  dask ran the first step of many partitions before the next step of any, and per-worker memory grew with
  the corpus.
- CombinePerKey (without side inputs) is lifted: one accumulator per key per partition before the shuffle,
  merged after it. Unlifted, Count.Globally over document rows sent every document to one task.
- the job computes one leaf task per unconsumed output, so every sink runs.
What it cannot run correctly is refused while it builds (checks.py).
"""
from __future__ import annotations

import itertools
import pickle
import re

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.internal import pickler
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.dask import overrides as dask_ov

from pipeline.runners.dask.checks import UnsupportedGraph, _check_dofn, _check_windowing, _key_coder
from pipeline.runners.dask.shuffle import (DEFAULT_LAZY_GROUP_BYTES, _columns, _gather_bucket, _group_bucket,
                                           _spill, _split_by_key, _split_encoded, _split_round_robin,
                                           _split_to_files, _write_blocks, _write_pickle)
from pipeline.runners.dask.tasks import (_K, _combine_final, _combine_partial, _concat, _create_part, _done, _pick,
                                         _read_bundles, _run_dofn, _run_dofn_spilled, _run_fused, _select)

DEFAULT_RESHUFFLE_FACTOR = 4              # without --dask_reshuffle_partitions: that many times npartitions


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
        primitive's name. Keys prefixed with Beam labels made the scheduler's decisions worse."""
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
            # that the steps fused after it balance over the workers
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
