"""Token exports: the packed tokens in the formats other trainers read unchanged.

``- tokenize: {export: [nanogpt, hf, megatron]}``; one module per format, named in
:data:`EXPORTS`. The tokenize stage's ``finalize`` feeds every export from one place while it
packs (:class:`Exports`), so each sees exactly what ``tokens/`` holds:

- the packed rows (``add_rows``: ``(k, seq_len)`` ids and masks, and where documents start),
- each record as it enters the rows (``add_record``: truncated conversations truncated, dropped
  ones absent, documents whole), in input order,
- each preference pair as ``tokens/preference.parquet`` holds it (``add_pairs``).

Formats:

- ``nanogpt``: ``tokens/`` itself (``train.bin`` uint16/uint32 memmap rows, ``train.mask.bin``,
  ``train.docs.bin``, ``index.json``; :mod:`curate.io.tokens`). Always written: the bundled
  trainer reads it.
- ``hf``: Parquet under ``exports/hf/`` that TRL's trainers take as already tokenized
  (:mod:`curate.exports.hf`).
- ``megatron``: Megatron-LM's indexed dataset ``exports/megatron/train.bin`` + ``.idx``
  (:mod:`curate.exports.megatron`).

Every file is written under a temporary name (``*.tmp``) and renamed into place on ``close``; a
killed run leaves only temporary files, which ``--resume`` removes before ``finalize`` writes
every export again from the tokenized shards: the same bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

import numpy as np

from curate.exports.base import EXPORTS_DIR, Export, ExportInfo, ExportName, Pair
from curate.exports.hf import HFExport
from curate.exports.megatron import MegatronExport
from curate.exports.nanogpt import NanoGPTExport

__all__ = ["EXPORTS", "EXPORTS_DIR", "Export", "ExportInfo", "ExportName", "Exports", "Pair"]

EXPORTS: dict[str, type[Export]] = {e.name: e for e in (NanoGPTExport, HFExport, MegatronExport)}
"""Export name (as in ``tokenize.export``) -> writer class."""


class Exports:
    """Every requested export, fed together; ``close`` returns ``{name: summary}``."""

    def __init__(self, names: Sequence[str], info: ExportInfo) -> None:
        directory = info.run_dir / EXPORTS_DIR
        if directory.exists():  # formats of an earlier run of the step, or files a killed one left
            shutil.rmtree(directory)
        self.exports = [EXPORTS[name](info) for name in names]

    @property
    def directories(self) -> list[str]:
        """Top-level run directory entries the exports write (besides ``tokens/``)."""
        return [EXPORTS_DIR] if any(e.name != "nanogpt" for e in self.exports) else []

    def add_rows(self, rows: np.ndarray, masks: np.ndarray, starts: np.ndarray) -> None:
        for export in self.exports:
            export.add_rows(rows, masks, starts)

    def add_record(self, ids: np.ndarray, mask: np.ndarray) -> None:
        for export in self.exports:
            export.add_record(ids, mask)

    def add_pairs(self, pairs: Sequence[Pair]) -> None:
        if pairs:
            for export in self.exports:
                export.add_pairs(pairs)

    def close(self) -> dict[str, Any]:
        return {export.name: export.close() for export in self.exports}

    def abort(self) -> None:
        for export in self.exports:
            export.abort()
