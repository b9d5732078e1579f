"""Readers: input files -> canonical record batches, with bad input quarantined, never fatal.

One module per input type (``jsonl``, ``table`` for Parquet, ``hf`` for Hugging Face datasets),
each with a :class:`Reader`, and one line per type in ``READERS``: a new input type is a module,
a line here and its name in ``curate.io.sources.SourceType``.

Planning (:func:`plan_pieces`) turns every source into *pieces* of about ``shard_bytes``: plain
JSONL files larger than that are split at line breaks, small files are grouped, compressed files,
Parquet files and HF datasets are one piece each. Reading a piece (:func:`read_piece`) streams it
and yields one :class:`Chunk` per ``shard_bytes`` of input, so memory stays bounded whatever the
file size. Every record either becomes a row of the chunk's ``records`` or a row of its ``bad``
frame with a ``bad_input:<what>`` / ``bad_chat:<why>`` / ``bad_pair:<why>`` reason, the file and
the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from curate.errors import RecipeError
from curate.io import fs
from curate.io.readers import hf, jsonl, table
from curate.io.readers.base import (
    BAD_SCHEMA,
    ORIGIN_SCHEMA,
    ORIGINS,
    RAW_PREVIEW_CHARS,
    Chunk,
    ChunkBuilder,
    Piece,
    Reader,
    Span,
    empty_file,
    piece_paths,
    source_files,
)
from curate.io.readers.hf import load_hf_table
from curate.io.sources import Source

READERS: dict[str, Reader] = {
    "jsonl": jsonl.READER,
    "parquet": table.READER,
    "hf_disk": hf.ON_DISK,
    "hf": hf.BY_NAME,
}
"""The reader of each input type (``Source.type``)."""

__all__ = [
    "BAD_SCHEMA",
    "ORIGINS",
    "ORIGIN_SCHEMA",
    "RAW_PREVIEW_CHARS",
    "READERS",
    "Chunk",
    "Piece",
    "Reader",
    "Span",
    "check_sources_exist",
    "input_files",
    "input_warnings",
    "load_hf_table",
    "piece_paths",
    "plan_pieces",
    "read_piece",
    "source_files",
]


def input_files(source: Source) -> list[str]:
    """The files a source's records come from (their fingerprints key the read step)."""
    return READERS[source.resolved_type()].inputs(source)


def check_sources_exist(sources: Sequence[Source], *, base_dir: str | os.PathLike | None = None) -> None:
    """Every local pattern must match something, and some file of each source must hold records,
    before any work starts. ``base_dir``: the recipe's directory, named in the error."""
    problems = []
    for source in sources:
        problems += READERS[source.resolved_type()].check(source, base_dir)
    if problems:
        raise RecipeError("missing input:\n" + "\n".join(f"  - {p}" for p in problems))


def input_warnings(sources: Sequence[Source]) -> list[str]:
    """Empty files among the files of a source that has others (a source with only empty files is
    an error of ``check_sources_exist``)."""
    warnings = []
    for source in sources:
        if READERS[source.resolved_type()].dataset:
            continue
        files = sorted({f for pattern in source.patterns for f in fs.glob_files(pattern)})
        empty = [f for f in files if empty_file(f)]
        if empty and len(empty) < len(files):
            warnings += [f"sources.{source.name}: input file {f} is empty (no record)" for f in empty]
    return warnings


def plan_pieces(sources: list[Source], *, shard_bytes: int) -> list[Piece]:
    """Split every source into pieces of about ``shard_bytes``; deterministic for given inputs."""
    pieces: list[Piece] = []
    for source in sources:
        reader = READERS[source.resolved_type()]
        if reader.dataset:
            pieces.append(Piece(len(pieces), source.name, (Span(source.patterns[0], source.name),)))
            continue
        files = reader.inputs(source)
        if not files:
            raise RecipeError(f"sources.{source.name}: path {source.path!r} matched no file")
        spans = _plan_spans(files, reader=reader, shard_bytes=shard_bytes, split=source.limit is None)
        groups = (
            [spans]
            if source.limit is not None
            else _group_spans(spans, reader=reader, shard_bytes=shard_bytes)
        )
        for group in groups:
            pieces.append(Piece(len(pieces), source.name, tuple(group)))
    return pieces


def _plan_spans(files: list[str], *, reader: Reader, shard_bytes: int, split: bool) -> list[Span]:
    spans: list[Span] = []
    for path, rel in zip(files, fs.relative_names(files), strict=True):
        size = fs.size(path)
        if reader.split is not None and split and size > shard_bytes:
            points = reader.split(path, size, shard_bytes)
            ends = [p[0] for p in points[1:]] + [None]
            spans += [
                Span(path, rel, start, end, line) for (start, line), end in zip(points, ends, strict=True)
            ]
        else:
            spans.append(Span(path, rel))
    return spans


def _group_spans(spans: list[Span], *, reader: Reader, shard_bytes: int) -> list[list[Span]]:
    """Consecutive small whole-file spans share a piece; split or big spans stand alone."""
    groups: list[list[Span]] = []
    current: list[Span] = []
    current_bytes = 0
    for span in spans:
        size = (span.end if span.end is not None else fs.size(span.path)) - span.start
        alone = reader.split is None or span.end is not None or span.start > 0 or size >= shard_bytes
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


def read_piece(piece: Piece, source: Source, *, shard_bytes: int) -> Iterator[Chunk]:
    """Stream a piece as chunks of about ``shard_bytes`` of input (always at least one chunk)."""
    builder = ChunkBuilder(source, shard_bytes)
    reader = READERS[source.resolved_type()].read
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
