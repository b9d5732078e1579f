"""What every token export shares: the writer interface, what it is told, where it writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

ExportName = Literal["nanogpt", "hf", "megatron"]
EXPORTS_DIR = "exports"
Pair = tuple[str, str, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(id, source, (chosen ids, chosen mask), (rejected ids, rejected mask)): prompt + response each."""


@dataclass(frozen=True)
class ExportInfo:
    """What every export knows about the tokens it is given."""

    run_dir: Path
    vocab_size: int
    seq_len: int
    split: str = "train"
    hf_rows: Literal["packed", "records"] = "packed"


class Export:
    """One format's writer; every method is optional (a format takes what it needs)."""

    name: str = ""

    def __init__(self, info: ExportInfo) -> None:
        self.info = info

    def add_rows(self, rows: np.ndarray, masks: np.ndarray, starts: np.ndarray) -> None:
        """Packed rows ``(k, seq_len)`` and the flat-stream offsets where documents start in them."""

    def add_record(self, ids: np.ndarray, mask: np.ndarray) -> None:
        """One record as it enters the packed rows."""

    def add_pairs(self, pairs: Sequence[Pair]) -> None:
        """Preference pairs, fitted to ``seq_len`` as ``tokens/preference.parquet`` holds them."""

    def close(self) -> dict[str, Any]:
        """Publish the files (atomically) and return what was written, for the stats."""
        return {}

    def abort(self) -> None:
        """Remove temporary files."""


def export_dir(info: ExportInfo, name: str) -> Path:
    directory = info.run_dir / EXPORTS_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def temporary(path: Path) -> Path:
    """The name a file is written under until it is complete (``--resume`` removes ``*.tmp``)."""
    return path.with_name(path.name + ".tmp")
