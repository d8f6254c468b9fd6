"""The funnel: documents left after each stage, from a manifest's drop-reason counts; printed at the end of a
run and drawn on the data card."""
from __future__ import annotations

import sys

from schemas.manifest import Manifest

# stage -> drop-reason prefixes, in pipeline order; the quality filters own every other reason
_STAGES = (("url filter", ("url.",)), ("langid", ("langid.",)), ("quality", None),
           ("quality classifier", ("quality_classifier.",)), ("pii", ("pii.",)), ("decon", ("decon.",)),
           ("exact dedup", ("dedup.exact",)), ("near dedup", ("dedup.near",)))


def funnel(m: Manifest) -> list[tuple[str, int]]:
    """(stage, docs remaining after it), from input records to kept. Stages that are off and dropped nothing
    are left out."""
    rej = m.rejected
    rows = [("input records", m.input_records)]
    left = m.input_records - m.dead_letter
    rows.append(("parsed (- dead letter)", left))
    others = tuple(p for _, ps in _STAGES if ps for p in ps)
    c = m.config
    off = {"url filter": not (c.get("url_filter") or {}).get("enabled", False),
           "quality classifier": not _classifier_drops((c.get("quality") or {}).get("classifier") or {}),
           "decon": not (c.get("decon") or {}).get("enabled", False)}
    for stage, prefixes in _STAGES:
        if off.get(stage) and not any(k.startswith(prefixes) for k in rej):
            continue
        if prefixes is None:
            n = sum(v for k, v in rej.items() if not k.startswith(others))
        else:
            n = sum(v for k, v in rej.items() if k.startswith(prefixes))
        left -= n
        rows.append((f"after {stage}", left))
    rows.append(("kept", m.kept))
    return rows


def _classifier_drops(c: dict) -> bool:
    return bool(c.get("enabled")) and (c.get("threshold") is not None or c.get("keep_top_fraction") is not None)


def print_funnel(m: Manifest, out=sys.stdout) -> None:
    print("\nWinnow funnel", file=out)
    for name, n in funnel(m):
        print(f"  {name:<24} {n:>10,}", file=out)
    if m.pii.hits:
        print(f"  {'pii hits':<24} " + ", ".join(f"{k} {v:,}" for k, v in m.pii.hits.items())
              + f" ({m.pii.mode})", file=out)
    if m.tokenizer:
        print(f"  {'tokens train / val':<24} {m.tokens.train:>10,} / {m.tokens.val:,}", file=out)
    if m.rejected:
        print("  drop reasons:", file=out)
        for k, v in sorted(m.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {k:<40} {v:>8,}", file=out)
    near = m.dedup.get("near", {})
    if near.get("converged") is False:
        print(f"  WARNING: near-dedup clustering did not converge in {near['max_rounds']} rounds: "
              f"{near['unconverged_edges']} edges join different clusters (raise dedup.near.max_rounds)", file=out)
