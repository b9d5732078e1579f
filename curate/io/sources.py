"""A source: one input of a recipe (files, or a Hugging Face dataset, of records of one kind).

The model and what can be told from it alone (its record kind, its input type); how each input type
is planned, checked and read is in ``curate.io.readers``, whose ``READERS`` has one entry per
``SourceType``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curate.errors import RecipeError
from curate.io.fs import is_url
from curate.records import Kind

SourceFormat = Literal[
    "text", "alpaca", "sharegpt", "messages", "prompt_response", "preference", "hh", "ratings"
]
SourceType = Literal["jsonl", "parquet", "hf_disk", "hf"]
"""The input types; each has its reader in ``curate.io.readers.READERS``."""
CHAT_FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages", "prompt_response")
PREFERENCE_FORMATS: tuple[str, ...] = ("preference", "hh", "ratings")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A source or run name: letters, digits, '_', '.' or '-'."""

JSONL_SUFFIXES = (
    ".jsonl",
    ".json",
    ".ndjson",
    ".jsonl.gz",
    ".json.gz",
    ".ndjson.gz",
    ".jsonl.zst",
    ".json.zst",
    ".ndjson.zst",
)


class Source(BaseModel):
    """One input: files (or an HF dataset) of records of one kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name used in ids, stats and mix weights (letters, digits, _ . -).")
    path: str | list[str] = Field(
        description="Glob pattern(s) of input files, or fsspec URLs "
        "(s3://bucket/web/*.jsonl.zst, gs://..., file://...; needs the protocol's package, e.g. s3fs); or an HF "
        "`save_to_disk` directory (type hf_disk); or a dataset name/builder for `datasets.load_dataset` (type hf). "
        "A relative path is looked up in the working directory, then in the recipe file's directory (the first "
        "place it matches is used; an error names both).",
    )
    type: SourceType | None = Field(
        default=None,
        description="Input type. Inferred when unset: .jsonl/.json/.ndjson (+ .gz/.zst) -> jsonl, .parquet -> "
        "parquet, a directory holding dataset_info.json or state.json -> hf_disk.",
    )
    format: SourceFormat = Field(
        default="text",
        description="Record shape: text (a text field), chat shapes alpaca | sharegpt | messages | "
        "prompt_response, or preference shapes preference | hh | ratings.",
    )
    text_field: str = Field(default="text", description="Field holding the text (format: text).")
    id_field: str | None = Field(
        default=None,
        description="Field holding a record id. Unset: ids are derived from source, file and line "
        "(`web/part-0.jsonl:17`), stable across runs.",
    )
    field: str | None = Field(
        default=None,
        description="Field holding the conversation for sharegpt/messages (default: conversations / messages).",
    )
    limit: int | None = Field(default=None, ge=1, description="Read at most this many records (quick runs).")
    max_record_bytes: int = Field(
        default=2_000_000,
        ge=1,
        description="Records larger than this (bytes of the JSON line or text) are quarantined as bad_input:too_large.",
    )
    strict: bool = Field(
        default=False,
        description="Stop the run with an error when a file of this source cannot be read to its end (a "
        "corrupt or truncated .gz/.zst stream, a damaged Parquet page, a file that cannot be opened). By "
        "default such a file's unreadable rest is quarantined under rejected/00-read/ as one "
        "bad_input:truncated / bad_input:unreadable_file entry (file, line and byte reached, error), counted, "
        "and the run goes on. Bad records are always quarantined, strict or not.",
    )
    hf_name: str | None = Field(
        default=None, description="Config name for type hf (`load_dataset(path, name)`)."
    )
    split: str = Field(default="train", description="Split to read for type hf / hf_disk DatasetDict.")
    data_files: str | list[str] | None = Field(
        default=None,
        description="data_files for type hf with a builder such as json/parquet/csv (local files only; relative "
        "paths are looked up as for path).",
    )
    ratings_pairs: Literal["best_worst", "all"] = Field(
        default="best_worst",
        description="format ratings: make one pair (best vs worst) or every pair whose scores differ by more than ratings_margin.",
    )
    ratings_margin: float = Field(
        default=0.0, ge=0, description="format ratings: minimum score difference of a pair."
    )

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"source name {value!r} must be letters, digits, '_', '.' or '-' (e.g. web_en)")
        return value

    @property
    def kind(self) -> Kind:
        if self.format in CHAT_FORMATS:
            return "chat"
        if self.format in PREFERENCE_FORMATS:
            return "preference"
        return "text"

    @property
    def patterns(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)

    def resolved_type(self) -> SourceType:
        if self.type is not None:
            return self.type
        first = self.patterns[0]
        candidate = Path(first)
        if (
            not is_url(first)
            and candidate.is_dir()
            and any(
                (candidate / n).exists() for n in ("dataset_info.json", "state.json", "dataset_dict.json")
            )
        ):
            return "hf_disk"
        lowered = first.lower()
        if lowered.endswith(".parquet"):
            return "parquet"
        if lowered.endswith(JSONL_SUFFIXES) or lowered.endswith("*"):
            return "jsonl"
        raise RecipeError(
            f"source {self.name!r}: cannot tell the input type of {first!r}; "
            "set `type:` to one of jsonl, parquet, hf_disk, hf"
        )


def looked_in(pattern: str, base_dir: str | os.PathLike | None = None) -> str:
    """Where a relative path was looked for: ' (looked in CWD and in DIR, the recipe's directory)'."""
    if is_url(pattern) or os.path.isabs(pattern):
        return ""
    cwd = Path.cwd().resolve()
    if base_dir is None or Path(base_dir).resolve() == cwd:
        return f" (looked in {cwd})"
    return f" (looked in {cwd} and in {Path(base_dir).resolve()}, the recipe's directory)"
