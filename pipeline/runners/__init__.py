"""Which Beam runner executes a run, and the local services some runners need for the run's lifetime.

- direct   : the in-process FnApiRunner (never downloads the Prism binary). N local processes with
             --direct_num_workers=N --direct_running_mode=multi_processing.
- dask     : WinnowDaskRunner (pipeline/runners/dask/) on --dask-address, or on a dask.distributed
             LocalCluster of --workers processes that the run starts and stops.
- portable : PortableRunner on --job_endpoint; without one, a local job service
             (local_job_service_main) and an EXTERNAL worker pool (worker_pool_main) that the run starts
             and stops (pipeline/runners/portable.py).
- dataflow : DataflowRunner; needs --project, --region and a gs:// --temp_location (deploy/dataflow/).
- flink / spark : FlinkRunner / SparkRunner with their own flags (--flink_master, --flink_job_server_jar,
             --spark_master_url, --spark_job_server_jar); their job-server jars are not bundled.
Any other name is handed to Beam unchanged.
Without --runner, `choose_local` picks: dask on a LocalCluster of one worker per usable CPU when there are several
and the input is large enough to repay starting it, else direct in one process.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

RUNNERS = ("direct", "dask", "portable", "dataflow", "flink", "spark")
_BEAM_NAMES = {"dataflow": "DataflowRunner", "flink": "FlinkRunner", "spark": "SparkRunner"}
# Dask partitions, from the input bytes as stored (often gzip) and the workers. The per-document steps run after
# the reader's Reshuffle, one task per partition: ~1 MB of input each (a few seconds of work), at least 4 per
# worker, so the last tasks finish close together. Every other shuffle (GroupByKey, combines) carries what the
# filters kept, far less: 2 partitions per worker, or 64 MB of input each on large inputs (each shuffle costs
# splits x partitions files and 2 x partitions tasks). The choice was measured: bench/RESULTS.md, "Default
# runner, parallel efficiency and scale".
DASK_BYTES_PER_PARTITION = 64 << 20
DASK_BYTES_PER_RESHUFFLE_PARTITION = 1 << 20


class RunnerError(ValueError):
    pass


@dataclass
class RunnerPlan:
    """What `winnow run --runner ...` asked for; `session()` turns it into a live runner."""
    name: str = "direct"
    beam_args: list[str] = field(default_factory=list)
    workers: int | None = None            # dask / portable local workers (default: CPU count)
    dask_address: str | None = None
    input_bytes: int = 0                  # sizes the dask partitions
    dask_memory_limit: str | None = None  # per LocalCluster worker, e.g. "2GB": dask spills to disk above ~60%
    scratch: str | None = None            # dask shuffle files (OUT.winnow-scratch: shared, like the output)


def has_flag(args: list[str], name: str) -> bool:
    """`--name` or `--name=value` is among args."""
    return any(a == name or a.startswith(name + "=") for a in args)


def _flag_value(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def check_dataflow(beam_args: list[str], output: str) -> None:
    """Fail before building anything when a Dataflow job could not start or write its output."""
    missing = [f for f in ("--project", "--region", "--temp_location") if not has_flag(beam_args, f)]
    if missing:
        raise RunnerError(f"--runner dataflow needs {', '.join(missing)} (see deploy/dataflow/README.md)")
    temp = _flag_value(beam_args, "--temp_location") or ""
    if not temp.startswith("gs://"):
        raise RunnerError(f"--runner dataflow: --temp_location must be a gs:// path, got {temp!r}")
    if not output.startswith("gs://"):
        raise RunnerError(f"--runner dataflow: --output must be a gs:// path (workers cannot write {output!r})")


def check_runner_name(name: str) -> None:
    """Winnow's runner names, or a name or class path Beam resolves; anything else is one RunnerError."""
    if name.lower() in RUNNERS + ("fnapi", "fnapirunner"):
        return
    from apache_beam.runners.runner import create_runner
    try:
        create_runner(name)
    except Exception:
        raise RunnerError(f"unknown runner {name!r}: use one of {', '.join(RUNNERS)}, a Beam runner name "
                          "(e.g. PrismRunner) or a runner class path") from None


def check_plan(plan: RunnerPlan) -> None:
    """Refuse unknown runners and options a runner would ignore."""
    check_runner_name(plan.name or "direct")
    if (plan.name or "").lower() == "dask" and has_flag(plan.beam_args, "--dask_partition_size"):
        raise RunnerError("--runner dask sizes partitions by count: use --dask_npartitions, not "
                          "--dask_partition_size")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under taskset or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _workers(plan: RunnerPlan) -> int:
    return plan.workers or usable_cpus()


# Below this much input, one in-process runner finishes before a LocalCluster would have paid for its start-up
# (~3 s of starting worker processes and loading models in each; bench/RESULTS.md "Default runner").
AUTO_DASK_MIN_BYTES = 8 << 20


def choose_local(beam_args: list[str], workers: int | None, dask_address: str | None,
                 input_bytes: int) -> tuple[str, str]:
    """The runner for a run without --runner, and why, in words for the log: every usable CPU through dask
    workers when that pays, else direct in one process; flags that only make sense for one runner decide."""
    if dask_address or any(has_flag(beam_args, f) for f in ("--dask_client_address", "--dask_npartitions")):
        return "dask", "a dask cluster or dask flag was given"
    if any(has_flag(beam_args, f) for f in ("--direct_num_workers", "--direct_running_mode")):
        return "direct", "direct runner flags were given"
    n = workers or usable_cpus()
    if n < 2:
        return "direct", "one process" + ("" if workers else ": one usable CPU")
    if input_bytes < AUTO_DASK_MIN_BYTES:
        return "direct", (f"one process: {input_bytes / 2**20:.1f} MB of input is under "
                          f"{AUTO_DASK_MIN_BYTES >> 20} MB, too little to repay starting {n} worker processes")
    return "dask", f"a LocalCluster of {n} worker processes" + ("" if workers else " (every usable CPU)")


def dask_reshuffle_partitions(input_bytes: int, workers: int) -> int:
    return max(4 * workers, math.ceil(input_bytes / DASK_BYTES_PER_RESHUFFLE_PARTITION))


def dask_npartitions(input_bytes: int, workers: int) -> int:
    """Enough partitions to keep every worker busy and each partition's input at most ~4 MB."""
    return max(2 * workers, math.ceil(input_bytes / DASK_BYTES_PER_PARTITION))


class _ViewCachingOptions(PipelineOptions):
    """PipelineOptions whose `view_as(cls)` is built once per class. Beam calls view_as two or three times per
    transform while it builds a graph, and each call parses the flags again (argparse): about half of the
    graph's construction time. A view holds no state of its own (every view reads and writes the shared
    `_all_options`), so handing back the same view is the same as building a new one. Declares no options."""

    def view_as(self, cls):
        views = self.__dict__.setdefault("_winnow_views", {})
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view


def pipeline_for(name: str, beam_args: list[str]) -> beam.Pipeline:
    options = _ViewCachingOptions(beam_args)
    if name in ("direct", "fnapi", "fnapirunner"):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    if name == "dask":
        from pipeline.runners.dask import WinnowDaskRunner
        return beam.Pipeline(runner=WinnowDaskRunner(), options=options)
    if name == "portable":
        return beam.Pipeline(runner="PortableRunner", options=options)
    return beam.Pipeline(runner=_BEAM_NAMES.get(name, name), options=options)


@contextlib.contextmanager
def session(plan: RunnerPlan):
    """Yield the full Beam argument list for the run, with any local cluster/service started for it."""
    name = (plan.name or "direct").lower()
    args = list(plan.beam_args)
    if name == "dask":
        if not has_flag(args, "--dask_npartitions"):
            args.append(f"--dask_npartitions={dask_npartitions(plan.input_bytes, _workers(plan))}")
        if not has_flag(args, "--dask_reshuffle_partitions"):
            args.append(f"--dask_reshuffle_partitions={dask_reshuffle_partitions(plan.input_bytes, _workers(plan))}")
        if plan.scratch and not has_flag(args, "--dask_shuffle_dir"):
            # beside the output: workers elsewhere reach it like the output; the run removes it when it ends
            args.append(f"--dask_shuffle_dir={plan.scratch}")
        if plan.dask_address or has_flag(args, "--dask_client_address"):
            if plan.dask_address:
                args.append(f"--dask_client_address={plan.dask_address}")
            yield args
            return
        from pipeline.runners.dask import local_cluster
        with local_cluster(_workers(plan), memory_limit=plan.dask_memory_limit) as address:
            yield args + [f"--dask_client_address={address}"]
        return
    if name == "portable" and not has_flag(args, "--job_endpoint"):
        from pipeline.runners.portable import local_job_service
        with local_job_service(_workers(plan)) as extra:
            yield args + extra
        return
    yield args


def _beam_flags() -> dict[str, bool]:
    """Every flag Beam's PipelineOptions know (the runners' own included) -> whether it takes a value."""
    import argparse
    import importlib

    importlib.import_module("pipeline.runners.dask")        # registers the dask runners' options

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    flags: dict[str, bool] = {}
    for cls in subclasses(PipelineOptions):
        parser = argparse.ArgumentParser(add_help=False)
        try:
            cls._add_argparse_args(parser)
        except Exception:               # an options class that cannot register here: its flags stay unknown
            continue
        for action in parser._actions:
            for opt in action.option_strings:
                flags[opt] = action.nargs != 0
    return flags


def check_beam_args(args: list[str], own_flags: list[str]) -> None:
    """Refuse arguments that neither Winnow nor Beam knows (Beam would drop them with a warning, so a typo
    such as --ouptut would be ignored), suggesting the closest known flag."""
    if not args:
        return
    import difflib
    beam = _beam_flags()
    takes_value = False
    for a in args:
        if not a.startswith("-"):
            if takes_value:
                takes_value = False
                continue
            raise RunnerError(f"unexpected argument {a!r}")
        name = a.split("=", 1)[0]
        if name not in beam:
            close = difflib.get_close_matches(name, own_flags, n=1, cutoff=0.75) or \
                difflib.get_close_matches(name, list(beam), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise RunnerError(f"unknown flag {name}{hint}; `winnow run --help` lists Winnow's flags, "
                              "other flags go to Beam's pipeline options")
        takes_value = beam[name] and "=" not in a
