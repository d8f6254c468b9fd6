"""The data card's page: gathered data (gather.CardData) -> index.html text and its charts (file name -> PNG
bytes). Reads no run output; every string from the data is escaped."""
from __future__ import annotations

import html
import math
from importlib import resources

import yaml

from pipeline.report import charts
from pipeline.report.gather import CardData
from schemas.manifest import Manifest

TOP = 30                   # rows of long tables shown; the Parquet files hold the rest
TOP_LANGS = 20
MAX_SHARD_ROWS = 40
SECTIONS = (("summary", "Summary"), ("funnel", "Funnel"), ("drops", "Drop reasons"), ("cleaning", "Cleaning"),
            ("languages", "Languages"), ("lengths", "Document lengths"), ("duplicates", "Duplicates"),
            ("pii", "PII"), ("bias", "Bias ledger"), ("representation", "Representation"),
            ("tokens", "Tokens and shards"), ("config", "Config and versions"))
NO_CHARTS = f"No charts: they need matplotlib, which is not installed ({charts.INSTALL_HINT})."


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


def tiles(items) -> str:
    """items: (label, element id, value text)."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="v" id="{i}">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
        for k, i, v in items) + "</div>"


def group_cell(group: str, flagged: bool = False) -> Raw:
    badges = ('<span class="badge flag">flagged</span>' if flagged else "") + \
             ('<span class="badge amb">ambiguous</span>' if group.endswith("_ambiguous") else "")
    return Raw(esc(group) + badges)


class Card:
    """The page being built: HTML parts plus its charts (file name -> PNG bytes). Without matplotlib
    (`charts.available()` false) charts are left out and the rest of the page is unchanged."""

    def __init__(self, draw: bool = True):
        self.parts, self.images, self.draw = [], {}, draw

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)

    def section(self, sid: str) -> None:
        self.parts.append(f'<h2 id="{sid}">{esc(dict(SECTIONS)[sid])}</h2>')

    def chart(self, name: str, png, alt: str) -> str:
        """The <img> of the chart `png()` draws (PNG bytes); "" when charts are not drawn."""
        if not self.draw:
            return ""
        self.images[name] = png()
        return f'<img src="{esc(name)}" alt="{esc(alt)}">'

    def row(self, *columns: list[str]) -> None:
        """Columns (lists of parts) side by side; empty ones (a chart not drawn) are left out."""
        columns = [c for c in columns if any(c)]
        parts = ['<div class="row"><div>']
        for i, c in enumerate(columns):
            parts += (["</div><div>"] if i else []) + list(c)
        self.add(*parts, "</div></div>")


# ---- sections --------------------------------------------------------------------------------------------

def summary(card: Card, m: Manifest) -> None:
    card.section("summary")
    t, b, near = m.tokens, m.bias, m.dedup.get("near") or {}
    parsed = m.input_records - m.dead_letter
    items = [("input records", "input-records", fmt_int(m.input_records)),
             ("parsed documents", "parsed", fmt_int(parsed)),
             ("kept documents", "kept", fmt_int(m.kept)),
             ("kept / input records", "kept-share", fmt_pct(m.kept / m.input_records) if m.input_records else "–"),
             ("rejected", "rejected", fmt_int(sum(m.rejected.values()))),
             ("dead letter", "dead-letter", fmt_int(m.dead_letter))]
    if m.shards:
        items += [("train tokens", "tokens-train", fmt_int(t.train)),
                  ("val tokens", "tokens-val", fmt_int(t.val))]
    if near:
        items.append(("near-duplicate clusters", "clusters", fmt_int(near.get("clusters", 0))))
    if b:
        items.append(("bias rows flagged", "bias-flagged", fmt_int(b["flagged"])))
    card.add(tiles(items))
    warnings = []
    if m.kept == 0:
        warnings.append("No document was kept: check the drop reasons and the config.")
    if b and b["flagged"]:
        warnings.append(f"Bias gate: {b['flagged']} filter × group rows are removed at more than "
                        f"{b['gate']['max_ratio']}× the filter's rate (see the bias ledger).")
    if near.get("converged") is False:
        warnings.append(f"Near-dedup clustering did not converge in {near['max_rounds']} rounds "
                        f"({near['unconverged_edges']} edges join different clusters).")
    card.add(*(f'<p class="warn">{esc(w)}</p>' for w in warnings))


def funnel_section(card: Card, rows: list[tuple[str, int]], input_records: int) -> None:
    card.section("funnel")
    prev, out = None, []
    n_in = input_records or 1
    for name, n in rows:
        out.append([name, n, Num("") if prev is None else prev - n, Num(fmt_pct(n / n_in))])
        prev = n
    img = card.chart("funnel.png", lambda: charts.barh([r[0] for r in rows], {"docs": [r[1] for r in rows]},
                                                       "documents remaining after each stage"), "funnel bar chart")
    card.row([table(["stage", "documents", "removed here", "of input"], out),
              muted("Each document is counted under its first drop reason; the quality row covers every quality "
                    "filter.")], [img])


def drops_section(card: Card, m: Manifest, errors) -> None:
    card.section("drops")
    rej = sorted(m.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
    if not rej:
        card.add(muted("No document was rejected."))
    else:
        n_in = m.input_records or 1
        rows = [[Raw(f'<span class="id">{esc(k)}</span>'), v, Num(fmt_pct(v / n_in))] for k, v in rej]
        img = card.chart("drop_reasons.png", lambda: charts.barh(
            [k for k, _ in rej[:20]], {"docs": [v for _, v in rej[:20]]}, "documents removed, by first drop reason"),
            "drop reasons chart")
        card.row([table(["reason", "documents", "of input"], rows)], [img])
    lines = sorted(((k, v) for k, v in m.counters.items() if ".line." in k), key=lambda kv: -kv[1])
    if lines:
        card.add("<h3>Lines removed from kept documents</h3>", table(["rule", "lines"], [list(x) for x in lines]))
    if errors:
        card.add("<h3>Dead letters</h3>", table(["stage", "error", "records"],
                                                [[s, e, n] for (s, e), n in errors.most_common(TOP)]))


def cleaning_section(card: Card, m: Manifest) -> None:
    """What was cut out of kept pages (line dedup, line rules), the quality classifier, decontamination, URLs."""
    card.section("cleaning")
    ld = m.line_dedup
    if ld.get("enabled"):
        card.add("<h3>Cross-document line dedup</h3>", muted(
            f"A normalized line in more than {ld.get('max_docs')} distinct documents is kept in one document only."),
            table(["documents cleaned", "lines removed", "characters removed"],
                  [[ld.get("docs_cleaned", 0), ld.get("removed_lines", 0), ld.get("removed_chars", 0)]]))
    else:
        card.add(muted("Cross-document line dedup was disabled in this run."))
    rules = sorted(((k, v) for k, v in m.counters.items() if ".line." in k and not k.startswith("dedup.")),
                   key=lambda kv: (-kv[1], kv[0]))
    if rules:
        card.add("<h3>Lines removed from kept documents, by rule</h3>",
                 table(["rule", "lines"], [[k, v] for k, v in rules[:TOP]]))
    qc = m.quality_classifier
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
    d = m.decon
    if d.get("enabled"):
        card.add("<h3>Benchmark decontamination</h3>", muted(
            f"{d.get('n')}-gram overlap with {len(d.get('sets') or [])} eval set(s), mode {d.get('mode')}."),
            table(["set"], [[x] for x in d.get("sets") or []]),
            table(["documents checked", "dropped (contaminated)", "cleaned (spans cut)", "characters cut"],
                  [[d.get("checked", 0), d.get("contaminated_docs", 0), d.get("docs_cleaned", 0),
                    d.get("removed_chars", 0)]]))
    url = {k: v for k, v in m.rejected.items() if k.startswith("url.")}
    if url:
        card.add("<h3>URL block lists</h3>", table(["reason", "documents"], sorted(url.items())))


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
    img = card.chart("languages.png", lambda: charts.barh(top, {"input (parsed)": [inp[k] for k in top],
                                                               "kept": [kept.get(k, 0) for k in top]},
                                                         "documents by language (log scale)", log=True),
                     "languages chart")
    note = f"{len(order)} languages; top {min(TOP_LANGS, len(order))} by input documents. Input = parsed documents " \
           "(kept + rejected; dead letters have no language)."
    card.row([table(["lang", "input", "input share", "kept", "kept share", "kept rate"], rows), muted(note)], [img])


def lengths_section(card: Card, d: CardData) -> None:
    card.section("lengths")
    hist = d.hist
    labels = {"kept": "kept", "filtered": "rejected by filters", "duplicate": "removed as duplicates"}
    if not any(h.any() for h in hist.values()):
        card.add(muted("No document."))
        return
    rows = [[label, int(hist[k].sum()), Num(fmt_int(round(d.medians[k])) if d.medians[k] is not None else "–")]
            for k, label in labels.items()]
    img = card.chart("lengths.png", lambda: charts.lengths(hist, d.length_edges, labels),
                     "document length histogram")
    card.row([table(["documents", "count", "median chars (≈)"], rows),
              muted("n_chars of kept documents is measured after line cleaning; bins are 10 per decade.")], [img])


def duplicates_section(card: Card, d: CardData) -> None:
    card.section("duplicates")
    m = d.manifest
    cfg, near = m.config["dedup"], m.dedup.get("near") or {}
    near_sizes, exact_sizes = d.near_sizes, d.exact_sizes
    rows = []
    if cfg["exact"]["enabled"]:
        rows.append(["exact (same normalized text)", sum(exact_sizes.values()),
                     sum(k * v for k, v in exact_sizes.items()), max(exact_sizes, default=0),
                     m.rejected.get("dedup.exact_duplicate", 0)])
    if cfg["near"]["enabled"]:
        lsh = f"Jaccard ≥ {near.get('threshold')}, {near.get('bands')} bands × {near.get('rows')} rows"
        rows.append([f"near ({lsh})",
                     sum(near_sizes.values()), sum(k * v for k, v in near_sizes.items()), max(near_sizes, default=0),
                     sum(v for k, v in m.rejected.items() if k.startswith("dedup.near"))])
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
    series = [(n, s) for n, s in (("near-duplicate clusters", near_sizes), ("exact-duplicate groups", exact_sizes))
              if s]
    top = [[Raw(f'<span class="id">{esc(r["cluster_id"])}</span>'), r["size"],
            Raw(f'<span class="id">{esc(r["survivor"] or "–")}</span>'),
            Raw(f'<span class="url">{esc(d.urls.get(r["survivor"]) or "–")}</span>')] for r in d.top_clusters]
    card.row([card.chart("duplicates.png", lambda: charts.group_sizes(series), "duplicate group sizes")],
             [muted("Groups of two or more documents. Exact: the survivor and the documents removed as its copies. "
                    "Near: connected components of LSH candidate pairs (clusters/*.parquet).")])
    if top:
        card.add("<h3>Largest near-duplicate clusters</h3>",
                 table(["cluster (smallest doc_id)", "size", "survivor (kept)", "survivor URL"], top))


def pii_section(card: Card, m: Manifest) -> None:
    card.section("pii")
    p = m.pii
    if not p.enabled:
        card.add(muted("PII detection was disabled in this run."))
        return
    what = "matches replaced by placeholders" if p.mode == "redact" else "counted only"
    card.add(muted(f"Mode: {p.mode} ({what})."))
    card.add(table(["kind", "hits in kept documents"], [[k, v] for k, v in p.hits.items()]) if p.hits
             else muted("No PII found."))


def bias_section(card: Card, m: Manifest, ledger) -> None:
    card.section("bias")
    b = m.bias
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


def representation_section(card: Card, m: Manifest, rep) -> None:
    card.section("representation")
    if not rep:
        card.add(muted("No representation table (bias.enabled: false)."))
        return
    wm = (m.bias or {}).get("women_to_men_docs") or {}
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


def tokens_section(card: Card, m: Manifest) -> None:
    card.section("tokens")
    t, shards, tok = m.tokens, m.shards, m.tokenizer
    if not m.config["tokenize"]["enabled"]:
        card.add(muted("Tokenization was disabled in this run: no shards."))
        return
    card.add(table(["", "value"], [
        ["train tokens", t.train], ["val tokens", t.val],
        ["dropped (each shard's incomplete last block)", t.dropped_tail],
        ["block length (seq_len + 1)", t.seq_len + 1], ["shards", len(shards)],
        ["blocks", sum(s.rows for s in shards)],
        ["tokenizer", f"{tok.source}, vocab {tok.vocab_size:,}, EOS id {tok.eos_id}, "
                      f"sha256 {tok.sha256[:16]}…" if tok else "–"]]))
    if shards:
        rows = [[s.split, Raw(f'<span class="id">{esc(s.path)}</span>'), s.rows, s.docs, s.tokens,
                 Num(f"{s.bytes / 1e6:,.2f}")] for s in shards[:MAX_SHARD_ROWS]]
        card.add(table(["split", "path", "blocks", "docs", "tokens", "MB"], rows))
        if len(shards) > MAX_SHARD_ROWS:
            card.add(muted(f"{len(shards) - MAX_SHARD_ROWS} more shards in manifest.json."))


def config_section(card: Card, m: Manifest) -> None:
    card.section("config")
    card.add(table(["", "value"], [
        ["config hash", Raw(f'<span class="id">{esc(m.config_hash)}</span>')],
        ["schema version", m.schema_version], ["runner", m.runner],
        ["inputs", Raw("<br>".join(esc(i) for i in m.inputs))]]))
    card.add('<div class="row"><div>', "<h3>Config</h3>",
             f"<pre>{esc(yaml.safe_dump(m.config, sort_keys=False, allow_unicode=True))}</pre>", "</div><div>",
             "<h3>Versions</h3>", table(["package", "version"], [[k, v or "–"] for k, v in m.versions.items()]),
             "</div></div>")


def page(title: str, body: list[str]) -> str:
    css = resources.files("pipeline").joinpath("resources/report/style.css").read_text(encoding="utf-8")
    nav = " ".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t in SECTIONS)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>\n{css}</style></head><body>\n<h1>{esc(title)}</h1><nav>{nav}</nav>\n"
            + "\n".join(body) + "\n</body></html>\n")


def render_card(d: CardData, name: str) -> tuple[str, dict[str, bytes]]:
    """The card of run `name`: (index.html text, {chart file name: PNG bytes})."""
    m = d.manifest
    card = Card(draw=charts.available())
    card.add(muted(f"Run {name}: {len(m.inputs)} input file(s), config {m.config_hash[:12]}, "
                   f"schema version {m.schema_version}. Every number comes from manifest.json and the "
                   "Parquet files beside this folder."))
    if not card.draw:
        card.add(f'<p class="warn">{esc(NO_CHARTS)}</p>')
    summary(card, m)
    funnel_section(card, d.funnel, m.input_records)
    drops_section(card, m, d.errors)
    cleaning_section(card, m)
    languages_section(card, d.langs)
    lengths_section(card, d)
    duplicates_section(card, d)
    pii_section(card, m)
    bias_section(card, m, d.ledger)
    representation_section(card, m, d.representation)
    tokens_section(card, m)
    config_section(card, m)
    return page(f"Winnow data card: {name}", card.parts), card.images
