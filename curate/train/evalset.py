"""Reading eval sets (torch-free: the decontamination stage uses it in every worker)."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from curate.errors import InputError, RecipeError
from curate.io.jsonl import read_jsonl
from curate.train.config import EvalConfig

EvalKind = Literal["text", "chat", "preference"]


def load_eval_records(cfg: EvalConfig) -> list[dict[str, Any]]:
    """The records of an eval block's first eval set (``path``, else the first of ``sets``): its
    files, the first ``max_records`` of them."""
    sets = cfg.named_sets
    if not sets:
        raise InputError(
            "the eval block has no eval set: set train.eval.path (or train.eval.sets) to held-out JSONL files"
        )
    return read_eval_records(next(iter(sets.values())))[: cfg.max_records]


def load_eval_sets(cfg: EvalConfig) -> dict[str, list[dict[str, Any]]]:
    """The records of every eval set of an eval block, by name (first ``max_records`` of each)."""
    return {name: read_eval_records(paths)[: cfg.max_records] for name, paths in cfg.named_sets.items()}


def load_tasks(cfg: EvalConfig) -> dict[str, list[dict[str, Any]]]:
    """The items of every multiple-choice task of an eval block, by name (first ``max_records`` of each)."""
    return {name: read_eval_records(spec.path)[: cfg.max_records] for name, spec in cfg.task_specs.items()}


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
        records.extend(read_jsonl(name))
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


def task_item_problem(item: Mapping[str, Any]) -> str | None:
    """Why a multiple-choice item cannot be scored, or None: it needs a string ``context``, a list
    of at least two non-empty string ``choices`` and an integer ``answer`` indexing them."""
    context, choices, answer = item.get("context"), item.get("choices"), item.get("answer")
    if not isinstance(context, str):
        return f"context is {context!r}, not a string"
    if not isinstance(choices, list) or len(choices) < 2:
        return f"choices is {str(choices)[:80]!r}, not a list of at least two strings"
    if not all(isinstance(c, str) and c for c in choices):
        return "choices holds an empty or non-string choice"
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        return f"answer is {answer!r}, not the index of a choice (0 to {len(choices) - 1})"
    return None


def _as_patterns(paths: str | Sequence[str] | None) -> list[str]:
    return [paths] if isinstance(paths, str) else list(paths or [])


def check_eval_set(cfg: EvalConfig) -> None:
    """Before any work starts: every eval set has the shape scoring needs (one kind of record,
    chats as role/content turns with an assistant turn...) and every task item is a
    {context, choices, answer}, so that scoring does not fail after training. An eval path that
    matches no file is left to the checks of the stages that read it."""
    single = cfg.path is not None
    for name, paths in cfg.named_sets.items():
        patterns = _as_patterns(paths)
        if not patterns or not all(glob.glob(str(p)) for p in patterns):
            continue
        key = "train.eval.path" if single else f"train.eval.sets.{name}"
        where = f"{key} ({', '.join(map(str, patterns))})"
        try:
            records = read_eval_records(patterns)[: cfg.max_records]
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
    for name, spec in cfg.task_specs.items():
        if not all(glob.glob(str(p)) for p in spec.patterns):
            continue
        where = f"train.eval.tasks.{name} ({', '.join(spec.patterns)})"
        try:
            items = read_eval_records(spec.patterns)
        except InputError as exc:
            raise RecipeError(f"{where}: {exc}") from None
        if not items:
            raise RecipeError(f"{where}: the task has no item")
        for i, item in enumerate(items, 1):
            problem = task_item_problem(item)
            if problem:
                raise RecipeError(
                    f"{where}: item {i} cannot be scored: {problem}. Task items are "
                    '{"context": "...", "choices": ["...", "..."], "answer": INDEX}'
                )


# -- metric names ----------------------------------------------------------------------------------

SET_METRICS = ("bpb", "nll", "ppl", "pref_accuracy", "pref_accuracy_per_token", "pref_accuracy_per_byte")
TASK_METRICS = ("acc", "acc_norm", "acc_bytes", "bpb")


def _numbers(mapping: Any, keys: Sequence[str] | None = None) -> dict[str, float]:
    if not isinstance(mapping, Mapping):
        return {}
    return {
        k: float(v)
        for k, v in mapping.items()
        if (keys is None or k in keys) and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def flat_metrics(score: Mapping[str, Any] | None) -> dict[str, float]:
    """The metrics of a ``score.json`` under the names a sweep's ``metric:`` and ``curate diff``
    use: the score's own (``bpb``, ``ppl``, ``nll``, ``pref_accuracy``...) when it scored one eval
    set; ``avg.bpb``, ``avg.nll`` and ``<set>.bpb``... per set when it scored several (its
    ``metrics`` are then the average, not repeated), and ``<set>.bpb``... of sets added later by
    ``curate score --eval NAME=PATH``; ``tasks.<task>.acc``, ``.acc_norm``,
    ``.acc_bytes`` and ``.bpb`` per multiple-choice task."""
    if not score:
        return {}
    sets = score.get("sets") if isinstance(score.get("sets"), Mapping) else {}
    sets = {k: v for k, v in sets.items() if isinstance(v, Mapping)}
    own = [name for name, entry in sets.items() if not entry.get("added")]
    out: dict[str, float] = {}
    if len(own) > 1:
        out.update({f"avg.{k}": v for k, v in _numbers(score.get("avg")).items()})
    else:
        out.update(_numbers(score.get("metrics")))
    for name, entry in sets.items():  # sets added by `curate score --eval NAME=PATH` always by name
        if len(own) > 1 or entry.get("added"):
            out.update({f"{name}.{k}": v for k, v in _numbers(entry.get("metrics"), SET_METRICS).items()})
    tasks = score.get("tasks") if isinstance(score.get("tasks"), Mapping) else {}
    for name, entry in tasks.items():
        out.update({f"tasks.{name}.{k}": v for k, v in _numbers(entry, TASK_METRICS).items()})
    return out


def eval_noise(score: Mapping[str, Any] | None) -> dict[str, float]:
    """The eval set's own sampling error (the half-width of the bootstrap interval over its
    documents, ``bpb_ci95``, see ``curate.train.score.bpb_interval``) of each bits-per-byte metric
    of a ``score.json``, under the names of :func:`flat_metrics`: ``bpb``, ``<set>.bpb``, and
    ``avg.bpb`` (the sets' half-widths combined as independent errors of a mean:
    ``sqrt(sum h^2) / sets``). Empty for a score written before curate measured it."""
    if not score:
        return {}
    sets = score.get("sets") if isinstance(score.get("sets"), Mapping) else {}
    sets = {k: v for k, v in sets.items() if isinstance(v, Mapping)}
    own = [name for name, entry in sets.items() if not entry.get("added")]

    def half(entry: Any) -> float | None:
        value = _numbers(entry.get("eval") if isinstance(entry, Mapping) else None).get("bpb_ci95")
        return value if value is not None and value == value else None

    out: dict[str, float] = {}
    if len(own) > 1:
        halves = [half(sets[name]) for name in own]
        if all(h is not None for h in halves):
            out["avg.bpb"] = sum(h * h for h in halves) ** 0.5 / len(halves)  # type: ignore[operator]
    elif half(score) is not None:
        out["bpb"] = half(score)  # type: ignore[assignment]
    for name, entry in sets.items():
        if (len(own) > 1 or entry.get("added")) and half(entry) is not None:
            out[f"{name}.bpb"] = half(entry)  # type: ignore[assignment]
    return out


# -- encoding ------------------------------------------------------------------------------------
