"""URL filter: drop a document whose URL is on a block list, unless an allow list has it.

Input: a document's URL. Output (`check`): a `url.blocked.<list>` rejection or None. Lists come in the format of
the UT1 blacklists (Université Toulouse 1, dsi.ut-capitole.fr/blacklists), which RefinedWeb and FineWeb use through
datatrove's URLFilter: a category folder holding `domains` and/or `urls` (one entry a line, `#` comments), or a
plain file of domains and URLs (an entry with a "/" after the host is a URL). The list name is the folder name or
the file stem.

Matching. datatrove (src/datatrove/pipeline/filters/url_filter.py @ e9824719) blocks when tldextract's
`registered_domain` or `fqdn` is in `adult/domains`, or when the raw URL (with its scheme, so a scheme-less UT1
entry never matches) is in `adult/urls`. We follow squidGuard, the filter UT1 lists are written for
(squidguard.org/Doc/aboutblocking.html, configure.html "URLlists"): a domain entry blocks the host and every
subdomain ("porn.com" blocks foo.bar.porn.com, not notporn.com): we look up every dot-suffix of the host, which
covers datatrove's two checks without a public-suffix list; a URL entry is compared without scheme, user, port,
fragment, trailing "/" and leading "www."/"web."/"ftp." (+digits) label, and blocks the paths below it
("example.com/dir" blocks example.com/dir/page.html). Hosts are lowercased, IDNA-encoded (Python's codec: IDNA
2003, so "ß" maps to "ss") and stripped of a trailing dot; an IP host is matched whole. Allow lists win.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.stages.types import Rejection

NAME = "url"
UT1_FILES = ("domains", "urls")
# scheme://user@host:port rest (rest = path + query, up to a "#"); every part optional but the host
_URL = re.compile(r"\s*(?:(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)?(?:[^@/?#\s]*@)?(\[[^\]/?#]*\]|[^:/?#\s]*)"
                  r"(?::[0-9]*)?([^#\s]*)")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_WWW = re.compile(r"(?:www|web|ftp)[0-9]*\.(?=[^.]+\.)")   # squidGuard's chopped prefix; "www.com" stays


@dataclass(frozen=True)
class UrlFilterConfig:
    enabled: bool = False
    block: tuple[str, ...] = ()   # UT1 category folders and/or plain list files
    allow: tuple[str, ...] = ()   # same formats; an allowed URL is never blocked

    def __post_init__(self):
        object.__setattr__(self, "block", tuple(self.block))
        object.__setattr__(self, "allow", tuple(self.allow))


def list_name(path: Path) -> str:
    """The reason suffix for a list: folder name or file stem, lowercased, runs outside [a-z0-9_] as "_"."""
    name = path.name if path.is_dir() else path.name.removesuffix(".gz").rsplit(".", 1)[0] or path.name
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "list"


def _host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):                      # IPv6 literal
        return host.strip("[]")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:                       # an empty or over-long label: keep the Unicode form
            pass
    return host


def _split(url: str) -> tuple[str, str] | None:
    """(normalized host, path + query lowercased, without trailing "/"), or None without a host."""
    m = _URL.match(url)
    host = _host(m.group(1)) if m else ""
    if not host:
        return None
    return host, m.group(2).lower().rstrip("/")


def _host_keys(host: str) -> list[str]:
    """The host and each of its parent domains ("a.b.c" -> a.b.c, b.c, c); an IP address only whole."""
    if ":" in host or _IPV4.fullmatch(host):
        return [host]
    keys, i = [host], host.find(".")
    while i != -1:
        keys.append(host[i + 1:])
        i = host.find(".", i + 1)
    return keys


def _url_keys(host: str, rest: str) -> list[str]:
    """The URL without scheme/www/port/trailing "/" and each directory above it, longest first."""
    base = _WWW.sub("", host, count=1)
    path, _, query = rest.partition("?")
    keys = [f"{base}{path}?{query}"] if query else []
    while True:
        keys.append(base + path)
        if not path:
            return keys
        path = path[:path.rfind("/")].rstrip("/")


def _entries(path: Path) -> list[str]:
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
            text = f.read().decode("utf-8", "replace")
    except (OSError, EOFError) as e:
        raise ValueError(f"url filter: cannot read list file {path}: {getattr(e, 'strerror', None) or e}") from None
    fields = (line.split(None, 1) for line in text.splitlines())
    return [f[0] for f in fields if f and not f[0].startswith("#")]


def _domain_key(entry: str) -> str:
    return _host(entry.removeprefix("*.").lstrip("."))


def _url_entry_key(entry: str) -> str | None:
    parts = _split(entry)
    return _url_keys(*parts)[0] if parts else None


def _read(path: Path) -> tuple[list[str], list[str]]:
    """(domain keys, URL keys) of a UT1 category folder or a plain list file."""
    if path.is_dir():
        if not any((path / f).exists() for f in UT1_FILES):
            raise ValueError(f"url filter: list folder {path} has no `domains` or `urls` file (give a UT1 "
                             "category folder such as blacklists/adult)")
        domains = _entries(path / "domains") if (path / "domains").exists() else []
        urls = _entries(path / "urls") if (path / "urls").exists() else []
    else:
        domains, urls = [], []
        for entry in _entries(path):
            parts = _split(entry)
            (urls if parts and parts[1] else domains).append(entry)
    return [k for k in map(_domain_key, domains) if k], [k for k in map(_url_entry_key, urls) if k]


@dataclass(frozen=True, eq=False)
class UrlLists:
    block_domains: dict[str, str]   # domain -> block list name (the first list that has it)
    block_urls: dict[str, str]      # URL key -> block list name
    allow_domains: frozenset[str]
    allow_urls: frozenset[str]
    names: tuple[str, ...]          # block list names, in load order

    @classmethod
    def load(cls, block: list[str], allow: list[str] = ()) -> UrlLists:
        """Read block and allow lists (UT1 category folders or plain files); ValueError naming an unreadable one."""
        block_domains, block_urls, names = {}, {}, []
        for path in map(Path, block):
            name = list_name(path)
            names.append(name)
            domains, urls = _read(path)
            for key in domains:
                block_domains.setdefault(key, name)
            for key in urls:
                block_urls.setdefault(key, name)
        allow_domains, allow_urls = set(), set()
        for path in map(Path, allow):
            domains, urls = _read(path)
            allow_domains.update(domains)
            allow_urls.update(urls)
        return cls(block_domains, block_urls, frozenset(allow_domains), frozenset(allow_urls), tuple(names))


def check(url: str | None, lists: UrlLists) -> Rejection | None:
    """`url.blocked.<list>` if a block list has the URL's host (or a parent domain) or the URL (or a directory
    above it) and no allow list does; None otherwise, and for a missing or host-less URL."""
    parts = _split(url) if url else None
    if parts is None:
        return None
    hosts = _host_keys(parts[0])
    urls = _url_keys(*parts) if lists.block_urls or lists.allow_urls else []
    if any(h in lists.allow_domains for h in hosts) or any(u in lists.allow_urls for u in urls):
        return None
    for key, table in ((h, lists.block_domains) for h in hosts):
        if key in table:
            return Rejection(f"{NAME}.blocked.{table[key]}")
    for u in urls:
        if u in lists.block_urls:
            return Rejection(f"{NAME}.blocked.{lists.block_urls[u]}")
    return None
