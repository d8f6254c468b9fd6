"""`winnow train` configuration: the `train:` section of Winnow's YAML config file, as a frozen dataclass.

Torch-free and independent of the pipeline: the trainer reads its own section of the one config file
(`load`), and ignores the pipeline's sections. The pipeline's Config embeds TrainConfig (pipeline/config.py
imports this module, never the other way round) so that `winnow config show` and the manifest show it.
The defaults here are those of pipeline/resources/default.yaml's `train:` section; a test keeps them equal.
Unknown keys, wrong types and bad values are errors that name the key.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass
from typing import Optional

import yaml

# Model presets (n_layer, n_head, n_embd)
PRESETS = {
    # trains on a laptop CPU in minutes on the bundled sample
    "tiny": dict(n_layer=4, n_head=4, n_embd=128),
    # GPT-2 small (124M with a 50257 vocabulary): for a GPU
    "gpt2-124m": dict(n_layer=12, n_head=12, n_embd=768),
}

SECTION = "train"


class TrainConfigError(ValueError):
    """A bad `train:` section or an unreadable config file: one line for the user, no traceback."""


@dataclass(frozen=True)
class TrainConfig:
    model: str = "tiny"
    n_layer: Optional[int] = None
    n_head: Optional[int] = None
    n_embd: Optional[int] = None
    dropout: float = 0.0
    batch_size: int = 16
    grad_accum: int = 1
    max_steps: int = 300
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 30
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_interval: int = 50
    eval_batches: int = 20
    log_interval: int = 10
    ckpt_interval: int = 100
    keep_last: int = 3
    seed: int = 1337
    compile: bool = False
    num_workers: int = 2
    verify_shards: bool = True


def validate(tc: TrainConfig) -> None:
    """Values the types allow but training does not."""
    if tc.model not in PRESETS:
        raise TrainConfigError(f"config key 'train.model': unknown preset {tc.model!r} "
                               f"(known: {', '.join(PRESETS)})")
    if tc.batch_size < 1 or tc.grad_accum < 1 or tc.max_steps < 1:
        raise TrainConfigError("config keys 'train.batch_size', 'train.grad_accum', 'train.max_steps' must be >= 1")


def check_type(path: str, tp, value, error: type[Exception] = TrainConfigError):
    """`value` checked against the field type `tp` (int, float, str, bool, list, dict, Optional of those); an int
    where a float is expected becomes a float."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:                      # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return value
        return check_type(path, args[0], value, error)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = origin or tp
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise error(f"config key '{path}': expected {getattr(expected, '__name__', expected)}, "
                    f"got {type(value).__name__} ({value!r})")
    return value


def build(cls, data: dict, path: str, error: type[Exception] = TrainConfigError):
    """A config dataclass from a parsed section at `path` ("" for the root), nested dataclasses included: unknown
    keys and wrong types are one `error` line naming the key (the pipeline builds its whole Config with this)."""
    if not isinstance(data, dict):
        raise error(f"config section '{path or 'root'}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        full = f"{path}.{key}" if path else str(key)
        if key not in fields:
            raise error(f"unknown config key '{full}' (known: {', '.join(fields)})")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = build(tp, value or {}, full, error)
        else:
            kwargs[key] = check_type(full, tp, value, error)
    return cls(**kwargs)


def from_dict(section) -> TrainConfig:
    """TrainConfig from a parsed `train:` section (None or empty: the defaults), type-checked and validated."""
    tc = build(TrainConfig, section or {}, SECTION)
    validate(tc)
    return tc


def read_yaml(path: str, error: type[Exception] = TrainConfigError):
    """The one config file, parsed; every problem with it is one `error` line (the pipeline reads the same file
    through this, with its ConfigError)."""
    if os.path.isdir(path):
        raise error(f"--config {path} is a folder, not a YAML file")
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise error(f"--config {path}: no such file") from None
    except OSError as e:
        raise error(f"--config {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise error(f"--config {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"--config {path}: invalid YAML{where}: {what}") from None


def load(path: Optional[str] = None) -> TrainConfig:
    """The `train:` section of the YAML config file at path (no path, or no such section: the defaults).
    The file's other sections belong to the pipeline and are not read here."""
    if not path:
        return TrainConfig()
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path}: top level must be a mapping")
    return from_dict(data.get(SECTION))
