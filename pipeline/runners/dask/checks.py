"""Graph-build-time refusals: UnsupportedGraph, and the checks that raise it.

What this runner cannot run correctly (windowing other than the global window, unbounded data, DoFn features it
would silently skip, keys without a deterministic encoding) is refused while the graph is built, before any
client or shuffle folder exists, in one line that names what is refused and the step.
"""
from __future__ import annotations

from apache_beam import pvalue
from apache_beam.runners.common import DoFnSignature
from apache_beam.transforms.window import GlobalWindows


class UnsupportedGraph(ValueError):
    """A pipeline this runner cannot run correctly, refused before anything runs (one line: what, and where)."""

    def __init__(self, what: str, label: str = ""):
        where = f" (step {label!r})" if label else ""
        super().__init__(f"--runner dask does not support {what}{where}: use --runner direct or portable")


def _check_windowing(node) -> None:
    """Only the global window and bounded data: this runner keeps each element's timestamp but has no
    watermarks or triggers, and does not merge or assign windows in its shuffles. A node's outputs only: its
    inputs (main and side) are the outputs of nodes visited before it."""
    for pcoll in node.outputs.values():
        if not isinstance(pcoll, pvalue.PCollection):
            continue
        if not pcoll.is_bounded:
            raise UnsupportedGraph("unbounded PCollections", node.full_label)
        try:
            windowing = pcoll.windowing if pcoll.producer else None
        except Exception:                 # a transform that cannot say: judged by its consumers
            windowing = None
        if windowing is not None and not isinstance(windowing.windowfn, GlobalWindows):
            raise UnsupportedGraph(f"windowing other than the global window ({type(windowing.windowfn).__name__})",
                                   node.full_label)
        if windowing is not None and not windowing.is_default():
            raise UnsupportedGraph("triggers, allowed lateness or a non-default timestamp combiner", node.full_label)


def _check_dofn(fn, label: str) -> None:
    """DoFn features this runner would silently skip: refused."""
    sig = DoFnSignature(fn)
    if not fn._process_defined:
        raise UnsupportedGraph("batched DoFns without a per-element process method", label)
    if sig.is_stateful_dofn():                # state or timers
        raise UnsupportedGraph("state and timers", label)
    if sig.is_splittable_dofn() or sig.is_unbounded_per_element():
        raise UnsupportedGraph("splittable DoFns", label)
    if sig.has_bundle_finalization():
        raise UnsupportedGraph("bundle finalization", label)


def _key_coder(pcoll, label: str):
    """The deterministic coder of a grouped PCollection's keys (Beam's own rule for GroupByKey): keys are
    grouped and hashed by their encoding. A key type without a deterministic encoding (a pickled object,
    a float's representation, ...) is refused, as Beam's other runners refuse it."""
    from apache_beam import coders
    coder = coders.registry.get_coder(pcoll.element_type)
    try:
        key_coder = coder.key_coder()
    except (ValueError, AttributeError, NotImplementedError):
        key_coder = coders.registry.get_coder(object)
    try:
        return key_coder.as_deterministic_coder(label)
    except (ValueError, TypeError) as e:     # TypeError: Beam 2.77's PickleCoder.as_deterministic_coder
        raise UnsupportedGraph(f"keys without a deterministic coder ({str(e).splitlines()[0]})", label) from None
