"""Reading eval sets (torch-free: the decontamination stage uses it in every worker)."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from curate.errors import InputError
from curate.train.config import EvalConfig

EvalKind = Literal["text", "chat", "preference"]


def load_eval_records(cfg: EvalConfig) -> list[dict[str, Any]]:
    """The records of an eval block: its files, the first ``max_records`` of them."""
    if cfg.path is None:
        raise InputError("the eval block has no path: set train.eval.path to the held-out JSONL files")
    return read_eval_records(cfg.path)[: cfg.max_records]


# -- tokenizer and eval records ------------------------------------------------------------------


def read_eval_records(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[dict[str, Any]]:
    """Records of JSONL (or Parquet) files, given as paths or glob patterns, in sorted file order."""
    patterns = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: list[str] = []
    for pattern in patterns:
        matched = sorted(glob.glob(str(pattern)))
        if not matched:
            raise InputError(f"eval path {pattern} matches no file")
        files.extend(matched)
    records: list[dict[str, Any]] = []
    for name in files:
        if name.endswith(".parquet"):
            import polars as pl

            records.extend(pl.read_parquet(name).to_dicts())
            continue
        with open(name, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(orjson.loads(line))
                except orjson.JSONDecodeError as e:
                    raise InputError(f"{name}:{lineno}: not valid JSON ({e})") from e
    return records


def eval_kind(records: Sequence[Mapping[str, Any]]) -> EvalKind:
    """The kind shared by every record, from its fields."""

    def one(r: Mapping[str, Any]) -> EvalKind:
        if "chosen" in r and "rejected" in r:
            return "preference"
        if "messages" in r:
            return "chat"
        if "text" in r:
            return "text"
        raise InputError(
            f"eval record with fields {sorted(r)} has none of text / messages / prompt+chosen+rejected"
        )

    if not records:
        raise InputError("the eval set is empty")
    kinds = {one(r) for r in records}
    if len(kinds) > 1:
        raise InputError(f"the eval set mixes record kinds {sorted(kinds)}: score each kind separately")
    return kinds.pop()


# -- encoding ------------------------------------------------------------------------------------
