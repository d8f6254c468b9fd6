"""Keys of OUT/manifest.json (the contract later tools and the trainer rely on)."""
MANIFEST_FILE = "manifest.json"
REQUIRED_KEYS = ("schema_version", "input_records", "kept", "rejected", "dead_letter", "tokens", "shards",
                 "tokenizer", "config_hash", "config", "versions")


def check_invariant(m: dict) -> None:
    total = m["kept"] + sum(m["rejected"].values()) + m["dead_letter"]
    if m["input_records"] != total:
        raise AssertionError(f"accounting broken: input_records={m['input_records']} != kept+rejected+dead_letter={total}")
