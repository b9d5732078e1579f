"""Hugging Face datasets: a directory written by ``save_to_disk`` (type hf_disk), or a dataset
``datasets.load_dataset`` finds in the local cache (type hf) — never the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.errors import InputError
from curate.io.readers.base import ChunkBuilder, Reader, Span
from curate.io.readers.table import read_arrow_batches
from curate.io.sources import Source, looked_in


def read_hf(span: Span, source: Source, builder: ChunkBuilder) -> Iterator[None]:
    table = load_hf_table(source)
    yield from read_arrow_batches(table.to_batches(max_chunksize=2048), span.rel, source, builder)


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


def dataset_files(source: Source) -> list[str]:
    """The files of a dataset's directory (or its path, when it is not a local directory)."""
    root = Path(source.patterns[0])
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.is_dir() else [str(root)]


def check_saved_dataset(source: Source, base_dir: str | os.PathLike | None = None) -> list[str]:
    return [
        f"sources.{source.name}: {pattern!r} is not a directory saved with datasets' save_to_disk"
        f"{looked_in(pattern, base_dir)}"
        for pattern in source.patterns
        if not Path(pattern).is_dir()
    ]


def check_nothing(source: Source, base_dir: str | os.PathLike | None = None) -> list[str]:
    """A dataset found by name is looked up when it is read (in the local cache)."""
    return []


ON_DISK = Reader(read=read_hf, inputs=dataset_files, check=check_saved_dataset, dataset=True)
BY_NAME = Reader(read=read_hf, inputs=dataset_files, check=check_nothing, dataset=True)
