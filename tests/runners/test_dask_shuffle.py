"""WinnowDaskRunner moves shuffled data and side-input-blocked partitions through files, not worker memory,
and removes them at the end. Runs a small real graph on a dask.distributed LocalCluster (1 worker process)."""
import glob
import json
import os

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import runners
from pipeline.runners.dask import WinnowDaskRunner, local_cluster


def _files_under(base):
    return sorted(glob.glob(os.path.join(base, "**", "*.pkl"), recursive=True)
                  + glob.glob(os.path.join(base, "**", "*.rec"), recursive=True))


class _Probe(beam.DoFn):
    """Runs after the shuffle: records the spill files that exist while the job runs."""

    def __init__(self, base):
        self.base = base

    def process(self, kv, total):
        k, vs = kv
        first, again = list(vs), list(vs)                       # grouped values can be iterated twice
        yield {"key": k, "values": sorted(x for x, _ in first), "again": first == again, "total": total,
               "lazy": type(getattr(vs, "_windowed_values", None)).__name__ == "_LazyValues",
               "files_seen": len(_files_under(self.base))}


class _WriteAll(beam.DoFn):
    def __init__(self, path):
        self.path = path

    def process(self, rows):
        with open(self.path, "w") as f:
            json.dump(sorted(rows, key=lambda r: r["key"]), f)


# Lazy groups are read from the shuffle files when iterated, also after the grouped partition was parked on
# disk for the side input (the reader is pickled, not the values). Key 0's values are ~18 KB in the files,
# the others' ~3 KB: 8,000 makes key 0 lazy and leaves some group loaded (a value's size is its share of a
# block of 256, so a small group that shares blocks with key 0 may count as large), 0 every group, the
# default none.
@pytest.mark.parametrize("lazy_bytes, lazy", [(None, [False] * 4), (8000, "key 0 and not all"),
                                              (0, [True] * 4)])
def test_shuffle_and_spill_go_through_files_that_are_removed(tmp_path, lazy_bytes, lazy):
    base, result_path = str(tmp_path / "scratch"), str(tmp_path / "result.json")
    os.makedirs(base)
    with local_cluster(1) as address:
        opts = PipelineOptions([f"--dask_client_address={address}", "--dask_npartitions=3",
                                f"--dask_shuffle_dir={base}"]
                               + ([] if lazy_bytes is None else [f"--dask_lazy_group_bytes={lazy_bytes}"]))
        p = beam.Pipeline(runner=WinnowDaskRunner(), options=opts)
        nums = p | beam.Create(list(range(60)))
        total = nums | beam.CombineGlobally(sum)
        _ = (nums | beam.Map(lambda x: (x % 4, (x, "p" * (1000 if x % 4 == 0 else 1)))) | beam.GroupByKey()
             | beam.ParDo(_Probe(base), beam.pvalue.AsSingleton(total))     # main input parked on disk
             | beam.combiners.ToList() | beam.ParDo(_WriteAll(result_path)))
        result = p.run()
        result.wait_until_finish()
        # the LocalCluster's workers run no statistical profiler (it kept a call tree per second)
        profiling = result.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        result.client.close()
    assert list(profiling.values()) == [False]
    with open(result_path) as f:
        rows = json.load(f)
    assert [r["key"] for r in rows] == [0, 1, 2, 3]
    assert all(r["values"] == list(range(r["key"], 60, 4)) and r["total"] == sum(range(60)) for r in rows)
    assert all(r["again"] for r in rows)
    seen = [r["lazy"] for r in rows]
    assert (seen[0] and not all(seen)) if lazy == "key 0 and not all" else seen == lazy
    assert all(r["files_seen"] > 0 for r in rows), "no shuffle/spill file existed while the job ran"
    assert _files_under(base) == [] and os.listdir(base) == []           # the run's directory is gone


def test_partition_size_is_refused():
    with pytest.raises(runners.RunnerError, match="--dask_npartitions"):
        runners.check_plan(runners.RunnerPlan("dask", ["--dask_partition_size=100"]))
    runners.check_plan(runners.RunnerPlan("dask", ["--dask_npartitions=4"]))


def test_a_shuffle_has_linear_graph_edges_and_two_tasks_per_partition():
    """Readers depend on one barrier, not on every split: edges grow as n, not n² (2,025 at 45 partitions).
    Per partition the shuffle adds only its fused split and fused reader: the barrier is a file each reader
    reads its column from, and a fused task with one output is read directly (no pick tasks)."""
    from apache_beam.runners.dask import overrides as dask_ov

    from pipeline.runners.dask.graph import _Graph

    def edges(n):
        p = beam.Pipeline(runner=WinnowDaskRunner())
        _ = (p | beam.Create(list(range(1000))) | beam.Map(lambda x: (x % 7, x)) | beam.GroupByKey()
             | beam.MapTuple(lambda k, vs: (k, sum(vs))))
        p.replace_all(dask_ov.dask_overrides())
        g = _Graph(n, "/nonexistent")
        p.visit(g)
        g.fuse(g.leaf_keys())
        return sum(len(g._deps(k)) for k in g.tasks), len(g.dask_graph())

    (small, tasks_small), (large, tasks_large) = edges(10), edges(100)
    assert large < 12 * small, f"{small} edges at 10 partitions, {large} at 100"
    assert tasks_large - tasks_small == 2 * 90, f"{tasks_small} tasks at 10 partitions, {tasks_large} at 100"
