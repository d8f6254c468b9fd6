"""The data card: OUT/report/index.html and its PNG charts, from a finished run's manifest and Parquet outputs.

One self-contained folder: inline CSS, local PNGs (matplotlib's Agg canvas, no pyplot state), no scripts and no
external assets; every string from the data is escaped. Parquet is read column by column in batches (never
`text`), so memory does not grow with the corpus. Called at the end of every run and by `winnow report OUT`.
"""
from __future__ import annotations

import html
import io
import json
import math
import re
from collections import Counter
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from apache_beam.io.filesystems import FileSystems   # local paths and gs:// alike, as the run writes them

from pipeline.io import files
from schemas.manifest import MANIFEST_FILE

REPORT_DIR = "report"
TOP = 30                   # rows of long tables shown; the Parquet files hold the rest
TOP_CLUSTERS = 10
TOP_LANGS = 20
MAX_SHARD_ROWS = 40
LENGTH_EDGES = np.logspace(0, 8, 81)   # n_chars bins: 10 per decade, 1 to 10^8, fixed so batches add up
SECTIONS = (("summary", "Summary"), ("funnel", "Funnel"), ("drops", "Drop reasons"), ("cleaning", "Cleaning"),
            ("languages", "Languages"), ("lengths", "Document lengths"), ("duplicates", "Duplicates"),
            ("pii", "PII"), ("bias", "Bias ledger"), ("representation", "Representation"),
            ("tokens", "Tokens and shards"), ("config", "Config and versions"))


class Num(str):
    """A formatted number: right-aligned cell."""


class Raw(str):
    """Markup built here from escaped parts: inserted as is."""


def esc(v) -> str:
    return html.escape(str(v), quote=True)


def fmt_int(v) -> str:
    return "–" if v is None else f"{v:,}"


def fmt_pct(v, digits=1) -> str:
    return "–" if v is None or math.isnan(v) else f"{100 * v:.{digits}f}%"


def fmt_ratio(v) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.2f}×"


def table(head, rows, row_classes=None) -> str:
    """An HTML table; int cells are formatted, Num cells right-aligned, Raw cells inserted as is."""
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = row_classes[i] if row_classes and row_classes[i] else ""
        cells = []
        for c in row:
            if isinstance(c, int) and not isinstance(c, bool):
                c = Num(fmt_int(c))
            if isinstance(c, Raw):
                cells.append(f"<td>{c}</td>")
            else:
                cells.append(f'<td class="n">{esc(c)}</td>' if isinstance(c, Num) else f"<td>{esc(c)}</td>")
        out.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>" if cls else "<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"


def muted(text: str) -> str:
    return f'<p class="muted">{esc(text)}</p>'


class Card:
    """The page being built: HTML parts plus its charts (file name -> PNG bytes)."""

    def __init__(self):
        self.parts, self.images = [], {}

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)

    def section(self, sid: str) -> None:
        self.parts.append(f'<h2 id="{sid}">{esc(dict(SECTIONS)[sid])}</h2>')

    def chart(self, name: str, fig, alt: str) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        self.images[name] = buf.getvalue()
        return f'<img src="{esc(name)}" alt="{esc(alt)}">'


def warm_up() -> None:
    """Import matplotlib and draw one small figure (its font cache), so that a report written later starts
    warm: run in a thread while a job runs on other processes (the dask workers), it takes ~1 s off the end of
    the run. Join the thread before writing a report."""
    fig, ax = figure(1, 1)
    ax.barh(["a"], [1])
    fig.savefig(io.BytesIO(), format="png")


def figure(w=6.4, h=3.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def barh(labels, series: dict, title: str, log=False, w=6.4):
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
    return fig


# ---- reading the outputs -------------------------------------------------------------------------------

def scan(out_dir: str, rel_paths, columns):
    """Record batches of `columns` (those present) from the Parquet files at rel_paths under out_dir."""
    for rel in rel_paths:
        with FileSystems.open(files.join(out_dir, rel), compression_type="uncompressed") as fh:
            pf = pq.ParquetFile(fh)
            cols = [c for c in columns if c in pf.schema_arrow.names]
            yield from pf.iter_batches(batch_size=65536, columns=cols)


def read_table(out_dir: str, rel: str):
    path = files.join(out_dir, rel)
    return pq.read_table(io.BytesIO(files.read_bytes(path))).to_pylist() if FileSystems.exists(path) else None


def doc_stats(out_dir: str, manifest: dict, survivors: set) -> dict:
    """One pass over docs/ and rejects/: languages, n_chars histograms, exact-duplicate groups, survivors' URLs."""
    langs = {"input": Counter(), "kept": Counter()}
    hist = {k: np.zeros(len(LENGTH_EDGES) - 1, np.int64) for k in ("kept", "filtered", "duplicate")}
    exact_of, urls = Counter(), {}

    def add_hist(key, n):
        hist[key] += np.histogram(np.clip(n, 1, LENGTH_EDGES[-1]), LENGTH_EDGES)[0]

    for kind in ("docs", "rejects"):
        paths = [f["path"] for f in manifest["files"].get(kind, [])]
        cols = ["lang", "n_chars"] + (["doc_id", "url"] if kind == "docs" else ["drop_reasons", "duplicate_of"])
        for b in scan(out_dir, paths, cols):
            counts = pc.value_counts(pc.fill_null(b.column("lang"), "(none)")).to_pylist()
            for targets in ([langs["input"], langs["kept"]] if kind == "docs" else [langs["input"]]):
                targets.update({c["values"]: c["counts"] for c in counts})
            n = b.column("n_chars").to_numpy(zero_copy_only=False)
            if kind == "docs":
                add_hist("kept", n)
                hit = pc.is_in(b.column("doc_id"), pa.array(sorted(survivors), pa.string()))
                for r in b.filter(hit).select(["doc_id", "url"]).to_pylist():
                    urls[r["doc_id"]] = r["url"]
                continue
            first = pc.list_element(b.column("drop_reasons"), 0)   # rejects always hold a reason
            dup = pc.fill_null(pc.starts_with(first, "dedup."), False).to_numpy(zero_copy_only=False)
            add_hist("duplicate", n[dup])
            add_hist("filtered", n[~dup])
            of = pc.filter(b.column("duplicate_of"), pc.fill_null(pc.equal(first, "dedup.exact_duplicate"), False))
            exact_of.update({c["values"]: c["counts"] for c in pc.value_counts(of).to_pylist()})
    # a group = the survivor + its exact duplicates
    return {"langs": langs, "hist": hist, "urls": urls, "exact_sizes": Counter(n + 1 for n in exact_of.values())}


def cluster_stats(out_dir: str, manifest: dict) -> dict:
    """Near-duplicate cluster sizes (clusters/: clusters of two or more docs) and the largest clusters."""
    sizes, top = Counter(), []
    paths = [f["path"] for f in manifest["files"].get("clusters", [])]
    for b in scan(out_dir, paths, ["cluster_id", "size", "survivor", "members_truncated"]):
        sizes.update(Counter(b.column("size").to_pylist()))
        k = min(TOP_CLUSTERS, b.num_rows)
        top.extend(pc.take(b, pc.select_k_unstable(b, k, [("size", "descending")])).to_pylist() if k else [])
        top = sorted(top, key=lambda r: (-r["size"], r["cluster_id"]))[:TOP_CLUSTERS]
    return {"sizes": sizes, "top": top}


def dead_letter_errors(out_dir: str, manifest: dict) -> Counter:
    """(stage, error kind) -> dead letters; the kind is the error text before its first ':', digits as N."""
    errors = Counter()
    for b in scan(out_dir, [f["path"] for f in manifest["files"].get("dead_letter", [])], ["stage", "error"]):
        for r in b.to_pylist():
            errors[(r["stage"] or "", re.sub(r"\d+", "N", (r["error"] or "").split(":", 1)[0])[:120])] += 1
    return errors


# ---- sections --------------------------------------------------------------------------------------------

def tiles(items) -> str:
    """items: (label, element id, value text)."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="v" id="{i}">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
        for k, i, v in items) + "</div>"


def summary(card: Card, m: dict) -> None:
    card.section("summary")
    t, b, near = m.get("tokens") or {}, m.get("bias"), (m.get("dedup") or {}).get("near") or {}
    parsed = m["input_records"] - m["dead_letter"]
    items = [("input records", "input-records", fmt_int(m["input_records"])),
             ("parsed documents", "parsed", fmt_int(parsed)),
             ("kept documents", "kept", fmt_int(m["kept"])),
             ("kept / input records", "kept-share",
              fmt_pct(m["kept"] / m["input_records"]) if m["input_records"] else "–"),
             ("rejected", "rejected", fmt_int(sum(m["rejected"].values()))),
             ("dead letter", "dead-letter", fmt_int(m["dead_letter"]))]
    if m.get("shards"):
        items += [("train tokens", "tokens-train", fmt_int(t.get("train", 0))),
                  ("val tokens", "tokens-val", fmt_int(t.get("val", 0)))]
    if near:
        items.append(("near-duplicate clusters", "clusters", fmt_int(near.get("clusters", 0))))
    if b:
        items.append(("bias rows flagged", "bias-flagged", fmt_int(b["flagged"])))
    card.add(tiles(items))
    warnings = []
    if m["kept"] == 0:
        warnings.append("No document was kept: check the drop reasons and the config.")
    if b and b["flagged"]:
        warnings.append(f"Bias gate: {b['flagged']} filter × group rows are removed at more than "
                        f"{b['gate']['max_ratio']}× the filter's rate (see the bias ledger).")
    if near.get("converged") is False:
        warnings.append(f"Near-dedup clustering did not converge in {near['max_rounds']} rounds "
                        f"({near['unconverged_edges']} edges join different clusters).")
    card.add(*(f'<p class="warn">{esc(w)}</p>' for w in warnings))


def funnel_section(card: Card, m: dict) -> None:
    from pipeline.run import funnel    # run.py calls write_report: import at use, not at load
    card.section("funnel")
    rows, prev, out = funnel(m), None, []
    n_in = m["input_records"] or 1
    for name, n in rows:
        out.append([name, n, Num("") if prev is None else prev - n, Num(fmt_pct(n / n_in))])
        prev = n
    img = card.chart("funnel.png", barh([r[0] for r in rows], {"docs": [r[1] for r in rows]},
                                        "documents remaining after each stage"), "funnel bar chart")
    card.add('<div class="row"><div>', table(["stage", "documents", "removed here", "of input"], out),
             muted("Each document is counted under its first drop reason; the quality row covers every quality "
                   "filter."), "</div><div>", img, "</div></div>")


def drops_section(card: Card, m: dict, errors: Counter) -> None:
    card.section("drops")
    rej = sorted(m["rejected"].items(), key=lambda kv: (-kv[1], kv[0]))
    if not rej:
        card.add(muted("No document was rejected."))
    else:
        n_in = m["input_records"] or 1
        rows = [[Raw(f'<span class="id">{esc(k)}</span>'), v, Num(fmt_pct(v / n_in))] for k, v in rej]
        img = card.chart("drop_reasons.png", barh([k for k, _ in rej[:20]], {"docs": [v for _, v in rej[:20]]},
                                                  "documents removed, by first drop reason"), "drop reasons chart")
        card.add('<div class="row"><div>', table(["reason", "documents", "of input"], rows),
                 "</div><div>", img, "</div></div>")
    lines = sorted(((k, v) for k, v in (m.get("counters") or {}).items() if ".line." in k), key=lambda kv: -kv[1])
    if lines:
        card.add("<h3>Lines removed from kept documents</h3>", table(["rule", "lines"], [list(x) for x in lines]))
    if errors:
        card.add("<h3>Dead letters</h3>", table(["stage", "error", "records"],
                                                [[s, e, n] for (s, e), n in errors.most_common(TOP)]))


def languages_section(card: Card, langs: dict) -> None:
    card.section("languages")
    inp, kept = langs["input"], langs["kept"]
    if not inp:
        card.add(muted("No parsed document."))
        return
    n_in, n_kept = sum(inp.values()), sum(kept.values())
    order = [k for k, _ in sorted(inp.items(), key=lambda kv: (-kv[1], kv[0]))]
    rows = [[lang, inp[lang], Num(fmt_pct(inp[lang] / n_in)), kept.get(lang, 0),
             Num(fmt_pct(kept.get(lang, 0) / n_kept) if n_kept else "–"),
             Num(fmt_pct(kept.get(lang, 0) / inp[lang]))] for lang in order[:TOP_LANGS]]
    top = order[:15]
    img = card.chart("languages.png", barh(top, {"input (parsed)": [inp[k] for k in top],
                                                 "kept": [kept.get(k, 0) for k in top]},
                                           "documents by language (log scale)", log=True), "languages chart")
    note = f"{len(order)} languages; top {min(TOP_LANGS, len(order))} by input documents. Input = parsed documents " \
           "(kept + rejected; dead letters have no language)."
    card.add('<div class="row"><div>', table(["lang", "input", "input share", "kept", "kept share", "kept rate"],
                                             rows), muted(note), "</div><div>", img, "</div></div>")


def approx_median(hist) -> float | None:
    if not hist.sum():
        return None
    i = int(np.searchsorted(np.cumsum(hist), hist.sum() / 2))
    return float(np.sqrt(LENGTH_EDGES[i] * LENGTH_EDGES[i + 1]))   # geometric centre of the median's bin


def lengths_section(card: Card, stats: dict) -> None:
    card.section("lengths")
    hist = stats["hist"]
    labels = {"kept": "kept", "filtered": "rejected by filters", "duplicate": "removed as duplicates"}
    nz = np.nonzero(sum(hist.values()))[0]
    if not len(nz):
        card.add(muted("No document."))
        return
    lo, hi = nz[0], nz[-1] + 1
    fig, ax = figure(7, 3.4)
    for key, label in labels.items():
        if hist[key].any():
            vals = np.where(hist[key][lo:hi] > 0, hist[key][lo:hi], np.nan)   # empty bins: gaps on a log axis
            ax.stairs(vals, LENGTH_EDGES[lo:hi + 1], baseline=None, label=f"{label} ({hist[key].sum():,})", lw=1.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("characters per document (log)")
    ax.set_ylabel("documents (log)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    rows = [[label, int(hist[k].sum()), Num(fmt_int(round(approx_median(hist[k]))) if hist[k].any() else "–")]
            for k, label in labels.items()]
    card.add('<div class="row"><div>', table(["documents", "count", "median chars (≈)"], rows),
             muted("n_chars of kept documents is measured after line cleaning; bins are 10 per decade."),
             "</div><div>", card.chart("lengths.png", fig, "document length histogram"), "</div></div>")


def duplicates_section(card: Card, m: dict, clusters: dict, stats: dict) -> None:
    card.section("duplicates")
    cfg, near = m["config"]["dedup"], (m.get("dedup") or {}).get("near") or {}
    near_sizes, exact_sizes = clusters["sizes"], stats["exact_sizes"]
    rows = []
    if cfg["exact"]["enabled"]:
        rows.append(["exact (same normalized text)", sum(exact_sizes.values()),
                     sum(k * v for k, v in exact_sizes.items()), max(exact_sizes, default=0),
                     m["rejected"].get("dedup.exact_duplicate", 0)])
    if cfg["near"]["enabled"]:
        lsh = f"Jaccard ≥ {near.get('threshold')}, {near.get('bands')} bands × {near.get('rows')} rows"
        rows.append([f"near ({lsh})",
                     sum(near_sizes.values()), sum(k * v for k, v in near_sizes.items()), max(near_sizes, default=0),
                     sum(v for k, v in m["rejected"].items() if k.startswith("dedup.near"))])
    if not rows:
        card.add(muted("Deduplication was disabled in this run."))
        return
    card.add(table(["kind", "groups of 2+", "documents in them", "largest", "removed"], rows))
    if near.get("converged") is not None:
        card.add(muted(f"Near-dedup clustering: {near.get('clustering')}, "
                       + ("converged." if near["converged"]
                          else f"NOT converged ({near['unconverged_edges']} edges).")))
    if not near_sizes and not exact_sizes:
        card.add(muted("No duplicates found."))
        return
    fig, ax = figure(6.4, 3.2)
    series = [(n, s) for n, s in (("near-duplicate clusters", near_sizes), ("exact-duplicate groups", exact_sizes))
              if s]
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
    top = [[Raw(f'<span class="id">{esc(r["cluster_id"])}</span>'), r["size"],
            Raw(f'<span class="id">{esc(r["survivor"] or "–")}</span>'),
           Raw(f'<span class="url">{esc(stats["urls"].get(r["survivor"]) or "–")}</span>')] for r in clusters["top"]]
    card.add('<div class="row"><div>', card.chart("duplicates.png", fig, "duplicate group sizes"), "</div><div>",
             muted("Groups of two or more documents. Exact: the survivor and the documents removed as its copies. "
                   "Near: connected components of LSH candidate pairs (clusters/*.parquet)."), "</div></div>")
    if top:
        card.add("<h3>Largest near-duplicate clusters</h3>",
                 table(["cluster (smallest doc_id)", "size", "survivor (kept)", "survivor URL"], top))


def cleaning_section(card: Card, m: dict) -> None:
    """What was cut out of kept pages (line dedup, line rules), the quality classifier, decontamination, URLs."""
    card.section("cleaning")
    counters = m.get("counters") or {}
    ld = m.get("line_dedup") or {}
    if ld.get("enabled"):
        card.add("<h3>Cross-document line dedup</h3>", muted(
            f"A normalized line in more than {ld.get('max_docs')} distinct documents is kept in one document only."),
            table(["documents cleaned", "lines removed", "characters removed"],
                  [[ld.get("docs_cleaned", 0), ld.get("removed_lines", 0), ld.get("removed_chars", 0)]]))
    else:
        card.add(muted("Cross-document line dedup was disabled in this run."))
    rules = sorted(((k, v) for k, v in counters.items() if ".line." in k and not k.startswith("dedup.")),
                   key=lambda kv: (-kv[1], kv[0]))
    if rules:
        card.add("<h3>Lines removed from kept documents, by rule</h3>",
                 table(["rule", "lines"], [[k, v] for k, v in rules[:TOP]]))
    qc = m.get("quality_classifier") or {}
    if qc.get("enabled"):
        cut = (f"drops below {qc['threshold']}" if qc.get("threshold") is not None else
               f"keeps the top {fmt_pct(qc['keep_top_fraction'])}" if qc.get("keep_top_fraction") is not None
               else "scores only (drops nothing)")
        card.add("<h3>Quality classifier</h3>", muted(
            f"Model {qc.get('model')} (sha256 {str(qc.get('sha256'))[:12]}), label {qc.get('label')}: {cut}. "
            "Documents scored, by score bucket (quality_bucket in docs/):"))
        counts = qc.get("bucket_counts") or []
        n = len(counts)
        if sum(counts):
            card.add(table(["bucket", "score", "documents"],
                           [[i, f"{i / n:.2f}-{(i + 1) / n:.2f}", c] for i, c in enumerate(counts)]))
        else:
            card.add(muted("No document reached the classifier."))
    d = m.get("decon") or {}
    if d.get("enabled"):
        card.add("<h3>Benchmark decontamination</h3>", muted(
            f"{d.get('n')}-gram overlap with {len(d.get('sets') or [])} eval set(s), mode {d.get('mode')}."),
            table(["set"], [[x] for x in d.get("sets") or []]),
            table(["documents checked", "dropped (contaminated)", "cleaned (spans cut)", "characters cut"],
                  [[d.get("checked", 0), d.get("contaminated_docs", 0), d.get("docs_cleaned", 0),
                    d.get("removed_chars", 0)]]))
    url = {k: v for k, v in (m.get("rejected") or {}).items() if k.startswith("url.")}
    if url:
        card.add("<h3>URL block lists</h3>", table(["reason", "documents"], sorted(url.items())))


def pii_section(card: Card, m: dict) -> None:
    card.section("pii")
    p = m.get("pii") or {}
    if not p.get("enabled"):
        card.add(muted("PII detection was disabled in this run."))
        return
    hits = p.get("hits") or {}
    what = "matches replaced by placeholders" if p.get("mode") == "redact" else "counted only"
    card.add(muted(f"Mode: {p.get('mode')} ({what})."))
    card.add(table(["kind", "hits in kept documents"], [[k, v] for k, v in hits.items()]) if hits
             else muted("No PII found."))


def group_cell(group: str, flagged: bool = False) -> Raw:
    badges = ('<span class="badge flag">flagged</span>' if flagged else "") + \
             ('<span class="badge amb">ambiguous</span>' if group.endswith("_ambiguous") else "")
    return Raw(esc(group) + badges)


def bias_section(card: Card, m: dict, ledger) -> None:
    card.section("bias")
    b = m.get("bias")
    if not b or ledger is None:
        card.add(muted("The bias ledger was disabled in this run (bias.enabled: false)."))
        return
    g = b["gate"]
    card.add(muted(f"Lexicon: {b['lexicon']}. Gate: flag a filter × group whose removal rate, at the lower end of its "
                   f"95% Wilson interval, exceeds {g['max_ratio']}× the filter's overall rate, with at least "
                   f"{g['min_docs']} documents reaching the filter ({'enforced' if g['enforce'] else 'warning only'}). "
                   f"{b['flagged']} of {b['ledger_rows']} rows flagged. Groups marked ambiguous use terms that often "
                   "mean something else (a colour, a direction)."))
    # flagged rows, then the highest ratio lower bounds among groups big enough for the gate (one document
    # removed out of one reached says nothing)
    key = lambda r: (-(r["ratio_low"] if r["ratio_low"] is not None else -1), r["filter"], r["group"])
    rows = sorted((r for r in ledger if r["kind"] != "all"), key=key)
    shown = ([r for r in rows if r["flagged"]]
             + [r for r in rows if not r["flagged"] and r["reached"] >= g["min_docs"]][:TOP])
    head = ["filter", "group", "reached", "removed", "rate", "overall rate", "ratio", "Wilson 95% of rate",
            "ratio lower bound"]
    cells = [[r["filter"], group_cell(r["group"], r["flagged"]), r["reached"], r["removed"],
              Num(fmt_pct(r["removal_rate"])), Num(fmt_pct(r["overall_rate"])), Num(fmt_ratio(r["ratio"])),
              Num(f"{fmt_pct(r['wilson_low'])} – {fmt_pct(r['wilson_high'])}"), Num(fmt_ratio(r["ratio_low"]))]
             for r in shown]
    card.add(f"<h3>Flagged rows, then the most disproportionate with at least {g['min_docs']} documents reached "
             "(by the ratio's lower bound)</h3>",
             table(head, cells, ["flagged" if r["flagged"] else "" for r in shown]) if shown
             else muted(f"No group reached a filter with {g['min_docs']} documents or more."))
    overall = [r for r in ledger if r["kind"] == "all"]
    if overall:
        card.add("<h3>Each filter over all documents it saw</h3>", table(
            ["filter", "reached", "removed", "rate"],
            [[r["filter"], r["reached"], r["removed"], Num(fmt_pct(r["removal_rate"]))] for r in overall]))


def representation_section(card: Card, m: dict, rep) -> None:
    card.section("representation")
    if not rep:
        card.add(muted("No representation table (bias.enabled: false)."))
        return
    wm = (m.get("bias") or {}).get("women_to_men_docs") or {}
    fmt = lambda v: "–" if v is None else f"{v:.3f}"
    card.add(tiles([("women / men docs, input", "women-men-input", fmt(wm.get("input"))),
                    ("women / men docs, kept", "women-men-kept", fmt(wm.get("kept")))]))
    head = ["group", "input docs", "kept docs", "input share", "kept share", "change", "kept rate", "bad-word docs",
            "bad-word rate"]

    any_kept = any(r["kept_docs"] for r in rep if r["kind"] == "all")
    kept_share = lambda r: Num(fmt_pct(r["kept_share"], 2) if any_kept else "–")      # no kept doc: no share

    def rows_of(kinds, n):
        sel = sorted((r for r in rep if r["kind"] in kinds),
                     key=lambda r: (-abs(r["kept_share"] - r["input_share"]), r["group"]))
        return [[group_cell(r["group"]), r["input_docs"], r["kept_docs"], Num(fmt_pct(r["input_share"], 2)),
                 kept_share(r), Num(f"{100 * (r['kept_share'] - r['input_share']):+.2f} pp" if any_kept else "–"),
                 Num(fmt_pct(r["kept_docs"] / r["input_docs"]) if r["input_docs"] else "–"), r["badword_docs"],
                 Num(fmt_pct(r["badword_rate"]))] for r in sel[:n]], len(sel)
    for title, kinds, n in (("Identity groups", ("identity",), TOP), ("Languages and TLDs", ("lang", "tld"), 15),
                            ("All documents", ("all",), 1)):
        rows, total = rows_of(kinds, n)
        if rows:
            card.add(f"<h3>{esc(title)}</h3>", table(head, rows),
                     muted(f"{len(rows)} of {total} groups, biggest change in share first. Share = documents "
                           "mentioning the group / all documents; bad-word docs = input documents mentioning the group "
                           "with an LDNOOBW word.") if total > 1 else "")


def tokens_section(card: Card, m: dict) -> None:
    card.section("tokens")
    t, shards, tok = m.get("tokens") or {}, m.get("shards") or [], m.get("tokenizer")
    if not m["config"]["tokenize"]["enabled"]:
        card.add(muted("Tokenization was disabled in this run: no shards."))
        return
    card.add(table(["", "value"], [
        ["train tokens", t.get("train", 0)], ["val tokens", t.get("val", 0)],
        ["dropped (each shard's incomplete last block)", t.get("dropped_tail", 0)],
        ["block length (seq_len + 1)", (t.get("seq_len") or 0) + 1], ["shards", len(shards)],
        ["blocks", sum(s["rows"] for s in shards)],
        ["tokenizer", f"{tok['source']}, vocab {tok['vocab_size']:,}, EOS id {tok['eos_id']}, "
                      f"sha256 {tok['sha256'][:16]}…" if tok else "–"]]))
    if shards:
        rows = [[s["split"], Raw(f'<span class="id">{esc(s["path"])}</span>'), s["rows"], s["docs"], s["tokens"],
                 Num(f"{s.get('bytes', 0) / 1e6:,.2f}")] for s in shards[:MAX_SHARD_ROWS]]
        card.add(table(["split", "path", "blocks", "docs", "tokens", "MB"], rows))
        if len(shards) > MAX_SHARD_ROWS:
            card.add(muted(f"{len(shards) - MAX_SHARD_ROWS} more shards in manifest.json."))


def config_section(card: Card, m: dict) -> None:
    card.section("config")
    card.add(table(["", "value"], [
        ["config hash", Raw(f'<span class="id">{esc(m["config_hash"])}</span>')],
        ["schema version", m.get("schema_version", "–")], ["runner", m.get("runner", "–")],
        ["inputs", Raw("<br>".join(esc(i) for i in m.get("inputs", [])))]]))
    card.add('<div class="row"><div>', "<h3>Config</h3>",
             f"<pre>{esc(yaml.safe_dump(m['config'], sort_keys=False, allow_unicode=True))}</pre>", "</div><div>",
             "<h3>Versions</h3>", table(["package", "version"], [[k, v or "–"] for k, v in m["versions"].items()]),
             "</div></div>")


def page(title: str, body: list[str]) -> str:
    css = resources.files("pipeline").joinpath("resources/report/style.css").read_text(encoding="utf-8")
    nav = " ".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t in SECTIONS)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>\n{css}</style></head><body>\n<h1>{esc(title)}</h1><nav>{nav}</nav>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(out_dir: str, name: str | None = None) -> str:
    """Write OUT/report/ (index.html + PNGs) for the finished run in out_dir; returns the index.html path.
    `name`: the run's name on the card (default: out_dir's; a run writes its card before it is moved)."""
    out_dir = out_dir.rstrip("/")
    m = json.loads(files.read_bytes(files.join(out_dir, MANIFEST_FILE)))
    clusters = cluster_stats(out_dir, m)
    stats = doc_stats(out_dir, m, {r["survivor"] for r in clusters["top"] if r["survivor"]})
    card = Card()
    name = name or out_dir.rsplit("/", 1)[-1]
    card.add(muted(f"Run {name}: {len(m.get('inputs', []))} input file(s), config {m['config_hash'][:12]}, "
                   f"schema version {m.get('schema_version')}. Every number comes from manifest.json and the "
                   "Parquet files beside this folder."))
    summary(card, m)
    funnel_section(card, m)
    drops_section(card, m, dead_letter_errors(out_dir, m))
    cleaning_section(card, m)
    languages_section(card, stats["langs"])
    lengths_section(card, stats)
    duplicates_section(card, m, clusters, stats)
    pii_section(card, m)
    bias_section(card, m, read_table(out_dir, "bias/ledger.parquet"))
    representation_section(card, m, read_table(out_dir, "bias/representation.parquet"))
    tokens_section(card, m)
    config_section(card, m)

    report = files.join(out_dir, REPORT_DIR)
    if FileSystems.exists(report):          # no stale charts from an earlier report
        FileSystems.delete([report])
    for img, png in card.images.items():
        files.write_bytes(files.join(report, img), png)
    index = files.join(report, "index.html")
    files.write_bytes(index, page(f"Winnow data card: {name}", card.parts).encode("utf-8"))
    return index
