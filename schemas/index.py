"""Schema of a near-dedup index (`winnow index build`): INDEX/bands-*.parquet + INDEX/index.json.

One row per distinct LSH band key of the indexed corpus, with the smallest doc_id that has it."""
import pyarrow as pa

INDEX_FILE = "index.json"
BANDS_GLOB = "bands*.parquet"                             # the band files, in the index folder
BAND_SCHEMA = pa.schema([
    pa.field("band", pa.int32(), nullable=False),
    pa.field("key", pa.binary(), nullable=False),          # 16-byte blake2b of the band's min-hash values
    pa.field("doc_id", pa.string(), nullable=False),
])
PARAMS = ("num_perm", "seed", "ngram", "bands", "rows", "hash")   # must match the run that uses the index
