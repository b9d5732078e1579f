"""Dedupe's graph state, shared by the single-process fit (``stage.py``) and the partitioned fit
(``partitioned.py``): the per-shard partials, where each shard's rows sit in the stable order,
the clusters -> survivors -> per-shard drop lists step both fits end with, and the stats both
report. Neither fit imports the other's internals; both import this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.records import ID
from curate.stages.base import FitResult
from curate.stages.dedupe.cluster import representatives, sorted_unique, unique_groups
from curate.stages.dedupe.config import DedupeConfig, MinHashConfig
from curate.stages.dedupe.minhash import lsh_params, s_curve
from curate.stages.dedupe.shingles import splitmix64
from curate.stages.dedupe.substrings import SubstringState

REASON_EXACT = "exact_dup"
REASON_NEAR = "minhash_dup"
REASONS = np.array([REASON_EXACT, REASON_NEAR], dtype=object)


def _nbytes(*arrays: np.ndarray | None) -> int:
    return sum(a.nbytes for a in arrays if a is not None)


@dataclass(frozen=True)
class DedupePartial:
    """What ``summarize`` keeps of one shard, per record: id, hashes and keys, never text."""

    shard: int
    source: str
    rows: int
    ids: pl.Series
    exact: np.ndarray | None = None
    """uint64 hash of the normalised text view (when ``exact`` is on)."""
    bands: np.ndarray | None = None
    """(rows, bands) uint64 LSH band keys (when ``minhash`` is on)."""
    unsigned: np.ndarray | None = None
    """Rows without any shingle (empty text view): they have no band keys."""
    length: np.ndarray | None = None
    """uint32 length of the text view in characters (keep: longest)."""
    score: np.ndarray | None = None
    """float64 score, NaN where missing (keep: score)."""
    hash_fingerprint: int = 0
    """Which word hash made the band keys (see ``shingles.token_hash_fingerprint``)."""
    units: dict[str, Any] | None = None
    """``lines``/``paragraphs`` -> ``lines.UnitCounts`` (when those options are on)."""

    @property
    def nbytes(self) -> int:
        """Bytes held by this partial (arrays plus the id strings and their offsets)."""
        return int(self.ids.estimated_size()) + _nbytes(
            self.exact, self.bands, self.unsigned, self.length, self.score
        )


@dataclass(frozen=True)
class ShardDrops:
    """The rows ``apply`` drops from one shard, with their evidence."""

    rows: np.ndarray  # int64, ascending
    reason: np.ndarray  # uint8 index into REASONS
    survivor: np.ndarray  # int64 index into DedupeState.survivor_ids
    cluster: np.ndarray  # int64 cluster id


@dataclass(frozen=True)
class Graph:
    """Every record that takes part in a candidate pair (``nodes``: stable positions, ascending),
    with what the keep rule and the reasons need, and the pairs found so far."""

    nodes: np.ndarray
    ids: pl.Series
    exact: np.ndarray | None
    priority: list[np.ndarray]
    exact_pairs: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Layout:
    """Where each shard's rows sit in the stable order."""

    shards: np.ndarray  # shard indices, ascending
    starts: np.ndarray  # stable position of each shard's first row, plus the total at the end

    @property
    def total(self) -> int:
        return int(self.starts[-1])

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shard index, row) of stable positions."""
        slot = np.searchsorted(self.starts, positions, side="right") - 1
        return self.shards[slot], positions - self.starts[slot]


@dataclass(frozen=True)
class Pending:
    """``fit``'s work in progress while verification waits for the rescan pass."""

    layout: Layout
    graph: Graph
    near_pairs: tuple[np.ndarray, np.ndarray]
    candidates: dict[int, np.ndarray]  # shard index -> rows to shingle
    stats: dict[str, Any]
    hits: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # against: rows hitting an index (index.py)


@dataclass(frozen=True)
class DedupeState:
    """What ``apply`` needs: per shard, the rows to drop and why, and the ids of the survivors."""

    rows: dict[int, int]
    drops: dict[int, ShardDrops]
    survivor_ids: pl.Series
    pending: Pending | None = field(default=None, repr=False)
    units: dict[str, Any] | None = None
    """``lines``/``paragraphs`` -> ``lines.RepeatedUnits``: the hashes of the units seen at least
    ``min_repeats`` times (sorted uint64), which ``apply`` removes; see ``lines.py``."""
    reasons: tuple[str, ...] = ()
    """Reasons after ``REASONS`` (``ShardDrops.reason`` 2, 3...): ``dup_in_index:<name>`` (index.py)."""
    substrings: SubstringState | None = field(default=None, repr=False)
    """Spans cut from the kept records (substrings.py); pending until its rescan has run."""

    @property
    def nbytes(self) -> int:
        arrays = [a for d in self.drops.values() for a in (d.rows, d.reason, d.survivor, d.cluster)]
        return int(self.survivor_ids.estimated_size()) + _nbytes(*arrays) + 16 * len(self.rows)


def scoped(keys: np.ndarray, salt: np.ndarray | None) -> np.ndarray:
    """``keys`` mixed with each record's source ``salt`` (scope: source), or as they are."""
    return keys if salt is None else splitmix64(keys ^ salt)


def keep_priority(
    cfg: DedupeConfig, *, length: np.ndarray | None = None, score: np.ndarray | None = None
) -> list[np.ndarray]:
    """Sort keys of the keep rule for some records (smaller survives), from their ``length``
    (keep: longest) or ``score`` (keep: score); position breaks the remaining ties."""
    if cfg.keep == "longest":
        assert length is not None
        return [-length.astype(np.int64)]
    if cfg.keep == "score":
        assert score is not None
        missing = np.isnan(score)
        value = np.where(missing, 0.0, -score if cfg.score_order == "highest" else score)
        return [missing.astype(np.int8), value]
    return []


def _size_histogram(sizes: np.ndarray) -> dict[str, int]:
    buckets = {"2": (2, 2), "3": (3, 3), "4": (4, 4), "5-9": (5, 9), "10-99": (10, 99), "100+": (100, None)}
    out = {}
    for name, (lo, hi) in buckets.items():
        mask = sizes >= lo if hi is None else (sizes >= lo) & (sizes <= hi)
        out[name] = int(mask.sum())
    return out


def clusters_state(
    layout: Layout,
    nodes: np.ndarray,
    labels: np.ndarray,
    ids: pl.Series,
    exact: np.ndarray | None,
    priority: list[np.ndarray],
    stats: dict[str, Any],
) -> FitResult:
    """The state from the clusters: ``nodes`` are the stable positions (ascending) of every record
    in a cluster of two or more, ``labels`` their cluster (numbers 0..k-1, in any order), ``ids``/``exact``/
    ``priority`` those records' ids, exact hashes and keep-rule keys. The result depends on the
    partition into clusters only, so any way of finding the components gives the same state."""
    rows = {int(s): int(n) for s, n in zip(layout.shards, np.diff(layout.starts), strict=True)}
    removed = {REASON_EXACT: 0, REASON_NEAR: 0}
    if len(nodes) == 0:
        stats |= {
            "clusters": 0,
            "cluster_sizes": _size_histogram(np.zeros(0)),
            "largest_cluster": 0,
            "removed": removed,
        }
        return FitResult(DedupeState(rows, {}, pl.Series(ID, [], pl.String)), stats)
    survivor = representatives(labels, priority)
    first_of_label, _ = unique_groups(labels)
    cluster = nodes[first_of_label][labels]
    dropped = np.flatnonzero(survivor != np.arange(len(nodes)))
    same_text = np.zeros(len(dropped), dtype=bool)
    if exact is not None:
        same_text = exact[dropped] == exact[survivor[dropped]]
    reason = np.where(same_text, 0, 1).astype(np.uint8)
    first_of_kept, survivor_index = unique_groups(survivor[dropped])
    kept_slots = survivor[dropped][first_of_kept]
    shard_of, row_of = layout.locate(nodes[dropped])
    drops = {}
    for shard in sorted_unique(shard_of).tolist():
        sel = shard_of == shard
        drops[shard] = ShardDrops(
            row_of[sel], reason[sel], survivor_index[sel].astype(np.int64), cluster[dropped][sel]
        )
    sizes = np.bincount(labels)
    sizes = sizes[sizes >= 2]
    removed = {REASON_EXACT: int((reason == 0).sum()), REASON_NEAR: int((reason == 1).sum())}
    state = DedupeState(rows, drops, ids.gather(kept_slots))
    stats |= {
        "clusters": len(sizes),
        "cluster_sizes": _size_histogram(sizes),
        "largest_cluster": int(sizes.max()) if len(sizes) else 0,
        "removed": removed,
        "state_bytes": state.nbytes,
        "state_bytes_per_record": round(state.nbytes / max(layout.total, 1), 2),
    }
    return FitResult(state, stats)


def minhash_stats(mh: MinHashConfig) -> dict[str, Any]:
    bands, rows = lsh_params(mh)
    return {
        "shingle": mh.shingle,
        "ngram": mh.ngram,
        "num_perm": mh.num_perm,
        "bands": bands,
        "rows": rows,
        "permutations_used": bands * rows,
        "threshold": mh.threshold,
        "verify": mh.verify,
        "s_curve": s_curve(bands, rows),
    }
