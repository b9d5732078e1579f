"""The run directory: where every step writes, how completion is marked, how caches are found.

Its layout (every name and path) is ``curate.io.rundir.RunLayout``; this module is its life: making,
locking, clearing and resuming one, marking steps complete, and adopting completed steps.

A step is complete when its ``_SUCCESS`` exists and its ``_KEY`` equals the key the recipe gives
it now; a shard of a step is complete when its ``_done/<shard>.json`` marker exists (written after
its data, atomically). Completed steps with the same key are also found in sibling run
directories (``runs/*``) and adopted by hard links, so sweeps and edited recipes reuse work,
after checking every file against the content hashes the step recorded when it finished
(``_CONTENT``).

A run directory carries ``.curate-run`` (runs made before it existed: ``manifest.json``). Curate
only ever deletes its own entries (``OWN_ENTRIES``) of a directory that carries one: ``--force``
refuses a directory holding anything else, ``--resume`` refuses a directory that is not a run and
removes only files named the way curate names its files, inside its own subdirectories.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import xxhash

from curate.errors import UsageError
from curate.io.rundir import (  # noqa: F401 - PARTIALS and STATE re-exported
    ARTIFACTS,
    CONTENT,
    DONE,
    EVAL_DOCS,
    KEY,
    LOCK,
    MANIFEST,
    MARKER,
    OUTPUT,
    PARTIALS,
    RECIPE,
    REJECTED,
    REPORT,
    SCORE,
    STAGES,
    STATE,
    STATS,
    SUCCESS,
    RunLayout,
)
from curate.io.writers import read_json, write_json, write_text

MARKER_VERSION = 1
STEP_DIRS = (STAGES, REJECTED)
ARTIFACT_DIRS = (OUTPUT, "tokenizer", "tokens", "exports", "train", "dpo", "index")
TRACKER_DIRS = ("wandb",)  # W&B's offline runs (track.wandb without a dir), see curate/track
OWN_ENTRIES = frozenset(
    {MARKER, LOCK, RECIPE, MANIFEST, SCORE, EVAL_DOCS, REPORT, STATS}
    | set(STEP_DIRS)
    | set(ARTIFACT_DIRS)
    | set(TRACKER_DIRS)
)
"""Everything curate writes at the top of a run directory; nothing else is ever deleted there."""
_TEMP = re.compile(r"\.(tmp(-\d+)?|adopting)$")
"""Names of files being written (``write_atomic``'s ``.tmp-<pid>``, ``.tmp``) or adopted."""
_STEP_DIR = re.compile(r"^\d{2,}-[A-Za-z0-9_]+$")
_STATS_FILE = re.compile(r"^\d{2,}-[A-Za-z0-9_]+\.json$")
UNHASHED_ARTIFACTS = frozenset({SCORE, EVAL_DOCS})
"""Artifacts left out of a step's content record: ``score.json`` (and the per-document scores
beside it, ``eval_docs/``) is a report that ``curate score`` rewrites (the checkpoint it scores
is hashed)."""


@dataclass(frozen=True)
class Step:
    """One step of a run: read (00), each recipe stage, and output."""

    index: int
    name: str
    key: str

    @property
    def dirname(self) -> str:
        return f"{self.index:02d}-{self.name}"


class RunDir(RunLayout):
    def __init__(self, root: str | os.PathLike) -> None:
        super().__init__(root)
        self._lock: IO[str] | None = None
        self.notes: list[str] = []
        """Why a completed step elsewhere was not adopted (its files differ from their record)."""

    # --- layout (of a step; the rest is RunLayout's) ------------------------------------------
    def stage(self, step: Step) -> Path:
        return self.stage_dir(step.dirname)

    def rejected(self, step: Step) -> Path:
        return self.rejected_dir(step.dirname)

    def stats(self, step: Step) -> Path:
        return self.stats_file(step.dirname)

    def marker(self, step: Step, shard: str) -> Path:
        return self.stage(step) / DONE / f"{shard}.json"

    # --- lifecycle ----------------------------------------------------------------------------
    def prepare(self, *, mode: str) -> None:
        """Create the directory; refuse to touch an existing one unless resuming or forcing, and
        refuse to resume or force one that curate did not make (see the module docstring)."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"--out {str(self.root)!r} is a file, not a directory; choose another --out")
        if self.root.exists() and any(self.root.iterdir()):
            if mode == "new":
                raise UsageError(
                    f"run directory {str(self.root)!r} already exists; pass --resume to continue it "
                    "(finished steps are reused) or --force to delete it and start over"
                )
            self._check_is_run(mode)
            if mode == "force":
                self.lock()
                self._clear()
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock()
        if not (self.root / MARKER).exists():
            write_json({"curate_run": MARKER_VERSION}, self.root / MARKER)
        self._remove_partial_writes()

    def _check_is_run(self, mode: str) -> None:
        """Raise unless the existing, non-empty directory is a curate run that ``mode`` may touch."""
        where = str(self.root)
        flag = f"--{mode}"
        protected = _protected_dirs()
        if self.root.resolve() in protected:
            raise UsageError(
                f"refusing {flag} on {where!r}: it is the file system root, your home or the working "
                "directory (or holds one of them); pass a run directory such as runs/<name> to --out"
            )
        if not is_run_dir(self.root):
            raise UsageError(
                f"refusing {flag} on {where!r}: it is not empty and not a curate run directory (no {MARKER} "
                "or manifest.json), so curate will not delete or change anything in it; choose a new or "
                "empty --out"
            )
        if mode == "force":
            foreign = self.foreign_entries()
            if foreign:
                shown = ", ".join(repr(str(p.relative_to(self.root))) for p in foreign[:5])
                more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
                raise UsageError(
                    f"refusing --force on {where!r}: besides a curate run it holds {shown}{more}, which "
                    "curate did not write; move them out (or delete the directory yourself) and retry"
                )

    def foreign_entries(self) -> list[Path]:
        """Entries of the run directory that curate does not write (``--force`` refuses to run over them)."""
        foreign = [
            child
            for child in sorted(self.root.iterdir())
            if child.name not in OWN_ENTRIES and not (_TEMP.search(child.name) and _own_temp(child.name))
        ]
        for parent in STEP_DIRS:
            foreign += [c for c in _children(self.root / parent) if not _is_step_dir(c.name)]
        foreign += [c for c in _children(self.stats_dir) if not _is_stats_file(c.name)]
        return foreign

    def _remove_partial_writes(self) -> None:
        """Files a killed run was writing (``*.tmp-<pid>``, ``*.tmp``), only where curate writes: at
        the top (its own files) and inside its own subdirectories. Under the lock, nobody else is."""
        for child in _children(self.root):
            if child.is_file() and _TEMP.search(child.name) and _own_temp(child.name):
                child.unlink()
        for name in (*STEP_DIRS, STATS, *ARTIFACT_DIRS):
            top = self.root / name
            if not top.is_dir() or top.is_symlink():
                continue
            for path in top.rglob("*.tmp*"):
                if path.is_file() and not path.is_symlink() and re.search(r"\.tmp(-\d+)?$", path.name):
                    path.unlink()

    def _clear(self) -> None:
        """Delete curate's own entries (the caller checked there is nothing else)."""
        for child in _children(self.root):
            if child.name == LOCK:
                continue
            if child.name in OWN_ENTRIES or (_TEMP.search(child.name) and _own_temp(child.name)):
                _remove(child)

    def lock(self) -> None:
        if self._lock is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            handle = open(self.lock_file, "w")  # noqa: SIM115 - held for the life of the run
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                raise UsageError(
                    f"another curate process is running in {str(self.root)!r}; wait for it to finish"
                ) from None
            if _same_file(handle, self.lock_file):
                self._lock = handle
                return
            handle.close()  # a run that finished in between removed the file we opened: open anew
        raise UsageError(f"cannot lock {str(self.lock_file)!r}: it keeps being replaced")

    def unlock(self) -> None:
        if self._lock is not None:
            # removed while still held, so that a finished run directory holds no .lock
            self.lock_file.unlink(missing_ok=True)
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
        """Mark a step complete: its stats, the content hash of every file it wrote, ``_SUCCESS``."""
        write_json(stats, self.stats(step))
        write_json(content_hashes(self.root, step.dirname), self.stage(step) / CONTENT)
        write_text(step.key, self.stage(step) / SUCCESS)

    def discard(self, step: Step) -> None:
        for path in (self.stage(step), self.rejected(step)):
            if path.exists():
                shutil.rmtree(path)
        self.stats(step).unlink(missing_ok=True)

    def prune(self, keep: list[Step]) -> None:
        """Remove step directories that the current recipe no longer has (only entries named the
        way curate names steps: anything else there is left alone)."""
        names = {s.dirname for s in keep}
        for parent in STEP_DIRS:
            for child in _children(self.root / parent):
                if _is_step_dir(child.name) and child.name not in names:
                    _remove(child)
        for child in _children(self.stats_dir):
            if _is_stats_file(child.name) and child.stem not in names:
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
        found = self._find_verified(step, search)
        if found is None:
            return False
        src_run, src_dirname = found
        src = RunLayout(src_run)
        self.discard(step)
        _link_tree(src.stage_dir(src_dirname), self.stage(step))
        if src.rejected_dir(src_dirname).exists():
            _link_tree(src.rejected_dir(src_dirname), self.rejected(step))
        artifacts_file = src.stage_dir(src_dirname) / ARTIFACTS
        if artifacts_file.exists():
            for name in artifacts_file.read_text().split():
                _link_tree(src_run / name, self.root / name)
        stats = read_json(src.stats_file(src_dirname))
        stats["adopted_from"] = str(src.stage_dir(src_dirname))
        write_json(stats, self.stats(step))
        return True

    def _find_verified(self, step: Step, search: list[Path] | None) -> tuple[Path, str] | None:
        """The first completed copy of ``step`` whose files match the hashes it recorded when it
        finished; a copy that does not (changed, added or missing files) is skipped, with a note."""
        for src_run, src_dirname in self._find_completed(step, search):
            where = RunLayout(src_run).stage_dir(src_dirname)
            recorded = _read_content(where / CONTENT)
            if recorded is None:
                self.notes.append(
                    f"not reusing {where}: it records no content hashes (an older curate made it)"
                )
                continue
            differ = _differences(recorded, content_hashes(src_run, src_dirname))
            if differ:
                shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
                self.notes.append(
                    f"not reusing {where}: its files changed since it finished ({shown}); recomputing"
                )
                continue
            return src_run, src_dirname
        return None

    def _find_completed(self, step: Step, search: list[Path] | None) -> Iterator[tuple[Path, str]]:
        candidates = [self.root]
        parent = self.root.parent
        if search is None and parent.exists():
            candidates += sorted(p for p in parent.iterdir() if p.is_dir() and p != self.root)
        candidates += search or []
        for run in candidates:
            layout = RunLayout(run)
            stages = layout.stages_dir
            if not stages.is_dir():
                continue
            for directory in sorted(stages.iterdir()):
                if run == self.root and directory.name == step.dirname:
                    continue
                if directory.name.split("-", 1)[-1] != step.name:
                    continue
                complete = (directory / SUCCESS).exists() and _read_key(directory) == step.key
                if complete and layout.stats_file(directory.name).exists():
                    yield run, directory.name


def content_hashes(run_root: Path, dirname: str) -> dict[str, str]:
    """xxh3-128 of every file a step wrote: its stage directory (``stage/...``), its rejected
    records (``rejected/...``) and the artifacts it names (``<artifact>/...``), by relative path."""
    layout = RunLayout(run_root)
    stage = layout.stage_dir(dirname)
    roots = {"stage": stage, "rejected": layout.rejected_dir(dirname)}
    artifacts = stage / ARTIFACTS
    if artifacts.is_file():
        for name in artifacts.read_text(encoding="utf-8").split():
            roots[name] = run_root / name
    hashes: dict[str, str] = {}
    for label, top in roots.items():
        files = (
            [top]
            if top.is_file()
            else sorted(p for p in top.rglob("*") if p.is_file())
            if top.is_dir()
            else []
        )
        for path in files:
            if label in UNHASHED_ARTIFACTS or (path.parent == stage and path.name in (CONTENT, SUCCESS)):
                continue
            rel = label if path == top else f"{label}/{path.relative_to(top).as_posix()}"
            hashes[rel] = _file_hash(path)
    return hashes


def _file_hash(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_content(path: Path) -> dict[str, str] | None:
    try:
        content = read_json(path)
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _differences(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """Relative paths whose content differs, that appeared, or that went missing."""
    return sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a directory curate made: it carries ``.curate-run``, or (a run made
    before that marker existed) curate's ``manifest.json``, or a recipe and steps (killed before
    its first manifest)."""
    layout = RunLayout(path)
    if layout.marker_file.is_file():
        return True
    try:
        manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if isinstance(manifest, dict) and "curate_version" in manifest and "keys" in manifest:
        return True
    stages = layout.stages_dir
    return (
        layout.recipe_file.is_file()
        and stages.is_dir()
        and any(_is_step_dir(c.name) for c in _children(stages))
    )


def _protected_dirs() -> set[Path]:
    """Directories never cleared: the root, home, the working directory, and every directory above
    the last two."""
    protected = {Path("/").resolve()}
    for anchor in (Path.home(), Path.cwd()):
        try:
            anchor = anchor.resolve()
        except (OSError, RuntimeError):
            continue
        protected.add(anchor)
        protected.update(anchor.parents)
    return protected


def _children(directory: Path) -> list[Path]:
    if not directory.is_dir() or directory.is_symlink():
        return []
    return sorted(directory.iterdir())


def _is_step_dir(name: str) -> bool:
    return bool(_STEP_DIR.match(name)) or (
        name.endswith(".adopting") and bool(_STEP_DIR.match(name.removesuffix(".adopting")))
    )


def _is_stats_file(name: str) -> bool:
    return bool(_STATS_FILE.match(name)) or bool(_STATS_FILE.match(_TEMP.sub("", name)))


def _own_temp(name: str) -> bool:
    """A temporary name of one of curate's top-level entries (``manifest.json.tmp-12``, ``tokens.adopting``)."""
    return _TEMP.sub("", name) in OWN_ENTRIES


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
