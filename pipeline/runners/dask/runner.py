"""WinnowDaskRunner: builds the task graph (graph.py) and hands it to a dask.distributed client; its options;
and its result, which cancels a failed job's other tasks and removes the run's shuffle directory.

`--dask_shuffle_dir`: where shuffle and spill files go (any Beam filesystem path every worker can reach; default:
a new local temporary directory, right for a LocalCluster). It is deleted when the job finishes.
`--dask_partition_size` (elements per partition in Beam's DaskRunner) is refused: partitions here are sized
by count.
"""
from __future__ import annotations

import contextlib
import os
import random
import tempfile

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.dask import overrides as dask_ov
from apache_beam.runners.dask.dask_runner import DaskOptions, DaskRunner, DaskRunnerResult

from pipeline.io import files
from pipeline.runners.dask.checks import UnsupportedGraph
from pipeline.runners.dask.graph import DEFAULT_RESHUFFLE_FACTOR, _Graph
from pipeline.runners.dask.shuffle import DEFAULT_LAZY_GROUP_BYTES

DEFAULT_NPARTITIONS = 8
# The runner calls Beam internals (DoFnInvoker, _OutputHandler, the dask overrides): other versions are refused.
TESTED_BEAM = "2.77."


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
