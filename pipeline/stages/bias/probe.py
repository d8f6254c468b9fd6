"""Counterfactual probe: does swapping only the identity term in a text flip a quality filter's verdict?

Each template (pipeline/resources/lexicon/probe_templates.yaml) is filled with every term of every group
and with a neutral word; each filter judges every filled text alone, and the whole chain judges it too.
A template flips for (filter, group) when some term of the group gets the opposite verdict to the neutral
fill. Method after the counterfactual token fairness tests of Garg et al. 2019 ("Counterfactual Fairness in
Text Classification through Robustness") applied to data filters, whose group skew Dodge et al. 2021 (C4) showed.
"""
from __future__ import annotations

from collections import Counter
from importlib import resources

import yaml

from pipeline.stages.bias.lexicon import Lexicon
from pipeline.stages.quality import apply_filters

SLOT = "{term}"
NEUTRAL = "local"   # an adjective with no group meaning that fits every slot ("local residents")
CHAIN = "chain"     # the filter name under which the whole chain's verdict is reported


def load_templates(path: str | None = None) -> list[str]:
    """The probe templates at `path` (YAML with a `templates` list); None = the bundled ones."""
    if path is None:
        text = (resources.files("pipeline") / "resources" / "lexicon" / "probe_templates.yaml").read_text(
            encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    data = yaml.safe_load(text)
    templates = data.get("templates") if isinstance(data, dict) else None
    where = path or "probe_templates.yaml"
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
        raise ValueError(f"{where}: expected a non-empty 'templates' list of strings")
    for i, t in enumerate(templates):
        if SLOT not in t:
            raise ValueError(f"{where}: template {i} has no {SLOT} slot")
    return [t.strip() for t in templates]


def fill(template: str, term: str) -> str:
    return template.replace(SLOT, term)


def probe(filters: list[tuple[str, object]], lexicon: Lexicon, templates: list[str], lang: str = "en",
          neutral: str = NEUTRAL) -> list[dict]:
    """One row per (filter, group), the most flipped first.

    Args:
        filters: the (name, thresholds) chain, e.g. `config.quality_filters(cfg)`; each is also judged alone.
    Row keys: filter, group, axis, ambiguous, n_templates, n_texts (templates x terms), n_dropped, drop_rate,
    baseline_dropped (templates whose neutral fill is dropped), flips (templates where some term's verdict
    differs from the neutral fill's), flip_rate (flips / n_templates), flips_to_drop, flips_to_keep,
    flipped_terms, reasons (drop reason -> filled texts).
    """
    assert all(SLOT in t for t in templates), f"every template needs a {SLOT} slot"
    judges = [(name, [(name, th)]) for name, th in filters]
    if len(filters) > 1:
        judges.append((CHAIN, list(filters)))
    verdicts: dict[tuple[int, str], str | None] = {}

    def reason(j: int, text: str) -> str | None:
        if (j, text) not in verdicts:
            rejection = apply_filters(text, lang, judges[j][1]).rejection
            verdicts[j, text] = None if rejection is None else rejection.reason
        return verdicts[j, text]

    rows = []
    for j, (name, _) in enumerate(judges):
        baseline = [reason(j, fill(t, neutral)) is not None for t in templates]
        for group in lexicon.groups:
            reasons: Counter = Counter()
            flipped_terms: set[str] = set()
            to_drop = to_keep = 0
            for t, base_dropped in zip(templates, baseline):
                flipped = False
                for term in group.terms:
                    r = reason(j, fill(t, term))
                    if r is not None:
                        reasons[r] += 1
                    if (r is not None) != base_dropped:
                        flipped = True
                        flipped_terms.add(term)
                to_drop += flipped and not base_dropped
                to_keep += flipped and base_dropped
            n_texts = len(templates) * len(group.terms)
            n_dropped = sum(reasons.values())
            rows.append({
                "filter": name, "group": group.id, "axis": group.axis, "ambiguous": group.ambiguous,
                "n_templates": len(templates), "n_texts": n_texts, "n_dropped": n_dropped,
                "drop_rate": n_dropped / n_texts, "baseline_dropped": sum(baseline),
                "flips": to_drop + to_keep, "flip_rate": (to_drop + to_keep) / len(templates),
                "flips_to_drop": to_drop, "flips_to_keep": to_keep,
                "flipped_terms": sorted(flipped_terms), "reasons": dict(reasons.most_common()),
            })
    rows.sort(key=lambda r: (-r["flip_rate"], -r["drop_rate"], r["filter"], r["group"]))
    return rows
