"""Process-memory memos of what is loaded from files: a model, an eval set, a stage's state is
loaded once per process and per version of its file, and again when the file is replaced.

Not the on-disk cache shared between runs (that is ``io/cache.py``): nothing here outlives the
process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from curate.io.fs import file_version

T = TypeVar("T")
Paths = str | Path | tuple[str, ...] | None
"""What a memoised loader is keyed by: a path, several paths, or None (a bundled resource)."""


def versions(paths: Paths) -> Any:
    """The version (:func:`~curate.io.fs.file_version`) of each file of ``paths``, in its shape."""
    if paths is None:
        return None
    if isinstance(paths, tuple):
        return tuple(file_version(p) for p in paths)
    return file_version(paths)


def once_per_file_version(*, maxsize: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate ``load(paths, *args)`` so that it runs once per process for each ``paths``, version
    of those files and ``args`` (all hashable), keeping the ``maxsize`` latest results: a file
    replaced on disk (a retrained model) is loaded again, an unchanged one never twice.

    The decorated function has ``cache_info`` and ``cache_clear``, as ``functools.lru_cache``'s."""

    def decorate(load: Callable[..., T]) -> Callable[..., T]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(paths: Paths, version: Any, *args: Any) -> T:
            return load(paths, *args)

        @functools.wraps(load)
        def memoised(paths: Paths, *args: Any) -> T:
            return cached(paths, versions(paths), *args)

        memoised.cache_info = cached.cache_info  # type: ignore[attr-defined]
        memoised.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return memoised

    return decorate
