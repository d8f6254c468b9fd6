"""WinnowDaskRunner refuses, before anything runs, what it cannot run correctly; groups keys by their
deterministic encoding; keeps element timestamps; and writes shuffle files whole, from deterministic splits.
Pipelines that need no cluster are refused at graph-build time, so most of these tests need none."""
import os

import apache_beam as beam
import pytest
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate, window

from pipeline.runners import dask as wd
from pipeline.runners.dask.checks import _key_coder
from pipeline.runners.dask.graph import _Graph
from pipeline.runners.dask.shuffle import _dump, _load, _open, _split_by_key, _split_round_robin
from pipeline.runners.dask.tasks import _naming_step


def _graph(build, tmp_path):
    """Build the pipeline and walk it as run_pipeline does, without a cluster."""
    from apache_beam.runners.dask import overrides as dask_ov
    p = beam.Pipeline(runner=wd.WinnowDaskRunner(), options=PipelineOptions([]))
    build(p)
    p.replace_all(dask_ov.dask_overrides())
    g = _Graph(4, str(tmp_path))
    p.visit(g)
    return g


class _Stateful(beam.DoFn):
    BAG = userstate.BagStateSpec("bag", VarIntCoder())

    def process(self, kv, bag=beam.DoFn.StateParam(BAG)):
        yield kv


class _Timer(beam.DoFn):
    T = userstate.TimerSpec("t", userstate.TimeDomain.WATERMARK)

    def process(self, kv, t=beam.DoFn.TimerParam(T)):
        yield kv

    @userstate.on_timer(T)
    def fire(self):
        yield 0


class _Finalizes(beam.DoFn):
    def process(self, x, fin=beam.DoFn.BundleFinalizerParam):
        yield x


class _Opaque:
    def __init__(self, x):
        self.x = x


class _OpaqueCoder(beam.coders.Coder):
    """A coder that does not promise equal bytes for equal keys (as a pickle, a float's text ...)."""

    def encode(self, value):
        return str(value.x).encode()

    def decode(self, encoded):
        return _Opaque(int(encoded))

    def is_deterministic(self):
        return False


beam.coders.registry.register_coder(_Opaque, _OpaqueCoder)


@pytest.mark.parametrize("build, what", [
    (lambda p: p | beam.Create([1]) | beam.WindowInto(window.FixedWindows(10)), "windowing other than"),
    (lambda p: p | beam.Create([1]) | beam.WindowInto(window.GlobalWindows(),
                                                      trigger=beam.trigger.Repeatedly(beam.trigger.AfterCount(1)),
                                                      accumulation_mode=beam.trigger.AccumulationMode.DISCARDING),
     "triggers"),
    (lambda p: p | beam.Create([("a", 1)]) | beam.ParDo(_Stateful()), "state and timers"),
    (lambda p: p | beam.Create([("a", 1)]) | beam.ParDo(_Timer()), "state and timers"),
    (lambda p: p | beam.Create([1]) | beam.ParDo(_Finalizes()), "bundle finalization"),
    (lambda p: p | beam.Create([(_Opaque(1), 1)]).with_output_types(tuple[_Opaque, int]) | beam.GroupByKey(),
     "keys without a deterministic coder"),
])
def test_unsupported_features_are_refused_before_running(tmp_path, build, what):
    with pytest.raises(wd.UnsupportedGraph) as e:
        _graph(build, tmp_path)
    msg = str(e.value)
    assert msg.startswith("--runner dask does not support " + what) and "\n" not in msg
    assert "use --runner direct or portable" in msg


def test_refused_before_a_client_or_folder_exists(tmp_path, monkeypatch):
    """run() itself refuses before it connects to any cluster (no address is given: a client would start
    one), and leaves nothing in the shuffle folder's parent. (Batch-only DoFns, which the runner would call
    per element, are refused too: Beam's own suite checks it, scripts/beam_suites_on_dask.py.)"""
    p = beam.Pipeline(runner=wd.WinnowDaskRunner(),
                      options=PipelineOptions([f"--dask_shuffle_dir={tmp_path}"]))
    _ = p | beam.Create([("a", 1)]) | beam.ParDo(_Stateful())
    with pytest.raises(wd.UnsupportedGraph, match="state and timers"):
        p.run()
    assert os.listdir(tmp_path) == []


def test_unknown_primitives_are_refused_not_passed_through(tmp_path):
    class _Prim(beam.PTransform):                     # a primitive the runner has no translation for
        def expand(self, pcoll):
            return beam.pvalue.PCollection.from_(pcoll)

    with pytest.raises(wd.UnsupportedGraph, match="the primitive _Prim"):
        _graph(lambda p: p | beam.Create([1]) | _Prim(), tmp_path)


def test_other_beam_versions_are_refused(monkeypatch):
    monkeypatch.setattr(beam, "__version__", "2.99.0")
    p = beam.Pipeline(runner=wd.WinnowDaskRunner(), options=PipelineOptions([]))
    p | beam.Create([1])
    with pytest.raises(wd.UnsupportedGraph, match="apache-beam 2.99.0"):
        p.run()


def test_keys_group_by_their_deterministic_encoding():
    coder = _key_coder(beam.pvalue.PCollection(None, element_type=tuple[str, int]), "gbk")
    items = [("a", 1), ("b", 2), ("a", 3)] * 5
    first = _split_by_key(items, 4, coder)
    assert first == _split_by_key(items, 4, coder)
    # a key is the same bytes in every process, so it lands in one bucket; values keep their order
    buckets_of_a = [j for j, b in enumerate(first) if any(coder.decode(kb) == "a" for kb, _ in b)]
    assert len(buckets_of_a) == 1
    assert [v for kb, v in first[buckets_of_a[0]] if coder.decode(kb) == "a"] == [1, 3] * 5


def test_round_robin_splits_are_deterministic():
    items = list(range(10))
    assert _split_round_robin(items, 4, "Reshuffle-7-3") == _split_round_robin(items, 4, "Reshuffle-7-3")
    starts = {_split_round_robin([0], 4, f"Reshuffle-7-{i}").index([0]) for i in range(16)}
    assert len(starts) > 1                           # small inputs do not all go to bucket 0


def test_shuffle_files_appear_whole(tmp_path):
    path = str(tmp_path / "x" / "bucket.pkl")
    with pytest.raises(RuntimeError):
        with _open(path, "wb") as f:
            f.write(b"half")
            raise RuntimeError("worker died")
    assert os.listdir(tmp_path / "x") == []          # no partial file, no temporary left
    _dump([1, 2, 3], path)
    assert _load(path) == [1, 2, 3] and os.listdir(tmp_path / "x") == ["bucket.pkl"]


class _Stamp(beam.DoFn):
    def process(self, x, ts=beam.DoFn.TimestampParam):
        yield x, float(ts) if ts > window.MIN_TIMESTAMP else "min"


def test_timestamps_survive_steps_and_shuffles():
    """Elements keep the timestamps DoFns gave them through fused steps and a Reshuffle; others stay at
    MIN_TIMESTAMP, as on Beam's other runners."""
    if __import__("sys").platform == "win32":
        pytest.skip("LocalCluster processes")
    with wd.local_cluster(1) as address:
        p = beam.Pipeline(runner=wd.WinnowDaskRunner(),
                          options=PipelineOptions([f"--dask_client_address={address}"]))
        xs = p | beam.Create([1, 2, 3])
        stamped = (xs | beam.Map(lambda x: window.TimestampedValue(x, 10 * x)) | beam.Reshuffle()
                   | "StampAfter" >> beam.ParDo(_Stamp()))
        assert_that(stamped, equal_to([(1, 10.0), (2, 20.0), (3, 30.0)]), label="stamped")
        assert_that(xs | "Plain" >> beam.ParDo(_Stamp()), equal_to([(1, "min"), (2, "min"), (3, "min")]),
                    label="plain")
        result = p.run()
        result.wait_until_finish()
        result.client.close()


def test_a_failing_step_is_named_in_the_error():
    e = _naming_step(ValueError("bad record"), "Documents/Parse")
    assert isinstance(e, ValueError) and str(e) == "bad record [while running 'Documents/Parse']"
    full = OSError(28, "No space left on device")
    assert _naming_step(full, "Write") is full             # errno kept: a full disk is reported as such
