"""Winnow configuration: one YAML file -> frozen dataclasses, one section per stage.

Defaults live in `resources/default.yaml` (each number cites its source); a user file overrides any subset.
Unknown keys and wrong types are errors that name the key.
The `train:` section belongs to the trainer (trainer/config.py: its dataclass and checks, torch-free; the trainer
reads the section itself); it is part of Config so that `winnow config show` and the manifest show it. Reading
the file and building dataclasses from it is shared too (trainer.config.read_yaml, build). The dependency goes
one way: the pipeline imports trainer.config, the trainer imports nothing from the pipeline.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

import yaml

from trainer.config import TrainConfig, TrainConfigError, build, read_yaml
from trainer.config import validate as validate_train


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class InputConfig:
    max_record_bytes: int = 10_000_000
    html_main_content: bool = True
    chunk_records: int = 256


@dataclass(frozen=True)
class LangIdConfig:
    enabled: bool = True
    languages: Optional[list] = None
    min_score: float = 0.65
    model: Optional[str] = None
    batch_size: int = 512


@dataclass(frozen=True)
class UrlFilterSection:
    enabled: bool = False
    block: list = field(default_factory=list)    # UT1 category folders or list files
    allow: list = field(default_factory=list)

    def stage_config(self):
        from pipeline.stages.urlfilter import UrlFilterConfig
        return UrlFilterConfig(enabled=self.enabled, block=tuple(self.block), allow=tuple(self.allow))


@dataclass(frozen=True)
class ClassifierSection:
    enabled: bool = True
    model: Optional[str] = None               # None = the bundled model (pipeline/resources/quality_model)
    label: Optional[str] = None               # None = __label__hq
    threshold: Optional[float] = None         # drop docs scoring below
    keep_top_fraction: Optional[float] = None  # or keep this fraction of the best-scoring docs
    buckets: int = 10
    batch_size: int = 512

    @property
    def cuts(self) -> bool:
        """Whether the classifier drops documents (a threshold or a top fraction is set), not only scores."""
        return self.enabled and (self.threshold is not None or self.keep_top_fraction is not None)


@dataclass(frozen=True)
class QualityConfig:
    enabled: bool = True
    profile: str = "web"
    filters: Optional[list] = None            # None = the profile's list, in the profile's order
    thresholds: dict = field(default_factory=dict)   # filter name -> {threshold: value} overrides
    classifier: ClassifierSection = field(default_factory=ClassifierSection)


@dataclass(frozen=True)
class ExactDedupConfig:
    enabled: bool = True


@dataclass(frozen=True)
class NearDedupConfig:
    enabled: bool = True
    threshold: float = 0.75
    num_perm: int = 128
    ngram: int = 5
    seed: int = 1
    bands: Optional[int] = None
    rows: Optional[int] = None
    max_bucket_size: int = 10_000
    verify: bool = False
    clustering: str = "distributed"
    max_rounds: int = 8
    against: Optional[str] = None


@dataclass(frozen=True)
class LineDedupSection:
    enabled: bool = True
    max_docs: int = 10
    min_chars: int = 1

    def stage_config(self):
        from pipeline.stages.dedup.lines import LineDedupConfig
        return LineDedupConfig(enabled=self.enabled, max_docs=self.max_docs, min_chars=self.min_chars)


@dataclass(frozen=True)
class DedupConfig:
    line: LineDedupSection = field(default_factory=LineDedupSection)
    exact: ExactDedupConfig = field(default_factory=ExactDedupConfig)
    near: NearDedupConfig = field(default_factory=NearDedupConfig)


@dataclass(frozen=True)
class DeconSection:
    enabled: bool = False
    sets: list = field(default_factory=list)  # eval sets: JSONL files and/or indexes from `winnow decon build`
    n: int = 13
    text_fields: Optional[list] = None
    min_item_tokens: int = 8
    mode: str = "drop"
    min_matches: int = 1
    window_chars: int = 200
    cover_k: int = 3
    cover_max_tokens: Optional[int] = None
    cover_max_df: int = 10
    cover_fraction: float = 0.5
    cover_min_hits: int = 2

    def stage_config(self):
        from pipeline.stages.decon import DeconConfig
        d = dataclasses.asdict(self)
        return DeconConfig(**{**d, "sets": tuple(self.sets),
                              "text_fields": tuple(self.text_fields) if self.text_fields is not None else None})


@dataclass(frozen=True)
class TokenizeConfig:
    enabled: bool = True
    tokenizer: str = "train"
    vocab_size: Optional[int] = 8192
    seq_len: int = 256
    val_fraction: float = 0.02
    train_sample_docs: int = 20_000
    train_max_chars_per_doc: int = 20_000
    batch_size: int = 256


@dataclass(frozen=True)
class OutputConfig:
    docs_per_file: int = 50_000
    blocks_per_shard: int = 8192
    resume: bool = True


@dataclass(frozen=True)
class PiiSection:
    enabled: bool = True
    mode: str = "redact"
    kinds: list = field(default_factory=lambda: ["email", "phone", "ip"])
    redact_private_ips: bool = False
    max_per_doc: Optional[int] = None

    def stage_config(self):
        from pipeline.stages.pii import PiiConfig
        return PiiConfig(enabled=self.enabled, mode=self.mode, kinds=tuple(self.kinds),
                         redact_private_ips=self.redact_private_ips, max_per_doc=self.max_per_doc)


@dataclass(frozen=True)
class BiasGateConfig:
    max_ratio: float = 2.0
    min_docs: int = 30
    enforce: bool = False


@dataclass(frozen=True)
class BiasConfig:
    enabled: bool = True
    lexicon: Optional[str] = None
    gate: BiasGateConfig = field(default_factory=BiasGateConfig)


@dataclass(frozen=True)
class Config:
    input: InputConfig = field(default_factory=InputConfig)
    url_filter: UrlFilterSection = field(default_factory=UrlFilterSection)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    pii: PiiSection = field(default_factory=PiiSection)
    decon: DeconSection = field(default_factory=DeconSection)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    bias: BiasConfig = field(default_factory=BiasConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def hash(self) -> str:
        """Hash of the pipeline sections (what shapes the outputs); the `train` section is not part of it."""
        d = {k: v for k, v in self.to_dict().items() if k != "train"}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "thresholds":
            out[k] = _merge(out[k], v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):     # thresholds: merge per filter
            out[k] = {**out[k], **{f: {**out[k].get(f, {}), **(t or {})} for f, t in v.items()}}
        else:
            out[k] = v
    return out


def default_yaml_text() -> str:
    return resources.files("pipeline").joinpath("resources/default.yaml").read_text()


def load_config(path: Optional[str] = None, overrides: Optional[dict] = None) -> Config:
    """Defaults from resources/default.yaml, then the user's file, then `overrides` (dicts merge deeply)."""
    data = yaml.safe_load(default_yaml_text()) or {}
    if path:
        user = read_yaml(path, ConfigError)
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        data = _merge(data, user)
    if overrides:
        data = _merge(data, overrides)
    cfg = build(Config, data, "", ConfigError)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    from pipeline.stages import quality
    q = cfg.quality
    if q.profile not in quality.PROFILES:
        raise ConfigError(f"config key 'quality.profile': unknown profile {q.profile!r} "
                          f"(known: {', '.join(quality.PROFILES)})")
    for name in (q.filters or []):
        if name not in quality.FILTERS:
            raise ConfigError(f"config key 'quality.filters': unknown filter {name!r} (known: {', '.join(quality.FILTERS)})")
    for name, th in q.thresholds.items():
        if name not in quality.FILTERS:
            raise ConfigError(f"config key 'quality.thresholds.{name}': unknown filter")
        try:
            quality.thresholds_from_dict(name, th or {})
        except (ValueError, TypeError) as e:
            raise ConfigError(f"config key 'quality.thresholds.{name}': {e}") from None
    try:
        cfg.pii.stage_config()
    except ValueError as e:
        raise ConfigError(f"config key {e}") from None
    for name, section in (("decon", cfg.decon), ("dedup.line", cfg.dedup.line), ("url_filter", cfg.url_filter)):
        try:
            section.stage_config()
        except (ValueError, TypeError) as e:
            raise ConfigError(f"config section '{name}': {e}") from None
    for key, paths in (("decon.sets", cfg.decon.sets if cfg.decon.enabled else []),
                       ("url_filter.block", cfg.url_filter.block if cfg.url_filter.enabled else []),
                       ("url_filter.allow", cfg.url_filter.allow if cfg.url_filter.enabled else []),
                       ("quality.classifier.model", [cfg.quality.classifier.model]
                        if cfg.quality.classifier.enabled and cfg.quality.classifier.model else [])):
        for path in paths:
            if "://" not in str(path) and not os.path.exists(path):
                raise ConfigError(f"config key '{key}': no such file or folder {path}")
    if cfg.decon.enabled and not cfg.decon.sets:
        raise ConfigError("config key 'decon.sets' is empty: name eval sets (JSONL) or indexes (winnow decon build)")
    if cfg.url_filter.enabled and not (cfg.url_filter.block or cfg.url_filter.allow):
        raise ConfigError("config key 'url_filter.block' is empty: name UT1 category folders or list files")
    c = cfg.quality.classifier
    if c.threshold is not None and c.keep_top_fraction is not None:
        raise ConfigError("config keys 'quality.classifier.threshold' and 'keep_top_fraction' exclude each other")
    if c.threshold is not None and not 0 <= c.threshold <= 1:
        raise ConfigError("config key 'quality.classifier.threshold' must be in [0, 1]")
    if c.keep_top_fraction is not None and not 0 < c.keep_top_fraction <= 1:
        raise ConfigError("config key 'quality.classifier.keep_top_fraction' must be in (0, 1]")
    if c.buckets < 1 or c.batch_size < 1:
        raise ConfigError("config keys 'quality.classifier.buckets' and 'batch_size' must be >= 1")
    n = cfg.dedup.near
    if not 0 < n.threshold < 1:
        raise ConfigError("config key 'dedup.near.threshold' must be in (0, 1)")
    if n.clustering not in ("distributed", "local"):
        raise ConfigError("config key 'dedup.near.clustering' must be 'distributed' or 'local'")
    if n.max_rounds < 1:
        raise ConfigError("config key 'dedup.near.max_rounds' must be >= 1")
    if (n.bands is None) != (n.rows is None):
        raise ConfigError("config keys 'dedup.near.bands' and 'dedup.near.rows' must be set together")
    if n.bands is not None and n.bands * n.rows > n.num_perm:
        raise ConfigError("config: dedup.near.bands * rows must be <= num_perm")
    t = cfg.tokenize
    if not 0 <= t.val_fraction < 1:
        raise ConfigError("config key 'tokenize.val_fraction' must be in [0, 1)")
    if t.seq_len < 1:
        raise ConfigError("config key 'tokenize.seq_len' must be >= 1")
    try:
        validate_train(cfg.train)
    except TrainConfigError as e:
        raise ConfigError(str(e)) from None
    if t.tokenizer == "train" and not t.vocab_size:
        raise ConfigError("config key 'tokenize.vocab_size' is required when tokenize.tokenizer is 'train'")


def quality_filters(cfg: Config) -> list:
    """The (name, thresholds) list the quality stage applies, in order: filter defaults, then the profile's
    overrides (e.g. FineWeb's C4 settings), then the user's `quality.thresholds.<name>`."""
    from pipeline.stages import quality
    names = cfg.quality.filters or quality.PROFILES[cfg.quality.profile]
    return [(name, quality.profile_thresholds(cfg.quality.profile, name, cfg.quality.thresholds.get(name)))
            for name in names]
