"""The input files of a run: patterns (files, globs, folders, object-store prefixes) expanded and checked before
anything starts, so a typo or an unreadable format is one line, not a failed job."""
from __future__ import annotations

import os

from apache_beam.io.filesystems import FileSystems

from pipeline.errors import RunError
from pipeline.stages import parse


def expand_inputs(inputs: list[str]) -> tuple[list[str], int]:
    """The input files of a run, sorted, and their total size in bytes. A pattern is a file, a glob or a
    folder: a folder (`in` or `in/`) stands for every file below it, at any depth, except hidden ones (names
    starting with '.'). Every pattern must match something, and every file must have a format we read (by
    its extension); anything else is refused before the run starts."""
    found: dict[str, int] = {}
    for pattern in inputs:
        matched = _expand_one(pattern)
        if not matched:
            raise RunError(f"input {pattern!r} matches no file")
        for path, size in matched:
            try:
                parse.format_of(path)
            except ValueError as e:
                raise RunError(f"input {pattern!r}: {e}") from None
            found[path] = size
    return sorted(found), sum(found.values())


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/") if part)


def _expand_one(pattern: str) -> list[tuple[str, int]]:
    if "://" not in pattern:
        if os.path.isdir(pattern):
            root = pattern.rstrip("/") or "/"
            out = []
            for d, dirs, names in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not x.startswith("."))
                out += [(os.path.join(d, n), os.path.getsize(os.path.join(d, n)))
                        for n in sorted(names) if not n.startswith(".")]
            return out
        res = FileSystems.match([pattern])[0].metadata_list
        return [(m.path, m.size_in_bytes) for m in res if not os.path.isdir(m.path)]
    res = FileSystems.match([pattern])[0].metadata_list
    if res and not pattern.endswith("/"):
        return [(m.path, m.size_in_bytes) for m in res]
    root = pattern.rstrip("/")                   # an object-store "folder": every object under the prefix
    res = FileSystems.match([root + "/**"])[0].metadata_list
    return [(m.path, m.size_in_bytes) for m in res if not _hidden(m.path[len(root):])]
