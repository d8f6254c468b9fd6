"""Schema of OUT/clusters/*.parquet: one row per near-duplicate cluster of two or more documents."""
import pyarrow as pa

CLUSTER_SCHEMA = pa.schema([
    pa.field("cluster_id", pa.string(), nullable=False),   # the smallest doc_id in the cluster
    pa.field("size", pa.int64(), nullable=False),
    pa.field("survivor", pa.string()),                     # the kept doc (best quality_score, then smallest doc_id)
    pa.field("members", pa.list_(pa.string()), nullable=False),   # doc_ids, sorted, at most 1000
    pa.field("members_truncated", pa.bool_(), nullable=False),
])
