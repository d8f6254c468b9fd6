"""The output folder's life cycle: what a run may write to or replace, its temporary sibling, and the swap
that puts a finished run in place.

A run writes everything under OUT.winnow-tmp (marked as Winnow's by a file inside it), then puts it in place:
- OUT absent or empty: one rename;
- OUT holds an earlier Winnow run (--overwrite): the two folders are exchanged in one atomic step (Linux
  renameat2 RENAME_EXCHANGE), and the old run, now at OUT.winnow-tmp, is deleted last. At every instant OUT
  is either the complete old run or the complete new one. Where the file system cannot exchange (macOS,
  some network file systems) the old run is renamed to OUT.winnow-old first, the new one renamed in, the old
  one deleted; a kill between the two renames leaves no OUT, and the next run puts OUT.winnow-old back;
- object stores (gs://): object by object, not atomic (a "folder" there is only a name prefix).

Nothing is deleted unless Winnow made it: --overwrite replaces only an empty folder or a folder holding a
Winnow manifest.json, and a leftover temporary folder only if it carries the marker or a manifest.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import signal

from pipeline.io import files
from schemas.manifest import MANIFEST_FILE

TMP_SUFFIX = ".winnow-tmp"
OLD_SUFFIX = ".winnow-old"
SCRATCH_SUFFIX = ".winnow-scratch"
MARKER = ".winnow-tmp-marker"            # inside OUT.winnow-tmp while a run writes it


class OutputError(ValueError):
    """The output folder cannot be used as asked (one line for the user)."""


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL at the named point when WINNOW_FAILPOINT names it (crash-safety tests
    kill a run at every step of the swap)."""
    if os.environ.get("WINNOW_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _remote(path: str) -> bool:
    return "://" in path


def tmp_of(out: str) -> str:
    return out.rstrip("/") + TMP_SUFFIX


def is_winnow_output(path: str) -> bool:
    """`path` holds a manifest.json that Winnow wrote (a JSON object with its schema_version and config_hash).
    Deliberately looser than schemas.manifest.read: a run of an older schema version is still Winnow's to
    replace."""
    mpath = files.join(path, MANIFEST_FILE)
    try:
        if _remote(path):
            from apache_beam.io.filesystems import FileSystems
            if not FileSystems.exists(mpath):
                return False
            m = json.loads(files.read_bytes(mpath))
        else:
            if not os.path.isfile(mpath):
                return False
            with open(mpath, "rb") as fh:
                m = json.loads(fh.read())
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and "schema_version" in m and "config_hash" in m


def _is_empty_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.listdir(path)


def _contains(folder: str, path: str) -> bool:
    """`path` is `folder` or lies below it (both resolved)."""
    folder, path = os.path.realpath(folder), os.path.realpath(path)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output(out: str, overwrite: bool, input_paths: list[str] = ()) -> None:
    """Refuse, before anything runs, an output folder this run must not write to or replace."""
    out = out.rstrip("/") or "/"
    if _remote(out):
        if files.dir_exists(out) and not overwrite:
            raise OutputError(f"output {out} already exists; pass --overwrite to replace it")
        if overwrite and files.dir_exists(out) and not is_winnow_output(out):
            raise OutputError(f"output {out} holds objects but no Winnow manifest.json; refusing to replace it "
                              "(delete it yourself or choose another --output)")
        return
    real = os.path.realpath(out)
    if os.path.islink(out):
        raise OutputError(f"output {out} is a symbolic link; give the real folder ({real}) or another --output")
    home = os.path.realpath(os.path.expanduser("~"))
    if real == os.sep or real == home:
        raise OutputError(f"output {out} is {'the root' if real == os.sep else 'your home'} folder; "
                          "choose a folder of its own for --output")
    if _contains(out, os.getcwd()):
        raise OutputError(f"output {out} is or contains the current folder; choose a folder of its own for --output")
    for p in input_paths:
        if "://" not in p and _contains(out, p):
            raise OutputError(f"output {out} contains the input {p}; choose another --output")
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"output {out} is a file, not a folder")
    if os.path.isdir(out) and not _is_empty_dir(out):
        if not overwrite:
            raise OutputError(f"output {out} already exists; pass --overwrite to replace it")
        if not is_winnow_output(out):
            raise OutputError(f"output {out} is not a Winnow output (no Winnow manifest.json in it); --overwrite "
                              "only replaces earlier runs: delete it yourself or choose another --output")
    parent = os.path.dirname(real) or "."
    if not os.path.isdir(parent):
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create the folder of output {out}: {e.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write output {out}: {parent} is not writable")


def _ours(path: str) -> bool:
    """A leftover sibling Winnow made: it carries the marker or a Winnow manifest."""
    if _remote(path):
        from apache_beam.io.filesystems import FileSystems
        return FileSystems.exists(files.join(path, MARKER)) or is_winnow_output(path)
    return os.path.isfile(os.path.join(path, MARKER)) or is_winnow_output(path) or _is_empty_dir(path)


def is_ours(path: str) -> bool:
    """A folder Winnow made (it carries the marker or a Winnow manifest, or is empty)."""
    return _ours(path)


def entries(path: str) -> list[str]:
    """The paths directly inside folder `path` (objects and sub-prefixes on object stores)."""
    if not _remote(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path))]
    from apache_beam.io.filesystems import FileSystems
    root = path.rstrip("/") + "/"
    tops = {m.path[len(root):].split("/", 1)[0] for m in FileSystems.match([root + "**"])[0].metadata_list}
    return [root + t for t in sorted(tops)]


def recover(out: str) -> str | None:
    """Undo what a run killed during a non-atomic swap left: OUT missing and the old run at OUT.winnow-old is
    put back. Returns a line saying what was done, or None."""
    out = out.rstrip("/")
    old = out + OLD_SUFFIX
    if _remote(out) or not os.path.isdir(old):
        return None
    if not os.path.exists(out) and is_winnow_output(old):
        os.rename(old, out)
        return f"restored {out} from {old} (an earlier run was interrupted while replacing it)"
    if _ours(old):
        files.delete_tree(old)
        return None
    raise OutputError(f"{old} exists and is not Winnow's; move it away and run again")


def clear_leftover(path: str) -> bool:
    """Delete a temporary sibling an earlier run left (only if Winnow made it); True if one was deleted."""
    if not files.dir_exists(path):
        return False
    if not _ours(path):
        raise OutputError(f"{path} exists and was not made by Winnow; move it away and run again")
    files.delete_tree(path)
    return True


def make_tmp(out: str) -> str:
    """Create OUT.winnow-tmp, marked as Winnow's; returns its path."""
    return make_marked(tmp_of(out))


def make_marked(path: str) -> str:
    """Create folder `path` with the marker that says Winnow made it (and may delete it)."""
    if not _remote(path):
        os.makedirs(path)
    files.write_bytes(files.join(path, MARKER), b"made by winnow run; deleted when the run ends\n")
    return path


def remove_tmp(tmp: str) -> None:
    """Delete a run's temporary or scratch folder after the run (only if it is Winnow's)."""
    if files.dir_exists(tmp) and _ours(tmp):
        files.delete_tree(tmp)


_APPEARED = "output {} appeared during the run (another program wrote it); this run's result is discarded"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Atomically exchange folders a and b (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), b)


def swap_into_place(tmp: str, out: str, overwrite: bool) -> None:
    """Put the finished run at `tmp` in place of `out` (see the module docstring)."""
    tmp, out = tmp.rstrip("/"), out.rstrip("/")
    if _remote(out):
        from apache_beam.io.filesystems import FileSystems
        if files.dir_exists(out):
            if not overwrite:
                raise OutputError(_APPEARED.format(out))
            files.delete_tree(out)
        FileSystems.delete([files.join(tmp, MARKER)])
        files.move_tree(tmp, out)
        return
    if os.path.isdir(out) and not _is_empty_dir(out) and not (overwrite and is_winnow_output(out)):
        raise OutputError(_APPEARED.format(out))
    os.remove(os.path.join(tmp, MARKER))       # tmp is still recognisably Winnow's: it holds the manifest
    failpoint("before-swap")
    if not os.path.isdir(out) or _is_empty_dir(out):
        os.rename(tmp, out)                    # onto an empty folder too, atomically
        failpoint("after-swap")
        return
    if _exchange(tmp, out):
        failpoint("after-swap")
        _delete_old(tmp)                       # the old run, now at OUT.winnow-tmp
        return
    old = out + OLD_SUFFIX
    os.rename(out, old)
    failpoint("after-aside")
    os.rename(tmp, out)
    failpoint("after-swap")
    _delete_old(old)


def _delete_old(path: str) -> None:
    """Delete a replaced run: marked first, the marker last, so that a half-deleted one is still known as
    Winnow's (and removed by the next run)."""
    with open(os.path.join(path, MARKER), "wb") as fh:
        fh.write(b"a replaced winnow run, being deleted\n")
    names = sorted(n for n in os.listdir(path) if n != MARKER)
    for i, name in enumerate(names):
        if i == 2:
            failpoint("during-delete")
        files.delete_tree(os.path.join(path, name))
    files.delete_tree(path)
