"""PII: find e-mail addresses, phone numbers and IP addresses, and replace them with `<EMAIL>`, `<PHONE>`, `<IP>`.

Input: a document's text. Output (`check`): the redacted text (unchanged in "count" mode), hits per kind, and a
`pii.too_many_hits` rejection above `max_per_doc` hits. Regexes find candidates; Python validates them (phone
shapes, `ipaddress` for IPs). References: bigcode-dataset `pii/` (StarCoder; regexes adapted from BigScience
ROOTS' 02_pii), datatrove `pipeline/formatters/pii.py`, Dolma `python/dolma/taggers/pii.py`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.stages.types import Rejection

NAME = "pii"
KINDS = ("email", "phone", "ip")
MODES = ("redact", "count")
# "ip_private" is counted, never a config kind: it is the "ip" kind's non-global addresses.
PLACEHOLDERS = {"email": "<EMAIL>", "phone": "<PHONE>", "ip": "<IP>", "ip_private": "<IP>"}


@dataclass(frozen=True)
class PiiConfig:
    enabled: bool = True
    mode: str = "redact"             # "redact": replace hits with placeholders; "count": only count them
    kinds: tuple[str, ...] = KINDS   # which of KINDS to look for
    # Private, loopback, link-local, documentation and other non-global IPs (192.168.x, 10.x, 127.0.0.1, ::1,
    # 2001:db8::) identify no person: they are counted as `ip_private`, left in place and not counted towards
    # max_per_doc unless this is true. As StarCoder (bigcode-dataset pii_redaction.py is_private_ip) and
    # datatrove (PIIFormatter only_remove_public_ips=True) do; BigScience ROOTS' 02_pii redacted every IP.
    redact_private_ips: bool = False
    # Drop a doc with more hits than this (None: never). Dolma's filter is `...pii_regex_with_counts_fast_v2
    # __doc_count > 5` (its mixer's jq filter), i.e. 5 here.
    max_per_doc: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if self.mode not in MODES:
            raise ValueError(f"pii.mode: {self.mode!r} is not one of {', '.join(MODES)}")
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"pii.kinds: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        if self.max_per_doc is not None and self.max_per_doc < 0:
            raise ValueError(f"pii.max_per_doc must be >= 0 or null, got {self.max_per_doc}")


class Match(NamedTuple):
    kind: str      # "email", "phone", "ip" (global address) or "ip_private"
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class PiiResult:
    text: str                      # redacted text ("redact" mode, also for a rejected doc) or the input
    counts: dict[str, int]         # kind -> hits, kinds with no hit left out
    rejection: Rejection | None


def _around(rx: re.Pattern, text: str, anchors, left: int, right: int):
    """`rx.finditer(text)` run only in windows around `anchors`, cheap-to-find positions inside every match.

    A regex that starts with a look-behind is tried at every position (slow); this gives the same matches as
    long as no match starts more than `left` characters before its anchor or ends more than `right` after it.
    """
    n, pos = len(text), 0
    for i in anchors:
        if i < pos:
            continue
        hi = min(n, i + right)
        for m in rx.finditer(text, max(pos, i - left), hi):
            if m.end() == hi < n:   # the window's end may have cut it short (look-aheads stop there)
                m = rx.match(text, m.start())
                if m is None:
                    continue
            yield m
            pos = m.end()


# --- e-mail -----------------------------------------------------------------------------------------------
# Practical RFC 5322 subset: dot-atom local part (letters, digits, _ % + -), domain labels, a 2+ letter TLD.
# Letters are ASCII and Latin-1/Latin Extended, so "müller@firma.de" is whole while Chinese text glued to an
# address ("邮箱abc@163.com") stays outside it. Quoted local parts and IP-literal domains are not matched.
_L = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LOCAL = rf"(?<![{_L}._%+\-])[{_L}_%+\-]+(?:\.[{_L}_%+\-]+)*"
_LOCAL_RUN = re.compile(rf"[{_L}._%+\-]{{1,64}}\Z")   # RFC 5321: a local part has at most 64 characters
_EMAIL = re.compile(
    rf"{_LOCAL}@(?:[{_L}](?:[{_L}\-]{{0,61}}[{_L}])?\.)+([A-Za-z\u00c0-\u024f]{{2,24}})"
    rf"(?![{_L}\-@]|\.[{_L}])")
# "name [at] example [dot] com": only bracketed "at"/"dot", so prose ("meet at home") never matches.
_DOT = r"(?:\s*[\[({]\s*dot\s*[\])}]\s*|\.)"
_OBFUSCATED_EMAIL = re.compile(
    rf"{_LOCAL}\s*[\[({{]\s*at\s*[\])}}]\s*(?:[{_L}][{_L}\-]*{_DOT})+[A-Za-z]{{2,24}}(?![{_L}\-])", re.IGNORECASE)
# Where to look: "at]", "AT)"... (two literal-prefixed regexes: 4x faster than one case-insensitive one),
# then the bracket before it.
_OBFUSCATED_HINTS = (re.compile(r"at\s*[\])}]"), re.compile(r"AT\s*[\])}]"))
_BRACKET_BEFORE = re.compile(r"\s*[\[({]\s*\Z")
_AT_SIGN = re.compile("@")
# Retina images ("logo@2x.png") and bundles ("app@1.2.min.js") look like addresses; no such TLD exists.
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "css", "js", "json",
              "html", "htm", "php", "txt", "pdf"}


def _address_at(rx: re.Pattern, text: str, local_end: int) -> re.Match | None:
    """`rx` matched where the local part ending at `local_end` starts: a regex that begins with a look-behind
    is tried at every position by `finditer` (slow); the "@" (or "[at]") says where to look."""
    run = _LOCAL_RUN.search(text, max(0, local_end - 64), local_end)
    return rx.match(text, run.start()) if run else None


def find_emails(text: str) -> list[Match]:
    found, pos = [], 0
    for at in (m.start() for m in _AT_SIGN.finditer(text)):
        if at >= pos and (m := _address_at(_EMAIL, text, at)) and m.group(1).lower() not in _FILE_TLDS:
            found.append(m)
            pos = m.end()
    pos = 0
    for hint in sorted(m.start() for rx in _OBFUSCATED_HINTS for m in rx.finditer(text)):
        bracket = _BRACKET_BEFORE.search(text, max(0, hint - 8), hint)
        if hint >= pos and bracket and (m := _address_at(_OBFUSCATED_EMAIL, text, bracket.start())):
            found.append(m)
            pos = m.end()
    return [Match("email", m.start(), m.end(), m.group()) for m in found]


# --- IP addresses -----------------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"   # 0-255, no leading zero ("01" is not an octet)
# Not part of a longer dotted run: "1.2.3.4.5" and "v1.2.3.4" are versions, "1.3.6.1.4.1" an OID.
# The first digit comes before the look-behind so that `re` skips ahead to digits (8x faster than a leading
# look-behind, which runs at every position); `ipaddress` checks that octet.
_IPV4 = re.compile(rf"[0-9](?<![\w.][0-9])[0-9]{{0,2}}(?:\.{_OCTET}){{3}}(?!\w|\.[0-9])")
_IPV4_HINT = re.compile(r"\.[0-9]")   # an address's first dot is <= 3 characters after its start
# "version 1.2.3.4", "build 10.0.1.2", "section 4.2.1.3": a version word right before makes it a version.
_VERSION_BEFORE = re.compile(r"(?:\bv|\bver|version|release|build|firmware|update|section|§)\.?\s*$",
                             re.IGNORECASE)
# "Firefox 2.0.0.16 - SeaMonkey 1.1.11": an x.y.z version nearby (found on real pages) ...
_VERSION_NEAR = re.compile(r"(?<=[A-Za-z] )[0-9]+\.[0-9]+\.[0-9]+(?![0-9.])")   # after a name, not "30.09.1907:39"
# ... unless a network word comes first ("IP-Adresse 123.123.123.123", "DNS 1.1.1.1", "--to 192.168.0.2").
_IP_WORD_BEFORE = re.compile(
    r"\b(?:ips?|ipv4|dns|vpn|server|hosts?|router|gateway|proxy|address|adresse|to|from)\b", re.IGNORECASE)
# Candidates for any IPv6 text form (full, "::"-compressed, IPv4 tail, "%zone"); ipaddress decides. Times
# ("12:30:45"), MAC addresses (6 groups) and C++ scopes ("std::") are not valid addresses or not candidates.
_H = "[0-9A-Fa-f]"
_IPV6_HINT = re.compile(rf":{_H}{{0,4}}:")   # in every candidate, <= 5 characters after its start
_IPV6 = re.compile(rf"(?<![\w:.%])(?:{_H}{{1,4}}|(?=::))(?::{_H}{{0,4}}){{2,7}}"
                   rf"(?:(?<=:)(?:[0-9]{{1,3}}\.){{3}}[0-9]{{1,3}})?(?:%[0-9A-Za-z_.]{{1,15}})?(?![\w:]|\.[0-9])")


def _ip_match(m: re.Match) -> Match | None:
    try:
        addr = ipaddress.ip_address(m.group())
    except ValueError:
        return None
    return Match("ip" if addr.is_global else "ip_private", m.start(), m.end(), m.group())


def _is_version(text: str, start: int, end: int) -> bool:
    """A dotted quad that is a version: after a version word, or among x.y.z versions with no IP word before."""
    if _VERSION_BEFORE.search(text, max(0, start - 24), start):
        return True
    if _IP_WORD_BEFORE.search(text, max(0, start - 40), start):
        return False
    return _VERSION_NEAR.search(text, max(0, start - 60), min(len(text), end + 60)) is not None


def find_ips(text: str) -> list[Match]:
    out = []
    if "." in text:
        found = _around(_IPV4, text, (m.start() for m in _IPV4_HINT.finditer(text)), 3, 16)
        out = [_ip_match(m) for m in found if not _is_version(text, m.start(), m.end())]
    if ":" in text:
        # A digit is required: "dead::beef" or "add::" are code, not addresses (bigcode ip_has_digit).
        found = _around(_IPV6, text, (m.start() for m in _IPV6_HINT.finditer(text)), 5, 72)
        out += [_ip_match(m) for m in found if re.search("[0-9]", m.group())]
    return [m for m in out if m is not None]


# --- phone numbers ----------------------------------------------------------------------------------------
# Candidates: digit groups (or "(area code)", "(0)", "(+48)") joined by one separator: " ", ".", "/", "-",
# " / ", " - ", or none next to a parenthesis; "+CC" allowed first. Not glued to a word, a number, a price,
# a URL piece or a time before, nor to more digits after. As for IPv4, the first character is matched before
# the look-behinds (which then span it) for speed.
_G = r"(?:\(\+?[0-9]{1,5}\)|[0-9]{1,12})"
_S = r"(?:[ ]?[./\-][ ]?|[ ]|(?<=\))|(?=\())"
_PHONE = re.compile(rf"""
    [+(0-9](?<![\w+$€£¥.,/=#&%@\-][+(0-9])(?<![0-9]:[+(0-9])
    (?: (?<=\+)[0-9]{{1,15}} | (?<=\()\+?[0-9]{{1,5}}\) | (?<=[0-9])[0-9]{{0,11}} )
    (?:{_S}{_G}){{0,7}}
    (?![\w@]|[.,/:\-][0-9])""", re.VERBOSE)   # "[0-9]:", ":[0-9]": times ("10:20:0022.06.2018 10:20")
_RUNS = re.compile("[0-9]+")
_NON_SPACE_SEP = re.compile(r"[^0-9 ]")
_ACCOUNT_BEFORE = re.compile(r"(?:\b[A-Z]{2}[0-9]{2}\s+|(?i:iban)\W{0,3})$")   # IBAN country + check digits
_FRENCH_DOTTED = re.compile(r"\(?0[1-9](?:\.[0-9]{2}){4}")   # 01.23.45.67.89
_CC_AREA = re.compile(r"[1-9][0-9]{0,2} \([0-9]{1,4}\)[0-9 \-]+")   # "41 (22) 731-3248": old style, no "+"
# A phone word right before makes any 7-15 digit number a phone ("Telefon: 017656998944", "Tel. 6396 6350").
_PHONE_WORD_BEFORE = re.compile(
    r"(?:\b(?:tel|tél|tele?fon|telephone|téléphone|teléfono|telefono|phone|fax|mobile?|mobil|handy|cell|call|puh|"
    r"fon|tlf)\b|电话|传真|手机)[.:：]*(?:\s*(?:no|nr|number)\b[.:]*)?\s*$", re.IGNORECASE)


def _is_date(groups: list[str]) -> bool:
    """Consecutive groups read as d m yyyy, m d yyyy, yyyy m d or yyyy yyyy ("05 10 2020", "2019-2020")."""
    years = [len(g) == 4 and g[:2] in ("19", "20") for g in groups]
    if len(groups) == 2 and all(years):
        return True
    for i, (a, b, c) in enumerate(zip(groups, groups[1:], groups[2:])):
        if len(a) <= 2 and len(b) <= 2 and years[i + 2] and 0 < int(a) <= 31:
            return True
        if years[i] and len(b) <= 2 and len(c) <= 2 and 0 < int(b) <= 12:
            return True
    return False


def _is_nanp(s: str, groups: list[str], spaces_only_ok: bool) -> bool:
    """North American (NXX) XXX-XXXX, optionally with a leading 1; "." only when it is the sole separator.

    The area code's first digit is 2-9 (NANP); the exchange's is not checked, so that fictional "555-123-4567"
    style numbers, common in examples and forms, are found too. "345 678 1999" cut out of a longer run of
    numbers is not one (`spaces_only_ok` False)."""
    if not spaces_only_ok and not _NON_SPACE_SEP.search(s):
        return False
    if len(groups) == 4 and groups[0] == "1":
        groups = groups[1:]
    if [len(g) for g in groups] != [3, 3, 4] or groups[0][0] in "01" or "/" in s:
        return False
    return "." not in s or not (" " in s or "-" in s or "(" in s)


def _is_national(s: str, groups: list[str], digits: str) -> bool:
    """European national format: trunk 0, area code, subscriber (and "-extension"), 9-13 digits:
    "030 12345678", "020 7946 0958", "069 / 920 77 00", "0 93 82 / 84 73 99", "0731 / 153 87-0"."""
    if digits[0] != "0" or digits[1] == "0" or not 9 <= len(digits) <= 13 or not 2 <= len(groups) <= 7:
        return False
    if s.startswith("(0)"):   # "(0)30 1234567": the trunk 0 belongs to the area code
        groups = ["0" + groups[1]] + groups[2:]
    if "." in s:
        return _FRENCH_DOTTED.fullmatch(s) is not None
    if s.count("/") > 1:
        return False   # dates or paths
    # One-digit groups: a trunk 0 written apart ("0 93 82") or an extension ("-0"); others are ISBN-like.
    inner = groups[1:-1] if s.startswith("0 ") else groups[:-1]
    last_ok = len(groups[-1]) >= 2 or s[-2] == "-" or s[-3:-1] == "- "
    if min(map(len, inner), default=2) < 2 or not last_ok or len(groups[0]) > 5:
        return False
    counting = len(groups) >= 3 and all(int(b) == int(a) + 1 for a, b in zip(groups, groups[1:]))
    return not counting and not _is_date(groups)   # "01 02 03 04 05" is a list, not a number


def is_phone(s: str, after_phone_word: bool = False, whole: bool = True) -> bool:
    """Whether a candidate has the shape of an international, North American or European national number
    (or, right after "Tel", "Phone", "Fax"..., is any 7-15 digit number that is not a date). `whole`: False
    for a part of a longer candidate."""
    groups = _RUNS.findall(s)
    digits = "".join(groups)
    if not 7 <= len(digits) <= 17:   # E.164: at most 15 digits, + "00" prefix, + "(0)" trunk
        return False
    if digits[:3] in ("978", "979") and len(digits) == 13:
        return False   # ISBN-13
    if s.startswith(("+", "(+")):   # E.164: country code never starts with 0, at most 15 digits
        return digits[0] != "0" and 8 <= len(digits) - s.count("(0)") <= 15
    if digits.startswith("00") and len(groups) >= 2:   # "0049 30 1234567": 00 = international prefix
        return digits[2] != "0" and 8 <= len(digits) - 2 - s.count("(0)") <= 15
    if _CC_AREA.fullmatch(s):
        return 8 <= len(digits) <= 15
    if _is_nanp(s, groups, whole) or _is_national(s, groups, digits):
        return True
    return after_phone_word and len(digits) <= 15 and not _is_date(groups)


def _is_account_number(text: str, start: int, s: str) -> bool:
    """IBANs ("DE47 7645 0000 0240 0118 33") and card numbers: 4-digit blocks; none of their parts is a phone."""
    groups = _RUNS.findall(s)
    blocks = len(groups) >= 4 and all(len(g) == 4 for g in groups[:-1])
    return blocks or _ACCOUNT_BEFORE.search(text, max(0, start - 12), start) is not None


def _phone_spans(text: str, start: int, s: str, out: list[Match]) -> None:
    """Add `s` (at `start`) if it is a phone number, else the longest space-separated sub-run that is one."""
    if is_phone(s, _PHONE_WORD_BEFORE.search(text, max(0, start - 24), start) is not None):
        if "isbn" not in text[max(0, start - 12):start].lower():
            out.append(Match("phone", start, start + len(s), s))
        return
    # Prose glued on by spaces ("in 2019 030 12345678"): try sub-runs, longest first, cut at spaces only.
    bounds = [0] + [i + 1 for i, c in enumerate(s) if c == " "]
    ends = [i - 1 for i in bounds[1:]] + [len(s)]
    n_digits = [sum(c.isdigit() for c in s[a:b]) for a, b in zip(bounds, ends)]
    for size in range(len(bounds) - 1, 0, -1):
        for i in range(len(bounds) - size + 1):
            a, b = bounds[i], ends[i + size - 1]
            if sum(n_digits[i:i + size]) >= 7 and s[a] not in "/-." and is_phone(s[a:b], whole=False):   # 7: the minimum
                if a:
                    _phone_spans(text, start, s[:a - 1], out)
                _phone_spans(text, start + a, s[a:b], out)
                if b < len(s):
                    _phone_spans(text, start + b + 1, s[b + 1:], out)
                return


def find_phones(text: str) -> list[Match]:
    out: list[Match] = []
    for m in _PHONE.finditer(text):
        if m.end() - m.start() >= 7 and not _is_account_number(text, m.start(), m.group()):
            _phone_spans(text, m.start(), m.group(), out)
    return out


# --- the stage --------------------------------------------------------------------------------------------

def find(text: str, cfg: PiiConfig) -> list[Match]:
    """All hits of `cfg.kinds`, sorted, without overlaps (the earliest, then the longest, wins).

    Detection only: `enabled`, `mode` and `redact_private_ips` apply in `redact` and `check`."""
    found = ((find_emails(text) if "email" in cfg.kinds else [])
             + (find_ips(text) if "ip" in cfg.kinds else [])
             + (find_phones(text) if "phone" in cfg.kinds else []))
    found.sort(key=lambda m: (m.start, -m.end))
    out, end = [], 0
    for m in found:
        if m.start >= end:
            out.append(m)
            end = m.end
    return out


def redact(text: str, cfg: PiiConfig) -> tuple[str, dict[str, int]]:
    """Replace hits with their placeholder ("redact" mode; "count" mode returns `text`) and count them per kind."""
    if not cfg.enabled:
        return text, {}
    matches = find(text, cfg)
    counts = {kind: n for kind in PLACEHOLDERS if (n := sum(m.kind == kind for m in matches))}
    if cfg.mode == "count":
        return text, counts
    parts, pos = [], 0
    for m in matches:
        if m.kind != "ip_private" or cfg.redact_private_ips:
            parts += [text[pos:m.start], PLACEHOLDERS[m.kind]]
            pos = m.end
    parts.append(text[pos:])
    return "".join(parts), counts


def n_hits(counts: dict[str, int], cfg: PiiConfig) -> int:
    """Hits that count as personal data: every kind, `ip_private` only when `redact_private_ips`."""
    return sum(n for kind, n in counts.items() if kind != "ip_private" or cfg.redact_private_ips)


def too_many_hits(total: int, cfg: PiiConfig) -> Rejection | None:
    """The issue's drop reason `pii`, named `pii.too_many_hits` after the project's `<filter>.<rule>` rule."""
    if cfg.max_per_doc is not None and total > cfg.max_per_doc:
        return Rejection(f"{NAME}.too_many_hits", total)
    return None


def check(text: str, cfg: PiiConfig) -> PiiResult:
    """The stage: redacted (or unchanged) text, hits per kind, and the `pii.too_many_hits` rejection if any."""
    new_text, counts = redact(text, cfg)
    return PiiResult(new_text, counts, too_many_hits(n_hits(counts, cfg), cfg))
