"""Two tiny stages for testing the pipe loop on its own: a length filter and an exact dedupe.

They are deliberately simple so that pipe-loop tests check the loop (caching, resume, workers,
accounting), not stage logic; the real stages have their own tests.
"""

from __future__ import annotations

import time

import polars as pl
from pydantic import Field

from curate.stages.base import BatchStage, FitResult, GlobalStage, StageConfig, partition


class ShortConfig(StageConfig):
    min_chars: int = Field(10, description="Drop texts shorter than this.")
    sleep: float = Field(0.0, description="Seconds to sleep per shard (lets tests kill a run mid-stage).")


def short_apply(batch: pl.DataFrame, cfg: ShortConfig):
    time.sleep(cfg.sleep)
    too_short = batch["text"].str.len_chars() < cfg.min_chars
    reasons = pl.Series([("too_short" if s else None) for s in too_short], dtype=pl.String)
    return partition(batch, reasons, {"seen": batch.height})


class ExactConfig(StageConfig):
    sleep: float = Field(0.0, description="Seconds to sleep per shard.")


def exact_summarize(batch, cfg, shard):
    time.sleep(cfg.sleep)
    return shard.index, batch["text"].hash(seed=0).to_list()


def exact_fit(partials, cfg, ctx):
    seen, drop = set(), {}
    for i, hashes in partials:
        for row, h in enumerate(hashes):
            if h in seen:
                drop.setdefault(i, set()).add(row)
            seen.add(h)
    return FitResult(drop, {"duplicates": sum(len(v) for v in drop.values())})


def exact_apply(batch, cfg, state, shard):
    rows = state.get(shard.index, set())
    return partition(batch, ["exact_dup" if i in rows else None for i in range(batch.height)])


class LoseConfig(StageConfig):
    pass


def lose_apply(batch, cfg):
    """A broken stage: drops a record without saying why (the loop must refuse it)."""
    from curate.stages.base import BatchResult, empty_dropped

    return BatchResult(batch.head(max(0, batch.height - 1)), empty_dropped(batch))


REGISTRY = {
    "short": BatchStage("short", ShortConfig, short_apply),
    "exact": GlobalStage("exact", ExactConfig, exact_summarize, exact_fit, exact_apply),
    "lose": BatchStage("lose", LoseConfig, lose_apply),
}


def main(recipe_path: str, run_dir: str, mode: str, workers: int) -> None:
    """Entry point for subprocess tests (resume after SIGKILL)."""
    from curate.exec.pipe import run_recipe
    from curate.recipe import load_recipe

    recipe = load_recipe(recipe_path, registry=REGISTRY)
    run_recipe(recipe, run_dir=run_dir, mode=mode, workers=workers, registry=REGISTRY)
