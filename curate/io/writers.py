"""Atomic writers: every file is written under a temporary name and renamed into place.

A reader therefore sees either the old file, or the whole new one, never half of it; a run killed
at any moment leaves only ``*.tmp-*`` files behind, which the next run overwrites.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

PARQUET_ROW_GROUP = 64_000


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, fsync, and rename to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_parquet(df: pl.DataFrame, path: str | os.PathLike, *, compression_level: int = 3) -> Path:
    """Parquet with zstd, written atomically; byte-identical for identical frames."""
    return write_atomic(
        path,
        lambda tmp: df.write_parquet(
            tmp,
            compression="zstd",
            compression_level=compression_level,
            statistics=True,
            row_group_size=PARQUET_ROW_GROUP,
        ),
    )


def write_hf_parquet(df: pl.DataFrame, path: str | os.PathLike, *, compression_level: int = 3) -> Path:
    """Parquet with Hugging Face's plain Arrow types (string, list), for datasets that users load."""
    import pyarrow.parquet as pq

    from curate.formats.hf import hf_table

    table = hf_table(df)
    return write_atomic(
        path,
        lambda tmp: pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=compression_level,
            row_group_size=PARQUET_ROW_GROUP,
        ),
    )


def write_jsonl(df: pl.DataFrame, path: str | os.PathLike) -> Path:
    return write_atomic(path, lambda tmp: df.write_ndjson(tmp))


def write_text(text: str, path: str | os.PathLike) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    return write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n", path)


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
