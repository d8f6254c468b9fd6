"""Schema of document rows: OUT/docs (kept) and OUT/rejects (removed; non-empty drop_reasons)."""
import pyarrow as pa

DOCUMENT_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),      # stable id: hash of source + record id (normalize.make_doc_id)
    pa.field("source", pa.string(), nullable=False),      # input file
    pa.field("source_id", pa.string(), nullable=False),   # the record's own `id`, else its position in the file
    pa.field("url", pa.string()),
    pa.field("text", pa.string(), nullable=False),        # normalized (and, for kept docs, line-cleaned) text
    pa.field("n_chars", pa.int64(), nullable=False),
    pa.field("lang", pa.string()),
    pa.field("lang_score", pa.float32()),
    pa.field("drop_reasons", pa.list_(pa.string()), nullable=False),   # empty for kept docs; `<filter>.<rule>`
    pa.field("drop_values", pa.list_(pa.float64())),      # measured value per reason (NaN when none)
    pa.field("quality_signals", pa.map_(pa.string(), pa.float64())),
    pa.field("quality_skipped", pa.list_(pa.string())),   # rules skipped for this language
    pa.field("quality_score", pa.float64()),              # survivor ranking (stages.quality.quality_score x classifier)
    pa.field("quality_classifier_score", pa.float64()),   # P(high quality) of the quality classifier, null when off
    pa.field("quality_bucket", pa.int32()),               # floor(score * quality.classifier.buckets), for mixing
    pa.field("pii_counts", pa.map_(pa.string(), pa.int64())),   # PII hits by kind (email, phone, ip, ip_private)
    pa.field("text_hash", pa.string(), nullable=False),   # exact-dedup key
    pa.field("cluster_id", pa.string()),                  # null when the doc never reached dedup
    pa.field("cluster_size", pa.int32()),
    pa.field("duplicate_of", pa.string()),                # survivor's doc_id for duplicates, else null
    pa.field("metadata", pa.string()),                    # other input fields, JSON
])

COLUMNS = DOCUMENT_SCHEMA.names
