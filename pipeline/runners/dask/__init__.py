"""A Beam runner on dask.distributed: WinnowDaskRunner, and a LocalCluster helper.

Beam 2.77 ships a DaskRunner that translates a graph into `dask.bag` calls, but as shipped it: computes only
the last transform's bag (a graph with several sinks silently skips all others); drops the tag of
multi-output ParDos (each consumer of `.with_outputs(...)` sees every output); evaluates side inputs by
iterating a bag inside each consuming task (re-running the side input's lineage per partition); treats
Reshuffle and Read as no-ops (one input file = one partition = one core); and through graph fusion
recomputes shared upstream chains once per consumer.

WinnowDaskRunner keeps Beam's own dask overrides and builds an explicit low-level dask graph from them, with
keys it controls: every sink runs, tagged outputs are routed, side inputs are computed once, shuffles go through
files, and each partition's chain between shuffles is one task. So a worker holds one partition's chain at a
time per thread, not a share of the corpus: peak RSS per worker depends on the partition size
(`--dask_npartitions` and `--dask_reshuffle_partitions`, which Winnow sizes from the number of workers and the
input bytes) and the largest input file (one file is parsed by one task), not on the corpus size; large groups
stay on disk.

Modules (each imports only modules listed above it):
- checks.py  : UnsupportedGraph and the refusals at graph-build time
- shuffle.py : elements in partitions; shuffle and spill files, their splits and readers
- tasks.py   : the other functions dask tasks run (ParDo bundles, fused chains, lifted combines)
- graph.py   : the Beam graph -> dask task graph builder, and the fuser
- runner.py  : WinnowDaskRunner, its options, its result (cancellation, shuffle folder clean-up)
- cluster.py : local_cluster
Dask pickles task functions by reference (module path and name): workers must import this same package.
"""
from __future__ import annotations

from pipeline.runners.dask.checks import UnsupportedGraph
from pipeline.runners.dask.cluster import local_cluster
from pipeline.runners.dask.runner import WinnowDaskOptions, WinnowDaskResult, WinnowDaskRunner

__all__ = ["UnsupportedGraph", "WinnowDaskOptions", "WinnowDaskResult", "WinnowDaskRunner", "local_cluster"]
