"""Dedupe indexes: what a dedupe step kept, as hashes, so that new data can be deduped against it
without reading the old corpus's text (``dedupe: {against: [PATH]}``), and grown run by run
(``curate index add``).

Layout of one index (``RUN_DIR/index/<step dir>/``, e.g. ``runs/web/index/02-dedupe/``)::

    index.json          the manifest (below); written last, so a directory without it is not an index
    ids.parquet         the id table: one row per slot, column ``id`` (zstd Parquet)
    exact.keys.npy      uint64, sorted, unique: exact hashes (kind ``exact``)
    exact.slots.npy     uint32, aligned: the slot (row of ids.parquet) each hash stands for
    minhash.keys.npy    uint64, sorted, unique: LSH band keys mixed with their band number
    minhash.slots.npy   uint32, aligned
    lines.keys.npy      uint64, sorted, unique: every line key the step saw (kind ``lines``)
    lines.counts.npy    uint32, aligned: its occurrences in the step's input (saturating)
    paragraphs.keys.npy, paragraphs.counts.npy   likewise for paragraphs

Every record the step saw contributes its keys: a kept record points to its own slot, a record the
step removed points to the record it duplicates (its ``dup_of``). So a new record that resembles a
removed one is still caught, as it would be by deduping old and new data together; and a key
shared by several records points to the smallest slot (slots follow the stable record order, the
kept records first), the record a ``keep: first`` run over old + new data would keep.

The manifest::

    {"kind": "curate-dedupe-index", "format": 1, "name": "web/02-dedupe", "records": N,
     "ids": "ids.parquet", "curate_version": "...", "runs": [{"run": ..., "step": ..., "records": n}],
     "kinds": {"exact": {"params": {...}, "keys": "exact.keys.npy", "slots": "exact.slots.npy",
                         "entries": n},
               "minhash": {...}}}

Line and paragraph keys (``value: count`` kinds) are units inside records, not records: the
index holds how often each occurred in everything the step saw, and a step deduping against it
adds those counts to its own and treats a unit found there as first seen in the old corpus
(``lines._reduce``). So B against A's index removes from B's records what A + B together, A
first, removes, for any ``min_repeats`` and ``remove``; the records they empty get B's own
``dup_lines:*`` reasons, as in the joint run. Their params: normalisation and ``min_chars``.

``params`` are everything the keys depend on (normalisation, text view, scope, the word hash of
the installed polars; for minhash also shingle kind, ngram, bands, rows, seed; ``num_perm`` is
recorded but not compared: only the ``bands x rows`` permutations it implies make keys). A step
whose parameters differ is refused before any work (``check_against``).

Adding a kind: one ``IndexKind`` in ``KINDS`` with its ``params`` (None when the step does not
make that kind), ``entries`` (the keys of one partial and the row, or the count, of each) and
``value`` (``slot`` or ``count``), and its two files + manifest entry follow; readers only look at the kinds they use, so an index
with more kinds than a step uses still works, and an older index without a new kind is refused
with a message naming the kind.

Without text, ``against`` cannot verify candidates (``minhash.verify`` applies to pairs inside
the new data only): a new record that shares one LSH band key with the index counts as a
duplicate, exactly as an unverified in-corpus pair would.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from curate.errors import StageError
from curate.io.rundir import PARTIALS
from curate.records import ID
from curate.stages.base import FitResult, StageContext
from curate.stages.dedupe.cluster import sorted_unique
from curate.stages.dedupe.config import DedupeConfig
from curate.stages.dedupe.graph import REASONS, DedupePartial, DedupeState, Layout, ShardDrops, clusters_state
from curate.stages.dedupe.minhash import lsh_params
from curate.stages.dedupe.shingles import U64, splitmix64, token_hash_fingerprint
from curate.version import __version__

INDEX_DIR = "index"
"""Where a run keeps its dedupe indexes: ``RUN_DIR/index/<step dir>/``."""
MANIFEST = "index.json"
KIND = "curate-dedupe-index"
FORMAT = 1
IDS = "ids.parquet"
REASON_PREFIX = "dup_in_index:"
NOT_COMPARED = frozenset({"num_perm"})
"""Recorded parameters that do not change any key (only bands x rows permutations are used)."""
_BAND_MUL = U64(0x9E3779B97F4A7C15)
_SLOT_BITS = 40
_NO_HIT = np.iinfo(np.int64).max


# ---------------------------------------------------------------------------------------------
# Kinds: what keys an index holds, and which parameters make them
# ---------------------------------------------------------------------------------------------


def _salt(part: DedupePartial, cfg: DedupeConfig) -> U64 | None:
    """The source salt of scope: source (the same mixing the fit uses), or None."""
    if cfg.scope == "global":
        return None
    return U64(xxhash.xxh3_64_intdigest(part.source.encode("utf-8")))


def _scoped(keys: np.ndarray, salt: U64 | None) -> np.ndarray:
    return keys if salt is None else splitmix64(keys ^ salt)


def _common(cfg: DedupeConfig) -> dict[str, Any]:
    return {
        "normalize": cfg.normalize.model_dump(mode="json"),
        "view": cfg.view.model_dump(mode="json"),
        "scope": cfg.scope,
        "hash_fingerprint": token_hash_fingerprint(),
    }


def _exact_params(cfg: DedupeConfig) -> dict[str, Any] | None:
    return _common(cfg) if cfg.exact else None


def _exact_entries(part: DedupePartial, cfg: DedupeConfig) -> tuple[np.ndarray, np.ndarray]:
    if part.exact is None:
        raise StageError("dedupe: a partial has no exact hashes but exact is on; rerun the stage")
    return _scoped(part.exact, _salt(part, cfg)), np.arange(part.rows, dtype=np.int64)


def _minhash_params(cfg: DedupeConfig) -> dict[str, Any] | None:
    mh = cfg.minhash
    if mh is None:
        return None
    bands, rows = lsh_params(mh)
    return {
        **_common(cfg),
        "shingle": mh.shingle,
        "ngram": mh.ngram,
        "num_perm": mh.num_perm,
        "bands": bands,
        "rows": rows,
        "seed": mh.seed,
    }


def _minhash_entries(part: DedupePartial, cfg: DedupeConfig) -> tuple[np.ndarray, np.ndarray]:
    """Band keys of the records that have shingles, each mixed with its band number (one sorted
    array serves every band; a key only ever meets the same band's keys)."""
    if part.bands is None:
        raise StageError("dedupe: a partial has no band keys but minhash is on; rerun the stage")
    signed = np.ones(part.rows, dtype=bool)
    if part.unsigned is not None:
        signed[part.unsigned] = False
    rows = np.flatnonzero(signed)
    keys = _scoped(part.bands[rows], _salt(part, cfg))
    band = np.arange(keys.shape[1], dtype=U64) * _BAND_MUL
    mixed = splitmix64(keys ^ band[None, :])
    return mixed.reshape(-1), np.repeat(rows, keys.shape[1])


def _unit_params(kind: str) -> Callable[[DedupeConfig], dict[str, Any] | None]:
    """Line or paragraph keys depend on the normalisation and ``min_chars`` (which units get a
    key) only: the text view and scope do not apply to them, and the counts make ``min_repeats``
    and ``remove`` free to differ between the index and the step that uses it."""

    def params(cfg: DedupeConfig) -> dict[str, Any] | None:
        unit = getattr(cfg, kind)
        if unit is None:
            return None
        return {"normalize": cfg.normalize.model_dump(mode="json"), kind: {"min_chars": unit.min_chars}}

    return params


def _unit_entries(kind: str) -> Callable[[Any, DedupeConfig], tuple[np.ndarray, np.ndarray]]:
    """The distinct unit keys of one partial and the count of each in its shard."""

    def entries(part: DedupePartial, cfg: DedupeConfig) -> tuple[np.ndarray, np.ndarray]:
        found = (part.units or {}).get(kind)
        if found is None:
            raise StageError(
                f"dedupe: the partial of shard {part.shard} has no {kind} counts; rerun the stage"
            )
        return found.keys, found.counts.astype(np.int64)

    return entries


@dataclass(frozen=True)
class IndexKind:
    """One kind of key an index may hold (see the module docstring, "Adding a kind").

    ``value`` says what is stored beside each key: ``slot`` (``entries`` gives the row of each
    key, the index the smallest slot of each: keys of whole records, matched by ``partial_hits``)
    or ``count`` (``entries`` gives a count per key, the index their sum: keys of units inside
    records, counted as occurrences by the step's units fit, ``lines.py``)."""

    name: str
    params: Callable[[DedupeConfig], dict[str, Any] | None]
    entries: Callable[[Any, DedupeConfig], tuple[np.ndarray, np.ndarray]]
    value: str = "slot"


KINDS: dict[str, IndexKind] = {
    "exact": IndexKind("exact", _exact_params, _exact_entries),
    "minhash": IndexKind("minhash", _minhash_params, _minhash_entries),
    "lines": IndexKind("lines", _unit_params("lines"), _unit_entries("lines"), "count"),
    "paragraphs": IndexKind("paragraphs", _unit_params("paragraphs"), _unit_entries("paragraphs"), "count"),
}
VALUE_FILES = {"slot": "slots", "count": "counts"}
"""The manifest entry (and file suffix) of each ``IndexKind.value``."""


def step_kinds(cfg: DedupeConfig, *, value: str | None = None) -> dict[str, dict[str, Any]]:
    """The kinds a step with ``cfg`` makes, with their parameters (only those storing ``value``)."""
    out = {}
    for name, kind in KINDS.items():
        params = kind.params(cfg)
        if params is not None and value in (None, kind.value):
            out[name] = params
    return out


def _value(kind: str) -> str:
    """What an index stores beside the keys of ``kind`` (``slot`` for a kind this curate lacks)."""
    return KINDS[kind].value if kind in KINDS else "slot"


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class IndexFileError(StageError):
    """An index that cannot be used: missing, corrupt, or made with other parameters."""


@dataclass(frozen=True)
class Index:
    """An index on disk, opened: its manifest, and its arrays loaded lazily (memory-mapped)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def records(self) -> int:
        return int(self.manifest["records"])

    def arrays(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """The sorted keys of ``kind`` and, aligned, their slots or counts (``IndexKind.value``)."""
        entry = self.manifest["kinds"][kind]
        return (
            np.load(self.path / entry["keys"], mmap_mode="r"),
            np.load(self.path / entry[VALUE_FILES[_value(kind)]], mmap_mode="r"),
        )

    def ids(self) -> pl.Series:
        return pl.read_parquet(self.path / self.manifest["ids"])[ID]

    def files(self) -> list[str]:
        """Every file of the index (for a step's cache key: a grown index reruns the step)."""
        names = [MANIFEST, self.manifest["ids"]]
        for entry in self.manifest["kinds"].values():
            names += [entry[k] for k in ("keys", *VALUE_FILES.values()) if k in entry]
        return [str(self.path / n) for n in names]

    @property
    def nbytes(self) -> int:
        return sum(os.path.getsize(f) for f in self.files())


def resolve(path: str | os.PathLike, *, option: str = "against") -> Path:
    """The index directory ``path`` names: an index itself, or a run directory with exactly one
    index under ``index/`` (a run with several: name one, e.g. ``RUN/index/02-dedupe``)."""
    p = Path(path)
    if not p.exists():
        raise IndexFileError(
            f"{option}: {str(p)!r} does not exist; give a run directory or its index directory "
            f"(RUN_DIR/{INDEX_DIR}/<step>) written by a run with a dedupe step"
        )
    if (p / MANIFEST).exists():
        return p
    found = sorted(d for d in (p / INDEX_DIR).glob("*") if (d / MANIFEST).is_file())
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = ", ".join(str(d) for d in found)
        raise IndexFileError(
            f"{option}: {str(p)!r} has {len(found)} dedupe indexes ({names}); name one of them"
        )
    raise IndexFileError(
        f"{option}: {str(p)!r} is not a dedupe index (no {MANIFEST}) nor a run directory with one under "
        f"{INDEX_DIR}/; was it written by a finished run with a dedupe step (curate 0.x or later)?"
    )


def open_index(path: str | os.PathLike, *, option: str = "against") -> Index:
    """Open and check the index at ``path`` (see ``resolve``): a clear error for a missing or
    corrupt manifest, another kind of file, a newer format, or a missing file."""
    directory = resolve(path, option=option)
    where = directory / MANIFEST
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexFileError(
            f"{option}: {str(where)!r} cannot be read ({type(exc).__name__}: {exc}); the index is corrupt: "
            "rerun the run that wrote it (or `curate index add` it again)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise IndexFileError(
            f"{option}: {str(where)!r} is not a curate dedupe index manifest (kind != {KIND!r})"
        )
    if manifest.get("format") != FORMAT:
        raise IndexFileError(
            f"{option}: {str(where)!r} has index format {manifest.get('format')!r}, this curate reads {FORMAT}; "
            "use the curate that wrote it or rebuild the index"
        )
    missing_keys = [k for k in ("name", "records", "ids", "kinds") if k not in manifest]
    if missing_keys:
        raise IndexFileError(
            f"{option}: {str(where)!r} lacks {', '.join(missing_keys)}; the index is corrupt"
        )
    index = Index(directory, manifest)
    absent = [f for f in index.files() if not os.path.isfile(f)]
    if absent:
        raise IndexFileError(
            f"{option}: index {str(directory)!r} lacks {', '.join(absent)}; the index is corrupt"
        )
    return index


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


_OPTION_OF = {
    "shingle": "minhash.shingle",
    "ngram": "minhash.ngram",
    "bands": "minhash.bands",
    "rows": "minhash.rows",
}
_OPTION_OF |= {"seed": "minhash.seed", "num_perm": "minhash.num_perm"}


def compatibility(index: Index, wanted: dict[str, dict[str, Any]]) -> str | None:
    """Why ``index`` cannot serve a step that makes ``wanted`` kinds (``step_kinds``), or None."""
    kinds = index.manifest["kinds"]
    for name, params in wanted.items():
        if name not in kinds:
            have = ", ".join(sorted(kinds)) or "none"
            return (
                f"it holds no {name} keys (it holds: {have}); turn {name} off in this step, or rebuild the "
                f"index with a dedupe step that has {name} on"
            )
        have = _flat(kinds[name].get("params") or {})
        for key, value in _flat(params).items():
            if key in NOT_COMPARED or have.get(key) == value:
                continue
            if key == "hash_fingerprint":
                return (
                    "its word hashes were made by another polars version (hash_fingerprint differs); rebuild "
                    "the index with this installation"
                )
            option = _OPTION_OF.get(key, key)
            return (
                f"it was written with {option} = {have.get(key)!r}, this step has {value!r}: keys made with "
                f"different parameters never match; set {option}: {have.get(key)!r} in this step (or rebuild "
                "the index with this step's options)"
            )
    return None


def check_against(cfg: DedupeConfig) -> None:
    """Preflight (``curate validate``): every ``against`` index exists, is sound and matches."""
    wanted = step_kinds(cfg)
    for path in cfg.against:
        index = open_index(path)
        why = compatibility(index, wanted)
        if why is not None:
            raise IndexFileError(f"against: index {str(index.path)!r} cannot be used: {why}")


def against_files(cfg: DedupeConfig) -> list[str]:
    """The files of every ``against`` index (they join the step's cache key)."""
    files: list[str] = []
    for path in cfg.against:
        try:
            files += open_index(path).files()
        except StageError:
            continue  # check_against names the problem
    return files


# ---------------------------------------------------------------------------------------------
# Matching new records against indexes (in fit)
# ---------------------------------------------------------------------------------------------


def _lookup(
    keys: np.ndarray, index_keys: np.ndarray, index_slots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which ``keys`` are in the sorted ``index_keys``, and the slot of each found one."""
    if len(index_keys) == 0 or len(keys) == 0:
        return np.zeros(len(keys), dtype=bool), np.zeros(0, dtype=np.int64)
    pos = np.searchsorted(index_keys, keys)
    pos = np.minimum(pos, len(index_keys) - 1)
    found = np.asarray(index_keys[pos]) == keys
    return found, np.asarray(index_slots[pos[found]]).astype(np.int64)


def unit_counts(keys: np.ndarray, paths: Sequence[str], kind: str) -> np.ndarray:
    """Occurrences of each of ``keys`` (unit keys of ``kind``: lines, paragraphs) in the corpora
    of the indexes at ``paths``, summed (uint64; 0 where no index has the key)."""
    total = np.zeros(len(keys), dtype=U64)
    for path in paths:
        index_keys, index_counts = open_index(path).arrays(kind)
        found, counts = _lookup(keys, index_keys, index_counts)
        total[found] += counts.astype(U64)
    return total


def partial_hits(
    part: DedupePartial, cfg: DedupeConfig, indexes: Sequence[Index]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one shard that share a key with any index, and for each the best hit as a rank
    ``index number << 40 | slot`` (the first index, then the smallest slot)."""
    best = np.full(part.rows, _NO_HIT, dtype=np.int64)
    wanted = step_kinds(cfg, value="slot")
    for k, index in enumerate(indexes):
        for name in wanted:
            keys, rows = KINDS[name].entries(part, cfg)
            found, slots = _lookup(keys, *index.arrays(name))
            np.minimum.at(best, rows[found], (np.int64(k) << np.int64(_SLOT_BITS)) | slots)
    hit = np.flatnonzero(best != _NO_HIT)
    return hit, best[hit]


@dataclass(frozen=True)
class HitTask:
    partial: str
    cfg: DedupeConfig
    indexes: tuple[str, ...]


def shard_hits(task: HitTask) -> tuple[int, np.ndarray, np.ndarray]:
    """``partial_hits`` of one partial file (a sub-task of the fit on the run's executor)."""
    from curate.io.state import load

    part: DedupePartial = load(task.partial)
    indexes = [open_index(p) for p in task.indexes]
    return (part.shard, *partial_hits(part, task.cfg, indexes))


def against_hits(
    partials: Sequence[DedupePartial], cfg: DedupeConfig, ctx: StageContext | None
) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
    """Per shard index, its rows that hit an ``against`` index and their best hit (None without
    ``against``). On the run's executor when the partials are files, else here."""
    if not cfg.against:
        return None
    paths = tuple(str(open_index(p).path) for p in cfg.against)
    if ctx is not None and ctx.map_tasks is not None and len(ctx.partial_files) == len(partials) and partials:
        tasks = [HitTask(str(f), cfg, paths) for f in ctx.partial_files]
        results = list(ctx.map_tasks(shard_hits, tasks))
    else:
        indexes = [open_index(p) for p in paths]
        results = [(p.shard, *partial_hits(p, cfg, indexes)) for p in partials]
    return {shard: (rows, rank) for shard, rows, rank in results}


def _relabel(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1].astype(np.int64).reshape(-1)


def finish(
    layout: Layout,
    nodes: np.ndarray,
    labels: np.ndarray,
    ids: pl.Series,
    exact: np.ndarray | None,
    priority: list[np.ndarray],
    stats: dict[str, Any],
    cfg: DedupeConfig,
    hits: dict[int, tuple[np.ndarray, np.ndarray]] | None,
) -> FitResult:
    """``graph.clusters_state``, with the ``against`` indexes taken into account: every cluster
    of the new data that holds a record sharing a key with an index (or such a record alone) is
    removed whole, reason ``dup_in_index:<name>``, ``dup_of`` the indexed id it joins (the first
    index, smallest slot among the keys it hits directly: the record a ``keep: first`` run over
    old + new data keeps, unless new records bridge several old clusters, where that run keeps the
    first of all of them). The other clusters are resolved as without ``against``."""
    if hits is None:
        return clusters_state(layout, nodes, labels, ids, exact, priority, stats)
    indexes = [open_index(p) for p in cfg.against]
    slot_of = {int(s): i for i, s in enumerate(layout.shards)}
    pos = [layout.starts[slot_of[s]] + rows for s, (rows, _) in hits.items() if len(rows)]
    rank = [r for rows, r in hits.values() if len(rows)]
    hit_pos = np.concatenate(pos) if pos else np.zeros(0, dtype=np.int64)
    hit_rank = np.concatenate(rank) if rank else np.zeros(0, dtype=np.int64)
    order = np.argsort(hit_pos, kind="stable")
    hit_pos, hit_rank = hit_pos[order], hit_rank[order]
    # every node of the new data's clusters plus every hit, with a component label
    all_nodes = sorted_unique(np.concatenate([nodes, hit_pos]))
    all_labels = np.full(len(all_nodes), -1, dtype=np.int64)
    all_labels[np.searchsorted(all_nodes, nodes)] = labels
    lone = all_labels < 0
    all_labels[lone] = (labels.max() + 1 if len(labels) else 0) + np.arange(int(lone.sum()))
    best = np.full(int(all_labels.max()) + 1 if len(all_labels) else 0, _NO_HIT, dtype=np.int64)
    np.minimum.at(best, all_labels[np.searchsorted(all_nodes, hit_pos)], hit_rank)
    touched = best[all_labels] != _NO_HIT
    # clusters untouched by any index: as without against
    keep = ~touched[np.searchsorted(all_nodes, nodes)] if len(nodes) else np.zeros(0, dtype=bool)
    result = clusters_state(
        layout,
        nodes[keep],
        _relabel(labels[keep]),
        ids.filter(pl.Series(keep)) if len(nodes) else ids,
        None if exact is None else exact[keep],
        [p[keep] for p in priority],
        stats,
    )
    state: DedupeState = result.state
    # touched clusters: every member removed, dup_of the indexed id
    t_nodes, t_labels = all_nodes[touched], all_labels[touched]
    t_rank = best[t_labels]
    first = np.full(len(best), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, t_labels, t_nodes)
    t_cluster = first[t_labels]
    which = (t_rank >> np.int64(_SLOT_BITS)).astype(np.int64)
    uniq_rank, rank_index = np.unique(t_rank, return_inverse=True)
    ext_ids = pl.Series(ID, [], pl.String)
    if len(uniq_rank):  # sorted ranks: grouped by index, slots ascending within each
        of_index = uniq_rank >> np.int64(_SLOT_BITS)
        slot = uniq_rank & np.int64((1 << _SLOT_BITS) - 1)
        ext_ids = pl.concat(
            [indexes[k].ids().gather(slot[of_index == k]) for k in sorted_unique(of_index).tolist()],
            rechunk=True,
        )
    names = [i.name for i in indexes]
    extra = tuple(REASON_PREFIX + n for n in names)
    survivor_ids = pl.concat([state.survivor_ids, ext_ids.alias(ID)], rechunk=True)
    offset = len(state.survivor_ids)
    reason = (len(REASONS) + which).astype(np.uint8)
    shard_of, row_of = layout.locate(t_nodes)
    drops = dict(state.drops)
    for shard in sorted_unique(shard_of).tolist():
        sel = shard_of == shard
        add = ShardDrops(row_of[sel], reason[sel], rank_index[sel].astype(np.int64) + offset, t_cluster[sel])
        old = drops.get(shard)
        if old is not None:
            add = ShardDrops(
                *(np.concatenate([a, b]) for a, b in zip(_fields(old), _fields(add), strict=True))
            )
            order = np.argsort(add.rows, kind="stable")
            add = ShardDrops(*(a[order] for a in _fields(add)))
        drops[shard] = add
    stats = result.stats
    removed = dict(stats.get("removed") or {})
    against: dict[str, Any] = {}
    for k, name in enumerate(names):
        count = int((which == k).sum())
        removed[REASON_PREFIX + name] = removed.get(REASON_PREFIX + name, 0) + count
        direct = int(((hit_rank >> np.int64(_SLOT_BITS)) == k).sum())
        against[name] = {
            "path": str(indexes[k].path),
            "records": indexes[k].records,
            "removed": count,
            "hits": direct,
        }
    stats |= {"removed": removed, "against": against}
    new_state = DedupeState(state.rows, drops, survivor_ids, reasons=extra)
    stats["state_bytes"] = new_state.nbytes
    return FitResult(new_state, stats)


def _fields(d: ShardDrops) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return d.rows, d.reason, d.survivor, d.cluster


# ---------------------------------------------------------------------------------------------
# Writing and growing
# ---------------------------------------------------------------------------------------------


def _sorted_entries(keys: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys, sorted, each with its smallest slot."""
    order = np.lexsort((slots, keys))
    keys, slots = keys[order], slots[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], slots[first]


def _summed_entries(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys, sorted, each with the sum of its counts (saturating at uint32's maximum)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=U64), np.zeros(0, dtype=np.uint32)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    total = np.add.reduceat(np.asarray(counts)[order].astype(U64), starts)
    return keys[starts], np.minimum(total, U64(np.iinfo(np.uint32).max)).astype(np.uint32)


def _entries(kind: str, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (_summed_entries if _value(kind) == "count" else _sorted_entries)(keys, values)


def _slot_dtype(n: int) -> type:
    return np.uint32 if n < (1 << 32) else np.uint64


def _write_dir(directory: Path, fill: Callable[[Path], None]) -> None:
    """Write a directory atomically: ``fill`` a temporary sibling, then swap it into place (a
    reader sees the old index or the new one, never half of one)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    for stale in directory.parent.glob(f".{directory.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fill(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as h:
                os.fsync(h.fileno())
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _save(
    directory: Path,
    *,
    name: str,
    ids: pl.Series,
    kinds: dict[str, tuple[dict[str, Any], np.ndarray, np.ndarray]],
    records: int,
    runs: list[dict[str, Any]],
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "kind": KIND,
        "format": FORMAT,
        "name": name,
        "records": records,
        "ids": IDS,
        "curate_version": __version__,
        "runs": runs,
        "kinds": {},
    }

    def fill(tmp: Path) -> None:
        pl.DataFrame({ID: ids.cast(pl.String)}).write_parquet(tmp / IDS, compression="zstd", statistics=False)
        dtype = _slot_dtype(len(ids))
        for kind, (params, keys, values) in kinds.items():
            name = VALUE_FILES[_value(kind)]
            np.save(tmp / f"{kind}.keys.npy", np.ascontiguousarray(keys, dtype=U64))
            np.save(
                tmp / f"{kind}.{name}.npy",
                np.ascontiguousarray(values, dtype=np.uint32 if name == "counts" else dtype),
            )
            manifest["kinds"][kind] = {
                "params": params,
                "keys": f"{kind}.keys.npy",
                name: f"{kind}.{name}.npy",
                "entries": len(keys),
            }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    _write_dir(directory, fill)
    return manifest


def _load_partials(stage_dir: Path) -> list[DedupePartial]:
    from curate.io.state import load

    parts = [load(f) for f in sorted((stage_dir / PARTIALS).glob("*.npz"))]
    return sorted(parts, key=lambda p: p.shard)


def build_index(
    parts: Iterable[DedupePartial],
    state: DedupeState,
    cfg: DedupeConfig,
    directory: Path,
    *,
    name: str,
    run: str,
) -> dict[str, Any]:
    """Write the index of a dedupe step from its partials (every record it saw, shard order) and
    its state (what it removed, and whose duplicate): see the module docstring. Returns stats."""
    parts = list(parts)
    wanted = step_kinds(cfg)
    rep_parts, kept_parts = [], []
    for part in parts:
        ids = part.ids.cast(pl.String).alias(ID)
        drops = state.drops.get(part.shard)
        if drops is None or len(drops.rows) == 0:
            rep_parts.append(ids)
            kept_parts.append(ids)
            continue
        rep = ids.scatter(drops.rows, state.survivor_ids.gather(drops.survivor).cast(pl.String))
        mask = np.ones(part.rows, dtype=bool)
        mask[drops.rows] = False
        rep_parts.append(rep)
        kept_parts.append(ids.filter(pl.Series(mask)))
    empty = pl.Series(ID, [], pl.String)
    rep = pl.concat(rep_parts, rechunk=True) if rep_parts else empty
    kept = pl.concat(kept_parts, rechunk=True) if kept_parts else empty
    external = rep.filter(~rep.is_in(kept.implode())).unique(maintain_order=True)
    table = pl.concat([kept, external], rechunk=True)
    slot_of_row = (
        rep.replace_strict(table, pl.Series(np.arange(len(table), dtype=np.int64)), return_dtype=pl.Int64)
        .to_numpy()
        .astype(np.int64)
        if len(rep)
        else np.zeros(0, dtype=np.int64)
    )
    starts = np.concatenate([[0], np.cumsum([p.rows for p in parts])]).astype(np.int64)
    kinds = {}
    for kind, params in wanted.items():
        keys, values = [], []
        for part, start in zip(parts, starts[:-1].tolist(), strict=False):
            k, v = KINDS[kind].entries(part, cfg)
            keys.append(k)
            values.append(v if KINDS[kind].value == "count" else slot_of_row[start + v])
        all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=U64)
        all_values = np.concatenate(values) if values else np.zeros(0, dtype=np.int64)
        kinds[kind] = (params, *_entries(kind, all_keys, all_values))
    manifest = _save(
        directory,
        name=name,
        ids=table,
        kinds=kinds,
        records=len(kept),
        runs=[{"run": run, "name": name, "records": len(kept), "seen": len(rep)}],
    )
    index = Index(directory, manifest)
    return {
        "path": str(directory),
        "records": len(kept),
        "seen": len(rep),
        "entries": {k: v["entries"] for k, v in manifest["kinds"].items()},
        "bytes": index.nbytes,
        "bytes_per_record": round(index.nbytes / max(len(kept), 1), 2),
    }


def finalize(
    paths: Sequence[Path], cfg: DedupeConfig, state: DedupeState, ctx: StageContext
) -> dict[str, Any]:
    """The dedupe stage's finalize: write ``RUN_DIR/index/<step dir>/`` (an artifact of the step,
    so a cached step brings its index along)."""
    stage_dir = Path(ctx.stage_dir)
    step = stage_dir.name
    run = Path(ctx.run_dir)
    directory = run / INDEX_DIR / step
    stats = build_index(
        _load_partials(stage_dir), state, cfg, directory, name=f"{run.name}/{step}", run=run.name
    )
    return {"index": stats, "artifacts": [f"{INDEX_DIR}/{step}"]}


def extend_index(target: str | os.PathLike, addition: str | os.PathLike) -> dict[str, Any]:
    """Grow the index at ``target`` with the index of ``addition`` (a run directory or an index),
    atomically: the target's records come first (its slots win ties, as the older corpus does in
    a ``keep: first`` run). A ``target`` that does not exist yet becomes a copy of ``addition``.
    Both must have the same kinds and parameters. Returns the new manifest."""
    new = open_index(addition, option="index add")
    target = Path(target)
    if not target.exists():
        base = None
    else:
        base = open_index(target, option="index add")
        wanted = {k: v["params"] for k, v in new.manifest["kinds"].items()}
        why = compatibility(base, wanted)
        if why is None and set(base.manifest["kinds"]) != set(wanted):
            why = f"it holds kinds {sorted(base.manifest['kinds'])}, the addition {sorted(wanted)}"
        if why is not None:
            raise IndexFileError(f"index add: {str(new.path)!r} cannot join index {str(target)!r}: {why}")
    name = new.name if base is None else base.name
    old_ids = base.ids() if base is not None else pl.Series(ID, [], pl.String)
    ids = pl.concat([old_ids, new.ids()], rechunk=True)
    kinds = {}
    for kind, entry in new.manifest["kinds"].items():
        keys, values = (np.asarray(a) for a in new.arrays(kind))
        shift = len(old_ids) if _value(kind) == "slot" else 0  # counts add up, slots follow the old ids
        values = values.astype(np.int64) + shift
        if base is not None:
            old_keys, old_values = (np.asarray(a) for a in base.arrays(kind))
            keys = np.concatenate([old_keys, keys])
            values = np.concatenate([old_values.astype(np.int64), values])
        kinds[kind] = (entry["params"], *_entries(kind, keys, values))
    runs = (base.manifest.get("runs", []) if base is not None else []) + new.manifest.get("runs", [])
    records = (base.records if base is not None else 0) + new.records
    return _save(target, name=name, ids=ids, kinds=kinds, records=records, runs=runs)
