"""decontaminate: keep the held-out eval set out of the training data.

A recipe that trains and scores must never train on its eval records, or the score is a lie. This
batch stage drops (``on_overlap: drop``, reason ``eval_overlap``) or refuses (``on_overlap: error``)
every record whose id equals an eval record's ``id`` field, or whose text equals an eval record's
text up to surrounding and repeated whitespace. A recipe with a ``train.eval`` block gets this
stage automatically, just before its first mix/format/tokenize stage, unless it lists one itself.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Literal

import polars as pl
from pydantic import Field

from curate.errors import StageError
from curate.io.memo import once_per_file_version
from curate.records import ID, TURN_SEPARATOR, TextView, text_view
from curate.stages.base import BatchResult, BatchStage, StageConfig, partition

REASON = "eval_overlap"
DECONTAMINATE_BEFORE = ("mix", "format", "tokenize")
"""The stages that turn records into training data. A recipe that scores on an eval set is
decontaminated before the first of them (``recipe.resolve_implied``), and a run's overlap with an
eval set is counted where the first of them starts (``train.pipeline.eval_overlap``)."""


class DecontaminateConfig(StageConfig):
    eval: str | list[str] = Field(
        description="Eval set files (JSONL or Parquet, globs allowed): text, messages or prompt/chosen/rejected records."
    )
    on_overlap: Literal["error", "drop"] = Field(
        default="error",
        description="error: stop the run naming the overlapping records; drop: remove them from the training data (reason eval_overlap).",
    )
    view: TextView = Field(
        default_factory=TextView, description="Which parts of chat/preference records are compared."
    )

    @property
    def patterns(self) -> list[str]:
        return [self.eval] if isinstance(self.eval, str) else list(self.eval)


def eval_files(cfg: DecontaminateConfig) -> list[str]:
    files = sorted({f for p in cfg.patterns for f in glob.glob(p, recursive=True) if os.path.isfile(f)})
    if not files:
        raise StageError(f"decontaminate: eval path {cfg.eval!r} matches no file")
    return files


def _record_text(record: dict[str, Any]) -> str | None:
    def contents(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [m.get("content", "") for m in value if isinstance(m, dict)]
        return []

    if isinstance(record.get("text"), str):
        return record["text"]
    if "messages" in record:
        return TURN_SEPARATOR.join(contents(record["messages"]))
    parts = [c for key in ("prompt", "chosen", "rejected") for c in contents(record.get(key))]
    return TURN_SEPARATOR.join(parts) if parts else None


def _normalised(texts: pl.Series) -> pl.Series:
    return texts.str.replace_all(r"\s+", " ").str.strip_chars()


@once_per_file_version(maxsize=4)
def _fingerprints(files: tuple[str, ...]) -> tuple[frozenset[str], pl.Series]:
    from curate.train.evalset import read_eval_records

    records = read_eval_records(list(files))
    ids = frozenset(str(r["id"]) for r in records if r.get("id") is not None)
    texts = pl.Series([_record_text(r) for r in records], dtype=pl.String).drop_nulls()
    return ids, _normalised(texts).hash(seed=0).unique()


def eval_fingerprints(cfg: DecontaminateConfig) -> tuple[frozenset[str], pl.Series]:
    """Ids and hashes of normalised texts of the eval set (loaded once per process)."""
    files = eval_files(cfg)
    return _fingerprints(tuple(files))


def apply(batch: pl.DataFrame, cfg: DecontaminateConfig) -> BatchResult:
    ids, hashes = eval_fingerprints(cfg)
    if batch.height == 0:
        return partition(batch, [])
    hashed = _normalised(text_view(batch, cfg.view)).hash(seed=0)
    overlap = hashed.is_in(hashes.implode()) | batch[ID].is_in(list(ids))
    count = int(overlap.sum())
    if count and cfg.on_overlap == "error":
        examples = ", ".join(batch.filter(overlap)[ID].head(3).to_list())
        raise StageError(
            f"{count} training record(s) are in the eval set {cfg.eval!r} (e.g. {examples}): scores would be "
            "inflated; remove them from the inputs, or set train.eval.on_overlap: drop to drop them"
        )
    reasons = pl.when(overlap).then(pl.lit(REASON)).otherwise(pl.lit(None, dtype=pl.String))
    return partition(batch, batch.select(reasons.alias("r")).to_series(), {"eval_overlap": count})


def check(cfg: DecontaminateConfig) -> None:
    eval_fingerprints(cfg)


def inputs(cfg: DecontaminateConfig) -> list[str]:
    return eval_files(cfg)


STAGE = BatchStage(name="decontaminate", config=DecontaminateConfig, apply=apply, check=check, inputs=inputs)
