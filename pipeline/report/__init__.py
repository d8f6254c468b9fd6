"""The data card: OUT/report/index.html and its PNG charts, from a finished run's manifest and Parquet outputs.

One self-contained folder: inline CSS, local PNGs, no scripts and no external assets; every string from the data
is escaped. Written at the end of every run and by `winnow report OUT`.

gather.py reads the run into plain data, render.py turns that data into the page, charts.py draws the PNGs.
matplotlib is the optional extra [report]: without it the card is complete except for its charts, and says so.
"""
from __future__ import annotations

from apache_beam.io.filesystems import FileSystems   # local paths and gs:// alike, as the run writes them

from pipeline.io import files
from pipeline.report.charts import warm_up
from pipeline.report.gather import CardData, gather_run
from pipeline.report.render import SECTIONS, Raw, render_card, table

__all__ = ["REPORT_DIR", "SECTIONS", "CardData", "Raw", "gather_run", "render_card", "table", "warm_up", "write_report"]

REPORT_DIR = "report"


def write_report(out_dir: str, name: str | None = None) -> str:
    """Write OUT/report/ (index.html + PNGs) for the finished run in out_dir; returns the index.html path.
    `name`: the run's name on the card (default: out_dir's; a run writes its card before it is moved)."""
    out_dir = out_dir.rstrip("/")
    name = name or out_dir.rsplit("/", 1)[-1]
    text, images = render_card(gather_run(out_dir), name)
    report = files.join(out_dir, REPORT_DIR)
    if FileSystems.exists(report):          # no stale charts from an earlier report
        FileSystems.delete([report])
    for img, png in images.items():
        files.write_bytes(files.join(report, img), png)
    index = files.join(report, "index.html")
    files.write_bytes(index, text.encode("utf-8"))
    return index
