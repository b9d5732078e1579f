"""Shared cache entries: built under a lock into a temporary directory, published by one rename;
what a killed builder leaves behind is removed (or resumed from) by the next one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest

from curate.io.cache import MARKER, build_entry, is_complete


def _write(files: dict[str, str]):
    calls: list[list[str]] = []

    def build(directory: Path) -> None:
        calls.append(sorted(p.name for p in directory.iterdir()))
        for name, text in files.items():
            (directory / name).write_text(text)

    return build, calls


def _siblings(entry: Path) -> list[str]:
    return sorted(p.name for p in entry.parent.iterdir())


def test_an_entry_is_built_once_and_published_whole(tmp_path):
    entry = tmp_path / "cache" / "kind" / "web-abc"
    build, calls = _write({"data.txt": "hello"})
    assert build_entry(entry, build) == entry
    assert build_entry(entry, build) == entry
    assert calls == [[]]  # once, into an empty directory
    assert is_complete(entry) and (entry / "data.txt").read_text() == "hello"
    assert _siblings(entry) == ["web-abc", "web-abc.lock"]  # no temporary directory left


def test_a_killed_builders_leftovers_are_removed_before_building(tmp_path):
    entry = tmp_path / "web-abc"
    stale = tmp_path / "web-abc.tmp-99999-0bad"  # a builder killed half way
    stale.mkdir()
    (stale / "data.txt").write_text("half")
    entry.mkdir()  # a directory at the entry's name without the marker: not an entry
    (entry / "data.txt").write_text("half too")
    assert not is_complete(entry)
    build, calls = _write({"data.txt": "whole"})
    build_entry(entry, build)
    assert calls == [[]]
    assert (entry / "data.txt").read_text() == "whole"
    assert _siblings(entry) == ["web-abc", "web-abc.lock"]


def test_a_resumable_build_continues_from_the_killed_builders_directory(tmp_path):
    entry = tmp_path / "web-abc"
    older, newer = tmp_path / "web-abc.tmp-1-aaaa", tmp_path / "web-abc.tmp-2-bbbb"
    for path, text in ((older, "step 1"), (newer, "step 5")):
        path.mkdir()
        (path / "progress.txt").write_text(text)
    os.utime(older, ns=(1, 1))  # the newer one is the more recently changed
    seen: list[str] = []
    build_entry(entry, lambda d: seen.append((d / "progress.txt").read_text()), resume=True)
    assert seen == ["step 5"]
    assert _siblings(entry) == ["web-abc", "web-abc.lock"]


def test_a_failed_build_publishes_nothing(tmp_path):
    entry = tmp_path / "web-abc"

    def fail(directory: Path) -> None:
        (directory / "data.txt").write_text("half")
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        build_entry(entry, fail)
    assert _siblings(entry) == ["web-abc.lock"]
    build, calls = _write({"data.txt": "whole"})
    build_entry(entry, build)
    assert calls == [[]] and is_complete(entry)


def _build_forever(entry: str, in_build) -> None:
    """A builder (spawned) that never finishes: killed while it holds the lock."""

    def build(directory: Path) -> None:
        (directory / "data.txt").write_text("half")
        in_build.set()
        threading.Event().wait()  # never set

    build_entry(Path(entry), build)


def test_a_builder_killed_while_holding_the_lock_does_not_block_the_next(tmp_path):
    entry = tmp_path / "web-abc"
    ctx = multiprocessing.get_context("spawn")
    in_build = ctx.Event()
    builder = ctx.Process(target=_build_forever, args=(str(entry), in_build))
    builder.start()
    try:
        assert in_build.wait(timeout=120), "the builder never started building"
    finally:
        os.kill(builder.pid, signal.SIGKILL)
        builder.join()
    assert [p.name.startswith("web-abc.tmp-") for p in tmp_path.iterdir()].count(True) == 1
    assert not is_complete(entry)
    build, calls = _write({"data.txt": "whole"})
    build_entry(entry, build)  # the kernel released the dead builder's lock
    assert calls == [[]] and (entry / "data.txt").read_text() == "whole"
    assert (entry / MARKER).exists()
    assert _siblings(entry) == ["web-abc", "web-abc.lock"]
