"""Finishing a run once every sink has written its files: the manifest, the data card, the atomic swap of
OUT.winnow-tmp into OUT, the funnel. The driver calls `finish` after the job; a job that no driver waits for
(a Flex Template launch, --finalize-in-job) runs it as its last step, `Finalize` (`add_finalize`)."""
from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.driver import manifest as manifest_mod
from pipeline.driver.funnel import print_funnel
from pipeline.driver.gate import check_gate
from pipeline.errors import GateError, RunError
from pipeline.io import files, outdir
from schemas.manifest import MANIFEST_FILE, Manifest


@dataclasses.dataclass
class RunSpec:
    """What finishing a run needs (picklable: the Finalize step of a driverless run carries it)."""
    inputs: list
    out: str
    tmp: str
    cfg: object
    config_hash: str
    runner: str
    overwrite: bool
    work: str | None = None          # the resume cache, deleted once the run is in place


_REPORT_LOCK = threading.Lock()          # the warm-up and the report do not draw at the same time


def warm_report() -> None:
    """Import and warm the data card's renderer while the driver waits on a job run by other processes."""
    with _REPORT_LOCK, contextlib.suppress(Exception):   # a head start only: the report reports its own failures
        from pipeline.report import warm_up
        warm_up()


def finish(spec: RunSpec, counters: dict, log=sys.stdout) -> Manifest:
    """After every sink: the manifest (checked against the accounting invariant), OUT moved into place, the
    data card. Returns the manifest."""
    manifest = manifest_mod.assemble(spec.tmp, spec.inputs, spec.cfg, spec.config_hash, spec.runner, counters)
    if manifest.input_records == 0:
        raise RunError(f"the inputs hold no records ({len(manifest.inputs)} input pattern(s) read): "
                       "nothing written")
    files.write_bytes(files.join(spec.tmp, MANIFEST_FILE), manifest.to_json())
    outdir.failpoint("manifest-written")
    from pipeline.report import write_report
    name = spec.out.rstrip("/").rsplit("/", 1)[-1]
    try:            # written before the swap: a finished OUT always has its data card
        report = files.join(spec.out, "report", "index.html")
        with _REPORT_LOCK:
            write_report(spec.tmp, name=name)
    except Exception as e:          # the outputs are complete; a broken report must not fail the run
        report = f"(report failed: {type(e).__name__}: {e}; retry with `winnow report {spec.out}`)"
    outdir.failpoint("report-written")
    try:
        outdir.swap_into_place(spec.tmp, spec.out, spec.overwrite)
    except outdir.OutputError as e:
        raise RunError(str(e)) from None
    if spec.work:
        outdir.remove_tmp(spec.work)
    print_funnel(manifest, log)
    if manifest.kept == 0:
        trained = manifest.tokenizer is not None and manifest.tokenizer.source == "train"
        print(f"\nWARNING no document was kept (of {manifest.input_records:,} input records): the shards are "
              "empty" + ("; tokenizer.json was trained on no text (do not use it)" if trained else "")
              + "; see the drop reasons above", file=log)
    print(f"\nwrote {spec.out}   data card: {report}", file=log)
    return manifest


def add_finalize(p, sinks, spec: RunSpec):
    """The Finalize step: one element, with every sink's output (`Winnow(...)["sinks"]`) as a side input, so it
    runs last."""
    return (p | "FinalizeStart" >> beam.Create([None])
            | "Finalize" >> beam.ParDo(FinalizeFn(spec), beam.pvalue.AsList(sinks)))


class FinalizeFn(beam.DoFn):
    """The run's last step when no driver waits for the job (a Flex Template launch, or --finalize-in-job):
    its side input is every sink's output, so it starts after the last file is written. Runner metrics
    are not readable inside a job: the manifest's `counters` is empty; its counts come from the files.
    A retried bundle that finds OUT already finalized does nothing. The bias gate is reported in the
    manifest and the job log; it cannot set an exit status here."""

    def __init__(self, spec: RunSpec):
        self.spec = spec

    def process(self, _, sinks):
        import io
        import logging
        spec = self.spec
        if not files.dir_exists(spec.tmp) and FileSystems.exists(files.join(spec.out, MANIFEST_FILE)):
            return
        buf = io.StringIO()
        manifest = finish(spec, {}, buf)
        try:
            check_gate(manifest, spec.cfg.bias.gate, buf)
        except GateError as e:
            print(f"WARNING {e}", file=buf)
        logging.info("winnow: %s", buf.getvalue())
        yield spec.out
