"""Quality profiles on real web pages and on clean text: what they keep, and which snippets survive.

Usage: python bench/bench_web_quality.py [--profiles fineweb web] [--json bench/results/web_quality.json]
Each input goes through the pipeline's per-document path without Beam: `normalize_text`, lid.176 language
ID (`pipeline.stages.langid`, English only, min score 0.65, as the default config), then the profile.

a. ../shared/data/web_trafilatura_eval (990 pages, WET-like text with hand-annotated snippets): pages
   identified English, English pages kept, and over the kept pages the % of main-text snippets
   (`main_text_must_contain`) that survive and the % of boilerplate snippets (`main_text_must_not_contain`)
   removed. Matching rule: the snippet, the page's input text and the profile's output text each go through
   `normalize_text` and then " ".join(s.split()) (all whitespace, line breaks included, becomes one space);
   a snippet counts only when it is a substring of the normalized input; it survives when it is a substring
   of the normalized output. Case-sensitive.
b. Share kept of clean text: ../shared/data/clean_reference_nltk/*.jsonl.gz (one document a row), and the
   `pydoc` plain-text page of each module in STDLIB_MODULES (PSF license; one page one document); the
   share is of the documents langid keeps (Genesis in Finnish, French ... is not English).
Section a is also given for each half of the English pages split by sorted page id ("a-half 1/2"), to show
that the rules do not fit one half only.
Also times the boilerplate filter alone (ms/doc over the 990 pages, language "en").
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import pathlib
import pydoc
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.stages import langid  # noqa: E402
from pipeline.stages.normalize import normalize_text  # noqa: E402
from pipeline.stages.quality import apply_filters, profile_filters  # noqa: E402
from pipeline.stages.quality import boilerplate  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
EVAL = DATA / "web_trafilatura_eval" / "documents.jsonl.gz"
CLEAN = sorted((DATA / "clean_reference_nltk").glob("*.jsonl.gz"))
LANGUAGES, MIN_SCORE = ["en"], 0.65  # pipeline/resources/default.yaml langid section

# 120 stdlib modules, alphabetical: general-purpose, importable on every platform, documented in English.
STDLIB_MODULES = (
    "abc argparse array ast asyncio base64 bdb binascii bisect bz2 calendar cmath cmd code codecs "
    "collections colorsys compileall concurrent.futures configparser contextlib contextvars copy copyreg "
    "csv ctypes dataclasses datetime decimal difflib dis doctest email enum filecmp fileinput fnmatch "
    "fractions ftplib functools gc getopt gettext glob graphlib gzip hashlib heapq hmac html html.parser "
    "http.client imaplib importlib inspect io ipaddress itertools json keyword linecache locale logging "
    "lzma mailbox math mimetypes mmap netrc numbers operator optparse os pathlib pdb pickle pkgutil "
    "platform plistlib poplib pprint profile queue quopri random re reprlib sched secrets selectors shelve "
    "shlex shutil signal smtplib socket sqlite3 statistics string struct subprocess symtable tarfile "
    "tempfile textwrap threading timeit tokenize trace traceback types typing unittest urllib.parse uuid "
    "warnings wave weakref zipfile zlib"
).split()


def norm_ws(text: str) -> str:
    return " ".join(text.split())


def read_jsonl(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def identify(model: langid.LangIdModel, texts: list[str]) -> list[bool]:
    """True per text that passes langid as the default config sets it."""
    return [langid.decide(lang, score, LANGUAGES, MIN_SCORE) is None for lang, score in model.predict(texts)]


def score_eval(pages: list[dict], english: list[bool], profile: str) -> dict:
    """Section a for one profile."""
    chain = profile_filters(profile)
    out = {"pages": len(pages), "english": sum(english), "kept": 0, "main_present": 0, "main_survived": 0,
           "boiler_present": 0, "boiler_removed": 0, "kept_ids": [], "rejections": {}}
    for page, is_en in zip(pages, english):
        if not is_en:
            continue
        r = apply_filters(page["text"], "en", chain)
        if r.rejection is not None:
            out["rejections"][r.rejection.reason] = out["rejections"].get(r.rejection.reason, 0) + 1
            continue
        out["kept"] += 1
        out["kept_ids"].append(page["id"])
        src, dst = norm_ws(page["text"]), norm_ws(r.text)
        for s in page["main"]:
            if s in src:
                out["main_present"] += 1
                out["main_survived"] += s in dst
        for s in page["boiler"]:
            if s in src:
                out["boiler_present"] += 1
                out["boiler_removed"] += s not in dst
    out["main_survived_pct"] = 100 * out["main_survived"] / max(out["main_present"], 1)
    out["boiler_removed_pct"] = 100 * out["boiler_removed"] / max(out["boiler_present"], 1)
    return out


def score_clean(texts: list[str], english: list[bool], profile: str) -> dict:
    """Section b for one profile: documents, identified English, kept (of the English ones)."""
    chain = profile_filters(profile)
    rejections: dict[str, int] = {}
    kept = 0
    for text, is_en in zip(texts, english):
        if not is_en:
            continue
        r = apply_filters(text, "en", chain)
        if r.rejection is None:
            kept += 1
        else:
            rejections[r.rejection.reason] = rejections.get(r.rejection.reason, 0) + 1
    n_en = sum(english)
    return {"docs": len(texts), "english": n_en, "kept": kept, "kept_pct_of_english": 100 * kept / max(n_en, 1),
            "rejections": rejections}


def stdlib_pages() -> list[str]:
    """pydoc plain text of each STDLIB_MODULES entry (import noise silenced)."""
    pages = []
    for name in STDLIB_MODULES:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            pages.append(pydoc.render_doc(name, renderer=pydoc.plaintext))
    return pages


def boilerplate_ms_per_doc(texts: list[str]) -> float:
    th = boilerplate.Thresholds()
    start = time.perf_counter()
    for text in texts:
        boilerplate.check(text, "en", th)
    return (time.perf_counter() - start) / len(texts) * 1000


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["fineweb", "web"])
    parser.add_argument("--json", type=pathlib.Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    if not EVAL.exists():
        sys.exit(f"no input at {EVAL} (the shared data folder is needed)")
    model = langid.LangIdModel()
    pages = [{"id": d["id"], "text": normalize_text(d["text"]),
              "main": [norm_ws(normalize_text(s)) for s in d["main_text_must_contain"]],
              "boiler": [norm_ws(normalize_text(s)) for s in d["main_text_must_not_contain"]]}
             for d in read_jsonl(EVAL)]
    english = identify(model, [p["text"] for p in pages])
    clean = [normalize_text(d["text"]) for path in CLEAN for d in read_jsonl(path)]
    docs = [normalize_text(t) for t in stdlib_pages()]
    clean_en, docs_en = identify(model, clean), identify(model, docs)
    result = {"eval": {}, "clean_reference": {}, "stdlib_docs": {},
              "boilerplate_ms_per_doc": boilerplate_ms_per_doc([p["text"] for p in pages])}
    ids = sorted(p["id"] for p, e in zip(pages, english) if e)
    first = set(ids[:len(ids) // 2])
    result["eval_halves"] = {}
    for profile in args.profiles:
        result["eval"][profile] = score_eval(pages, english, profile)
        result["eval_halves"][profile] = [
            score_eval(pages, [e and (p["id"] in first) == h for p, e in zip(pages, english)], profile)
            for h in (True, False)]
        result["clean_reference"][profile] = score_clean(clean, clean_en, profile)
        result["stdlib_docs"][profile] = score_clean(docs, docs_en, profile)
    print_table(result, args.profiles)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, sort_keys=True))
    return result


def print_table(result: dict, profiles: list[str]) -> None:
    rows = [("trafilatura pages identified English", lambda p: f"{result['eval'][p]['english']}"),
            ("  English pages kept", lambda p: f"{result['eval'][p]['kept']}"),
            ("  main snippets surviving (kept pages)",
             lambda p: f"{result['eval'][p]['main_survived_pct']:.1f}% of {result['eval'][p]['main_present']}"),
            ("  boilerplate snippets removed (kept pages)",
             lambda p: f"{result['eval'][p]['boiler_removed_pct']:.1f}% of {result['eval'][p]['boiler_present']}"),
            *((f"  half {h + 1} by id: kept / main / boilerplate", lambda p, h=h: _half(result, p, h))
              for h in (0, 1)),
            ("clean reference kept (of English)", lambda p: _kept(result["clean_reference"][p])),
            ("stdlib pydoc pages kept (of English)", lambda p: _kept(result["stdlib_docs"][p]))]
    print(f"{'':<44}" + "".join(f"{p:>28}" for p in profiles))
    for label, cell in rows:
        print(f"{label:<44}" + "".join(f"{cell(p):>28}" for p in profiles))
    print(f"boilerplate filter alone: {result['boilerplate_ms_per_doc']:.2f} ms/doc on the 990 pages")
    for p in profiles:
        for section in ("eval", "clean_reference", "stdlib_docs"):
            print(f"{p} {section} rejections: {result[section][p]['rejections']}")


def _half(result: dict, profile: str, h: int) -> str:
    r = result["eval_halves"][profile][h]
    return f"{r['kept']} / {r['main_survived_pct']:.1f}% / {r['boiler_removed_pct']:.1f}%"


def _kept(r: dict) -> str:
    return f"{r['kept']}/{r['english']} ({r['kept_pct_of_english']:.0f}%) of {r['docs']}"


if __name__ == "__main__":
    main()
