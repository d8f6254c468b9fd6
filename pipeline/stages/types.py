"""Plain data types passed between the pure per-document stages (no Beam import)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class RawRecord:
    """One parsed input record, before normalization."""
    source: str                      # input file path (or URL) as given by the reader
    position: int                    # 0-based record index inside the source file
    source_id: Optional[str]         # the record's own `id` (as str), None when absent
    url: Optional[str]
    text: str
    metadata: dict = field(default_factory=dict)   # other fields, JSON-serialisable values


@dataclass
class DeadLetter:
    """A record that could not be parsed; written to OUT/dead_letter/ with its error."""
    source: str
    position: int
    error: str                       # short human-readable error, e.g. "bad JSON: Expecting value ..."
    raw: bytes                       # raw bytes of the record, truncated (see parse.MAX_RAW_BYTES)
    stage: str = "parse"


@dataclass(frozen=True)
class Rejection:
    """Why a document was dropped: reason `<filter>.<rule>` plus the measured value."""
    reason: str
    value: Optional[float] = None
