"""Parquet input, and the Arrow record batches that Parquet files and HF datasets are read as."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from curate.io import fs
from curate.io.readers.base import ChunkBuilder, Reader, Span, check_files, source_files
from curate.io.sources import Source


def read_table_file(span: Span, source: Source, builder: ChunkBuilder) -> Iterator[None]:
    """Rows of a Parquet file; a file that cannot be opened, or a damaged page, quarantines the
    rest of the file as one file-level entry with the row reached."""
    import pyarrow.parquet as pq

    handle = None
    reached = [0]
    try:
        handle = fs.open_binary(span.path) if fs.is_url(span.path) else None
        parquet = pq.ParquetFile(handle if handle is not None else span.path)
        yield from read_arrow_batches(
            parquet.iter_batches(batch_size=2048), span.rel, source, builder, reached=reached
        )
    except Exception as exc:  # pyarrow raises several types for a damaged file
        builder.file_damage(exc, rel=span.rel, line=reached[0] + 1, offset=reached[0], what="the rows")
    finally:
        if handle is not None:
            handle.close()


def read_arrow_batches(
    batches: Any, rel: str, source: Source, builder: ChunkBuilder, *, reached: list[int] | None = None
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


READER = Reader(read=read_table_file, inputs=source_files, check=check_files)
