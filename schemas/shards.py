"""Schema of token shards OUT/shards/{train,val}/*.parquet: one row = one block of seq_len + 1 tokens.

Documents are packed back to back, each followed by EOS. `doc_ids[i]` starts (or, for i == 0, may continue
from the previous block) at offset `doc_starts[i]` of `input_ids`; `langs`/`sources` are parallel to `doc_ids`.
The trainer reads x = input_ids[:-1], y = input_ids[1:].
"""
import pyarrow as pa

SHARD_SCHEMA = pa.schema([
    pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
    pa.field("doc_ids", pa.list_(pa.string()), nullable=False),
    pa.field("doc_starts", pa.list_(pa.int32()), nullable=False),
    pa.field("langs", pa.list_(pa.string())),
    pa.field("sources", pa.list_(pa.string())),
])

SPLITS = ("train", "val")
# The end-of-document token packed after each document: the first of these that the tokenizer has (GPT-2's
# first). The trainer's held-out evaluation packs text the same way.
EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<eos>", "[SEP]", "<|end_of_text|>")


def eos_id(tok) -> int:
    """The id of the end-of-document token of an HF `tokenizers.Tokenizer`."""
    for t in EOS_CANDIDATES:
        i = tok.token_to_id(t)
        if i is not None:
            return i
    raise ValueError(f"tokenizer has none of the end-of-document tokens {EOS_CANDIDATES}")
ROWS_PER_ROW_GROUP = 256   # streaming reads: a row group of 256 x 1025 int32 tokens is ~1 MB
