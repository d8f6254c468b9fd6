"""Arrow schemas shared by the pipeline (writer) and the trainer (reader). Change one -> bump SCHEMA_VERSION."""
from importlib import resources

SCHEMA_VERSION = resources.files(__name__).joinpath("SCHEMA_VERSION").read_text().strip()

# Keys of the Parquet footer key-value metadata written on every output file.
META_SCHEMA_VERSION = b"winnow.schema_version"
META_CONFIG_HASH = b"winnow.config_hash"
META_TOKENIZER_HASH = b"winnow.tokenizer_sha256"
META_KIND = b"winnow.kind"


def footer_metadata(kind: str, config_hash: str, tokenizer_hash: str | None) -> dict[bytes, bytes]:
    return {
        META_KIND: kind.encode(),
        META_SCHEMA_VERSION: SCHEMA_VERSION.encode(),
        META_CONFIG_HASH: config_hash.encode(),
        META_TOKENIZER_HASH: (tokenizer_hash or "").encode(),
    }
