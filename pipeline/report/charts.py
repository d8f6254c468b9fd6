"""The data card's PNG charts, drawn with matplotlib's Agg canvas (no pyplot state, so drawing from a thread is
safe). matplotlib is an optional extra: `available()` says whether it can be imported, and the card leaves its
charts out when it cannot."""
from __future__ import annotations

import io

import numpy as np

INSTALL_HINT = "pip install 'winnow-corpus[report]'"


def available() -> bool:
    """Whether matplotlib can be imported (the [report] extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def warm_up() -> None:
    """Import matplotlib and draw one small figure (its font cache), so that a report written later starts warm:
    run in a thread while a job runs on other processes (the dask workers), it takes that time off the end of the
    run. Join the thread before writing a report. Does nothing without matplotlib."""
    if not available():
        return
    fig, ax = figure(1, 1)
    ax.barh(["a"], [1])
    fig.savefig(io.BytesIO(), format="png")


def figure(w=6.4, h=3.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})   # no version string: same data, same bytes
    return buf.getvalue()


def barh(labels, series: dict, title: str, log=False, w=6.4) -> bytes:
    """Horizontal bars, first label on top; series = {legend: values}."""
    fig, ax = figure(w, max(2.2, 0.8 + 0.24 * len(labels) * max(1, len(series) * 0.7)))
    y, h = np.arange(len(labels)), 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        ax.barh(y + i * h - 0.4 + h / 2, vals, height=h, label=name)
    ax.set_yticks(y, [str(s)[:48] for s in labels], fontsize=8)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return png(fig)


def lengths(hist: dict, edges, labels: dict) -> bytes:
    """Step histograms of n_chars on log axes; hist = {key: documents per bin of `edges`}, labels = {key: legend}.
    At least one bin must be non-empty."""
    nz = np.nonzero(sum(hist.values()))[0]
    lo, hi = nz[0], nz[-1] + 1
    fig, ax = figure(7, 3.4)
    for key, label in labels.items():
        if hist[key].any():
            vals = np.where(hist[key][lo:hi] > 0, hist[key][lo:hi], np.nan)   # empty bins: gaps on a log axis
            ax.stairs(vals, edges[lo:hi + 1], baseline=None, label=f"{label} ({hist[key].sum():,})", lw=1.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("characters per document (log)")
    ax.set_ylabel("documents (log)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return png(fig)


def group_sizes(series) -> bytes:
    """Groups per group size; series = [(legend, Counter size -> groups)], none empty."""
    fig, ax = figure(6.4, 3.2)
    biggest = max(max(s) for _, s in series)
    for i, (name, sizes) in enumerate(series):
        xs = np.array(sorted(sizes))
        if biggest <= 30:           # few sizes: bars per size; else a log-log curve (sizes run to thousands)
            ax.bar(xs + (i - (len(series) - 1) / 2) * 0.4, [sizes[x] for x in xs], width=0.4, label=name)
        else:
            ax.plot(xs, [sizes[x] for x in xs], marker="o", ms=4, label=name)
    if biggest > 30:
        ax.set_xscale("log")
    else:
        ax.set_xticks(range(2, biggest + 1))
        ax.set_xlim(1.2, max(biggest, 4) + 0.8)
    ax.set_yscale("log")
    ax.set_xlabel("documents per group" + (" (log)" if biggest > 30 else ""))
    ax.set_ylabel("groups (log)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return png(fig)
