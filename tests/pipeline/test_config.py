import pytest

from pipeline import config
from pipeline.config import ConfigError, load_config


def test_defaults_load_and_hash_is_stable():
    a, b = load_config(), load_config()
    assert a == b and a.hash() == b.hash()
    assert a.langid.languages == ["en"]
    assert a.dedup.near.threshold == 0.75


def test_user_file_overrides_subset(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("dedup:\n  near:\n    threshold: 0.7\ntokenize:\n  seq_len: 128\n")
    cfg = load_config(str(f))
    assert cfg.dedup.near.threshold == 0.7 and cfg.tokenize.seq_len == 128
    assert cfg.dedup.near.num_perm == 128          # untouched default
    assert cfg.hash() != load_config().hash()


@pytest.mark.parametrize("text, key", [
    ("langid:\n  min_scor: 0.5\n", "langid.min_scor"),
    ("dedupe: {}\n", "dedupe"),
    ("dedup:\n  near:\n    treshold: 0.5\n", "dedup.near.treshold"),
])
def test_unknown_key_is_an_error_naming_it(tmp_path, text, key):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(str(f))


def test_wrong_type_is_an_error(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("tokenize:\n  seq_len: long\n")
    with pytest.raises(ConfigError, match="tokenize.seq_len"):
        load_config(str(f))


def test_unknown_filter_threshold_key_is_an_error(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("quality:\n  thresholds:\n    gopher_quality:\n      min_wordz: 3\n")
    with pytest.raises(ConfigError, match="min_wordz"):
        load_config(str(f))


def test_unknown_profile(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("quality:\n  profile: nope\n")
    with pytest.raises(ConfigError, match="quality.profile"):
        load_config(str(f))


def test_profiles_select_filters():
    for profile in ("c4", "gopher", "fineweb"):
        cfg = load_config(overrides={"quality": {"profile": profile}})
        names = [n for n, _ in config.quality_filters(cfg)]
        assert names, profile
    c4 = [n for n, _ in config.quality_filters(load_config(overrides={"quality": {"profile": "c4"}}))]
    assert "c4_badwords" in c4 and "gopher_repetition" not in c4


def test_user_thresholds_merge_with_profile_overrides():
    cfg = load_config(overrides={"quality": {"profile": "fineweb", "thresholds": {"c4": {"min_sentences": 2}}}})
    c4 = dict(config.quality_filters(cfg))["c4"]
    assert c4.min_sentences == 2
    assert "no_terminal_punct" in c4.disabled_rules          # FineWeb's profile override still applies
