"""Reading eval sets (torch-free: the decontamination stage uses it in every worker)."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from curate.errors import InputError, RecipeError
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


ROLES = ("system", "user", "assistant")


def _turns_problem(value: Any, field: str, *, needs_assistant: bool) -> str | None:
    if not isinstance(value, list) or not value:
        return f"{field} is {type(value).__name__}, not a list of turns"
    for turn in value:
        if not isinstance(turn, Mapping) or not isinstance(turn.get("content"), str):
            return f"{field} has a turn {str(turn)[:80]!r} without a string 'content' (turns are {{role, content}})"
        if turn.get("role") not in ROLES:
            return f"{field} has a turn with role {turn.get('role')!r}; roles are {', '.join(ROLES)}"
    if needs_assistant and not any(t["role"] == "assistant" for t in value):
        return f"{field} has no assistant turn, so nothing of it is scored"
    return None


def _record_problem(kind: EvalKind, record: Mapping[str, Any]) -> str | None:
    """Why scoring could not use ``record`` of an eval set of ``kind``, or None."""
    if kind == "text":
        text = record["text"]
        return None if isinstance(text, str) and text else f"text is {text!r}, not a non-empty string"
    if kind == "chat":
        return _turns_problem(record["messages"], "messages", needs_assistant=True)
    prompt = record.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        problem = _turns_problem(prompt, "prompt", needs_assistant=False)
        if problem:
            return problem
    for side in ("chosen", "rejected"):
        value = record[side]
        if not (isinstance(value, str) and value):
            problem = _turns_problem(value, side, needs_assistant=False)
            if problem:
                return problem
    return None


def check_eval_set(cfg: EvalConfig) -> None:
    """Before any work starts: the eval set has the shape scoring needs (one kind of record, chats
    as role/content turns with an assistant turn...), so that it does not fail after training.
    An eval path that matches no file is left to the checks of the stages that read it."""
    patterns = [cfg.path] if isinstance(cfg.path, str) else list(cfg.path or [])
    if not patterns or not all(glob.glob(str(p)) for p in patterns):
        return
    where = f"train.eval.path ({', '.join(map(str, patterns))})"
    try:
        records = load_eval_records(cfg)
        kind = eval_kind(records)
    except InputError as exc:
        raise RecipeError(f"{where}: {exc}") from None
    for i, record in enumerate(records, 1):
        problem = _record_problem(kind, record)
        if problem:
            raise RecipeError(
                f"{where}: record {i} of this {kind} eval set cannot be scored: {problem}. Fix the eval "
                "file (text records: {text}; chats: {messages: [{role, content}, ...]}; pairs: "
                "{prompt, chosen, rejected})"
            )


# -- encoding ------------------------------------------------------------------------------------
