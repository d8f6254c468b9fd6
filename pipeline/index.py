"""`winnow index build OUT`: save the LSH band index of a finished run's kept docs, so that a later run with
`dedup.near.against: INDEX` drops near duplicates of this corpus without reprocessing it."""
from __future__ import annotations

import json
import sys

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.io import files
from pipeline import runners
from pipeline.errors import RunError
from pipeline.transforms.index import BuildIndex
from schemas.index import BANDS_GLOB, BAND_SCHEMA, INDEX_FILE, PARAMS
from schemas import manifest as manifest_schema


def index_params(manifest: manifest_schema.Manifest) -> dict:
    near = manifest.dedup["near"]
    return {k: near[k] for k in PARAMS}


def load_index(index_dir: str) -> dict:
    path = files.join(index_dir, INDEX_FILE)
    if not FileSystems.exists(path):
        raise RunError(f"dedup.near.against: {index_dir} holds no {INDEX_FILE} (make one with `winnow index build`)")
    return json.loads(files.read_bytes(path))


def check_compatible(index: dict, params: dict, where: str) -> None:
    """The index must use the same signatures and bands as this run, or its keys mean nothing here."""
    diff = {k: (index["params"].get(k), params[k]) for k in PARAMS if index["params"].get(k) != params[k]}
    if diff:
        raise RunError(f"{where}: index parameters differ from this run's dedup.near settings: "
                       + ", ".join(f"{k} index={a} run={b}" for k, (a, b) in diff.items()))


def build_index(out: str, index_dir: str | None = None, runner: str | None = None,
                beam_args: list[str] | None = None, overwrite: bool = False, log=sys.stdout) -> dict:
    out = out.rstrip("/")
    index_dir = (index_dir or files.join(out, "index")).rstrip("/")
    mpath = files.join(out, manifest_schema.MANIFEST_FILE)
    if not FileSystems.exists(mpath):
        raise RunError(f"{out} is not a finished winnow run (no {manifest_schema.MANIFEST_FILE})")
    if FileSystems.exists(files.join(index_dir, INDEX_FILE)) and not overwrite:
        raise RunError(f"index {index_dir} already exists; pass --overwrite to replace it")
    try:
        manifest = manifest_schema.read(mpath, files.read_bytes)
    except manifest_schema.ManifestError as e:
        raise RunError(str(e)) from None
    params = index_params(manifest)
    p = runners.pipeline_for((runner or "direct").lower(), beam_args or [])
    _ = (p
         | "ReadDocs" >> beam.io.ReadFromParquet(files.join(out, "docs", "*.parquet"), columns=["doc_id", "text"])
         | "BuildIndex" >> BuildIndex(params)
         | "WriteBands" >> beam.io.WriteToParquet(files.join(index_dir, "bands"), BAND_SCHEMA,
                                                  file_name_suffix=".parquet", codec="zstd"))
    p.run().wait_until_finish()
    meta = {"params": params, "source": out, "source_config_hash": manifest.config_hash,
            "docs": manifest.kept, "bands_glob": BANDS_GLOB}
    files.write_json(files.join(index_dir, INDEX_FILE), meta)
    print(f"wrote index of {manifest.kept:,} docs to {index_dir}", file=log)
    return meta
