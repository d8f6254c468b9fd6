"""Pure-Python document quality filters (no Beam): registry, profiles, thresholds and the filter chain.

Each filter module has NAME, a frozen `Thresholds` dataclass and `check(text, lang, th) -> QualityResult`.
`apply_filters` runs a chain in order; `profiles` reproduce C4, Gopher and FineWeb.
"""
from __future__ import annotations

import dataclasses
from types import ModuleType

from pipeline.stages.quality import boilerplate, c4, c4_badwords, fineweb, gopher_quality, gopher_repetition, length
from pipeline.stages.quality.base import QualityResult

__all__ = ["FILTERS", "PROFILES", "PROFILE_OVERRIDES", "QualityResult", "apply_filters", "default_thresholds",
           "profile_filters", "profile_thresholds", "quality_score", "thresholds_from_dict"]

# Ordered registry: one line per filter.
FILTERS: dict[str, ModuleType] = {
    m.NAME: m for m in (length, boilerplate, c4, gopher_quality, gopher_repetition, fineweb, c4_badwords)
}

PROFILES: dict[str, list[str]] = {
    # TFDS c4.py: length (is_valid_length), clean_page, then the badwords filter.
    "c4": ["length", "c4", "c4_badwords"],
    # Gopher App. A: quality filters, then repetition removal.
    "gopher": ["length", "gopher_quality", "gopher_repetition"],
    # datatrove examples/fineweb.py: GopherRepetition, GopherQuality, C4Quality(filter_no_terminal_punct=
    # False), FineWebQuality, in that order.
    "fineweb": ["length", "gopher_repetition", "gopher_quality", "c4", "fineweb"],
    # Winnow: boilerplate line removal for WET-like text, then the FineWeb chain on what is left.
    "web": ["length", "boilerplate", "gopher_repetition", "gopher_quality", "c4", "fineweb"],
    "all": list(FILTERS),
}

# Threshold overrides a profile applies on top of the defaults.
PROFILE_OVERRIDES: dict[str, dict[str, dict]] = {
    # FineWeb ran datatrove's C4QualityFilter with filter_no_terminal_punct=False and its defaults, which
    # follow the C4 paper (3 words per line, 5 sentences), not TFDS (5 and 3).
    "fineweb": {"c4": {"disabled_rules": ("no_terminal_punct",), "min_words_per_line": 3,
                       "min_sentences": 5}},
    # FineWeb's settings, relaxed where technical documentation failed them (bench/bench_web_quality.py,
    # 118 stdlib pydoc pages after boilerplate removal: p90 duplicate-line char fraction 0.20, duplicate
    # 5-gram chars 0.19, 10-gram 0.14, FineWeb char_dup_ratio 0.29; "{" in any code sample).
    # C4's 3-words-per-line rule runs in boilerplate (`few_words`, with context: headings and labels inside
    # the text stay); c4 keeps min_words_per_line 1, so it still drops empty lines (main-text snippets kept
    # on the trafilatura pages 91.3% -> 92.2%, boilerplate removed 85.5% -> 85.2%). C4's policy-line rule is
    # off: boilerplate's `legal` removes the same notices, but keeps a privacy-policy page's own sentences
    # (web profile on the trafilatura pages: main-text snippets 94.9% -> 95.3%, boilerplate removed unchanged).
    "web": {"c4": {"disabled_rules": ("no_terminal_punct", "curly_bracket", "policy"), "min_words_per_line": 1,
                   "min_sentences": 5},
            "gopher_repetition": {"max_dup_line_frac": 0.40, "max_dup_para_frac": 0.40,
                                  "max_dup_line_char_frac": 0.30, "max_dup_para_char_frac": 0.30,
                                  "max_dup_5gram_char_frac": 0.30, "max_dup_6gram_char_frac": 0.29,
                                  "max_dup_7gram_char_frac": 0.28, "max_dup_8gram_char_frac": 0.27,
                                  "max_dup_9gram_char_frac": 0.26, "max_dup_10gram_char_frac": 0.25},
            "fineweb": {"max_char_dup_ratio": 0.30}},
}


def _module(name: str) -> ModuleType:
    if name not in FILTERS:
        raise ValueError(f"quality: unknown filter {name!r} (known: {', '.join(FILTERS)})")
    return FILTERS[name]


def default_thresholds(name: str):
    """The default Thresholds instance of filter `name`."""
    return _module(name).Thresholds()


def _coerce(name: str, key: str, value, default):
    """`value` converted to the type of the field's default; ValueError naming the key otherwise."""
    where = f"quality.{name}: key {key!r}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(f"{where} expects {type(default).__name__}, got {type(value).__name__} {value!r}")
    return value


def thresholds_from_dict(name: str, d: dict):
    """Thresholds of filter `name` with the keys of `d` overriding the defaults (the YAML section
    `quality.<name>`). Unknown key or wrong type -> ValueError naming the key."""
    default = default_thresholds(name)
    fields = {f.name for f in dataclasses.fields(default)}
    for key in d:
        if key not in fields:
            raise ValueError(f"quality.{name}: unknown key {key!r}")
    return dataclasses.replace(default, **{k: _coerce(name, k, v, getattr(default, k)) for k, v in d.items()})


def profile_thresholds(profile: str, name: str, overrides: dict | None = None):
    """Thresholds of filter `name` in `profile`: defaults, then PROFILE_OVERRIDES, then `overrides`."""
    if profile not in PROFILES:
        raise ValueError(f"quality: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    return thresholds_from_dict(name, {**PROFILE_OVERRIDES.get(profile, {}).get(name, {}), **(overrides or {})})


def profile_filters(profile: str, overrides: dict[str, dict] | None = None) -> list[tuple[str, object]]:
    """The (name, Thresholds) chain of a profile; `overrides` maps filter name -> keys to override."""
    if profile not in PROFILES:
        raise ValueError(f"quality: unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    return [(name, profile_thresholds(profile, name, (overrides or {}).get(name))) for name in PROFILES[profile]]


def apply_filters(text: str, lang: str, filters: list[tuple[str, object]]) -> QualityResult:
    """Run `filters` in order; each sees the text cleaned by the previous ones; stop at the first rejection.

    On rejection, `text` is the text the rejecting filter saw and `line_counts` is empty (it counts lines
    removed from kept documents only); signals and skips gathered so far are kept.
    """
    signals: dict[str, float] = {}
    line_counts: dict[str, int] = {}
    skipped: list[str] = []
    for name, th in filters:
        result = _module(name).check(text, lang, th)
        signals.update(result.signals)
        skipped.extend(result.skipped)
        if result.rejection is not None:
            return QualityResult(text, result.rejection, signals, {}, skipped)
        for key, n in result.line_counts.items():
            line_counts[key] = line_counts.get(key, 0) + n
        text = result.text
    return QualityResult(text, None, signals, line_counts, skipped)


# Signals that measure repeated content, as fractions in [0, 1].
_REPETITION_SIGNALS = (
    *(f"gopher_repetition.{s}" for s in ("dup_line_char_frac", "dup_para_char_frac",
                                          *(f"top_{n}gram_char_frac" for n in gopher_repetition.TOP_NS),
                                          *(f"dup_{n}gram_char_frac" for n in gopher_repetition.DUP_NS))),
    "fineweb.char_dup_ratio",
)


def quality_score(signals: dict[str, float], lang_score: float) -> float:
    """Score in [0, 1] to pick the survivor among duplicates (higher is better):
    `lang_score * (1 - r)`, where r is the largest repetition fraction measured (the gopher_repetition
    character fractions and fineweb.char_dup_ratio; 0 when none was measured). A confidently identified,
    non-repetitive document wins; ties are left to the caller.
    """
    r = max((signals[k] for k in _REPETITION_SIGNALS if k in signals), default=0.0)
    return min(max(lang_score, 0.0), 1.0) * (1.0 - min(max(r, 0.0), 1.0))
