"""Schemas of OUT/bias/: the removal-disparity ledger and the representation table."""
import pyarrow as pa

LEDGER_SCHEMA = pa.schema([
    pa.field("filter", pa.string(), nullable=False),       # langid, <quality filter>, pii, exact_dedup, near_dedup
    pa.field("kind", pa.string(), nullable=False),         # identity | lang | tld | all
    pa.field("group", pa.string(), nullable=False),        # "religion/muslim", "lang/de", "tld/org", "all"
    pa.field("reached", pa.int64(), nullable=False),       # docs mentioning the group that reached the filter
    pa.field("removed", pa.int64(), nullable=False),       # ... of which this filter removed
    pa.field("removal_rate", pa.float64(), nullable=False),
    pa.field("overall_rate", pa.float64(), nullable=False),   # the filter's removal rate over all docs it saw
    pa.field("ratio", pa.float64()),                       # removal_rate / overall_rate (null when overall is 0)
    pa.field("wilson_low", pa.float64(), nullable=False),  # 95% Wilson interval of removal_rate
    pa.field("wilson_high", pa.float64(), nullable=False),
    pa.field("ratio_low", pa.float64()),                   # wilson_low / overall_rate: the gate's statistic
    pa.field("flagged", pa.bool_(), nullable=False),       # ratio_low > bias.gate.max_ratio and reached >= min_docs
])

REPRESENTATION_SCHEMA = pa.schema([
    pa.field("kind", pa.string(), nullable=False),
    pa.field("group", pa.string(), nullable=False),
    pa.field("input_docs", pa.int64(), nullable=False),    # parsed docs mentioning the group
    pa.field("kept_docs", pa.int64(), nullable=False),
    pa.field("input_share", pa.float64(), nullable=False), # of all parsed docs
    pa.field("kept_share", pa.float64(), nullable=False),  # of all kept docs
    pa.field("badword_docs", pa.int64(), nullable=False),  # input docs mentioning the group with an LDNOOBW hit
    pa.field("badword_rate", pa.float64(), nullable=False),
])
