"""What every reader shares: spans and pieces of input, the chunks they become, the builder that
validates records into a chunk (or quarantines them), and the ``Reader`` entry of the registry.

Every record either becomes a row of the chunk's ``records`` or a row of its ``bad`` frame with a
``bad_input:<what>`` / ``bad_chat:<why>`` / ``bad_pair:<why>`` reason, the file and the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.errors import InputError
from curate.formats.shapes import BadRecord, chat_messages, consumed_fields, preference_pairs
from curate.io import fs
from curate.io.sources import Source, looked_in
from curate.records import BASE_SCHEMA, ID, META, SOURCE, TEXT

BAD_SCHEMA = {
    ID: pl.String,
    SOURCE: pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "reason": pl.String,
    "error": pl.String,
    "raw": pl.String,
}
RAW_PREVIEW_CHARS = 2000


@dataclass(frozen=True)
class Span:
    """A part of one input file: bytes [start, end) of a plain JSONL file, or the whole file."""

    path: str
    rel: str
    start: int = 0
    end: int | None = None
    first_line: int = 1


@dataclass(frozen=True)
class Piece:
    """A unit of reading work: spans of one source, read in order."""

    index: int
    source: str
    spans: tuple[Span, ...]

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


@dataclass
class Chunk:
    records: pl.DataFrame
    bad: pl.DataFrame
    counters: dict[str, float] = field(default_factory=dict)
    origins: pl.DataFrame | None = None
    """For a source with ``id_field``: the file and line of each record (ORIGIN_SCHEMA), so that a
    duplicate id found across pieces can be quarantined with its place and the first one's."""


ORIGIN_SCHEMA = {"file": pl.String, "line": pl.Int64}
ORIGINS = "_origins"
"""Folder of the read step holding each shard's origins (sources with ``id_field``)."""


def source_files(source: Source) -> list[str]:
    """The files a source reads, sorted, deduplicated (a local file reached through several
    patterns or links once), directories and non-files left out (local paths, or URLs read
    through fsspec, see ``curate.io.fs``)."""
    files: set[str] = set()
    for pattern in source.patterns:
        files.update(fs.glob_files(pattern))
    local = fs.unique_real_files(f for f in files if not fs.is_url(f))  # each real file once
    return sorted(local + [f for f in files if fs.is_url(f)])


ReadSpan = Callable[[Span, Source, "ChunkBuilder"], Iterator[None]]
"""Reads one span of a source into the builder, yielding after every record (so that the caller
can flush a chunk or stop at the source's limit)."""


@dataclass(frozen=True)
class Reader:
    """One input type: how its sources are checked, planned and read (``READERS`` in
    ``curate.io.readers`` holds one per ``SourceType``)."""

    read: ReadSpan
    inputs: Callable[[Source], list[str]]
    """The files a source's records come from; their fingerprints are part of the read step's key
    (for a file type, also the files that are planned into pieces)."""
    check: Callable[[Source, str | os.PathLike | None], list[str]]
    """What is missing before any work starts, one problem a line (``base_dir``: the recipe's
    directory, named in the problem)."""
    split: Callable[[str, int, int], list[tuple[int, int]]] | None = None
    """Where a file of ``size`` bytes is cut into spans of about ``shard_bytes`` (the byte offset
    and line number of each span's start); small files are then grouped into one piece. None: each
    file is a piece of its own."""
    dataset: bool = False
    """The source is one dataset (its path names it), read as one piece, rather than files."""


class ChunkBuilder:
    """Collects records and bad rows of one source; emits a Chunk every ``shard_bytes``."""

    def __init__(self, source: Source, shard_bytes: int) -> None:
        self.source, self.kind, self.shard_bytes = source, source.kind, shard_bytes
        self.rows: list[dict[str, Any]] = []
        self.bad: list[dict[str, Any]] = []
        self.bytes = 0
        self.counters: dict[str, float] = {}
        self.emitted = 0
        self.origins: list[tuple[str, int]] | None = [] if source.id_field is not None else None

    @property
    def total(self) -> int:
        return self.emitted + len(self.rows)

    def count(self, name: str, n: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def add_bad(self, *, rel: str, line: int, reason: str, error: str, raw: str | bytes | None) -> None:
        if isinstance(raw, bytes):
            raw = raw[: RAW_PREVIEW_CHARS * 4].decode("utf-8", errors="replace")
        self.bad.append(
            {
                ID: f"{self.source.name}/{rel}:{line}",
                SOURCE: self.source.name,
                "file": rel,
                "line": line,
                "reason": reason,
                "error": error,
                "raw": None if raw is None else raw[:RAW_PREVIEW_CHARS],
            }
        )

    def file_damage(self, exc: BaseException, *, rel: str, line: int, offset: int, what: str) -> None:
        """Quarantine the unreadable rest of a file as one file-level entry (or stop, for a strict
        source). ``line`` and ``offset`` say how far reading got (``what`` names the offset)."""
        truncated = isinstance(exc, EOFError)
        reason = "bad_input:truncated" if truncated else "bad_input:unreadable_file"
        error = f"stopped at line {line} (byte {offset} of {what}): {type(exc).__name__}: {exc}"
        if self.source.strict:
            raise InputError(
                f"sources.{self.source.name}: {rel} is {'truncated' if truncated else 'unreadable'}, {error}; "
                "repair or remove the file, or unset `strict` to quarantine what cannot be read and go on"
            )
        self.bad.append(
            {
                ID: f"{self.source.name}/{rel}",
                SOURCE: self.source.name,
                "file": rel,
                "line": line,
                "reason": reason,
                "error": error,
                "raw": None,
            }
        )
        self.count("truncated_files" if truncated else "unreadable_files")

    def add_object(self, obj: Any, *, rel: str, line: int, size: int, raw: bytes | None = None) -> None:
        """Validate one parsed input object and add its record(s) or quarantine it (never raises:
        a shape no validator foresaw is quarantined as ``bad_input:malformed`` with its error)."""
        try:
            if not isinstance(obj, dict):
                raise BadRecord(f"bad_input:not_an_object:{type(obj).__name__}")
            base_id = self._record_id(obj, rel, line)
            rows = [
                {ID: base_id + suffix, SOURCE: self.source.name, **row}
                for suffix, row in self._rows_from(obj)
            ]
        except BadRecord as bad:
            self.add_bad(rel=rel, line=line, reason=bad.reason, error=bad.detail, raw=raw_text(obj, raw))
            return
        except RecursionError:
            self.add_bad(
                rel=rel,
                line=line,
                reason="bad_input:too_deep",
                error="nested too deeply to store",
                raw=raw_text(obj, raw),
            )
            return
        except Exception as exc:  # a shape no validator foresaw: quarantined, never fatal
            self.add_bad(
                rel=rel,
                line=line,
                reason="bad_input:malformed",
                error=f"{type(exc).__name__}: {exc}",
                raw=raw_text(obj, raw),
            )
            return
        if self.origins is not None:
            self.origins.extend((rel, line) for _ in rows)
        self.rows.extend(rows)
        self.bytes += size

    def _record_id(self, obj: dict[str, Any], rel: str, line: int) -> str:
        field_name = self.source.id_field
        if field_name is None:
            return f"{self.source.name}/{rel}:{line}"
        value = obj.get(field_name)
        if value is None or isinstance(value, (dict, list)) or str(value) == "":
            raise BadRecord("bad_input:missing_id", f"id field {field_name!r} missing, empty or not a scalar")
        return str(value)

    def _meta(self, obj: dict[str, Any], used: set[str]) -> str | None:
        rest = {k: v for k, v in obj.items() if k not in used}
        if not rest:
            return None
        try:
            return orjson.dumps(rest, default=str).decode()
        except orjson.JSONEncodeError:  # deeper than orjson's 254 levels, or an odd value
            return json.dumps(rest, default=str, ensure_ascii=False)

    def _rows_from(self, obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        source = self.source
        used = {source.id_field} if source.id_field else set()
        if self.kind == "text":
            text = obj.get(source.text_field, _MISSING)
            if text is _MISSING:
                raise BadRecord("bad_input:missing_text", f"no field {source.text_field!r}")
            if text is None:
                raise BadRecord("bad_input:null_text", f"field {source.text_field!r} is null")
            if not isinstance(text, str):
                raise BadRecord(
                    "bad_input:not_a_string", f"field {source.text_field!r} is a {type(text).__name__}"
                )
            if not text.strip():
                raise BadRecord("bad_input:empty_text", f"field {source.text_field!r} is empty")
            if len(text) > source.max_record_bytes:
                raise BadRecord(
                    "bad_input:too_large",
                    f"{len(text)} characters > max_record_bytes {source.max_record_bytes}",
                )
            yield "", {TEXT: text, META: self._meta(obj, used | {source.text_field})}
        elif self.kind == "chat":
            messages = chat_messages(obj, source.format, field=source.field)
            yield (
                "",
                {
                    "messages": messages,
                    META: self._meta(obj, used | consumed_fields(source.format, source.field)),
                },
            )
        else:
            pairs = preference_pairs(
                obj, source.format, ratings_pairs=source.ratings_pairs, margin=source.ratings_margin
            )
            meta = self._meta(obj, used | consumed_fields(source.format, source.field))
            for k, (prompt, chosen, rejected) in enumerate(pairs):
                suffix = f"#p{k}" if source.format == "ratings" else ""
                yield suffix, {"prompt": prompt, "chosen": chosen, "rejected": rejected, META: meta}

    def full(self) -> bool:
        return self.bytes >= self.shard_bytes

    def take(self) -> Chunk:
        schema = BASE_SCHEMA[self.kind]
        records = (
            pl.DataFrame(self.rows, schema=schema, orient="row") if self.rows else pl.DataFrame(schema=schema)
        )
        bad = (
            pl.DataFrame(self.bad, schema=BAD_SCHEMA, orient="row")
            if self.bad
            else pl.DataFrame(schema=BAD_SCHEMA)
        )
        origins = None
        if self.origins is not None:
            origins = pl.DataFrame(self.origins, schema=ORIGIN_SCHEMA, orient="row")
            self.origins = []
        chunk = Chunk(records, bad, self.counters, origins)
        self.emitted += len(self.rows)
        self.rows, self.bad, self.bytes, self.counters = [], [], 0, {}
        return chunk


_MISSING = object()


def raw_text(obj: Any, raw: bytes | None) -> str | bytes | None:
    """What a quarantined record's ``raw`` shows: its input line, or its object as JSON."""
    if raw is not None:
        return raw[: RAW_PREVIEW_CHARS * 4]
    try:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
    except (orjson.JSONEncodeError, RecursionError):
        return repr(obj)[:RAW_PREVIEW_CHARS]


EMPTY_PROBE_BYTES = 1 << 16


def empty_file(path: str) -> bool:
    """A local input file that holds no record: 0 bytes, a plain JSONL file of blank lines only, or
    a Parquet file of 0 rows. Compressed and remote files are left to the reader."""
    if fs.is_url(path):
        return False
    try:
        size = os.path.getsize(path)
        if size == 0:
            return True
        if path.lower().endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_metadata(path).num_rows == 0
        if path.lower().endswith((".jsonl", ".json", ".ndjson")) and size <= EMPTY_PROBE_BYTES:
            return not Path(path).read_bytes().strip()
    except Exception:  # unreadable or corrupt: the read step quarantines it with its reason
        return False
    return False


def check_files(source: Source, base_dir: str | os.PathLike | None = None) -> list[str]:
    """A file type's check: every local pattern matches something, and some file holds records."""
    problems = []
    files: list[str] = []
    for pattern in source.patterns:
        matched = fs.glob_files(pattern)
        if not matched:
            problems.append(
                f"sources.{source.name}: path pattern {pattern!r} matched no file{looked_in(pattern, base_dir)}"
            )
        files += matched
    if files and all(empty_file(f) for f in files):
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        problems.append(
            f"sources.{source.name}: {'the file' if len(files) == 1 else 'every file'} it reads is empty "
            f"(no record): {shown}"
        )
    return problems


def piece_paths(piece: Piece) -> list[Path]:
    return [Path(s.path) for s in piece.spans]
