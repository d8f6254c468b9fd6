"""Layering: the pipeline never imports torch, the trainer never imports the pipeline.

pipeline/ may import `trainer.config` (torch-free: the `train:` section of the config) and, in `winnow train`
and `winnow ablate` only, the rest of the trainer. trainer/ imports nothing from pipeline/. torch is the
optional `train` extra: without it those two commands print how to install it and exit 2.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "LAYERING-REPORT "

# Every module of pipeline/ is imported; one whose import legitimately needs an optional package that is not
# installed would be listed here as {module: (missing top-level package, why)}. None does today.
OPTIONAL_PIPELINE_MODULES: dict[str, tuple[str, str]] = {}

# Imports every module of one package in a fresh interpreter, in name order, and reports which of the
# forbidden modules each import pulled in. The module list comes from pkgutil over the package's folders
# (no import needed to find them), so that an import cannot hide a module from the walk.
_IMPORT_ALL = r"""
import importlib, json, os, pkgutil, sys

pkg, forbidden = sys.argv[1], json.loads(sys.argv[2])

def walk(path, prefix):
    for m in pkgutil.iter_modules([path], prefix):
        yield m.name
        if m.ispkg:
            yield from walk(os.path.join(path, m.name.rsplit(".", 1)[1]), m.name + ".")

def bad(loaded):
    return sorted({f for f in forbidden for m in loaded if m == f or m.startswith(f + ".")})

names = [pkg] + sorted(walk(os.path.join(os.getcwd(), pkg), pkg + "."))
report = {"modules": names, "errors": {}, "pulled_in": {}, "already": bad(sys.modules)}
for name in names:
    before = set(sys.modules)
    try:
        importlib.import_module(name)
    except BaseException as e:
        missing = (getattr(e, "name", None) or "").split(".")[0] if isinstance(e, ImportError) else None
        report["errors"][name] = {"error": f"{type(e).__name__}: {e}", "missing": missing}
    new = bad(set(sys.modules) - before)
    if new:
        report["pulled_in"][name] = new
report["at_end"] = bad(sys.modules)
print("LAYERING-REPORT " + json.dumps(report))
"""


def _python(code: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _import_all(pkg: str, forbidden: list[str]) -> dict:
    r = _python(_IMPORT_ALL, pkg, json.dumps(forbidden))
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(MARK)]
    assert r.returncode == 0 and lines, (r.stdout[-2000:], r.stderr[-3000:])
    return json.loads(lines[-1][len(MARK):])


def _module_files(pkg: str) -> set[str]:
    """Module names of every .py file under pkg/ (what the walk must find: it skips nothing)."""
    out = set()
    for dirpath, dirnames, files in os.walk(os.path.join(ROOT, pkg)):
        dirnames[:] = [d for d in dirnames if os.path.isfile(os.path.join(dirpath, d, "__init__.py"))]
        rel = os.path.relpath(dirpath, ROOT).replace(os.sep, ".")
        for f in files:
            if f.endswith(".py"):
                out.add(rel if f == "__init__.py" else f"{rel}.{f[:-3]}")
    return out


def _check_errors(report: dict, optional: dict[str, tuple[str, str]]) -> None:
    unexpected = {m: e["error"] for m, e in report["errors"].items()
                  if m not in optional or e["missing"] != optional[m][0]}
    assert not unexpected, f"modules that fail to import: {unexpected}"


def test_no_pipeline_module_imports_torch():
    report = _import_all("pipeline", ["torch"])
    assert set(report["modules"]) == _module_files("pipeline"), "the walk must reach every module"
    assert len(report["modules"]) > 50
    _check_errors(report, OPTIONAL_PIPELINE_MODULES)
    assert report["already"] == []
    assert report["pulled_in"] == {}, f"importing these pulled in torch: {report['pulled_in']}"
    assert report["at_end"] == []


def test_no_trainer_module_imports_the_pipeline():
    report = _import_all("trainer", ["pipeline"])
    assert set(report["modules"]) == _module_files("trainer"), "the walk must reach every module"
    assert {"trainer.config", "trainer.train", "trainer.evaluate"} <= set(report["modules"])
    _check_errors(report, {})
    assert report["pulled_in"] == {}, f"importing these pulled in the pipeline: {report['pulled_in']}"
    assert report["at_end"] == []


def test_trainer_config_and_flags_need_no_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import argparse, trainer.args, trainer.config\n"
            "trainer.args.add_arguments(argparse.ArgumentParser()); trainer.config.load(None)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'pipeline'))))")
    r = _python(code)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "['torch']"          # only the block itself


def test_evaluate_reproduces_the_pipelines_end_of_document_tokens():
    """trainer/evaluate.py packs held-out texts as the pipeline packs shards, without importing it."""
    from pipeline.stages import tokenize as tokenize_stage
    from trainer import evaluate
    tok_json = tokenize_stage.train_bpe(["one two three", "four five six"] * 20, vocab_size=300)
    texts = ["four two", "three one six"]
    expected = [i for doc in tokenize_stage.encode_batch(tokenize_stage.load(tok_json), texts)
                for i in doc + [tokenize_stage.eos_id(tokenize_stage.load(tok_json))]]
    assert evaluate.token_stream(texts, tok_json, None) == expected


# ---- the commands that need torch, with torch missing ----

_WINNOW_WITHOUT_TORCH = ("import sys\n"
                         "sys.modules['torch'] = None                  # `import torch` raises ImportError\n"
                         "sys.argv = ['winnow'] + sys.argv[1:]\n"
                         "from pipeline.cli import entry\n"
                         "entry()\n")
INSTALL = "pip install 'winnow-corpus[train]'"


@pytest.mark.parametrize("cmd, message", [
    (["train", "--shards", "{tmp}/shards", "--out", "{tmp}/run"], f"winnow: error: `winnow train` needs PyTorch: {INSTALL}"),
    (["ablate", "--output", "{tmp}/abl"], f"winnow: error: `winnow ablate` needs PyTorch: {INSTALL}"),
    (["run", "--output", "{tmp}/out", "--then-train"],
     f"winnow: error: `winnow run --then-train` needs PyTorch: {INSTALL}"),
])
def test_training_commands_without_torch_say_how_to_install_it(tmp_path, cmd, message):
    r = _python(_WINNOW_WITHOUT_TORCH, *[c.format(tmp=tmp_path) for c in cmd])
    assert r.returncode == 2, (r.stdout[-2000:], r.stderr[-3000:])
    assert r.stderr.splitlines() == [message]
    assert r.stdout == ""
    assert os.listdir(tmp_path) == []                # refused before running anything


def test_config_show_without_torch(tmp_path):
    r = _python(_WINNOW_WITHOUT_TORCH, "config", "show")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "\ntrain:\n  model: tiny\n" in r.stdout
