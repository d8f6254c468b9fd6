"""The same corpus on three real Beam runners gives the same outputs and the same accounting:
FnApiRunner (in process), WinnowDaskRunner on a dask.distributed LocalCluster of 2 worker processes, and
PortableRunner against Beam's local job service with an EXTERNAL SDK worker pool. Also offline checks of
the Dataflow runner's option validation. No network: every service here is started locally."""
import json
import os
import subprocess
import sys

import pytest

from pipeline import runners
from pipeline.cli import sample_inputs

# manifest keys that name the runner or come from runner metrics (the dask and local portable runners
# report no metrics; the manifest's counts come from the output files on every runner)
RUNNER_KEYS = {"runner", "counters"}


def _winnow_run(out, runner, *extra):
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--output", str(out), "--runner", runner, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{runner} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runners")
    # the dask run finalizes inside the job (its last step runs on a dask worker), as a Flex Template does,
    # and reads every GroupByKey's values from the shuffle files as they are iterated (lazy groups)
    return {name: _winnow_run(base / name, name, *extra)
            for name, extra in (("direct", ()),
                                ("dask", ("--workers", "2", "--finalize-in-job", "--dask_lazy_group_bytes=0")),
                                ("portable", ("--workers", "2")))}


def test_same_outputs_and_accounting_on_fnapi_dask_and_portable(three_runs):
    base = {k: v for k, v in three_runs["direct"].items() if k not in RUNNER_KEYS}
    assert base["kept"] > 400 and base["dead_letter"] > 0 and base["rejected"]      # the sample exercises all
    for name in ("dask", "portable"):
        m = three_runs[name]
        assert m["runner"] == name
        other = {k: v for k, v in m.items() if k not in RUNNER_KEYS}
        for key in base:
            assert other[key] == base[key], f"{name}: manifest[{key!r}] differs from the FnApiRunner's"
        assert m["input_records"] == m["kept"] + sum(m["rejected"].values()) + m["dead_letter"]


def test_a_template_launch_finalizes_in_the_job(three_runs, tmp_path):
    """With --template_location (what the Flex launcher passes) `winnow run` returns once the job is described
    and the job finalizes OUT itself. FnApiRunner runs the job inside p.run(), so OUT is complete here."""
    out = tmp_path / "templated"
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--output", str(out),
           f"--template_location={tmp_path / 'job_object'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "job description written" in proc.stdout and "Winnow funnel" not in proc.stdout
    with open(out / "manifest.json") as f:
        m = json.load(f)
    assert m["counters"] == {}                  # runner metrics cannot be read inside the job
    base = three_runs["direct"]
    assert {k: v for k, v in m.items() if k != "counters"} == {k: v for k, v in base.items() if k != "counters"}
    assert (out / "report" / "index.html").exists() and not (tmp_path / "templated.winnow-tmp").exists()


def test_dataflow_options_are_checked_before_anything_runs():
    good = ["--project=p", "--region=us-central1", "--temp_location=gs://b/tmp"]
    runners.check_dataflow(good, "gs://b/out")
    with pytest.raises(runners.RunnerError, match="--region"):
        runners.check_dataflow(["--project=p", "--temp_location=gs://b/tmp"], "gs://b/out")
    with pytest.raises(runners.RunnerError, match="temp_location must be a gs://"):
        runners.check_dataflow(["--project=p", "--region=r", "--temp_location=/tmp/x"], "gs://b/out")
    with pytest.raises(runners.RunnerError, match="--output must be a gs://"):
        runners.check_dataflow(good, "out")


def test_dataflow_run_without_project_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--runner", "dataflow",
                           "--output", "gs://bucket/out"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--runner dataflow needs --project, --region, --temp_location" in proc.stderr


def test_dask_partitions_follow_input_size():
    assert runners.dask_npartitions(0, 2) == 4                       # at least 2 per worker
    assert runners.dask_npartitions(1000 << 20, 2) == 16             # ~64 MB of input per partition
    assert runners.dask_npartitions(100 << 20, 64) == 128
    # the per-document steps after the reader's Reshuffle: ~1 MB of input a partition, at least 4 per worker
    assert runners.dask_reshuffle_partitions(0, 2) == 8
    assert runners.dask_reshuffle_partitions(100 << 20, 2) == 100


def test_dataflow_graph_builds_offline_with_resource_hints(tmp_path):
    """The whole graph constructs under the real DataflowRunner (nothing is submitted: no network), and the
    heavy steps carry their resource hints into the runner API graph."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.config import load_config
    from pipeline.driver.finalize import RunSpec, add_finalize
    from pipeline.graph import Winnow
    from pipeline.transforms.near_dedup import CLUSTERING_MIN_RAM
    from pipeline.transforms.tokenize import PACKING_MIN_RAM
    opts = PipelineOptions(["--project=my-project-123", "--region=us-central1", "--temp_location=gs://my-bucket/tmp"])
    p = beam.Pipeline(runner="DataflowRunner", options=opts)
    # local paths: gs:// needs the [gcp] extra, not installed here; the graph is the same
    cfg, out = load_config(), str(tmp_path / "out")
    outputs = p | "Winnow" >> Winnow(cfg, sample_inputs(), out + ".winnow-tmp", "hash", None)
    add_finalize(p, outputs["sinks"], RunSpec(sample_inputs(), out, out + ".winnow-tmp", cfg, "hash", "dataflow", False))
    proto = p.to_runner_api()
    by_name = {t.unique_name: t for t in proto.components.transforms.values()}
    # Finalize waits on every sink: its side input is the flattened output of all of them
    assert len(by_name["Finalize"].inputs) == 2 and len(by_name["Winnow/AllSinks"].inputs) >= 10
    hinted = {}
    for t in proto.components.transforms.values():
        if not t.environment_id:
            continue
        for key, val in proto.components.environments[t.environment_id].resource_hints.items():
            if key.endswith("min_ram_bytes:v1"):
                hinted[t.unique_name] = int(val)
    assert any("Components" in name for name in hinted), sorted(hinted)[:10]
    assert any(name.endswith("Pack") for name in hinted), sorted(hinted)[:10]
    assert max(hinted.values()) == 8 * 10**9 and CLUSTERING_MIN_RAM == "8GB" and PACKING_MIN_RAM == "4GB"


def test_default_runner_uses_every_cpu_when_the_input_repays_it(monkeypatch):
    monkeypatch.setattr(runners, "usable_cpus", lambda: 8)
    big, small = runners.AUTO_DASK_MIN_BYTES, runners.AUTO_DASK_MIN_BYTES - 1
    name, why = runners.choose_local([], None, None, big)
    assert name == "dask" and "8 worker processes (every usable CPU)" in why
    assert runners.choose_local([], None, None, small)[0] == "direct"
    assert runners.choose_local([], 3, None, big) == ("dask", "a LocalCluster of 3 worker processes")
    assert runners.choose_local(["--direct_num_workers=2"], None, None, big)[0] == "direct"
    assert runners.choose_local([], None, "tcp://h:8786", small)[0] == "dask"
    monkeypatch.setattr(runners, "usable_cpus", lambda: 1)
    assert runners.choose_local([], None, None, big) == ("direct", "one process: one usable CPU")


def test_a_run_without_runner_says_which_it_chose(tmp_path):
    import io
    from pipeline.config import load_config
    from pipeline.driver.run import run_pipeline
    log = io.StringIO()
    cfg = load_config(overrides={"bias": {"enabled": False}, "tokenize": {"enabled": False}})
    m = run_pipeline(sample_inputs(), str(tmp_path / "out"), cfg, log=log)
    line = next(ln for ln in log.getvalue().splitlines() if ln.startswith("runner: "))
    assert line.startswith("runner: direct (one process") and "choose one with --runner" in line
    assert m.runner == "direct"


def test_pipeline_options_views_are_built_once_and_share_their_values():
    """pipeline_for's options hand back one view per options class (Beam asks for views several times per
    transform); a value set through one view is seen through another and in get_all_options, as with Beam's."""
    from apache_beam.options.pipeline_options import DebugOptions, SetupOptions
    options = runners.pipeline_for("direct", ["--experiments=x"]).options
    assert options.view_as(SetupOptions) is options.view_as(SetupOptions)
    assert "x" in options.view_as(DebugOptions).experiments
    options.view_as(SetupOptions).save_main_session = True
    assert options.view_as(SetupOptions).save_main_session is True
    assert options.get_all_options()["save_main_session"] is True
