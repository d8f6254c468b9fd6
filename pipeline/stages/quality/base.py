"""The verdict every quality filter returns (`QualityResult`) and the `disabled_rules` check."""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.stages.types import Rejection


@dataclass
class QualityResult:
    """One filter's (or a chain's) verdict on a document."""
    text: str                      # possibly cleaned text (c4 removes lines)
    rejection: Rejection | None    # first rejection, or None if kept
    signals: dict[str, float] = field(default_factory=dict)   # "<filter>.<signal>" -> measured value
    line_counts: dict[str, int] = field(default_factory=dict)  # "c4.line.<rule>" -> lines removed (kept docs)
    skipped: list[str] = field(default_factory=list)          # "<filter>.<rule>" skipped for this language

    @property
    def kept(self) -> bool:
        return self.rejection is None


def check_rule_names(filter_name: str, disabled_rules: tuple[str, ...], rules: tuple[str, ...]) -> None:
    """Raise ValueError naming the first entry of `disabled_rules` that is not one of `rules`."""
    for rule in disabled_rules:
        if rule not in rules:
            raise ValueError(f"quality.{filter_name}: unknown rule {rule!r} in disabled_rules "
                             f"(known: {', '.join(rules)})")
