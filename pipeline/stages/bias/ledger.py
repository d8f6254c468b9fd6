"""The removal-disparity ledger, as pure functions: per document, which filters it reached and which removed
it; per (filter, group), counts -> removal rate, its ratio to the filter's overall rate, 95% Wilson interval.

A document rejected with first reason `<filter>.<rule>` reached every filter before that one (in pipeline
order) and that one; a kept document reached all. Groups: identity groups the text mentions (Matcher),
plus `lang/<code>`, `tld/<tld>` and `all`. Dodge et al. 2021 (C4 documentation) motivates the measurement.
"""
from __future__ import annotations

import math
from typing import Iterable, Iterator
from urllib.parse import urlsplit

Z95 = 1.959963984540054


def filter_of(reason: str) -> str:
    """Drop reason -> the ledger's filter name ('gopher_quality.too_few_words' -> 'gopher_quality')."""
    if reason.startswith("dedup.exact"):
        return "exact_dedup"
    if reason.startswith("dedup.near"):
        return "near_dedup"
    return reason.split(".", 1)[0]


def tld_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    host = host.rstrip(".")
    if not host or "." not in host or host.replace(".", "").isdigit():
        return None
    return host.rsplit(".", 1)[1].lower()


def doc_groups(identity: Iterable[str], lang: str | None, url: str | None) -> list[tuple[str, str]]:
    """(kind, group) pairs a doc belongs to."""
    out = [("all", "all")] + [("identity", g) for g in sorted(identity)]
    if lang:
        out.append(("lang", f"lang/{lang}"))
    tld = tld_of(url)
    if tld:
        out.append(("tld", f"tld/{tld}"))
    return out


def events(order: list[str], first_reason: str | None, groups: list[tuple[str, str]]) \
        -> Iterator[tuple[tuple[str, str, str], tuple[int, int]]]:
    """((filter, kind, group), (reached, removed)) for every filter the doc reached."""
    stop = filter_of(first_reason) if first_reason else None
    for f in order:
        removed = int(f == stop)
        for kind, g in groups:
            yield (f, kind, g), (1, removed)
        if removed:
            return


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of the proportion k/n (Wilson 1927)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, min(p, centre - half))      # exact at the ends, no rounding past p
    hi = 1.0 if k == n else min(1.0, max(p, centre + half))
    return lo, hi


def ledger_rows(counts: dict, max_ratio: float, min_docs: int) -> list[dict]:
    """counts: (filter, kind, group) -> (reached, removed). Rows of schemas.bias.LEDGER_SCHEMA, flagged first."""
    overall = {f: (r, k) for (f, kind, g), (r, k) in counts.items() if kind == "all"}
    rows = []
    for (f, kind, g), (reached, removed) in counts.items():
        o_reached, o_removed = overall.get(f, (0, 0))
        o_rate = o_removed / o_reached if o_reached else 0.0
        rate = removed / reached if reached else 0.0
        lo, hi = wilson(removed, reached)
        ratio = rate / o_rate if o_rate else None
        ratio_low = lo / o_rate if o_rate else None
        flagged = bool(kind != "all" and ratio_low is not None and ratio_low > max_ratio and reached >= min_docs)
        rows.append({"filter": f, "kind": kind, "group": g, "reached": reached, "removed": removed,
                     "removal_rate": rate, "overall_rate": o_rate, "ratio": ratio, "wilson_low": lo,
                     "wilson_high": hi, "ratio_low": ratio_low, "flagged": flagged})
    rows.sort(key=lambda r: (not r["flagged"], -(r["ratio_low"] or 0.0), r["filter"], r["group"]))
    return rows


def representation_rows(counts: dict) -> list[dict]:
    """counts: (kind, group) -> (input_docs, kept_docs, badword_docs), with ('all', 'all') the totals."""
    n_in, n_kept, _ = counts.get(("all", "all"), (0, 0, 0))
    rows = []
    for (kind, g), (i, k, b) in sorted(counts.items()):
        rows.append({"kind": kind, "group": g, "input_docs": i, "kept_docs": k,
                     "input_share": i / n_in if n_in else 0.0, "kept_share": k / n_kept if n_kept else 0.0,
                     "badword_docs": b, "badword_rate": b / i if i else 0.0})
    return rows
