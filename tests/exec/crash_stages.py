"""Stages that kill their own worker process once (for the Ray fault-tolerance tests).

The first task to find ``marker`` missing creates it and SIGKILLs its process; every later task,
including the retry of the killed one, finds it and does the real work. Pre-creating the marker
gives a run with the same recipe (and cache keys) that never crashes.
"""

from __future__ import annotations

import os
import signal

import polars as pl
from pydantic import Field

from curate.stages import REGISTRY as REAL
from curate.stages import dedupe
from curate.stages.base import BatchResult, BatchStage, GlobalStage, ShardInfo, StageConfig, partition


def crash_once(marker: str) -> None:
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class CrashConfig(StageConfig):
    marker: str = Field(description="Kill the worker process of the first task that finds this file missing.")


def crash_apply(batch: pl.DataFrame, cfg: CrashConfig) -> BatchResult:
    crash_once(cfg.marker)
    return partition(batch, [None] * batch.height)


class CrashingDedupeConfig(dedupe.DedupeConfig):
    crash_marker: str = Field(
        description="Kill the worker of the first summarize task that finds this missing."
    )


def crashing_summarize(
    batch: pl.DataFrame, cfg: CrashingDedupeConfig, shard: ShardInfo
) -> dedupe.DedupePartial:
    crash_once(cfg.crash_marker)
    return dedupe.summarize(batch, cfg, shard)


REGISTRY = {
    **REAL,
    "crash": BatchStage("crash", CrashConfig, crash_apply),
    "crashing_dedupe": GlobalStage(
        "crashing_dedupe",
        CrashingDedupeConfig,
        crashing_summarize,
        dedupe.fit,
        dedupe.apply,
        rescan=dedupe.rescan,
        refit=dedupe.refit,
    ),
}
