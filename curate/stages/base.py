"""The stage contract: what a stage is, what it returns, what it is told.

Two kinds of stage (DESIGN.md), both plain functions plus a frozen pydantic config:

- ``BatchStage``: ``apply(batch, cfg) -> BatchResult``. Stateless, so any shard can run anywhere.
- ``GlobalStage``: ``summarize`` runs on every shard the stage applies to (see
  ``StageConfig.sources``) and returns a small partial (storable by ``curate.io.state``: plain data, numpy, polars, registered dataclasses) (e.g. band keys, counts, a text
  sample); ``fit`` turns all partials, in shard order, into a state (a drop set, a sampling plan, a
  tokenizer) — a partial that must know its shard carries ``shard.index`` itself; ``apply`` is then a batch stage that also gets the state and the
  shard. Only partials and the state cross shards, never the texts. ``finalize`` optionally
  builds something from all output shards once they exist (e.g. packed token files).
  A global stage may ask for one more pass over its input before ``apply``: when ``fit`` returns
  ``FitResult(needs_rescan=True)``, the loop calls ``rescan(batch, cfg, state, shard)`` on every
  shard and ``refit(rescan_partials, cfg, state, ctx)``, whose FitResult replaces the first one
  (dedupe uses it to fetch the shingles of candidate pairs only, for exact-Jaccard verification).

Stages never touch the file system for their shard data: the pipe loop reads and writes shards,
counts records and reasons, and stores dropped records under ``rejected/``.

A ``fit`` whose work outgrows one process may split itself into sub-tasks: ``StageContext``
carries ``map_tasks``, the run's executor (the local process pool, or the Ray cluster), and the
files that hold the partials, so sub-tasks can read them where they run instead of the driver
loading them all (dedupe's partitioned fit does this). Sub-task functions and their task objects
must be picklable (module-level functions, dataclasses), like the shard tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from curate.errors import suggest
from curate.records import REASON, Kind

Counters = dict[str, float]


class Options(BaseModel):
    """Base of every config block: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StageConfig(Options):
    """Base of the top-level config of a stage (nested option blocks subclass ``Options``)."""

    sources: tuple[str, ...] | None = Field(
        default=None,
        description="Apply the stage only to these sources (names from the recipe's sources); records of the "
        "others pass through unchanged. Unset: every source. E.g. web-page quality rules on [web] only.",
    )

    def applies_to(self, source: str) -> bool:
        return self.sources is None or source in self.sources

    def check_source_names(self, known: Sequence[str]) -> None:
        """Raise ValueError, starting with the option's name, if the config names a source that is
        not in ``known``; the recipe calls this so that a typo fails before any work is done."""
        check_known_sources("sources", self.sources or (), known)


def check_known_sources(option: str, names: Iterable[str], known: Sequence[str]) -> None:
    """Raise ValueError naming the first of ``names`` not in ``known``, with the closest known one."""
    for name in names:
        if name not in known:
            raise ValueError(f"{option} names {name!r}, not a source of this recipe{suggest(name, known)}")


@dataclass(frozen=True)
class BatchResult:
    """A stage's answer for one batch.

    ``kept`` has the batch's columns (plus any the stage adds); ``dropped`` has the batch's columns
    plus ``reason`` (a rule name such as ``gopher_short_doc``) and any evidence columns the stage
    adds (``dup_of``, ``cluster``...). ``counters`` are additive figures (summed over shards) that
    the stage wants in its stats, e.g. ``{"lang.en": 812}``.
    """

    kept: pl.DataFrame
    dropped: pl.DataFrame
    counters: Counters = field(default_factory=dict)


def partition(
    batch: pl.DataFrame, reasons: pl.Series | list[str | None], counters: Counters | None = None
) -> BatchResult:
    """Split ``batch`` by a per-row reason: null keeps the row, a string drops it with that reason."""
    reason = pl.Series(REASON, reasons, dtype=pl.String)
    if len(reason) != batch.height:
        raise ValueError(f"partition: {len(reason)} reasons for {batch.height} rows")
    flagged = batch.with_columns(reason)
    keep = reason.is_null()
    return BatchResult(
        kept=flagged.filter(keep).drop(REASON),
        dropped=flagged.filter(~keep),
        counters=counters or {},
    )


def empty_dropped(batch: pl.DataFrame) -> pl.DataFrame:
    """A zero-row dropped frame with the batch's columns and ``reason``."""
    return batch.clear().with_columns(pl.lit(None, dtype=pl.String).alias(REASON))


@dataclass(frozen=True)
class ShardInfo:
    """Which shard a function is looking at: its position in the run and its source."""

    index: int
    source: str
    kind: Kind


TaskMapper = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]
"""``map_tasks(fn, tasks)``: run ``fn(task)`` for every task on the executor, yield results as they finish."""


@dataclass(frozen=True)
class StageContext:
    """What a global stage's ``fit``/``finalize`` may need beyond its config."""

    run_dir: Path
    stage_dir: Path
    seed: int
    source_kinds: Mapping[str, Kind]
    shards: Sequence[ShardInfo]
    map_tasks: TaskMapper | None = None
    """The run's executor, for a fit that splits itself into sub-tasks (None: do the work here)."""
    workers: int = 1
    """How many tasks the executor runs at once (a hint for how finely to split work)."""
    partial_files: Sequence[Path] = ()
    """The files of the partials handed to ``fit``/``refit``, same order (empty when not on disk):
    read them with ``curate.io.state.load``."""


@dataclass(frozen=True)
class FitResult:
    """The state ``apply`` needs on every shard, and figures for the stage's stats file.

    ``needs_rescan``: the state is not final yet; run the stage's ``rescan``/``refit`` pass first.
    """

    state: Any
    stats: dict[str, Any] = field(default_factory=dict)
    needs_rescan: bool = False


@dataclass(frozen=True)
class BatchStage:
    name: str
    config: type[StageConfig]
    apply: Callable[[pl.DataFrame, Any], BatchResult]
    check: Callable[[Any], None] | None = None
    """Optional preflight: raise a CurateError before any work starts (e.g. a model file missing)."""
    inputs: Callable[[Any], list[str]] | None = None
    """Optional: files the stage reads besides its shards (models, eval sets); they join its cache key."""
    digest: Callable[[Mapping[str, float], Any], dict[str, Any]] | None = None
    """Optional: turn the step's counters (summed over shards) into more stats; the dict it returns
    is merged into the step's stats (a ``counters`` key in it replaces the counters)."""


@dataclass(frozen=True)
class GlobalStage:
    name: str
    config: type[StageConfig]
    summarize: Callable[[pl.DataFrame, Any, ShardInfo], Any]
    fit: Callable[[Sequence[Any], Any, StageContext], FitResult]
    apply: Callable[[pl.DataFrame, Any, Any, ShardInfo], BatchResult]
    finalize: Callable[[Sequence[Path], Any, Any, StageContext], dict[str, Any]] | None = None
    rescan: Callable[[pl.DataFrame, Any, Any, ShardInfo], Any] | None = None
    refit: Callable[[Sequence[Any], Any, Any, StageContext], FitResult] | None = None
    check: Callable[[Any], None] | None = None
    inputs: Callable[[Any], list[str]] | None = None


Stage = BatchStage | GlobalStage
StageRegistry = Mapping[str, Stage]
