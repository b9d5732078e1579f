"""Record kinds, their columns, and the *text view* that filters and dedupe look at.

Three canonical kinds (DESIGN.md), stored as Arrow/Parquet columns:

- ``text``: ``id``, ``source``, ``text``, ``meta`` (JSON string of every other input field).
- ``chat``: ``id``, ``source``, ``messages: list<struct<role, content>>``, ``meta``.
- ``preference``: ``id``, ``source``, ``prompt``, ``chosen``, ``rejected`` (each a message list), ``meta``.

A shard holds records of one source, hence of one kind. Stages may add columns (``lang``,
``lang_score``...). Dropped records carry every column of the batch plus ``reason``.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["text", "chat", "preference"]
Role = Literal["system", "user", "assistant"]
PreferenceField = Literal["prompt", "chosen", "rejected"]

ID, SOURCE, TEXT, META, REASON = "id", "source", "text", "meta", "reason"
MESSAGES = "messages"
PROMPT, CHOSEN, REJECTED = "prompt", "chosen", "rejected"

MESSAGE_DTYPE = pl.Struct({"role": pl.String, "content": pl.String})
MESSAGES_DTYPE = pl.List(MESSAGE_DTYPE)

BASE_SCHEMA: dict[Kind, dict[str, pl.DataType]] = {
    "text": {ID: pl.String, SOURCE: pl.String, TEXT: pl.String, META: pl.String},
    "chat": {ID: pl.String, SOURCE: pl.String, MESSAGES: MESSAGES_DTYPE, META: pl.String},
    "preference": {
        ID: pl.String,
        SOURCE: pl.String,
        PROMPT: MESSAGES_DTYPE,
        CHOSEN: MESSAGES_DTYPE,
        REJECTED: MESSAGES_DTYPE,
        META: pl.String,
    },
}

TURN_SEPARATOR = "\n\n"


def kind_of(batch: pl.DataFrame) -> Kind:
    """The record kind of a batch, from its columns."""
    if TEXT in batch.columns:
        return "text"
    if MESSAGES in batch.columns:
        return "chat"
    if PROMPT in batch.columns and CHOSEN in batch.columns:
        return "preference"
    raise ValueError(f"batch with columns {batch.columns} is none of the record kinds text/chat/preference")


class TextView(BaseModel):
    """Which part of a chat or preference record a stage reads. Plain text records ignore it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: tuple[Role, ...] = Field(
        default=("system", "user", "assistant"),
        description="Chat roles whose turns are joined into the text view (e.g. [user] to filter on prompts).",
    )
    fields: tuple[PreferenceField, ...] = Field(
        default=("prompt", "chosen", "rejected"),
        description="Preference fields joined into the text view (e.g. [prompt] to dedupe on prompts).",
    )


def _joined_turns(column: str, roles: tuple[str, ...]) -> pl.Expr:
    turn = pl.element()
    contents = turn.filter(turn.struct.field("role").is_in(list(roles))).struct.field("content")
    return pl.col(column).list.eval(contents).list.join(TURN_SEPARATOR)


def text_view_expr(kind: Kind, view: TextView | None = None) -> pl.Expr:
    """An expression giving the text a stage should read for each record of ``kind``."""
    view = view or TextView()
    if kind == "text":
        return pl.col(TEXT)
    if kind == "chat":
        return _joined_turns(MESSAGES, view.roles)
    parts = [_joined_turns(name, view.roles) for name in view.fields]
    return pl.concat_str(parts, separator=TURN_SEPARATOR, ignore_nulls=True)


def text_view(batch: pl.DataFrame, view: TextView | None = None) -> pl.Series:
    """The text view of every record of ``batch`` (a String series named ``text``)."""
    if batch.height == 0:
        return pl.Series(TEXT, [], dtype=pl.String)
    return batch.select(text_view_expr(kind_of(batch), view).alias(TEXT)).to_series()
