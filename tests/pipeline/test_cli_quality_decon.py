"""`winnow quality train` and `winnow decon build`: outputs, and user errors as one line with exit 2."""
import json
import random
import sys

import pytest

from pipeline.cli import main
from pipeline.stages import decon
from pipeline.stages.classifier import Classifier

sys.path.insert(0, __import__("os").path.join(__import__("os").path.dirname(__file__), "stages"))
from test_classifier import _small_corpus, _write_jsonl  # noqa: E402


def test_quality_train_writes_model_and_card(tmp_path, capsys):
    pos, neg = _small_corpus(random.Random(5))
    _write_jsonl(tmp_path / "pos.jsonl", pos)
    _write_jsonl(tmp_path / "neg.jsonl", neg)
    out = tmp_path / "q.ftz"
    rc = main(["quality", "train", "--positive", str(tmp_path / "pos*.jsonl"), "--negative", str(tmp_path / "neg.jsonl"),
               "--out", str(out), "--epoch", "3", "--bucket", "100000", "--dim", "16"])
    assert rc == 0
    printed = capsys.readouterr().out
    metrics = json.loads(printed[:printed.rindex("}") + 1])
    assert metrics["roc_auc"] > 0.9
    assert (tmp_path / "q.ftz.card.md").exists()
    assert Classifier(str(out)).scores(pos[:2])[0] > 0.5
    # an existing model is not replaced without --overwrite
    assert main(["quality", "train", "--positive", str(tmp_path / "pos.jsonl"), "--negative",
                 str(tmp_path / "neg.jsonl"), "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("args, msg", [
    (["--positive", "/nonexistent/*.jsonl", "--negative", "x", "--out", "m.ftz"], "no such file"),
])
def test_quality_train_user_errors(args, msg, capsys):
    assert main(["quality", "train", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1


def test_decon_build_index_is_used_by_check(tmp_path, capsys):
    item = ("Which planet in the solar system has the largest number of known moons, and how were most "
            "of them discovered by astronomers in the last twenty years?")
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": item, "answer": "Saturn"}) + "\n")
    out = tmp_path / "eval.npz"
    assert main(["decon", "build", "--input", str(tmp_path / "eval.jsonl"), "--out", str(out)]) == 0
    assert "hashed 13-grams" in capsys.readouterr().out
    assert item.encode() not in out.read_bytes()            # hashes only
    idx = decon.load_sets([str(out)])
    assert decon.check("Some page.\n" + item + "\nMore text.", idx).rejection is not None
    assert main(["decon", "build", "--input", str(tmp_path / "eval.jsonl"), "--out", str(out)]) == 2
    assert main(["decon", "build", "--input", str(tmp_path / "eval.jsonl"), "--out", str(tmp_path / "x.idx")]) == 2
    assert main(["decon", "build", "--input", str(tmp_path / "eval.jsonl"), "--out", str(tmp_path)]) == 2
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 3 and all(e.startswith("winnow: error:") for e in errs)
