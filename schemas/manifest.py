"""OUT/manifest.json, typed: what one finished run read, kept, rejected and wrote. The driver writes it
(pipeline/driver/run.py); the data card, `winnow index` and the trainer read it through `read` (or `loads`).
Change a field -> bump SCHEMA_VERSION.

The counts obey one invariant, checked when the manifest is written and when it is read:
input_records == kept + sum(rejected.values()) + dead_letter.

Stage summaries whose keys depend on the stage's configuration (near dedup, line dedup, the quality
classifier, decontamination, the bias ledger) are plain JSON objects; their keys are listed on the field.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Callable, Optional

from schemas import SCHEMA_VERSION

MANIFEST_FILE = "manifest.json"


class ManifestError(ValueError):
    """A manifest that is not valid JSON, has another schema version, misses or adds a key, has a value of the
    wrong type, or breaks the accounting invariant. The message is one line naming the file and the key."""


@dataclass(frozen=True)
class FileEntry:
    """One Parquet file under docs/, rejects/, dead_letter/ or clusters/ (paths relative to OUT)."""
    path: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Shard:
    """One token shard under shards/{train,val}/: `rows` blocks of seq_len + 1 tokens (schemas/shards.py)."""
    path: str
    split: str
    rows: int
    docs: int
    tokens: int
    tokens_dropped: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Tokens:
    train: int
    val: int
    dropped_tail: int       # tokens of the last partial block of each shard, not written
    seq_len: int


@dataclass(frozen=True)
class Tokenizer:
    path: str               # relative to OUT
    sha256: str
    vocab_size: int
    eos_id: int
    source: str             # "train" or the tokenize.tokenizer path the run loaded


@dataclass(frozen=True)
class Pii:
    enabled: bool
    mode: str
    hits: dict[str, int]    # kind (email, ip, ...) -> matches


@dataclass(frozen=True)
class Manifest:
    schema_version: str
    inputs: list[str]                       # the input patterns as given
    runner: str
    input_records: int
    kept: int
    rejected: dict[str, int]                # drop reason -> documents
    dead_letter: int
    tokens: Tokens
    shards: list[Shard]
    files: dict[str, list[FileEntry]]       # docs, rejects, dead_letter, clusters
    tokenizer: Optional[Tokenizer]          # None when tokenize.enabled is false
    dedup: dict                             # {"near": threshold, num_perm, seed, ngram, bands, rows, hash, against,
                                            #  clustering, max_rounds, verify, clusters, unconverged_edges, converged}
    line_dedup: dict                        # enabled, max_docs, min_chars, docs_cleaned, removed_lines, removed_chars
    quality_classifier: dict                # enabled; when enabled: model, sha256, label, threshold,
                                            #  keep_top_fraction, buckets, scored, bucket_counts
    decon: dict                             # enabled; when enabled: sets, n, mode, min_matches, checked,
                                            #  contaminated_docs, docs_cleaned, removed_chars
    bias: Optional[dict]                    # None when bias.enabled is false; else lexicon, gate, ledger_rows,
                                            #  flagged, top_flagged, women_to_men_docs
    pii: Pii
    config_hash: str
    config: dict                            # the whole resolved config (pipeline/config.py, trainer/config.py)
    versions: dict[str, Optional[str]]      # package -> version (None: not installed)
    counters: dict[str, int]                # the runner's Beam counters (empty where a runner cannot report them)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> bytes:
        """The bytes of manifest.json (sorted keys, so the file depends on the content only)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_dict(cls, d, where: str = MANIFEST_FILE) -> "Manifest":
        if not isinstance(d, dict):
            raise ManifestError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if str(d.get("schema_version")) != SCHEMA_VERSION:
            raise ManifestError(f"{where} has schema version {d.get('schema_version')!r}; this Winnow reads "
                                f"{SCHEMA_VERSION!r} (re-run `winnow run` to rewrite it)")
        m = _build(cls, d, where, "")
        m.check_invariant(where)
        return m

    def check_invariant(self, where: str = MANIFEST_FILE) -> None:
        total = self.kept + sum(self.rejected.values()) + self.dead_letter
        if self.input_records != total:
            raise ManifestError(f"{where}: accounting broken: input_records={self.input_records} != "
                                f"kept+rejected+dead_letter={total}")

    def paths(self, kind: str) -> list[str]:
        """Paths (relative to OUT) of the files of one kind: docs, rejects, dead_letter or clusters."""
        return [f.path for f in self.files.get(kind, [])]


def loads(data: bytes | str, where: str = MANIFEST_FILE) -> Manifest:
    try:
        d = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{where} is not valid JSON: {e}") from None
    return Manifest.from_dict(d, where)


def read(path: str, read_bytes: Callable[[str], bytes] | None = None) -> Manifest:
    """The manifest of a finished run: `path` is OUT or OUT/manifest.json, local or a URL. `read_bytes` reads a
    path (the pipeline passes Beam's file systems, the trainer fsspec); by default a local file or fsspec."""
    if not path.rstrip("/").endswith("/" + MANIFEST_FILE) and path.rstrip("/") != MANIFEST_FILE:
        path = path.rstrip("/") + "/" + MANIFEST_FILE
    return loads((read_bytes or _read_bytes)(path), path)


def _read_bytes(path: str) -> bytes:
    if "://" in path:
        import fsspec
        with fsspec.open(path, "rb") as fh:
            return fh.read()
    with open(path, "rb") as fh:
        return fh.read()


def _build(tp, value, where: str, key: str):
    """`value` (parsed JSON) checked against the type `tp` and turned into the dataclasses above."""
    name = key or "the top level"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:                                   # Optional[X]
        return None if value is None else _build(args[0], value, where, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: {name}: expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        missing, extra = [n for n in names if n not in value], sorted(set(value) - set(names))
        if missing or extra:
            raise ManifestError(f"{where}: {name}: " + "; ".join(
                ([f"missing key(s) {', '.join(missing)}"] if missing else [])
                + ([f"unknown key(s) {', '.join(extra)}"] if extra else [])))
        return tp(**{n: _build(hints[n], value[n], where, f"{key}.{n}" if key else n) for n in names})
    if origin is list:
        if not isinstance(value, list):
            raise ManifestError(f"{where}: {name}: expected a list, got {type(value).__name__}")
        return [_build(args[0], v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ManifestError(f"{where}: {name}: expected an object, got {type(value).__name__}")
        if not args:
            return value
        return {k: _build(args[1], v, where, f"{key}.{k}") for k, v in value.items()}
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)) or not isinstance(value, tp):
        raise ManifestError(f"{where}: {name}: expected {tp.__name__}, got {type(value).__name__} ({value!r})")
    return value
