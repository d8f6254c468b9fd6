"""The document record that flows through the stages: a plain dict with the columns of
schemas.documents.DOCUMENT_SCHEMA. Pure helpers to create it and to mark it rejected."""
from __future__ import annotations

import json
import math

from pipeline.stages.normalize import make_doc_id, normalize_text, text_hash
from pipeline.stages.types import RawRecord, Rejection


def new_document(rec: RawRecord) -> dict:
    """Normalize a parsed record into a document row (langid/quality/dedup fields still empty)."""
    text = normalize_text(rec.text)
    return {
        "doc_id": make_doc_id(rec.source, rec.source_id, rec.position, text),
        "source": rec.source,
        "source_id": rec.source_id if rec.source_id is not None else str(rec.position),
        "url": rec.url,
        "text": text,
        "n_chars": len(text),
        "lang": None,
        "lang_score": None,
        "drop_reasons": [],
        "drop_values": [],
        "quality_signals": {},
        "quality_skipped": [],
        "quality_score": None,
        "quality_classifier_score": None,
        "quality_bucket": None,
        "pii_counts": None,
        "text_hash": text_hash(text),
        "cluster_id": None,
        "cluster_size": None,
        "duplicate_of": None,
        "metadata": json.dumps(rec.metadata, sort_keys=True, ensure_ascii=False, default=str) if rec.metadata else None,
    }


def reject(doc: dict, rejection: Rejection) -> dict:
    """Return the doc with `rejection` appended to its drop reasons (the first reason is the one counted)."""
    out = dict(doc)
    out["drop_reasons"] = list(doc["drop_reasons"]) + [rejection.reason]
    value = rejection.value
    out["drop_values"] = list(doc["drop_values"]) + [float("nan") if value is None or
                                                     (isinstance(value, float) and math.isnan(value)) else float(value)]
    return out


def set_text(doc: dict, text: str) -> dict:
    """Replace the text (after line-level cleaning) and the fields derived from it."""
    out = dict(doc)
    out["text"] = text
    out["n_chars"] = len(text)
    out["text_hash"] = text_hash(text)
    return out
