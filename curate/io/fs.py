"""Input paths: local paths, or fsspec URLs (``s3://``, ``gs://``, ``file://``...) for sources.

A source path with a protocol (``s3://bucket/web/*.jsonl.zst``) is listed, sized and opened
through fsspec, which needs the protocol's package (s3fs for s3://, gcsfs for gs://, ...; file://
needs none). Every other path is a local path, handled by the standard library as before. Only
sources take URLs: the run directory is a local (or shared, mounted) POSIX directory, because
completion markers rely on atomic renames and the run lock on ``flock``.
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from curate.errors import RecipeError

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def file_version(path: str | Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of a local file, or None if it cannot be read: part of the key of a
    per-process cache of something loaded from it, so that a file replaced on disk (a retrained
    model) is loaded again."""
    try:
        stat = Path(path).expanduser().stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def is_url(path: str) -> bool:
    """True for ``protocol://...`` paths (read through fsspec)."""
    return _URL.match(path) is not None


def protocol(path: str) -> str | None:
    match = _URL.match(path)
    return match.group(1) if match else None


def _filesystem(url: str) -> tuple[Any, str]:
    """(fsspec file system, path inside it) of a URL; a RecipeError naming the missing package."""
    try:
        import fsspec
    except ImportError:
        raise RecipeError(f"{url!r} is a URL; reading URLs needs fsspec: pip install fsspec") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise RecipeError(
            f"cannot read {url!r}: {exc} (fsspec needs a package per protocol: s3fs for s3://, gcsfs for gs://)"
        ) from None


def glob_files(pattern: str) -> list[str]:
    """Files (not directories) matching a glob pattern, sorted; local paths made absolute (tasks may
    run in another working directory, or on another node), URLs keep their protocol."""
    if not is_url(pattern):
        return unique_real_files(_local_glob(pattern))
    fs, path = _filesystem(pattern)
    found = fs.glob(path, detail=True)
    return sorted(fs.unstrip_protocol(p) for p, info in found.items() if info.get("type") == "file")


def _local_glob(pattern: str) -> list[str]:
    """Absolute paths matching a local pattern. ``**`` walks each real directory once: a directory
    symlink loop would make ``glob`` list every file once per turn of the loop (40 times or more)."""
    parts = pattern.split(os.sep)
    deep = next((i for i, part in enumerate(parts) if "**" in part), None)
    if deep is None or parts[deep] != "**":
        return [os.path.abspath(p) for p in glob.glob(pattern, recursive=True)]
    head, rest = os.sep.join(parts[:deep]) or ("/" if pattern.startswith(os.sep) else "."), parts[deep + 1 :]
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    for base in sorted(glob.glob(head)) if glob.has_magic(head) else [head]:
        for directory, subdirs, _ in os.walk(base, followlinks=True):
            st = os.stat(directory)
            if (st.st_dev, st.st_ino) in seen:
                subdirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))  # as glob: no hidden dirs
            tail = os.path.join(glob.escape(directory), *(rest or ["*"]))
            found += (os.path.abspath(p) for p in _local_glob(tail))
    return found


def unique_real_files(paths: Iterable[str]) -> list[str]:
    """Local files among ``paths``, sorted, each real file once (by resolved path: the first name in
    sorted order stands for a file reached through several links)."""
    chosen: dict[str, str] = {}
    for path in sorted(set(paths)):
        if os.path.isfile(path):
            chosen.setdefault(os.path.realpath(path), path)
    return sorted(chosen.values())


def size(path: str) -> int:
    if not is_url(path):
        return os.path.getsize(path)
    fs, inner = _filesystem(path)
    return int(fs.size(inner))


def open_binary(path: str) -> BinaryIO:
    """A binary file object for reading, local or remote (seekable for both)."""
    if not is_url(path):
        return open(path, "rb")
    fs, inner = _filesystem(path)
    return fs.open(inner, "rb")


def fingerprint(path: str) -> list[Any]:
    """What tells a changed input file apart: its absolute path or URL, size and modification
    time (or the store's version tag); None where the file is gone."""
    if not is_url(path):
        try:
            st = os.stat(path)
        except OSError:
            return [os.path.abspath(path), None, None]
        return [os.path.abspath(path), st.st_size, st.st_mtime_ns]
    fs, inner = _filesystem(path)
    try:
        info = fs.info(inner)
    except (OSError, FileNotFoundError):
        return [path, None, None]
    version = next(
        (str(info[k]) for k in ("mtime", "LastModified", "ETag", "etag", "updated", "md5Hash") if k in info),
        None,
    )
    return [path, info.get("size"), version]


def local_name(path: str) -> str:
    """The path without its protocol, absolute for local paths (to compute relative file names)."""
    if is_url(path):
        return "/" + _URL.sub("", path).lstrip("/")
    return os.path.abspath(path)


def relative_names(files: list[str]) -> list[str]:
    """Names of files relative to their common directory (a lone file: its base name). A file
    gets the same name whether it is given as a local path or a file:// URL, so ids match."""
    names = [local_name(f) for f in files]
    if len(names) == 1:
        return [posixpath.basename(names[0])]
    root = posixpath.commonpath(names)
    return [posixpath.relpath(n, root) for n in names]
