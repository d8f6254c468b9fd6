"""The driver of `winnow run`: check the inputs, the output folder and the configuration, pick the runner,
run the graph (pipeline/graph.py `Winnow`), then finish the run (pipeline/driver/finalize.py: manifest, data card,
atomic swap) and apply the bias gate.

Outputs are written under a temporary sibling directory; the manifest is written last and the directory is
then moved into place, so a finished OUT is never half-written.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

from apache_beam.io.filesystems import FileSystems

from pipeline import config as config_mod
from pipeline import errors, runners
from pipeline.driver.finalize import RunSpec, add_finalize, finish, warm_report
from pipeline.driver.funnel import print_funnel
from pipeline.driver.gate import check_gate
from pipeline.driver.manifest import near_params
from pipeline.errors import RunError
from pipeline.graph import Winnow
from pipeline.io import chunk_cache, files, outdir
from pipeline.io.inputs import expand_inputs
from pipeline.stages import tokenize as tokenize_stage
from schemas import manifest as manifest_schema


def _metrics(result) -> dict:
    try:
        res = result.metrics().query()
    except Exception:            # some runners cannot report metrics; the manifest counts come from files
        return {}
    out = {}
    for c in res.get("counters", []):
        name = c.key.metric.name
        val = c.committed if c.committed is not None else c.attempted
        out[name] = out.get(name, 0) + (val or 0)
    return dict(sorted(out.items()))


def run_pipeline(inputs: list[str], out: str, cfg, runner: str | None = None, beam_args: list[str] | None = None,
                 overwrite: bool = False, log=sys.stdout, workers: int | None = None,
                 dask_address: str | None = None, dask_memory_limit: str | None = None,
                 finalize_in_job: bool = False) -> manifest_schema.Manifest | None:
    """Run the pipeline end to end and return the manifest (also written to OUT/manifest.json).
    `workers` / `dask_address`: local processes and cluster for the dask and portable runners.
    `finalize_in_job`: the job's last step writes the manifest and moves OUT into place (as under a Flex
    Template launch, where nothing waits for the job: then this returns None once the job is described)."""
    out = out.rstrip("/")
    chosen = runner is None               # no --runner: picked below from the CPUs and the input size
    runner = (runner or "direct").lower()
    try:
        runners.check_runner_name(runner)
        if runner == "dataflow":
            runners.check_dataflow(beam_args or [], out)
    except runners.RunnerError as e:
        raise RunError(str(e)) from None
    try:
        restored = outdir.recover(out)
        if restored:
            print(restored, file=log)
        input_files, input_bytes = expand_inputs(inputs)
        outdir.check_output(out, overwrite, input_files)
        tmp, scratch = outdir.tmp_of(out), out + outdir.SCRATCH_SUFFIX
        for leftover in (tmp, scratch):
            if outdir.clear_leftover(leftover):
                print(f"removed {leftover} (left by an earlier run that did not finish)", file=log)
    except outdir.OutputError as e:
        raise RunError(str(e)) from None
    if input_bytes == 0:
        raise RunError(f"the inputs are empty ({len(input_files)} file(s), 0 bytes): nothing to read")
    if chosen:
        runner, why = runners.choose_local(list(beam_args or []), workers, dask_address, input_bytes)
        print(f"runner: {runner} ({why}; choose one with --runner)", file=log)
    config_hash = cfg.hash()
    if cfg.dedup.near.enabled and cfg.dedup.near.against:
        from pipeline.index import check_compatible, load_index
        check_compatible(load_index(cfg.dedup.near.against), near_params(cfg), "dedup.near.against")
    tokenizer_json = None
    if cfg.tokenize.enabled and cfg.tokenize.tokenizer != "train":
        tokenizer_json = _check_tokenizer(cfg.tokenize.tokenizer)

    plan = runners.RunnerPlan(runner, list(beam_args or []), workers, dask_address, input_bytes, dask_memory_limit,
                              scratch=scratch)
    try:
        runners.check_plan(plan)
    except runners.RunnerError as e:
        raise RunError(str(e)) from None
    try:
        work, cache_root = _prepare_work(out, cfg, log)
    except outdir.OutputError as e:
        raise RunError(str(e)) from None
    spec = RunSpec(list(inputs), out, tmp, cfg, config_hash, runner, overwrite, work)
    # a Flex Template launch only writes the job description: the job has to finish the run itself
    template = runners.has_flag(plan.beam_args, "--template_location")
    in_job = finalize_in_job or template
    try:
        outdir.make_tmp(out)
        if runner == "dask" and not runners.has_flag(plan.beam_args, "--dask_shuffle_dir"):
            outdir.make_marked(scratch)
        with _progress_display(runner, template or bool(dask_address), input_bytes), runners.session(plan) as args:
            p = runners.pipeline_for(runner, args)
            outputs = p | "Winnow" >> Winnow(cfg, input_files, tmp, config_hash, tokenizer_json, cache_root)
            if in_job:
                add_finalize(p, outputs["sinks"], spec)
            # Beam round-trips a graph through its protos before giving it to a runner that does not use the Fn API
            # (the dask runner): a check that costs ~2.5 s of the driver's start and that the dask runner, which
            # reads the Python graph, does not need (Beam's own suites run it with the round trip)
            result = p.run(test_runner_api=False) if runner == "dask" else p.run()
            if runner == "dask" and not in_job:        # the driver waits on other processes: warm the report
                warm = threading.Thread(target=warm_report, name="winnow-warm-report", daemon=True)
                warm.start()
            if template:
                print(f"job description written; the job writes {out}/manifest.json and moves {out} into place "
                      "as its last step", file=log)
                return None
            try:
                result.wait_until_finish()
            finally:
                client = getattr(result, "client", None)       # the dask runner's distributed.Client
                if client is not None:
                    client.close()
        errors.check_interrupt()          # a Ctrl-C that a callback swallowed still stops the run before the swap

        if in_job:
            if not FileSystems.exists(files.join(out, manifest_schema.MANIFEST_FILE)):
                raise RunError(f"the job ended without finalizing {out} (see its Finalize step's log)")
            manifest = manifest_schema.read(out, files.read_bytes)
            print_funnel(manifest, log)
            card = files.join(out, "report", "index.html")
            print(f"\nwrote {out}   data card: {card if FileSystems.exists(card) else '(none; see the Finalize step log)'}",
                  file=log)
        else:
            manifest = finish(spec, _metrics(result), log)
    except BaseException as e:
        # a failed or interrupted run leaves nothing behind (the swap is atomic: OUT is untouched or complete)
        # but its finished chunks, for the next run of the same command; not on a full disk
        if not template:
            _remove_quietly(tmp)
            _keep_or_drop_work(work, cache_root, e, log)
        raise
    finally:
        _remove_quietly(scratch)         # dask shuffle files (the runner removes its own; this drops the folder)
    check_gate(manifest, cfg.bias.gate, log)
    return manifest


@contextlib.contextmanager
def _progress_display(runner: str, remote: bool, input_bytes: int):
    """The live progress line (pipeline/progress.py) for the local runners; entered before runners.session so
    the workers it starts inherit WINNOW_PROGRESS_DIR. Its folder is local and private to this run. Workers
    elsewhere (a template launch, a dask cluster at --dask-address) cannot report to it: no display."""
    if remote or runner not in ("direct", "fnapi", "fnapirunner", "dask", "portable"):
        yield
        return
    import shutil
    import tempfile

    from pipeline import progress
    folder = tempfile.mkdtemp(prefix="winnow-progress-")
    try:
        with progress.Display(folder, input_bytes):
            yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _prepare_work(out: str, cfg, log) -> tuple[str | None, str | None]:
    """The resume cache OUT.winnow-work/<chain key> (pipeline/io/chunk_cache.py): chunks an interrupted run of
    the same per-document configuration finished are reused; entries of any other configuration are deleted.
    Returns (work folder, cache root), both None with output.resume off."""
    work = out + chunk_cache.WORK_SUFFIX
    if not cfg.output.resume:
        outdir.clear_leftover(work)
        return None, None
    root = files.join(work, chunk_cache.chain_key(cfg, config_mod.quality_filters(cfg)))
    if files.dir_exists(work):
        if not outdir.is_ours(work):
            raise outdir.OutputError(f"{work} exists and was not made by Winnow; move it away and run again")
        for path in outdir.entries(work):
            if path.rstrip("/") != root and not path.endswith(outdir.MARKER):
                files.delete_tree(path)
        n = chunk_cache.count_entries(root)
        if n:
            print(f"resuming: {n:,} chunk(s) finished by an interrupted run are reused ({work})", file=log)
    else:
        outdir.make_marked(work)
    return work, root


def _keep_or_drop_work(work: str | None, root: str | None, exc: BaseException, log) -> None:
    """After a failed or interrupted run: keep the resume cache if it holds finished chunks and the disk is
    not full; say so."""
    if work is None:
        return
    try:
        from pipeline.errors import environment_cause
        n = chunk_cache.count_entries(root)
        full = (environment_cause(exc) or "").startswith(("the disk is full", "the disk quota"))
        if n and not full:
            print(f"\nkept {n:,} finished chunk(s) in {work}: the same command resumes from them "
                  "(delete the folder to start afresh)", file=log)
            return
        _remove_quietly(work)
    except Exception:               # cleanup must not hide the error that got us here
        pass


def _remove_quietly(path: str) -> None:
    try:
        outdir.remove_tmp(path)
    except Exception:               # cleanup must not hide the error that got us here
        pass


def _check_tokenizer(path: str) -> str:
    """The text of a tokenize.tokenizer file, checked to be an HF tokenizer with an EOS token."""
    if not FileSystems.exists(path):
        raise RunError(f"tokenize.tokenizer: no such file {path!r}")
    if "://" not in path and os.path.isdir(path):
        raise RunError(f"tokenize.tokenizer: {path!r} is a folder, not a tokenizer.json file")
    try:
        text = files.read_bytes(path).decode("utf-8")
        tok = tokenize_stage.load(text)
    except Exception as e:
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise RunError(f"tokenize.tokenizer: {path!r} is not a Hugging Face tokenizer.json ({first})") from None
    try:
        tokenize_stage.eos_id(tok)
    except Exception as e:
        raise RunError(f"tokenize.tokenizer: {path!r}: {e}") from None
    return text
