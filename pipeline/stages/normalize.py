"""Text normalization (mojibake repair, NFC, whitespace) and the ids derived from normalized text.

`normalize_text` is idempotent; `text_hash` keys exact dedup; `make_doc_id` is the output doc_id.
Mojibake repair is ftfy (Speer 2019, https://github.com/rspeer/python-ftfy), with the options below.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import ftfy
import ftfy.badness
import ftfy.chardata
import ftfy.fixes

_DIGEST_BYTES = 16               # 128-bit blake2b: collisions negligible at 10^12 documents

# ftfy options that differ from its defaults say why; the rest are spelled out so that an ftfy
# upgrade changing a default cannot change our output silently.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,         # "&amp;" in plain text may be meant; HTML extraction already unescaped
    remove_terminal_escapes=True,
    fix_encoding=True,           # the point: "doesnÃ¢â‚¬â„¢t" -> "doesn’t"
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=True,
    fix_character_width=False,   # would turn CJK full-width punctuation "，（" into ",("
    uncurl_quotes=False,         # curly quotes are correct text, not an encoding error
    fix_line_breaks=True,
    fix_surrogates=True,
    remove_control_chars=True,
    normalization="NFC",
    explain=False,
)

# Invisible characters removed: zero-width space, word joiner, BOM/zero-width no-break space, soft
# hyphen (they split words for filters and dedup). ZWJ/ZWNJ (U+200D/U+200C) are kept: Persian, Indic
# scripts and emoji sequences need them. U+FFFD is kept: it marks lossy decoding for quality filters.
_INVISIBLE = "\u200b\u2060\ufeff\u00ad"
# Vertical tab and form feed (page breaks in PDF-extracted text) end a line.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# The other C0/C1 controls (Cc) except \t (a space below) are removed; lone surrogates (Cs), which
# UTF-8 cannot encode, become U+FFFD.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f" + _INVISIBLE + "]")   # and the invisibles
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Horizontal white space: what str.split() splits on, minus line breaks (as CCNet's " ".join(split())).
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_MAX_PASSES = 4


def normalize_text(text: str) -> str:
    """Repair mojibake, NFC, drop controls and invisible characters, one space between words,
    stripped lines, at most one blank line in a row, stripped text. Idempotent."""
    # ftfy and _clean can each expose work for the other (ftfy fixes "Ã " only once NBSP became a
    # space), so repeat to a fixed point. Cleaning first leaves ftfy nothing to do on most text:
    # then one ftfy call settles it.
    text = _clean(text)
    for _ in range(_MAX_PASSES):
        fixed = _fix_text(text)
        if fixed == text:
            break
        text = _clean(fixed)
    return text


def _fix_text(text: str) -> str:
    """ftfy.fix_text, line by line, skipping lines ftfy would return unchanged. ftfy fixes text line by line;
    after _clean an ASCII line has nothing ftfy would change (no mojibake, controls, ligatures or odd line
    breaks are ASCII), and so has a line that _unchanged_by_ftfy clears. This only saves ftfy's per-line
    overhead (about 5x on web pages for ASCII lines, 3x more on non-Latin text); the output is the same."""
    if text.isascii():
        return text
    lines = text.split("\n")
    return "\n".join(line if line.isascii() or _unchanged_by_ftfy(line) else ftfy.fix_text(line, _FTFY)
                     for line in lines)


# Characters that make one of ftfy's fixers act on a line that is not mojibake, with _FTFY's options:
# fix_c1_controls (U+0080-U+009F), fix_latin_ligatures (ftfy.chardata.LIGATURES), fix_line_breaks (CR,
# U+2028/2029, NEL), fix_surrogates, remove_terminal_escapes (ESC) and remove_control_chars
# (ftfy.chardata.CONTROL_CHARS). unescape_html, fix_character_width and uncurl_quotes are off.
_FTFY_ACTS_ON = re.compile("[" + "".join(
    re.escape(chr(c)) for c in sorted(set(ftfy.chardata.CONTROL_CHARS) | set(ftfy.chardata.LIGATURES)
                                      | set(range(0x80, 0xA0)) | {0x0D, 0x1B, 0x2028, 0x2029})
) + "\\ud800-\\udfff]")


def _mojibake_screen(pattern: re.Pattern) -> tuple[dict[str, int], list[int]] | None:
    """A necessary condition for a match of `pattern` (ftfy's BADNESS_RE, an alternation of character
    sequences): each alternative needs a character from each of its mandatory character classes. For the
    classes made of non-ASCII characters only, bit k of BITS[c] says that c is in class k, and MASKS holds the
    bits of each alternative's classes; a line whose characters do not cover every class of some alternative
    cannot match, and this costs a set intersection instead of BADNESS_RE's 37 alternatives tried at every
    position. Classes with ASCII, negated classes and categories ("[^A-Za-z]", "\\s") are not used, which only
    makes the test looser. None (no shortcut) if the pattern is not such an alternation or an alternative has
    no usable class."""
    from re import _constants as sre, _parser
    if pattern.flags & re.IGNORECASE:
        return None
    tree = _parser.parse(pattern.pattern, pattern.flags)
    branches = tree[0][1][1] if len(tree) == 1 and tree[0][0] is sre.BRANCH else [tree]

    def chars(op, av):
        if op is sre.LITERAL:
            return {av}
        if op is not sre.IN:
            return None
        out = set()
        for o, a in av:
            if o is sre.LITERAL:
                out.add(a)
            elif o is sre.RANGE:
                out.update(range(a[0], a[1] + 1))
            else:                                   # a negated class or a category: anything may match
                return None
        return out

    bits: dict[str, int] = {}
    masks, k = [], 0
    for branch in branches:
        mask = 0
        for cls in (c for c in (chars(op, av) for op, av in branch) if c and min(c) >= 0x80):
            for c in cls:
                bits[chr(c)] = bits.get(chr(c), 0) | (1 << k)
            mask |= 1 << k
            k += 1
        if not mask:
            return None
        masks.append(mask)
    return bits, masks


_SCREEN = _mojibake_screen(ftfy.badness.BADNESS_RE)
_SCREEN_CHARS = frozenset(_SCREEN[0]) if _SCREEN else frozenset()


def _may_be_bad(line: str) -> bool:
    """False when ftfy.badness.is_bad(line) is certainly False (_mojibake_screen); True: ask ftfy."""
    if _SCREEN is None:
        return True
    present = _SCREEN_CHARS.intersection(line)
    if not present:
        return False
    bits, masks = _SCREEN
    have = 0
    for c in present:
        have |= bits[c]
    return any(have & mask == mask for mask in masks)


def _unchanged_by_ftfy(line: str) -> bool:
    """True when ftfy.fix_text(line, _FTFY) == line, decided without running its fixers: ftfy's fix_encoding
    returns a line unchanged unless ftfy.badness.is_bad(line) (ftfy/__init__.py
    _fix_encoding_one_step_and_explain), no other enabled fixer has a character to act on, and the line is
    already NFC. A line that fails the test goes through ftfy itself."""
    if _FTFY_ACTS_ON.search(line) is not None or not unicodedata.is_normalized("NFC", line):
        return False
    return not _may_be_bad(line) or not ftfy.badness.is_bad(line)


def _clean(text: str) -> str:
    if "\x1b" in text:                              # before ESC goes with the other controls
        text = ftfy.fixes.remove_terminal_escapes(text)
    text = _SURROGATES.sub("\ufffd", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    if not unicodedata.is_normalized("NFC", text):  # removals can join a letter and its accent
        text = unicodedata.normalize("NFC", text)
    # one space between words; then at most one space sits on each side of a line break
    text = _SPACES.sub(" ", text).replace(" \n", "\n").replace("\n ", "\n")
    return _BLANK_LINES.sub("\n\n", text).strip(" \n")


def _digest(data: str) -> str:
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest()


def text_hash(text: str) -> str:
    """Hex blake2b-128 of the text, the key of exact dedup; pass normalized text."""
    return _digest(text)


def make_doc_id(source: str, source_id: str | None, position: int, text: str) -> str:
    """Stable, per-record-unique doc_id: blake2b-128 of (source, record id or content hash, position).

    `source` is the input path as given (two shards with the same basename stay apart); the record
    id, or the hash of the normalized `text` when the record has none, follows the spec; `position`
    keeps records with a repeated id or identical text in one file apart. Same input, same id.
    """
    key = f"id:{source_id}" if source_id is not None else f"sha:{text_hash(text)}"
    return _digest(f"{source}\x00{key}\x00{position}")
