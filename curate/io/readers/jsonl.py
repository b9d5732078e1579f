"""JSON Lines input (.jsonl, .json, .ndjson, plain or .gz/.zst): one object a line.

A plain file larger than a shard is split at line breaks into spans read in parallel; lines are
split on \\n, \\r\\n or a lone \\r, a UTF-8 byte order mark is skipped, and a line longer than the
source's ``max_record_bytes`` is quarantined without being held in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from curate.io import fs
from curate.io.compressed import open_decompressed
from curate.io.readers.base import RAW_PREVIEW_CHARS, ChunkBuilder, Reader, Span, check_files, source_files
from curate.io.sources import Source


def is_compressed(path: str) -> bool:
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


def split_points(path: str, size: int, shard_bytes: int) -> list[tuple[int, int]]:
    """(byte offset, line number) of each span start of a file; a compressed file is not split."""
    if is_compressed(path) or size <= shard_bytes:
        return [(0, 1)]
    return _split_points(path, size, shard_bytes)


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


def read_jsonl_span(span: Span, source: Source, builder: ChunkBuilder) -> Iterator[None]:
    """Parse one span line by line; yields after every line so the caller can flush or stop.

    Damage that stops the stream (a corrupt or truncated .gz/.zst, an I/O error) quarantines the
    rest of the file as one file-level entry, with the line and byte offset reached."""
    compressed = is_compressed(span.path)
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


def _parse_line(line: bytes, line_no: int, rel: str, limit: int, builder: ChunkBuilder) -> None:
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


READER = Reader(read=read_jsonl_span, inputs=source_files, check=check_files, split=split_points)
