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

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import polars as pl

from curate.errors import InputError, RecipeError
from curate.formats.shapes import BadRecord, chat_messages, consumed_fields, preference_pairs
from curate.io import fs
from curate.io.compressed import open_decompressed
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
    origins: pl.DataFrame | None = None
    """For a source with ``id_field``: the file and line of each record (ORIGIN_SCHEMA), so that a
    duplicate id found across pieces can be quarantined with its place and the first one's."""


ORIGIN_SCHEMA = {"file": pl.String, "line": pl.Int64}
ORIGINS = "_origins"
"""Folder of the read step holding each shard's origins (sources with ``id_field``)."""


# ---------------------------------------------------------------------------------------------
# Planning


def source_files(source: Source) -> list[str]:
    """The files a source reads, sorted, deduplicated (a local file reached through several
    patterns or links once), directories and non-files left out (local paths, or URLs read
    through fsspec, see ``curate.io.fs``)."""
    files: set[str] = set()
    for pattern in source.patterns:
        files.update(fs.glob_files(pattern))
    local = fs.unique_real_files(f for f in files if not fs.is_url(f))  # each real file once
    return sorted(local + [f for f in files if fs.is_url(f)])


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
    """Line terminators in bytes [start, end): \\n, \\r\\n or a lone \\r, as the reader splits them."""
    f.seek(start)
    count, remaining, after_cr = 0, end - start, False
    while remaining > 0:
        data = f.read(min(block, remaining))
        if not data:
            break
        count += data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
        if after_cr and data.startswith(b"\n"):
            count -= 1  # a \\r\\n cut in two by the block boundary
        after_cr = data.endswith(b"\r")
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
            self.add_bad(rel=rel, line=line, reason=bad.reason, error=bad.detail, raw=_raw_text(obj, raw))
            return
        except RecursionError:
            self.add_bad(
                rel=rel,
                line=line,
                reason="bad_input:too_deep",
                error="nested too deeply to store",
                raw=_raw_text(obj, raw),
            )
            return
        except Exception as exc:  # a shape no validator foresaw: quarantined, never fatal
            self.add_bad(
                rel=rel,
                line=line,
                reason="bad_input:malformed",
                error=f"{type(exc).__name__}: {exc}",
                raw=_raw_text(obj, raw),
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


_BOM = b"\xef\xbb\xbf"
_READ_BLOCK = 1 << 20


class _Cut(bytes):
    """The first bytes of a line longer than max_record_bytes; ``size`` is its full length, read
    without holding the whole line in memory."""

    size: int
    ended_cr: bool


_TERMINATOR = re.compile(rb"\r\n?|\n")


def _lines(f: BinaryIO, carry: bytes, limit: int) -> Iterator[bytes]:
    """Lines of a binary stream with their terminators, split on \\n, \\r\\n or a lone \\r (old Mac
    line endings); a line longer than ``limit`` comes as a :class:`_Cut`. Reads in blocks."""
    skipping: _Cut | None = None
    # read1: one read of the underlying stream at a time, so that the lines decoded before a corrupt
    # block are all parsed before its error is raised (read(n) would drop them with the error)
    read = getattr(f, "read1", f.read)
    while True:
        data = read(_READ_BLOCK)
        if not data:
            break
        if skipping is not None:  # inside an oversized line: find its end
            if skipping.ended_cr:
                n = 1 if data.startswith(b"\n") else 0
            else:
                match = _TERMINATOR.search(data)
                if match is None or (match.end() == len(data) and data.endswith(b"\r")):
                    skipping.size += len(data)
                    skipping.ended_cr = match is not None
                    continue
                n = match.end()
            skipping.size += n
            yield skipping
            skipping, data = None, data[n:]
            if not data:
                continue
        elif carry:
            data = carry + data
        lines = data.splitlines(keepends=True)
        carry = b"" if lines[-1].endswith(b"\n") else lines.pop()  # unfinished, or \\r then maybe \\n
        yield from lines
        if len(carry) > limit + 2:
            skipping = _Cut(carry[: RAW_PREVIEW_CHARS * 4])
            skipping.size, skipping.ended_cr, carry = len(carry), carry.endswith(b"\r"), b""
    if skipping is not None:
        yield skipping
    elif carry:
        yield carry


def _read_jsonl_span(span: Span, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    """Parse one span line by line; yields after every line so the caller can flush or stop.

    Damage that stops the stream (a corrupt or truncated .gz/.zst, an I/O error) quarantines the
    rest of the file as one file-level entry, with the line and byte offset reached."""
    compressed = _is_compressed(span.path)
    what = "the decompressed stream" if compressed else "the file"
    try:
        f = open_decompressed(span.path)
    except Exception as exc:  # missing since planning, permissions, a bad URL...
        builder.file_damage(exc, rel=span.rel, line=span.first_line, offset=span.start, what=what)
        return
    limit = source.max_record_bytes
    position, line_no = span.start, span.first_line - 1
    try:
        with f:
            carry = b""
            if span.start:
                f.seek(span.start)
            else:
                carry = f.read(3)
                if carry == _BOM:  # a UTF-8 byte order mark is not part of the first record
                    carry = b""
                    position += 3
            for line in _lines(f, carry, limit):
                line_no += 1
                if line.__class__ is _Cut:
                    position += line.size  # type: ignore[attr-defined]
                    builder.add_bad(
                        rel=span.rel,
                        line=line_no,
                        reason="bad_input:too_large",
                        error=f"line of {line.size} bytes > max_record_bytes {limit}",  # type: ignore[attr-defined]
                        raw=bytes(line[:RAW_PREVIEW_CHARS]),
                    )
                else:
                    position += len(line)
                    _parse_line(line, line_no, span.rel, limit, builder)
                yield None
                if span.end is not None and position >= span.end:
                    break
    except Exception as exc:  # corrupt/truncated gzip or zstd stream, an I/O error
        builder.file_damage(exc, rel=span.rel, line=line_no + 1, offset=position, what=what)


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
    builder.add_object(obj, rel=rel, line=line_no, size=len(body), raw=body)


def _raw_text(obj: Any, raw: bytes | None) -> str | bytes | None:
    """What a quarantined record's ``raw`` shows: its input line, or its object as JSON."""
    if raw is not None:
        return raw[: RAW_PREVIEW_CHARS * 4]
    try:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
    except (orjson.JSONEncodeError, RecursionError):
        return repr(obj)[:RAW_PREVIEW_CHARS]


def _read_table_file(span: Span, source: Source, builder: _ChunkBuilder) -> Iterator[None]:
    """Rows of a Parquet file; a file that cannot be opened, or a damaged page, quarantines the
    rest of the file as one file-level entry with the row reached."""
    import pyarrow.parquet as pq

    handle = None
    reached = [0]
    try:
        handle = fs.open_binary(span.path) if fs.is_url(span.path) else None
        parquet = pq.ParquetFile(handle if handle is not None else span.path)
        yield from _read_arrow_batches(
            parquet.iter_batches(batch_size=2048), span.rel, source, builder, reached=reached
        )
    except Exception as exc:  # pyarrow raises several types for a damaged file
        builder.file_damage(exc, rel=span.rel, line=reached[0] + 1, offset=reached[0], what="the rows")
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


def _read_arrow_batches(
    batches: Any, rel: str, source: Source, builder: _ChunkBuilder, *, reached: list[int] | None = None
) -> Iterator[None]:
    """Rows of Arrow record batches go through the same validation as JSON objects
    (``reached[0]``: rows read so far, for a caller that reports where a damaged file stopped)."""
    row = 0
    for batch in batches:
        for obj in batch.to_pylist():
            row += 1
            if reached is not None:
                reached[0] = row
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
