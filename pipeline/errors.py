"""Errors a user can cause and fix, each printed as one line by the `winnow` command (exit 2; the bias gate 3).
Anything else is a bug: one line too, the traceback with --verbose (exit 1)."""
from __future__ import annotations

import errno


class RunError(RuntimeError):
    """A user-facing problem (bad arguments, existing output, unreadable input): printed without a traceback."""


class GateError(RunError):
    """The bias gate flagged a filter x group; the outputs are complete (exit status 3)."""


class MissingExtra(RuntimeError):
    """A command needs an optional dependency that is not installed (exit 2): the message says how to install
    it, e.g. `pip install 'winnow-corpus[train]'`."""


# errors of the machine rather than of Winnow: a full or read-only disk, missing permission
ENVIRONMENT_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                      errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
                      errno.EPERM: "operation not permitted"}
_MARKS = {f"[Errno {n}]": what for n, what in ENVIRONMENT_ERRNOS.items()}


def environment_cause(exc: BaseException) -> str | None:
    """A line naming the machine's problem behind `exc` (its causes and contexts included, and errors a
    runner re-raised as text), or None when it is not one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            where = f": {exc.filename}" if exc.filename else ""
            return f"{ENVIRONMENT_ERRNOS[exc.errno]}{where}"
        text = str(exc)
        for mark, what in _MARKS.items():
            if mark in text:
                tail = text[text.index(mark) + len(mark):].strip().splitlines()[0][:200]
                return f"{what} ({tail})"
        exc = exc.__cause__ or exc.__context__
    return None


def was_interrupted(exc: BaseException) -> bool:
    """`exc` is, or wraps, a KeyboardInterrupt (Beam's in-process runner re-raises it as a RuntimeError whose
    message starts with 'KeyboardInterrupt')."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt) or str(exc).startswith("KeyboardInterrupt"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_interrupt_requested = False


def request_interrupt(signum=None, frame=None):
    """Handler of Ctrl-C (SIGINT) and SIGTERM: remember the request, then raise KeyboardInterrupt. The flag
    outlives the exception where Python drops it: raised inside a callback it runs with exceptions ignored
    (distributed's gc callback, a weakref finalizer), KeyboardInterrupt is discarded and the run would go on
    to put its output in place; `check_interrupt` stops it before that."""
    global _interrupt_requested
    _interrupt_requested = True
    raise KeyboardInterrupt


def unraisable_hook(default):
    """sys.unraisablehook for the CLI: a KeyboardInterrupt raised inside a callback (the flag carries it), and
    anything a callback raises once an interrupt was requested (distributed's gc callback, cut off half-way by
    Ctrl-C, fails an assertion on its next call), print nothing; every other unraisable goes to `default`."""
    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt) or _interrupt_requested:
            return
        default(unraisable)
    return hook


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if an interrupt was requested, even one that a callback swallowed."""
    if _interrupt_requested:
        raise KeyboardInterrupt
