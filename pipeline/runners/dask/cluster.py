"""local_cluster: a dask.distributed LocalCluster of worker processes for one run (used when no --dask-address
is given), set up for Winnow: workers preload pipeline.progress, and there is no dashboard or profiler.
"""
from __future__ import annotations

import contextlib


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
    # in every worker and the scheduler: memory that grows through a long run.
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            ddist.LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                               **kw) as cluster:
        yield cluster.scheduler_address
