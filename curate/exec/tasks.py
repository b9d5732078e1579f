"""Task functions run by executors on one piece or shard each.

Each task reads its input shard, calls the stage, writes kept and dropped records atomically and
then its completion marker (a JSON file with its counts). Tasks are plain picklable dataclasses
and module-level functions so that a process pool or Ray can run them unchanged.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import CurateError, StageError
from curate.exec.rundir import PARTIALS, RunDir, Step
from curate.io import state as state_file
from curate.io.memo import once_per_file_version
from curate.io.readers import ORIGINS, Piece, read_piece
from curate.io.rundir import shard_file
from curate.io.sources import Source
from curate.io.writers import write_json, write_parquet
from curate.records import REASON, text_view
from curate.stages.base import BatchResult, BatchStage, GlobalStage, ShardInfo, StageConfig, empty_dropped


def partial_file(directory: Path, shard: str) -> Path:
    """Where a global stage's per-shard partial (or rescan result) is stored."""
    return directory / f"{shard}.npz"


@dataclass(frozen=True)
class ReadTask:
    run_root: str
    step: Step
    piece: Piece
    source: Source
    shard_bytes: int


@dataclass(frozen=True)
class ShardTask:
    run_root: str
    step: Step
    prev: Step
    shard: ShardInfo
    name: str
    stage: BatchStage | GlobalStage
    config: StageConfig
    state_path: str | None = None


def _explained(where: Callable[[Any], str]) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Let CurateErrors through; turn any other exception into a StageError naming step and shard."""

    def decorate(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @functools.wraps(fn)
        def wrapper(task: Any) -> Any:
            try:
                return fn(task)
            except CurateError:
                raise
            except Exception as exc:
                raise StageError(f"{where(task)} failed: {type(exc).__name__}: {exc}") from exc

        return wrapper

    return decorate


@_explained(
    lambda t: f"reading {t.source.name} piece {t.piece.name} ({', '.join(s.rel for s in t.piece.spans[:3])})"
)
def run_read(task: ReadTask) -> dict[str, Any]:
    """Read one piece into one or more shards (``<piece>-<k>``), quarantining bad input."""
    started = time.perf_counter()
    run = RunDir(task.run_root)
    out_dir, rej_dir = run.stage(task.step), run.rejected(task.step)
    shards, reasons, counters = [], Counter(), Counter()
    for k, chunk in enumerate(read_piece(task.piece, task.source, shard_bytes=task.shard_bytes)):
        name = f"{task.piece.name}-{k:04d}"
        write_parquet(chunk.records, shard_file(out_dir, name))
        if chunk.bad.height:
            write_parquet(chunk.bad, shard_file(rej_dir, name))
        if chunk.origins is not None:  # id_field: where each record came from, for duplicate ids
            write_parquet(chunk.origins, shard_file(out_dir / ORIGINS, name))
        reasons.update(_reason_counts(chunk.bad))
        counters.update(chunk.counters)
        shards.append(
            {"shard": name, "source": task.source.name, "kind": task.source.kind, "out": chunk.records.height}
        )
    out = sum(s["out"] for s in shards)
    dropped = sum(reasons.values())
    marker = {
        "piece": task.piece.name,
        "source": task.source.name,
        "shards": shards,
        "in": out + dropped,
        "out": out,
        "dropped": dropped,
        "added": 0,
        "reasons": dict(reasons),
        "counters": dict(counters),
        "seconds": time.perf_counter() - started,
    }
    write_json(marker, run.marker(task.step, task.piece.name))
    return marker


def _pass(task: ShardTask, directory: str, compute: Callable[[pl.DataFrame], Any]) -> dict[str, Any]:
    """Run ``compute`` on the task's input shard and store the result as ``<directory>/<shard>.npz``
    (``curate.io.state``: no pickle, nothing read back from a run directory can run code)."""
    run = RunDir(task.run_root)
    batch = pl.read_parquet(shard_file(run.stage(task.prev), task.name))
    path = partial_file(run.stage(task.step) / directory, task.name)
    result = compute(batch)
    state_file.save(result, path)
    return {"shard": task.name, "in": batch.height}


@_explained(lambda t: f"stage {t.step.dirname} (summarize) on shard {t.name} of source {t.shard.source}")
def run_summarize(task: ShardTask) -> dict[str, Any]:
    """Global stage, pass 1: a small partial per shard, stored next to the stage's shards."""
    stage = task.stage
    assert isinstance(stage, GlobalStage)
    return _pass(task, PARTIALS, lambda batch: stage.summarize(batch, task.config, task.shard))


@_explained(lambda t: f"stage {t.step.dirname} (rescan) on shard {t.name} of source {t.shard.source}")
def run_rescan(task: ShardTask) -> dict[str, Any]:
    """Global stage, optional pass 2: per-shard data the first fit asked for (e.g. candidates' shingles)."""
    stage = task.stage
    assert isinstance(stage, GlobalStage) and stage.rescan is not None
    state = load_state(task.state_path)
    return _pass(task, "_rescan", lambda batch: stage.rescan(batch, task.config, state, task.shard))


@_explained(lambda t: f"stage {t.step.dirname} on shard {t.name} of source {t.shard.source}")
def run_apply(task: ShardTask) -> dict[str, Any]:
    """Apply a batch stage (or a global stage with its state) to one shard; write kept, dropped, marker."""
    started = time.perf_counter()
    run = RunDir(task.run_root)
    batch = pl.read_parquet(shard_file(run.stage(task.prev), task.name))
    stage = task.stage
    if not task.config.applies_to(task.shard.source):
        result = BatchResult(batch, empty_dropped(batch), {"passed_through": batch.height})
    elif isinstance(stage, GlobalStage):
        result = stage.apply(batch, task.config, load_state(task.state_path), task.shard)
    else:
        result = stage.apply(batch, task.config)
    _check(result, batch, task)
    write_parquet(result.kept, shard_file(run.stage(task.step), task.name))
    if result.dropped.height:
        write_parquet(result.dropped, shard_file(run.rejected(task.step), task.name))
    counters = dict(result.counters)
    counters.update(_length_histogram(result.kept, "kept"))
    counters.update(_length_histogram(result.dropped, "dropped"))
    marker = {
        "shard": task.name,
        "source": task.shard.source,
        "kind": task.shard.kind,
        "in": batch.height,
        "out": result.kept.height,
        "dropped": result.dropped.height,
        "added": result.kept.height + result.dropped.height - batch.height,
        "reasons": _reason_counts(result.dropped),
        "counters": counters,
        "seconds": time.perf_counter() - started,
        "bytes_in": batch.estimated_size(),
    }
    write_json(marker, run.marker(task.step, task.name))
    return marker


def _check(result: BatchResult, batch: pl.DataFrame, task: ShardTask) -> None:
    """Hold every stage to the accounting rule: no record may vanish without a reason."""
    where = f"stage {task.step.name!r} on shard {task.name}"
    if result.kept.height + result.dropped.height < batch.height:
        raise StageError(
            f"{where}: {batch.height} records in, {result.kept.height} kept + {result.dropped.height} dropped; "
            "a stage must account for every record"
        )
    if result.dropped.height and (
        REASON not in result.dropped.columns or result.dropped[REASON].null_count()
    ):
        raise StageError(f"{where}: dropped records without a reason")


def _reason_counts(dropped: pl.DataFrame) -> dict[str, int]:
    if dropped.height == 0 or REASON not in dropped.columns:
        return {}
    counts = dropped.group_by(REASON).len().sort(REASON)
    return dict(zip(counts[REASON].to_list(), counts["len"].to_list(), strict=True))


def _length_histogram(frame: pl.DataFrame, label: str) -> dict[str, float]:
    """Counts of text-view lengths in power-of-two character bins (``len.kept.<bin>``)."""
    if frame.height == 0:
        return {}
    try:
        lengths = text_view(frame).str.len_chars().fill_null(0)
    except (ValueError, pl.exceptions.PolarsError):
        return {}
    bins = (lengths.cast(pl.Float64) + 1).log(2).floor().cast(pl.Int32)
    counts = bins.value_counts()
    return {f"len.{label}.{int(b)}": int(n) for b, n in counts.iter_rows() if not math.isnan(b)}


@once_per_file_version(maxsize=2)
def _load_state_cached(path: str) -> Any:
    return state_file.load(path)


def load_state(path: str | None) -> Any:
    """A global stage's state, loaded once per worker process."""
    if path is None:
        return None
    return _load_state_cached(path)
