"""Flex Template entry point (FLEX_TEMPLATE_PYTHON_PY_FILE): template parameters -> `winnow run --runner dataflow`.

The launcher runs `python main.py --input=... --output=... --project=... --region=... --temp_location=...`:
our parameters (metadata.json) plus Dataflow's own options, each once, as `--name=value`. `template_argv`
turns that into a `winnow run` command line; `main` fetches a gs:// --config and calls `pipeline.cli.main`.
Also usable as a container entry point: `docker run --entrypoint python IMAGE /template/main.py --input=...`.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

# The Flex launcher passes --template_location=gs://.../template_launches/<id>/job_object: Beam then writes the
# job description there instead of submitting it, wait_until_finish() returns at once, and the service starts
# the job after this process exits. `winnow run` sees the flag and adds its Finalize step to the graph (manifest,
# move into place, data card run as the job's last step), so nothing is left for this process to do afterwards.
VALUED = ("--input", "--runner", "--config")    # flags we rewrite that take a value (`--f=v` or `--f v`)


def _pairs(argv: list[str]):
    """['--a=1', '--input', 'x', '--b'] -> ('--a', '1'), ('--input', 'x'), ('--b', None)."""
    i = 0
    while i < len(argv):
        name, eq, value = argv[i].partition("=")
        if eq:
            yield name, value
        elif name in VALUED and i + 1 < len(argv):
            i += 1
            yield name, argv[i]
        else:
            yield name, None
        i += 1


def template_argv(argv: list[str]) -> list[str]:
    """Launcher flags -> `winnow run` argv.

    - `--input=a,b` (a template parameter appears once) -> `--input=a --input=b`; empty items are dropped.
    - `--overwrite=true|false` (template parameters always carry a value) -> `--overwrite` or nothing.
    - any `--runner` given (the launcher may pass --runner=DataflowRunner) is replaced by `--runner dataflow`.
    Every other flag is passed through unchanged; `winnow run` hands the ones it does not know to Beam.
    """
    out = ["run", "--runner", "dataflow"]
    for name, value in _pairs(argv):
        if name == "--input":
            out += [f"--input={p.strip()}" for p in (value or "").split(",") if p.strip()]
        elif name == "--runner":
            continue
        elif name == "--overwrite":
            v = "true" if value is None else value.strip().lower()
            if v not in ("true", "false"):
                raise ValueError(f"--overwrite must be true or false, got {value!r}")
            out += ["--overwrite"] if v == "true" else []
        else:
            out.append(name if value is None else f"{name}={value}")
    return out


def localize_config(argv: list[str], tmpdir: str) -> list[str]:
    """`--config=gs://...` -> a local copy: `winnow run` reads its config with open(), not Beam's filesystems."""
    out = []
    for arg in argv:
        name, eq, value = arg.partition("=")
        if name == "--config" and eq and "://" in value:
            from apache_beam.io.filesystem import CompressionTypes
            from apache_beam.io.filesystems import FileSystems
            local = os.path.join(tmpdir, os.path.basename(value) or "config.yaml")
            with FileSystems.open(value, compression_type=CompressionTypes.UNCOMPRESSED) as src, \
                    open(local, "wb") as dst:
                shutil.copyfileobj(src, dst)
            arg = f"--config={local}"
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = template_argv(argv)
    except ValueError as e:
        print(f"winnow: error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)         # Beam logs the job id and console URL at INFO
    with tempfile.TemporaryDirectory(prefix="winnow-config-") as tmp:
        from pipeline import cli
        return cli.main(localize_config(args, tmp))


if __name__ == "__main__":
    sys.exit(main())
