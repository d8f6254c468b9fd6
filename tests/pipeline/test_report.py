"""The data card (pipeline/report/) on real runs: the bundled sample, a run without bias and tokenize, a run that
keeps nothing, and the sample's card without matplotlib. Checks the HTML parses, has every section, references only
images inside report/, no remote assets, and shows the manifest's numbers."""
import gzip
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from pipeline.cli import sample_inputs
from pipeline.config import load_config
from pipeline.driver.run import run_pipeline
from pipeline.report import SECTIONS, Raw, table, write_report


class Page(HTMLParser):
    """Collects h2 headings, src/href attributes and the text of elements that carry an id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.h2, self.srcs, self.hrefs, self.ids, self.css, self._stack = [], [], [], {}, "", []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.srcs += [a["src"]] if "src" in a else []
        self.hrefs += [a["href"]] if "href" in a else []
        self._stack.append((tag, a.get("id"), []))

    def handle_endtag(self, tag):
        while self._stack:
            t, i, text = self._stack.pop()
            if i:
                self.ids[i] = "".join(text).strip()
            if t == "h2":
                self.h2.append("".join(text).strip())
            if self._stack:
                self._stack[-1][2].extend(text)
            if t == tag:
                return

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2].append(data)
            if self._stack[-1][0] == "style":
                self.css += data


def parse(index):
    with open(index, encoding="utf-8") as fh:
        text = fh.read()
    p = Page()
    p.feed(text)
    p.close()
    return text, p


def check_page(index, manifest):
    """The checks every report passes; returns the parsed page."""
    report = os.path.dirname(index)
    assert index == os.path.join(report, "index.html") and os.path.basename(report) == "report"
    text, p = parse(index)
    assert text.startswith("<!DOCTYPE html>")
    assert p.h2 == [title for _, title in SECTIONS]
    for src in p.srcs:
        assert "/" not in src and not src.startswith("."), src          # inside report/, relative
        assert os.path.isfile(os.path.join(report, src)), src
        assert src.endswith(".png")
    assert all(h.startswith("#") for h in p.hrefs), p.hrefs              # anchors only: no external links or CSS
    assert "http://" not in p.css and "https://" not in p.css and "@import" not in p.css
    assert "<script" not in text
    num = lambda k: int(p.ids[k].replace(",", ""))
    assert num("input-records") == manifest.input_records
    assert num("kept") == manifest.kept
    assert num("dead-letter") == manifest.dead_letter
    assert num("rejected") == sum(manifest.rejected.values())
    return p


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("report") / "out")
    cfg = load_config(overrides={"tokenize": {"vocab_size": 512, "seq_len": 64}})
    manifest = run_pipeline(sample_inputs(), out, cfg, log=open(os.devnull, "w"))
    return out, manifest


def test_sample_report(sample_run):
    out, manifest = sample_run
    index = write_report(out)
    p = check_page(index, manifest)
    assert len(p.srcs) >= 5                          # funnel, drop reasons, languages, lengths, duplicates
    assert set(os.listdir(os.path.dirname(index))) == set(p.srcs) | {"index.html"}   # no unreferenced files
    assert int(p.ids["tokens-train"].replace(",", "")) == manifest.tokens.train
    assert int(p.ids["bias-flagged"].replace(",", "")) == manifest.bias["flagged"]
    text, _ = parse(index)
    for reason in manifest.rejected:
        assert reason in text
    assert "ambiguous" in text                       # the bundled lexicon's _ambiguous groups are marked


def test_report_rewrites_without_stale_files(sample_run):
    out, manifest = sample_run
    index = write_report(out)
    stale = os.path.join(os.path.dirname(index), "old.png")
    open(stale, "wb").close()
    assert write_report(out) == index and not os.path.exists(stale)


def test_report_on_a_manifest_of_another_schema_version_is_one_line(sample_run, tmp_path, capsys):
    """`winnow report` recognises an older Winnow output, and says in one line (exit 2) why it cannot draw it."""
    from pipeline.cli import main
    out, _ = sample_run
    copy = str(tmp_path / "old")
    shutil.copytree(out, copy)
    path = os.path.join(copy, "manifest.json")
    m = json.load(open(path))
    m["schema_version"] = "2"
    json.dump(m, open(path, "w"))
    assert main(["report", copy]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("winnow: error: ") and "schema version '2'" in err[0]


class Text(HTMLParser):
    """The page's visible text, one string per text node (the inlined CSS left out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._style = [], False

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if not self._style and data.strip():
            self.parts.append(data.strip())


def visible_text(text):
    t = Text()
    t.feed(text)
    t.close()
    return t.parts


def test_report_without_matplotlib(sample_run, tmp_path):
    """matplotlib is the optional [report] extra: without it the card has every section and number, no chart, and
    one line saying how to get the charts."""
    out, manifest = sample_run
    with_charts, _ = parse(write_report(out))
    copy = str(tmp_path / "out")
    shutil.copytree(out, copy)
    shutil.rmtree(os.path.join(copy, "report"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = ("import sys\n"
            "sys.modules['matplotlib'] = None          # as if not installed: importing it raises ImportError\n"
            "from pipeline.report import warm_up, write_report\n"
            "warm_up()\n"
            "print(write_report(sys.argv[1]))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([sys.executable, "-c", code, copy], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    index = res.stdout.strip().splitlines()[-1]
    assert index == os.path.join(copy, "report", "index.html")
    p = check_page(index, manifest)
    assert p.srcs == [] and os.listdir(os.path.dirname(index)) == ["index.html"]
    text, _ = parse(index)
    assert "<img" not in text
    hint = "pip install &#x27;winnow-corpus[report]&#x27;"
    assert text.count(hint) == 1
    lines = visible_text(text)
    notice = [t for t in lines if "winnow-corpus[report]" in t]
    assert len(notice) == 1
    lines.remove(notice[0])
    assert lines == visible_text(with_charts)           # the same card, less the charts


def test_table_escapes_data():
    html = table(["a<b"], [["<script>x</script>"], [3], [Raw("<b>ok</b>")]])
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&lt;b" in html
    assert '<td class="n">3</td>' in html and "<td><b>ok</b></td>" in html


def write_docs(path, texts):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": str(i), "url": f"https://example.com/{i}?a=<b>", "text": t}) + "\n")


def sample_texts(n):
    """The first n texts of the bundled sample corpus."""
    path = next(p for p in sample_inputs() if p.endswith("sample.jsonl.gz"))
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line, _ in zip(fh, range(n))]


def test_report_without_bias_and_tokenize(tmp_path):
    texts = sample_texts(40)
    # near duplicates, so the largest-clusters table shows survivor URLs (which hold "<b>")
    write_docs(tmp_path / "in.jsonl.gz", texts + [t + "\n\nThanks for reading this far, everyone." for t in texts[:10]])
    cfg = load_config(overrides={"bias": {"enabled": False}, "tokenize": {"enabled": False}})
    manifest = run_pipeline([str(tmp_path / "in.jsonl.gz")], str(tmp_path / "out"), cfg, log=open(os.devnull, "w"))
    assert manifest.kept >= 1 and manifest.dedup["near"]["clusters"] >= 1
    assert not os.path.exists(tmp_path / "out" / "bias") and not os.path.exists(tmp_path / "out" / "shards")
    text, _ = parse(write_report(str(tmp_path / "out")))
    check_page(str(tmp_path / "out" / "report" / "index.html"), manifest)
    assert "Tokenization was disabled" in text and "bias ledger was disabled" in text
    assert "?a=&lt;b&gt;" in text and "?a=<b>" not in text       # data text is escaped


def test_report_with_nothing_kept(tmp_path):
    write_docs(tmp_path / "in.jsonl.gz", ["Der Ausschuss tagte am Dienstag, um den Hafenplan zu prüfen. " * 20,
                                          "too short"])
    cfg = load_config(overrides={"tokenize": {"vocab_size": 512, "seq_len": 64}})
    manifest = run_pipeline([str(tmp_path / "in.jsonl.gz")], str(tmp_path / "out"), cfg, log=open(os.devnull, "w"))
    assert manifest.kept == 0
    text, _ = parse(write_report(str(tmp_path / "out")))
    check_page(str(tmp_path / "out" / "report" / "index.html"), manifest)
    assert "No document was kept" in text
