"""The run directory: where every step writes, how completion is marked, how caches are found.

::

    runs/<name>/
      recipe.yaml  manifest.json  .lock (while a run holds it)
      stages/NN-<stage>/part-XXXXX-YYYY.parquet  _done/<shard>.json  _KEY  _SUCCESS  (+ _partials/, _state.pkl)
      rejected/NN-<stage>/part-XXXXX-YYYY.parquet
      stats/NN-<stage>.json
      output/part-XXXXX-YYYY.parquet  README.md

A step is complete when its ``_SUCCESS`` exists and its ``_KEY`` equals the key the recipe gives
it now; a shard of a step is complete when its ``_done/<shard>.json`` marker exists (written after
its data, atomically). Completed steps with the same key are also found in sibling run
directories (``runs/*``) and adopted by hard links, so sweeps and edited recipes reuse work.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from curate.errors import UsageError
from curate.io.writers import read_json, write_json, write_text

SUCCESS, KEY, DONE, PARTIALS, STATE = "_SUCCESS", "_KEY", "_done", "_partials", "_state.pkl"
ARTIFACTS = "_ARTIFACTS"


@dataclass(frozen=True)
class Step:
    """One step of a run: read (00), each recipe stage, and output."""

    index: int
    name: str
    key: str

    @property
    def dirname(self) -> str:
        return f"{self.index:02d}-{self.name}"


class RunDir:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._lock: IO[str] | None = None

    # --- layout -------------------------------------------------------------------------------
    def stage(self, step: Step) -> Path:
        return self.root / "stages" / step.dirname

    def rejected(self, step: Step) -> Path:
        return self.root / "rejected" / step.dirname

    def stats(self, step: Step) -> Path:
        return self.root / "stats" / f"{step.dirname}.json"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def marker(self, step: Step, shard: str) -> Path:
        return self.stage(step) / DONE / f"{shard}.json"

    # --- lifecycle ----------------------------------------------------------------------------
    def prepare(self, *, mode: str) -> None:
        """Create the directory; refuse to touch an existing one unless resuming or forcing."""
        if self.root.exists() and any(self.root.iterdir()):
            if mode == "new":
                raise UsageError(
                    f"run directory {str(self.root)!r} already exists; pass --resume to continue it "
                    "(finished steps are reused) or --force to delete it and start over"
                )
            if mode == "force":
                self.lock()
                self._clear()
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock()
        self._remove_partial_writes()

    def _remove_partial_writes(self) -> None:
        """Files a killed run was writing (``*.tmp-<pid>``, ``*.tmp``): under the lock, nobody else is."""
        for path in self.root.rglob("*.tmp*"):
            if path.is_file() and (".tmp-" in path.name or path.name.endswith(".tmp")):
                path.unlink()

    def _clear(self) -> None:
        for child in self.root.iterdir():
            if child.name == ".lock":
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()

    def lock(self) -> None:
        if self._lock is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            handle = open(self.root / ".lock", "w")  # noqa: SIM115 - held for the life of the run
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise UsageError(
                    f"another curate process is running in {str(self.root)!r}; wait for it to finish"
                ) from None
            if _same_file(handle, self.root / ".lock"):
                self._lock = handle
                return
            handle.close()  # a run that finished in between removed the file we opened: open anew
        raise UsageError(f"cannot lock {str(self.root / '.lock')!r}: it keeps being replaced")

    def unlock(self) -> None:
        if self._lock is not None:
            # removed while still held, so that a finished run directory holds no .lock
            (self.root / ".lock").unlink(missing_ok=True)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # --- step state ---------------------------------------------------------------------------
    def is_complete(self, step: Step) -> bool:
        directory = self.stage(step)
        return (directory / SUCCESS).exists() and _read_key(directory) == step.key

    def begin(self, step: Step) -> None:
        """Start (or continue) a step: wipe what belongs to another key, then record ours."""
        directory = self.stage(step)
        if _read_key(directory) != step.key:
            self.discard(step)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / DONE).mkdir(exist_ok=True)
        if not (directory / KEY).exists():
            write_text(step.key, directory / KEY)

    def finish(self, step: Step, stats: dict) -> None:
        write_json(stats, self.stats(step))
        write_text(step.key, self.stage(step) / SUCCESS)

    def discard(self, step: Step) -> None:
        for path in (self.stage(step), self.rejected(step)):
            if path.exists():
                shutil.rmtree(path)
        self.stats(step).unlink(missing_ok=True)

    def prune(self, keep: list[Step]) -> None:
        """Remove step directories that the current recipe no longer has."""
        names = {s.dirname for s in keep}
        for parent in (self.root / "stages", self.root / "rejected"):
            if parent.exists():
                for child in parent.iterdir():
                    if child.name not in names:
                        shutil.rmtree(child)
        stats = self.root / "stats"
        if stats.exists():
            for child in stats.glob("*.json"):
                if child.stem not in names:
                    child.unlink()

    def done_shards(self, step: Step) -> dict[str, dict]:
        directory = self.stage(step) / DONE
        if not directory.exists():
            return {}
        return {p.stem: read_json(p) for p in sorted(directory.glob("*.json"))}

    # --- cache --------------------------------------------------------------------------------
    def adopt(self, step: Step, *, search: list[Path] | None = None) -> bool:
        """Reuse a completed step with the same key, here under another number or in a sibling run."""
        if self.is_complete(step):
            return True
        found = self._find_completed(step, search)
        if found is None:
            return False
        src_run, src_dirname = found
        self.discard(step)
        _link_tree(src_run / "stages" / src_dirname, self.stage(step))
        if (src_run / "rejected" / src_dirname).exists():
            _link_tree(src_run / "rejected" / src_dirname, self.rejected(step))
        artifacts_file = src_run / "stages" / src_dirname / ARTIFACTS
        if artifacts_file.exists():
            for name in artifacts_file.read_text().split():
                _link_tree(src_run / name, self.root / name)
        stats = read_json(src_run / "stats" / f"{src_dirname}.json")
        stats["adopted_from"] = str(src_run / "stages" / src_dirname)
        write_json(stats, self.stats(step))
        return True

    def _find_completed(self, step: Step, search: list[Path] | None) -> tuple[Path, str] | None:
        candidates = [self.root]
        parent = self.root.parent
        if search is None and parent.exists():
            candidates += sorted(p for p in parent.iterdir() if p.is_dir() and p != self.root)
        candidates += search or []
        for run in candidates:
            stages = run / "stages"
            if not stages.is_dir():
                continue
            for directory in sorted(stages.iterdir()):
                if run == self.root and directory.name == step.dirname:
                    continue
                if directory.name.split("-", 1)[-1] != step.name:
                    continue
                complete = (directory / SUCCESS).exists() and _read_key(directory) == step.key
                if complete and (run / "stats" / f"{directory.name}.json").exists():
                    return run, directory.name
        return None


def _read_key(directory: Path) -> str | None:
    try:
        return (directory / KEY).read_text().strip()
    except FileNotFoundError:
        return None


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _link_tree(src: Path, dst: Path) -> None:
    """Copy a file or tree by hard links (no data copied); falls back to copies across file systems."""
    tmp = dst.with_name(dst.name + ".adopting")
    _remove(tmp)
    if src.is_dir():
        shutil.copytree(src, tmp, copy_function=_link)
    else:
        _link(str(src), str(tmp))
    _remove(dst)
    os.replace(tmp, dst)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
