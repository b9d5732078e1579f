"""Per-document scores of a run's eval sets: ``RUN_DIR/eval_docs/<set>.npz`` (torch-free).

``score.json`` holds each eval set's bits per byte, ``sum(bits) / sum(bytes)`` over its
documents. The per-document terms are kept beside it so that two runs scored on the same
documents can be compared document by document: the eval set's error of a *difference* of two
runs is the bootstrap of the per-document difference (``curate.stats.
bootstrap_paired_ratio_difference``), far smaller than either score's own bootstrap error.

Each file is a NumPy ``.npz`` (read with ``allow_pickle=False``) holding:

- ``bits`` (float64, one per document): the document's summed NLL in bits over its scored tokens;
- ``bytes`` (int64, one per document): the UTF-8 bytes scored (see ``curate.train.score``);
- ``fingerprint`` (a string): sha256 of the eval records, so that only runs scored on the same
  documents in the same order are paired;
- ``version``.

Preference sets keep their chosen responses, the documents their bits per byte is reported on.
Written by training (``curate run``) and by ``curate score RUN_DIR`` (the run's own sets and sets
added by name), atomically, before ``score.json``. A file is used only where it agrees with
``score.json`` (same bits per byte), so a stale file never enters a comparison.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from curate.io.rundir import RunLayout
from curate.io.writers import write_atomic

VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
BPB_RTOL = 1e-9
"""How closely a file's ``sum(bits) / sum(bytes)`` must match ``score.json``'s bits per byte."""


@dataclass(frozen=True)
class DocScores:
    """One eval set's per-document bits and bytes (see the module docstring)."""

    bits: np.ndarray
    bytes: np.ndarray
    fingerprint: str

    @property
    def bpb(self) -> float:
        total = float(self.bytes.sum())
        return float(self.bits.sum()) / total if total > 0 else math.nan

    def pairs_with(self, other: DocScores) -> bool:
        """Whether ``other`` scored the same documents (fingerprint and every byte count agree)."""
        return self.fingerprint == other.fingerprint and np.array_equal(self.bytes, other.bytes)


def records_fingerprint(records: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of eval records (their JSON, in order): equal for the same documents."""
    data = orjson.dumps(list(records), option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str)
    return hashlib.sha256(data).hexdigest()


def write_eval_docs(path: str | os.PathLike, docs: DocScores) -> Path:
    """Write one eval set's per-document scores atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(
                f,
                bits=np.asarray(docs.bits, dtype=np.float64),
                bytes=np.asarray(docs.bytes, dtype=np.int64),
                fingerprint=np.array(docs.fingerprint),
                version=np.array(VERSION),
            )

    return write_atomic(path, write)


def read_eval_docs(path: str | os.PathLike) -> DocScores | None:
    """One eval set's per-document scores; None where the file is missing or not one of these."""
    try:
        with np.load(path, allow_pickle=False) as data:
            bits = np.asarray(data["bits"], dtype=np.float64)
            n_bytes = np.asarray(data["bytes"], dtype=np.int64)
            fingerprint = str(data["fingerprint"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if bits.ndim != 1 or bits.shape != n_bytes.shape or bits.size == 0:
        return None
    return DocScores(bits, n_bytes, fingerprint)


def write_run_eval_docs(
    run_dir: str | os.PathLike, docs: Mapping[str, DocScores], *, replace: bool = False
) -> list[Path]:
    """Write each set's file under ``RUN_DIR/eval_docs/``; ``replace``: remove the other files
    there first (a fresh score of the run's own sets)."""
    layout = RunLayout(run_dir)
    if replace and layout.eval_docs_dir.is_dir():
        for old in layout.eval_docs_dir.glob("*.npz"):
            if old.stem not in docs:
                old.unlink()
    return [write_eval_docs(layout.eval_docs_file(name), d) for name, d in docs.items() if _NAME.match(name)]


def _set_bpb(entry: Any) -> float | None:
    metrics = entry.get("metrics") if isinstance(entry, Mapping) else None
    value = metrics.get("bpb") if isinstance(metrics, Mapping) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def run_eval_docs(
    run_dir: str | os.PathLike, score: Mapping[str, Any] | None
) -> dict[str, dict[str, DocScores]]:
    """The per-document scores behind each bits-per-byte metric of a run's ``score.json``
    (``score``), under the metric names of ``curate.train.evalset.flat_metrics``: ``bpb`` (one
    own set), ``avg.bpb`` (all own sets, when there are several) and ``<set>.bpb``; each maps the
    set names it averages to their documents. A set whose file is missing, unreadable or
    disagrees with ``score.json``'s bits per byte is left out, and so is every metric that needs
    it: an older run (scored before curate kept these files) gives ``{}``."""
    if not score or not isinstance(score.get("sets"), Mapping):
        return {}
    layout = RunLayout(run_dir)
    sets = {k: v for k, v in score["sets"].items() if isinstance(v, Mapping)}
    found: dict[str, DocScores] = {}
    for name, entry in sets.items():
        bpb = _set_bpb(entry)
        docs = read_eval_docs(layout.eval_docs_file(name)) if _NAME.match(name) and bpb is not None else None
        if docs is not None and math.isclose(docs.bpb, bpb, rel_tol=BPB_RTOL, abs_tol=1e-12):  # type: ignore[arg-type]
            found[name] = docs
    own = [name for name, entry in sets.items() if not entry.get("added")]
    out: dict[str, dict[str, DocScores]] = {}
    if len(own) > 1:
        if all(name in found for name in own):
            out["avg.bpb"] = {name: found[name] for name in own}
    elif own and own[0] in found:
        out["bpb"] = {own[0]: found[own[0]]}
    for name, entry in sets.items():
        if (len(own) > 1 or entry.get("added")) and name in found:
            out[f"{name}.bpb"] = {name: found[name]}
    return out
