"""The shared cache (``$CURATE_CACHE_DIR``, else ``~/.cache/curate``): entries built once, whole.

Several curate processes may ask for the same entry at the same time (the runs of a sweep with
``init_from: base:web``, two runs started side by side). An entry is a directory that is built
once and never changed afterwards; ``build_entry(entry, build)`` is the only way one is made:

- a reader accepts a directory only when it holds the completion marker (``_CACHE_COMPLETE``);
- a builder takes an exclusive ``flock`` on ``<entry>.lock`` beside the entry and looks again
  (another process may have built it while this one waited), builds into a temporary directory
  of its own (``<entry>.tmp-<pid>-<random>``), writes the marker into it, and renames it to
  ``<entry>`` in one step, then lets the lock go.

So a reader sees either no entry or a whole one. A builder killed mid-build leaves its temporary
directory behind, and the kernel releases its lock; the next builder, under the lock, removes that
directory, or continues from it when the build can resume (``resume=True``: a base model's
training). A directory at the entry's name without the marker (built in place by an older curate,
or damaged) is treated the same way.

Like the run directory, the cache must be on a local or a POSIX-compliant shared file system:
renames must be atomic and ``flock`` must work.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MARKER = "_CACHE_COMPLETE"


def default_cache_dir() -> Path:
    """Where shared entries (base tokens, base models) live: ``$CURATE_CACHE_DIR``, else ``~/.cache/curate``."""
    return Path(os.environ.get("CURATE_CACHE_DIR") or Path.home() / ".cache" / "curate")


def is_complete(entry: str | os.PathLike) -> bool:
    """Whether ``entry`` is a whole, published cache entry (it holds the completion marker)."""
    return (Path(entry) / MARKER).is_file()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``: released when the block ends or the process dies."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _leftovers(entry: Path) -> list[Path]:
    """What killed builders left: their temporary directories and an entry without its marker,
    the most recently changed last."""
    found = [Path(p) for p in glob.glob(glob.escape(str(entry)) + ".tmp-*")]
    if entry.exists() or entry.is_symlink():
        found.append(entry)
    return sorted(found, key=lambda p: p.lstat().st_mtime_ns)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def build_entry(entry: str | os.PathLike, build: Callable[[Path], object], *, resume: bool = False) -> Path:
    """The cache entry ``entry`` (a directory); if it is not complete yet, ``build(tmp_dir)``
    writes its files into an empty (or, with ``resume``, a killed builder's) directory, which is
    then published as ``entry`` in one rename. Built once however many processes ask at a time."""
    entry = Path(entry)
    if is_complete(entry):
        return entry
    entry.parent.mkdir(parents=True, exist_ok=True)
    with _locked(entry.with_name(entry.name + ".lock")):
        if is_complete(entry):  # another process built it while this one waited for the lock
            return entry
        tmp = entry.with_name(f"{entry.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        leftovers = _leftovers(entry)  # under the lock, nobody is writing these any more
        adopted = leftovers.pop() if resume and leftovers and leftovers[-1].is_dir() else None
        for path in leftovers:
            _remove(path)
        if adopted is not None:
            adopted.rename(tmp)
        else:
            tmp.mkdir()
        try:
            build(tmp)
            marker = {"pid": os.getpid(), "host": socket.gethostname(), "built_at": time.time()}
            (tmp / MARKER).write_text(json.dumps(marker) + "\n")
            os.rename(tmp, entry)
        except BaseException:
            if not resume:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
    return entry
