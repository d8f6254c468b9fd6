"""Identity lexicons: axes -> groups -> terms, from Winnow's bundled YAML or an external file.

Formats: Winnow's (pipeline/resources/lexicon/identity.yaml, documented there) and HolisticBias
`descriptors.json` (Smith et al. 2022: axis -> bucket -> descriptors, each a string or an object with
`descriptor`). A HolisticBias group is `axis/bucket` ("race_ethnicity/latinx"); axes whose only bucket is
`all` (religion, political_ideologies, nonce) get one group per descriptor ("religion/sikh").
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

import yaml

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def fold(text: str) -> str:
    """NFC, casefolded, curly apostrophes straight, whitespace runs one space. Texts and terms both go
    through it, and matching works on folded text only, so no position is mapped back."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().replace("\u2019", "'").split())


def term_key(term: str) -> str:
    """A term's identity: folded, hyphens as spaces ("Non-Binary" and "non binary" are one term)."""
    return " ".join(fold(term).replace("-", " ").split())


@dataclass(frozen=True)
class Group:
    axis: str
    name: str
    terms: tuple[str, ...]
    ambiguous: bool = False   # terms often mean something else; reports list the group apart
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.axis}/{self.name}"


@dataclass(frozen=True)
class Lexicon:
    name: str
    groups: tuple[Group, ...]
    # (axis, phrase): no match of `axis` overlapping `phrase` counts; axis "" = every axis.
    exclusions: tuple[tuple[str, str], ...] = ()
    # Languages of the terms: callers match only documents in one of them (German "man" is a pronoun).
    languages: tuple[str, ...] = ("en",)

    @property
    def axes(self) -> list[str]:
        return list(dict.fromkeys(g.axis for g in self.groups))

    @property
    def ids(self) -> list[str]:
        return [g.id for g in self.groups]

    @property
    def n_terms(self) -> int:
        return sum(len(g.terms) for g in self.groups)

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    def subset(self, group_ids) -> "Lexicon":
        """The same lexicon restricted to `group_ids` (exclusions kept)."""
        wanted = set(group_ids)
        missing = wanted - set(self.ids)
        assert not missing, f"unknown groups {sorted(missing)}"
        return Lexicon(self.name, tuple(g for g in self.groups if g.id in wanted), self.exclusions,
                       self.languages)


def _fail(where: str, msg: str):
    raise ValueError(f"{where}: {msg}")


def _terms(where: str, terms) -> tuple[str, ...]:
    if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
        _fail(where, "terms must be a non-empty list of strings")
    seen: dict[str, str] = {}
    for t in terms:
        n = term_key(t)
        if not any(ch.isalnum() for ch in n):
            _fail(where, f"term {t!r} has no letters or digits")
        if n in seen:
            _fail(where, f"term {t!r} duplicates {seen[n]!r} once normalized")
        seen[n] = t
    return tuple(terms)


def from_winnow(data: dict, where: str) -> Lexicon:
    """Winnow's format; unknown keys, bad names and duplicate terms are errors naming the place."""
    for key in data:
        if key not in ("name", "version", "languages", "exclusions", "axes"):
            _fail(where, f"unknown key {key!r}")
    exclusions = [("", p) for p in _terms(f"{where}: exclusions", data["exclusions"])] \
        if "exclusions" in data else []
    groups = []
    for axis, axis_groups in (data.get("axes") or {}).items():
        if not _NAME.match(str(axis)) or not isinstance(axis_groups, dict):
            _fail(where, f"axis {axis!r} must be a lower_snake name mapping to groups")
        axis_terms: dict[str, str] = {}
        for name, spec in axis_groups.items():
            at = f"{where}: {axis}/{name}"
            if name == "exclusions":
                exclusions += [(axis, p) for p in _terms(at, spec)]
                continue
            if not _NAME.match(str(name)) or not isinstance(spec, dict):
                _fail(at, "a group must be a lower_snake name mapping to {terms, ambiguous, note}")
            for key in spec:
                if key not in ("terms", "ambiguous", "note"):
                    _fail(at, f"unknown key {key!r}")
            terms = _terms(at, spec.get("terms"))
            for t in terms:  # one group per term within an axis, or counts would double
                other = axis_terms.setdefault(term_key(t), name)
                if other != name:
                    _fail(at, f"term {t!r} is also in {axis}/{other}")
            if not isinstance(spec.get("ambiguous", False), bool):
                _fail(at, "ambiguous must be true or false")
            groups.append(Group(axis, name, terms, spec.get("ambiguous", False), str(spec.get("note", ""))))
    if not groups:
        _fail(where, "no groups")
    languages = data.get("languages", ["en"])
    if not isinstance(languages, list) or not languages or not all(isinstance(c, str) for c in languages):
        _fail(where, "languages must be a non-empty list of language codes")
    return Lexicon(str(data.get("name", where)), tuple(groups), tuple(exclusions), tuple(languages))


def slug(text: str) -> str:
    return re.sub(r"[\W_]+", "_", fold(text)).strip("_")


def from_holistic_bias(data: dict, where: str) -> Lexicon:
    """HolisticBias descriptors.json (English); no group is marked ambiguous (the dataset has no such flag)."""
    terms: dict[tuple[str, str], dict[str, str]] = {}   # (axis, group) -> normalized -> descriptor
    for axis, buckets in data.items():
        for bucket, items in buckets.items():
            for item in items:
                descriptor = item.get("descriptor") if isinstance(item, dict) else item
                if not isinstance(descriptor, str) or not slug(descriptor):
                    _fail(where, f"{axis}/{bucket}: bad descriptor {item!r}")
                group = slug(descriptor) if bucket == "all" else slug(bucket)
                terms.setdefault((slug(axis), group), {}).setdefault(term_key(descriptor), descriptor)
    groups = tuple(Group(axis, name, tuple(ts.values())) for (axis, name), ts in terms.items())
    return Lexicon("holistic_bias", groups)


def _is_holistic_bias(data) -> bool:
    return isinstance(data, dict) and bool(data) and all(
        isinstance(b, dict) and all(isinstance(items, list) for items in b.values()) for b in data.values())


def parse_lexicon(text: str, where: str) -> Lexicon:
    """A lexicon from file contents, format detected from the content."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ValueError(f"{where}: not JSON or YAML ({e})") from e
    if isinstance(data, dict) and "axes" in data:
        return from_winnow(data, where)
    if _is_holistic_bias(data):
        return from_holistic_bias(data, where)
    raise ValueError(f"{where}: neither a Winnow lexicon (top-level 'axes') nor a HolisticBias "
                     f"descriptors.json (axis -> bucket -> list)")


def bundled_path():
    return resources.files("pipeline") / "resources" / "lexicon" / "identity.yaml"


def load_lexicon(path: str | None = None) -> Lexicon:
    """The lexicon at `path` (Winnow YAML or HolisticBias descriptors.json); None = the bundled one."""
    if path is None:
        return parse_lexicon(bundled_path().read_text(encoding="utf-8"), "identity.yaml")
    with open(path, encoding="utf-8") as f:
        return parse_lexicon(f.read(), str(path))
