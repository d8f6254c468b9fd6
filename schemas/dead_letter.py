"""Schema of OUT/dead_letter/*.parquet: records that could not be parsed or processed, with the error."""
import pyarrow as pa

DEAD_LETTER_SCHEMA = pa.schema([
    pa.field("source", pa.string(), nullable=False),
    pa.field("position", pa.int64(), nullable=False),
    pa.field("stage", pa.string(), nullable=False),       # parse, normalize, langid, ...
    pa.field("error", pa.string(), nullable=False),
    pa.field("raw", pa.binary(), nullable=False),         # raw bytes, truncated (parse.MAX_RAW_BYTES)
    pa.field("raw_preview", pa.string(), nullable=False), # the same bytes decoded with replacement, for reading
])
