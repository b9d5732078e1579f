"""Readers: input files -> canonical record batches, with bad input quarantined, never fatal.

Planning (:func:`plan_pieces`) turns every source into *pieces* of about ``shard_bytes``: plain
JSONL files larger than that are split at line breaks, small files are grouped, compressed files,
Parquet files and HF datasets are one piece each. Reading a piece (:func:`read_piece`) streams it
and yields one :class:`Chunk` per ``shard_bytes`` of input, so memory stays bounded whatever the
file size. Every record either becomes a row of the chunk's ``records`` or a row of its ``bad``
frame with a ``bad_input:<what>`` / ``bad_chat:<why>`` / ``bad_pair:<why>`` reason, the file and
the line.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import polars as pl

from curate.errors import InputError, RecipeError
from curate.formats.shapes import BadRecord, chat_messages, consumed_fields, preference_pairs
from curate.io import fs
from curate.recipe import Source
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


# ---------------------------------------------------------------------------------------------
# Planning


def source_files(source: Source) -> list[str]:
    """The files a source reads, sorted, deduplicated, directories and non-files left out
    (local paths, or URLs read through fsspec, see ``curate.io.fs``)."""
    files: set[str] = set()
    for pattern in source.patterns:
        files.update(fs.glob_files(pattern))
    return sorted(files)


def _is_compressed(path: str) -> bool:
    return path.endswith((".gz", ".zst"))


def _split_points(path: str, size: int, shard_bytes: int) -> list[tuple[int, int]]:
    """(byte offset, line number) of each span start: every ~shard_bytes, moved to the next line start."""
    points = [(0, 1)]
    line = 1
    previous = 0
    with fs.open_binary(path) as f:
        target = shard_bytes
        while target < size:
            f.seek(target)
            f.readline()
            offset = f.tell()
            if offset >= size:
                break
            line += _count_newlines(f, previous, offset)
            points.append((offset, line))
            previous = offset
            target = offset + shard_bytes
    return points


def _count_newlines(f: BinaryIO, start: int, end: int, block: int = 1 << 24) -> int:
    f.seek(start)
    count, remaining = 0, end - start
    while remaining > 0:
        data = f.read(min(block, remaining))
        if not data:
            break
        count += data.count(b"\n")
        remaining -= len(data)
    return count


def plan_pieces(sources: list[Source], *, shard_bytes: int) -> list[Piece]:
    """Split every source into pieces of about ``shard_bytes``; deterministic for given inputs."""
    pieces: list[Piece] = []
    for source in sources:
        kind = source.resolved_type()
        if kind in ("hf", "hf_disk"):
            pieces.append(Piece(len(pieces), source.name, (Span(source.patterns[0], source.name),)))
            continue
        files = source_files(source)
        if not files:
            raise RecipeError(f"sources.{source.name}: path {source.path!r} matched no file")
        spans = _plan_spans(files, kind=kind, shard_bytes=shard_bytes, split=source.limit is None)
        groups = (
            [spans] if source.limit is not None else _group_spans(spans, kind=kind, shard_bytes=shard_bytes)
        )
        for group in groups:
            pieces.append(Piece(len(pieces), source.name, tuple(group)))
    return pieces


def _plan_spans(files: list[str], *, kind: str, shard_bytes: int, split: bool) -> list[Span]:
    spans: list[Span] = []
    for path, rel in zip(files, fs.relative_names(files), strict=True):
        size = fs.size(path)
        if kind == "jsonl" and split and not _is_compressed(path) and size > shard_bytes:
            points = _split_points(path, size, shard_bytes)
            ends = [p[0] for p in points[1:]] + [None]
            spans += [
                Span(path, rel, start, end, line) for (start, line), end in zip(points, ends, strict=True)
            ]
        else:
            spans.append(Span(path, rel))
    return spans


def _group_spans(spans: list[Span], *, kind: str, shard_bytes: int) -> list[list[Span]]:
    """Consecutive small whole-file spans share a piece; split or big spans stand alone."""
    groups: list[list[Span]] = []
    current: list[Span] = []
    current_bytes = 0
    for span in spans:
        size = (span.end if span.end is not None else fs.size(span.path)) - span.start
        alone = kind != "jsonl" or span.end is not None or span.start > 0 or size >= shard_bytes
        if alone or current_bytes + size > shard_bytes:
            if current:
                groups.append(current)
            current, current_bytes = [], 0
        if alone:
            groups.append([span])
        else:
            current.append(span)
            current_bytes += size
    if current:
        groups.append(current)
    return groups


# ---------------------------------------------------------------------------------------------
# Reading


class _ChunkBuilder:
    """Collects records and bad rows of one source; emits a Chunk every ``shard_bytes``."""

    def __init__(self, source: Source, shard_bytes: int) -> None:
        self.source, self.kind, self.shard_bytes = source, source.kind, shard_bytes
        self.rows: list[dict[str, Any]] = []
        self.bad: list[dict[str, Any]] = []
        self.bytes = 0
        self.counters: dict[str, float] = {}
        self.emitted = 0

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

    def add_object(self, obj: Any, *, rel: str, line: int, size: int) -> None:
        """Validate one parsed input object and add its record(s) or quarantine it."""
        raw = None
        try:
            if not isinstance(obj, dict):
                raise BadRecord(f"bad_input:not_an_object:{type(obj).__name__}")
            base_id = self._record_id(obj, rel, line)
            for suffix, row in self._rows_from(obj):
                self.rows.append({ID: base_id + suffix, SOURCE: self.source.name, **row})
            self.bytes += size
        except BadRecord as bad:
            raw = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
            self.add_bad(rel=rel, line=line, reason=bad.reason, error=bad.detail, raw=raw)

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
        return orjson.dumps(rest, default=str).decode() if rest else None

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
        chunk = Chunk(records, bad, self.counters)
        self.emitted += len(self.rows)
        self.rows, self.bad, self.bytes, self.counters = [], [], 0, {}
        return chunk


_MISSING = object()


def read_piece(piece: Piece, source: Source, *, shard_bytes: int) -> Iterator[Chunk]:
    """Stream a piece as chunks of about ``shard_bytes`` of input (always at least one chunk)."""
    builder = _ChunkBuilder(source, shard_bytes)
    kind = source.resolved_type()
    reader = {"jsonl": _read_jsonl_span, "parquet": _read_table_file, "hf_disk": _read_hf, "hf": _read_hf}[
        kind
    ]
    emitted_any = False
    for span in piece.spans:
        for _ in reader(span, source, builder):
            if source.limit is not None and builder.total >= source.limit:
                break
            if builder.full():
                emitted_any = True
                yield builder.take()
        if source.limit is not None and builder.total >= source.limit:
            break
    if builder.rows or builder.bad or builder.counters or not emitted_any:
        yield builder.take()


class _OwnedGzip(gzip.GzipFile):
    """A GzipFile that also closes the file object it reads (local or fsspec)."""

    def close(self) -> None:
        raw = self.fileobj
        try:
            super().close()
        finally:
            if raw is not None:
                raw.close()


def _open_bytes(path: str) -> BinaryIO:
    raw = fs.open_binary(path)
    if path.endswith(".gz"):
        return _OwnedGzip(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if path.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))  # type: ignore[arg-type]
    return raw


def _read_jsonl_span(span: Span, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    """Parse one span line by line; yields after every line so the caller can flush or stop."""
    try:
        f = _open_bytes(span.path)
    except OSError as exc:
        raise InputError(f"sources.{source.name}: cannot open {span.path!r}: {exc}") from None
    limit = source.max_record_bytes
    with f:
        if span.start:
            f.seek(span.start)
        position, line_no = span.start, span.first_line - 1
        try:
            for line in f:
                line_no += 1
                position += len(line)
                _parse_line(line, line_no, span.rel, limit, builder)
                yield None
                if span.end is not None and position >= span.end:
                    break
        except (OSError, EOFError, ValueError) as exc:  # truncated/corrupt gzip or zstd stream
            builder.add_bad(
                rel=span.rel,
                line=line_no + 1,
                reason="bad_input:unreadable",
                error=f"{type(exc).__name__}: {exc}",
                raw=None,
            )
            builder.count("unreadable_files")


def _parse_line(line: bytes, line_no: int, rel: str, limit: int, builder: _ChunkBuilder) -> None:
    body = line.rstrip(b"\r\n")
    if not body.strip():
        builder.count("blank_lines")
        return
    if len(body) > limit:
        builder.add_bad(
            rel=rel,
            line=line_no,
            reason="bad_input:too_large",
            error=f"line of {len(body)} bytes > max_record_bytes {limit}",
            raw=body[:RAW_PREVIEW_CHARS],
        )
        return
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:
            body.decode("utf-8")
            reason = "bad_input:invalid_json"
        except UnicodeDecodeError:
            reason = "bad_input:invalid_utf8"
        builder.add_bad(rel=rel, line=line_no, reason=reason, error=str(exc), raw=body)
        return
    builder.add_object(obj, rel=rel, line=line_no, size=len(body))


def _read_table_file(span: Span, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    import pyarrow.parquet as pq

    handle = fs.open_binary(span.path) if fs.is_url(span.path) else None
    try:
        try:
            parquet = pq.ParquetFile(handle if handle is not None else span.path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            builder.add_bad(
                rel=span.rel,
                line=0,
                reason="bad_input:unreadable",
                error=f"{type(exc).__name__}: {exc}",
                raw=None,
            )
            builder.count("unreadable_files")
            return
        yield from _read_arrow_batches(parquet.iter_batches(batch_size=2048), span.rel, source, builder)
    finally:
        if handle is not None:
            handle.close()


def _read_hf(span: Span, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    table = load_hf_table(source)
    yield from _read_arrow_batches(table.to_batches(max_chunksize=2048), span.rel, source, builder)


def load_hf_table(source: Source) -> Any:
    """The Arrow table of an HF dataset, from disk or the local cache — never the network."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets
    import huggingface_hub.constants

    # The environment is read when those modules are imported, which may have happened already.
    datasets.config.HF_DATASETS_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True

    try:
        if source.resolved_type() == "hf_disk":
            ds = datasets.load_from_disk(source.patterns[0])
        else:
            ds = datasets.load_dataset(
                source.patterns[0], source.hf_name, data_files=source.data_files, split=source.split
            )
    except Exception as exc:  # datasets raises many types; all mean "cannot load this source"
        raise InputError(
            f"sources.{source.name}: cannot load HF dataset {source.patterns[0]!r}: {exc}"
        ) from None
    if isinstance(ds, datasets.DatasetDict):
        if source.split not in ds:
            raise InputError(f"sources.{source.name}: split {source.split!r} not in {list(ds)}; set `split:`")
        ds = ds[source.split]
    return ds.data.table if hasattr(ds.data, "table") else ds.data


def _read_arrow_batches(batches: Any, rel: str, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    """Rows of Arrow record batches go through the same validation as JSON objects."""
    row = 0
    for batch in batches:
        for obj in batch.to_pylist():
            row += 1
            size = _estimate_size(obj)
            if size > source.max_record_bytes:
                builder.add_bad(
                    rel=rel,
                    line=row,
                    reason="bad_input:too_large",
                    error=f"record of ~{size} bytes > max_record_bytes",
                    raw=None,
                )
            else:
                builder.add_object(obj, rel=rel, line=row, size=size)
            yield None


def _estimate_size(obj: dict[str, Any]) -> int:
    return sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in obj.values())


def piece_paths(piece: Piece) -> list[Path]:
    return [Path(s.path) for s in piece.spans]
