"""trainer/config.py: the `train:` section of the YAML config, loaded by the trainer itself."""
import dataclasses
import os

import pytest
import yaml

from trainer.config import PRESETS, TrainConfig, TrainConfigError, from_dict, load


def _write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_no_file_or_no_section_gives_the_defaults(tmp_path):
    assert load(None) == TrainConfig()
    assert load(_write(tmp_path, {"tokenize": {"seq_len": 64}})) == TrainConfig()
    assert load(_write(tmp_path, "train:\n", "empty.yaml")) == TrainConfig()
    assert load(_write(tmp_path, "", "blank.yaml")) == TrainConfig()


def test_defaults_equal_the_pipelines_default_yaml():
    """The pipeline's Config shows the train section from resources/default.yaml; the trainer's own defaults
    must be the same values."""
    from pipeline.config import load_config
    assert load_config().train == TrainConfig()
    assert type(load_config().train) is TrainConfig


def test_loads_the_train_section_and_ignores_the_pipelines(tmp_path):
    path = _write(tmp_path, {"quality": {"profile": "no-such-profile"},          # the pipeline's business
                             "decon": {"enabled": True, "sets": ["/nowhere.jsonl"]},
                             "train": {"model": "gpt2-124m", "max_steps": 7, "lr": 1, "n_layer": 2,
                                       "compile": True}})
    tc = load(path)
    assert tc == dataclasses.replace(TrainConfig(), model="gpt2-124m", max_steps=7, lr=1.0, n_layer=2, compile=True)
    assert isinstance(tc.lr, float)


@pytest.mark.parametrize("section, message", [
    ({"model": "huge"}, "config key 'train.model': unknown preset 'huge' (known: tiny, gpt2-124m)"),
    ({"batch_size": 0}, "config keys 'train.batch_size', 'train.grad_accum', 'train.max_steps' must be >= 1"),
    ({"grad_accum": 0}, "config keys 'train.batch_size', 'train.grad_accum', 'train.max_steps' must be >= 1"),
    ({"max_steps": -1}, "config keys 'train.batch_size', 'train.grad_accum', 'train.max_steps' must be >= 1"),
    ({"max_step": 3}, "unknown config key 'train.max_step' (known: model, n_layer, "),
    ({"max_steps": "ten"}, "config key 'train.max_steps': expected int, got str ('ten')"),
    ({"compile": 1}, "config key 'train.compile': expected bool, got int (1)"),
    ({"batch_size": True}, "config key 'train.batch_size': expected int, got bool (True)"),
    ({"n_layer": 2.5}, "config key 'train.n_layer': expected int, got float (2.5)"),
    ({"lr": "fast"}, "config key 'train.lr': expected float, got str ('fast')"),
    ([1, 2], "config section 'train' must be a mapping, got list"),
])
def test_bad_values_are_one_line_errors_as_the_pipelines(tmp_path, section, message):
    path = _write(tmp_path, {"train": section})
    with pytest.raises(TrainConfigError) as trainer_err:
        load(path)
    assert str(trainer_err.value).startswith(message)
    # the pipeline's loader reports the same line for the same file (as it did before the move)
    from pipeline.config import ConfigError, load_config
    with pytest.raises(ConfigError) as pipeline_err:
        load_config(path)
    assert str(pipeline_err.value) == str(trainer_err.value)


def test_presets_are_checked_by_from_dict():
    assert set(PRESETS) == {"tiny", "gpt2-124m"}
    with pytest.raises(TrainConfigError, match="unknown preset 'x'"):
        from_dict({"model": "x"})
    assert from_dict(None) == from_dict({}) == TrainConfig()


@pytest.mark.parametrize("what", ["missing", "folder", "bad_yaml", "not_a_mapping", "not_utf8"])
def test_unreadable_files_are_one_line_errors(tmp_path, what):
    if what == "missing":
        path, needle = str(tmp_path / "nope.yaml"), "nope.yaml: no such file"
    elif what == "folder":
        path, needle = str(tmp_path), "is a folder, not a YAML file"
    elif what == "bad_yaml":
        path, needle = _write(tmp_path, "train: [1, 2\n"), "invalid YAML at line"
    elif what == "not_a_mapping":
        path, needle = _write(tmp_path, "- 1\n- 2\n"), "top level must be a mapping"
    else:
        path = str(tmp_path / "latin1.yaml")
        (tmp_path / "latin1.yaml").write_bytes("train:\n  model: caf\xe9\n".encode("latin-1"))
        needle = "not UTF-8 text"
    with pytest.raises(TrainConfigError, match=needle) as e:
        load(path)
    assert "\n" not in str(e.value)


def test_winnow_train_reports_a_bad_train_section_in_one_line(capsys, tmp_path):
    """Through `winnow train` (pipeline/cli.py -> trainer.train.main): one line on stderr, exit 2, before the
    shards are read."""
    from pipeline.cli import main as winnow
    cfg = _write(tmp_path, {"train": {"model": "huge"}})
    rc = winnow(["train", "--shards", str(tmp_path / "no-shards"), "--out", str(tmp_path / "run"), "--config", cfg])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2
    assert err == ["winnow train: error: config key 'train.model': unknown preset 'huge' (known: tiny, gpt2-124m)"]
    assert not os.path.exists(tmp_path / "run")


def test_winnow_config_show_reports_a_bad_train_section_in_one_line(capsys, tmp_path):
    from pipeline.cli import main as winnow
    cfg = _write(tmp_path, {"train": {"batch_size": 0}})
    assert winnow(["config", "show", "--config", cfg]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "winnow: config error: config keys 'train.batch_size', 'train.grad_accum', 'train.max_steps' must be >= 1"]


def test_the_cli_reports_a_trainer_config_error_as_a_config_error(capsys, monkeypatch):
    """A TrainConfigError that reaches the `winnow` command is printed like the pipeline's ConfigError."""
    from pipeline import cli

    def boom(*a, **k):
        raise TrainConfigError("config key 'train.model': unknown preset 'x' (known: tiny, gpt2-124m)")
    monkeypatch.setattr(cli.config_mod, "load_config", boom)
    assert cli.main(["config", "show"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "winnow: config error: config key 'train.model': unknown preset 'x' (known: tiny, gpt2-124m)"]


def test_winnow_train_checks_the_whole_config_file_as_winnow_run_does(tmp_path, capsys):
    """The trainer reads only its section, but `winnow train --config` refuses a file `winnow run` would refuse
    (a typo in a pipeline section), before training, in one line."""
    from pipeline.cli import main
    path = _write(tmp_path, {"quality": {"profil": "web"}, "train": {"max_steps": 1}})
    rc = main(["train", "--shards", str(tmp_path / "shards"), "--out", str(tmp_path / "run"), "--config", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("winnow train: error: ") and "profil" in err[0]
    assert not (tmp_path / "run").exists()
