"""Dedupe's fit as sub-tasks on the run's executor: a shuffle by key, components per partition, a
tree of merges; only the records that end up in a cluster come back to the driver.

The single-process fit (``stage.fit``) loads every shard's keys into one process: ~130 bytes per
record, fine for tens of millions of records on one machine, not for a cluster's worth. This
module computes the same thing in pieces that each hold about 1/P of the keys, mapped over the
executor that runs the pipe (``StageContext.map_tasks``: the local process pool, or Ray tasks on
every node of the cluster). Tasks exchange data through files under the stage directory
(``_fit/``), so the run directory must be on storage every worker sees (it must be anyway).

1. ``scatter`` (a task per shard): read the shard's partial; route every exact-hash entry and
   every (band, band key) entry of a record to partition ``hash(key) mod P``. One file per shard,
   entries (an 8-byte key and a 4-byte row each) grouped by (partition, band), so that a
   partition reads one contiguous slice of it.
2. ``pair_partition`` (a task per partition): read its slice of every scatter file in shard
   order; per band, group equal keys by sorting and link each member to the group's first record
   (the single-process fit's ``star_edges``); reduce its links to a forest (every linked record
   -> the smallest record of its component, ``component_roots``); route its near links to
   partition ``hash(pair) mod P`` for counting.
3. ``merge_forests`` (a tree of tasks, ``FAN_IN`` forests each): components of the union of
   forests, again as a forest. Candidate links never meet on one node; each level holds at most
   one entry per clustered record.
4. ``lookup`` (a task per shard that has clustered records): their ids, exact hashes and
   keep-rule keys.
5. ``count_pairs`` (a task per partition): the distinct near pairs whose records' exact hashes
   differ (the ``candidate_pairs`` stat), with the exact hashes of the clustered records from 4.
   The single-process fit drops the other near pairs before clustering; keeping them changes no
   component, since records with equal exact hashes are linked by their exact group anyway.
6. The driver: survivors, reasons and per-shard drop lists, by ``graph.clusters_state``, the
   function the single-process fit ends with.

Records are named by a code ``shard index << 32 | row``, which sorts like the stable position,
so every "first" and "smallest" above picks the record the single-process fit picks. Connected
components do not depend on how links are split into partitions, and ``clusters_state`` depends
on the components only: the state is identical to the single-process fit's for any P (tested).

Not partitioned: ``minhash.verify`` (the exact-Jaccard check needs candidate pairs next to their
shingle sets); with it on, the fit runs in one process as before.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from curate.errors import StageError
from curate.io.writers import write_atomic
from curate.stages.base import FitResult, StageContext
from curate.stages.dedupe.cluster import component_roots, sorted_unique, star_edge_index, unique_groups
from curate.stages.dedupe.config import DedupeConfig, KeepRule
from curate.stages.dedupe.graph import (
    DedupePartial,
    Layout,
    keep_priority,
    minhash_stats,
    scoped,
)
from curate.stages.dedupe.index import finish as index_finish
from curate.stages.dedupe.minhash import lsh_params
from curate.stages.dedupe.shingles import U64, splitmix64

WORK_DIR = "_fit"
PARTITION_BYTES = 128 << 20
"""Partial bytes per partition above which the fit is split even on one worker (bounds memory)."""
SMALL_BYTES = 16 << 20
"""Partial bytes (~130k records) below which the fit stays in one process even with several
workers: there it takes a fraction of a second, less than the sub-tasks' round trips."""
FAN_IN = 8
"""Forests merged by one task of the merge tree."""
ROW_BITS = 32
_ROW_MASK = (1 << ROW_BITS) - 1
_PAIR_MUL = U64(0x9E3779B97F4A7C15)


def fit_partitions(ctx: StageContext | None, cfg: DedupeConfig, shards: int) -> int:
    """How many partitions the fit uses: 1 (the single-process fit) without an executor to map
    sub-tasks on, with verification, for a small input (``SMALL_BYTES``) or one worker and less
    than ``PARTITION_BYTES``; else at least the executor's workers, and one partition per
    ``PARTITION_BYTES`` of partials."""
    if ctx is None or ctx.map_tasks is None or shards == 0 or len(ctx.partial_files) != shards:
        return 1
    if cfg.minhash is not None and cfg.minhash.verify:
        return 1
    size = sum(os.path.getsize(f) for f in ctx.partial_files)
    by_size = math.ceil(size / PARTITION_BYTES)
    if by_size <= 1 and (ctx.workers <= 1 or size < SMALL_BYTES):
        return 1
    return max(ctx.workers, by_size, 2)


# ---------------------------------------------------------------------------------------------
# Cell files: arrays grouped into numbered cells, one contiguous slice per cell
# ---------------------------------------------------------------------------------------------


def write_cells(path: Path, columns: Sequence[np.ndarray], cell: np.ndarray, cells: int) -> int:
    """Write ``columns`` (equal lengths) grouped by ``cell`` (stable, so order within a cell is
    kept): an offsets array, then each column, as consecutive ``.npy`` records. Returns bytes."""
    order = np.argsort(cell, kind="stable")
    offsets = np.zeros(cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=cells), out=offsets[1:])

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, offsets)
            for column in columns:
                np.save(f, np.ascontiguousarray(column[order]))

    write_atomic(path, write)
    return os.path.getsize(path)


def read_cells(path: str, first: int, last: int, columns: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cells ``first``..``last - 1`` of a cell file: their offsets (from 0) and each column's slice."""
    with open(path, "rb") as f:
        offsets = np.load(f)
        lo, hi = int(offsets[first]), int(offsets[last])
        out = []
        for _ in range(columns):
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            base = f.tell()
            f.seek(base + lo * dtype.itemsize)
            out.append(np.frombuffer(f.read((hi - lo) * dtype.itemsize), dtype=dtype))
            f.seek(base + shape[0] * dtype.itemsize)
    return offsets[first : last + 1] - lo, out


def _partition(keys: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of uniformly mixed 64-bit keys (multiply-shift on the top 32 bits)."""
    return (((keys >> U64(32)) * U64(partitions)) >> U64(32)).astype(np.int64)


def _pair_keys(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return splitmix64((left.astype(U64) * _PAIR_MUL) ^ right.astype(U64))


def distinct_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (left, right) pairs, sorted."""
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    first = np.ones(len(left), dtype=bool)
    first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return left[first], right[first]


def _load(path: str) -> Any:
    from curate.io.state import load

    return load(path)


# ---------------------------------------------------------------------------------------------
# Sub-tasks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitPlan:
    """What every sub-task of one fit needs to know."""

    work: str
    partitions: int
    bands: int  # LSH bands (0 when minhash is off)
    exact: bool
    source_scope: bool

    @property
    def cells_per_partition(self) -> int:
        """One cell per band, plus one for the exact hashes."""
        return self.bands + int(self.exact)


@dataclass(frozen=True)
class ScatterTask:
    plan: FitPlan
    partial: str
    output: str


def scatter(task: ScatterTask) -> dict[str, Any]:
    """Route one shard's keys to their partitions (see the module docstring, step 1)."""
    plan = task.plan
    part: DedupePartial = _load(task.partial)
    if part.rows > _ROW_MASK:
        raise StageError(f"dedupe: shard {part.shard} has {part.rows} records, at most {_ROW_MASK}")
    salt = U64(xxhash.xxh3_64_intdigest(part.source.encode("utf-8"))) if plan.source_scope else None
    keys, rows_of, cells = [], [], []
    per = plan.cells_per_partition
    rows = np.arange(part.rows, dtype=np.uint32)
    if plan.bands:
        if part.bands is None:
            raise StageError("dedupe: a partial has no band keys but minhash is on; rerun the stage")
        signed = np.ones(part.rows, dtype=bool)
        if part.unsigned is not None:
            signed[part.unsigned] = False
        for band in range(plan.bands):
            key = scoped(part.bands[signed, band], salt)
            keys.append(key)
            rows_of.append(rows[signed])
            cells.append(_partition(key, plan.partitions) * per + band)
    if plan.exact:
        if part.exact is None:
            raise StageError("dedupe: a partial has no exact hashes but exact is on; rerun the stage")
        key = scoped(part.exact, salt)
        keys.append(key)
        rows_of.append(rows)
        cells.append(_partition(key, plan.partitions) * per + plan.bands)
    columns = [np.concatenate(keys), np.concatenate(rows_of)]
    size = write_cells(Path(task.output), columns, np.concatenate(cells), plan.partitions * per)
    return {
        "shard": part.shard,
        "source": part.source,
        "rows": part.rows,
        "unsigned": 0 if part.unsigned is None else len(part.unsigned),
        "nbytes": part.nbytes,
        "fingerprint": part.hash_fingerprint,
        "partial": task.partial,
        "file": task.output,
        "bytes": size,
    }


@dataclass(frozen=True)
class PairTask:
    plan: FitPlan
    partition: int
    scatter_files: tuple[str, ...]  # in shard order
    shards: tuple[int, ...]  # the shard index of each file


def _read_partition(task: PairTask) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per cell of this partition: keys and record codes, concatenated over shards in shard
    order (so codes are ascending within a cell)."""
    per = task.plan.cells_per_partition
    keys: list[list[np.ndarray]] = [[] for _ in range(per)]
    codes: list[list[np.ndarray]] = [[] for _ in range(per)]
    for path, shard in zip(task.scatter_files, task.shards, strict=True):
        offsets, (key, row) = read_cells(path, task.partition * per, (task.partition + 1) * per, 2)
        code = (np.int64(shard) << np.int64(ROW_BITS)) | row.astype(np.int64)
        for c in range(per):
            keys[c].append(key[offsets[c] : offsets[c + 1]])
            codes[c].append(code[offsets[c] : offsets[c + 1]])
    return [
        (np.concatenate(k) if k else np.zeros(0, U64), np.concatenate(n) if n else np.zeros(0, np.int64))
        for k, n in zip(keys, codes, strict=True)
    ]


def pair_partition(task: PairTask) -> dict[str, Any]:
    """Links of one partition, reduced to a forest; its near links routed for counting (step 2)."""
    plan = task.plan
    cells = _read_partition(task)
    near_left, near_right, exact_left, exact_right = [], [], [], []
    for band, (keys, codes) in enumerate(cells):
        first, member = star_edge_index(keys)
        if plan.exact and band == plan.bands:
            exact_left.append(codes[first])
            exact_right.append(codes[member])
            continue
        near_left.append(codes[first])
        near_right.append(codes[member])
    empty = np.zeros(0, dtype=np.int64)
    near = (
        np.concatenate(near_left) if near_left else empty,
        np.concatenate(near_right) if near_right else empty,
    )
    exact = (
        np.concatenate(exact_left) if exact_left else empty,
        np.concatenate(exact_right) if exact_right else empty,
    )
    work = Path(plan.work)
    nodes, roots = component_roots(np.concatenate([exact[0], near[0]]), np.concatenate([exact[1], near[1]]))
    child = nodes != roots
    forest = str(work / "forest" / f"{task.partition:05d}.npy")
    forest_bytes = write_cells(
        Path(forest), [nodes[child], roots[child]], np.zeros(int(child.sum()), np.int64), 1
    )
    edges = str(work / "edges" / f"{task.partition:05d}.npy")
    near = distinct_pairs(*near)  # the same pair from several bands of this partition: once
    cell = _partition(_pair_keys(*near), plan.partitions)
    edge_bytes = write_cells(Path(edges), list(near), cell, plan.partitions)
    return {
        "partition": task.partition,
        "entries": int(sum(len(keys) for keys, _ in cells)),
        "exact_pairs": len(exact[0]),
        "near_links": len(near[0]),
        "forest": forest,
        "forest_bytes": forest_bytes,
        "edges": edges,
        "edge_bytes": edge_bytes,
    }


@dataclass(frozen=True)
class CountTask:
    partition: int
    edge_files: tuple[str, ...]
    exact_table: str | None  # clustered records' codes and exact hashes (None: exact is off)


def count_pairs(task: CountTask) -> dict[str, Any]:
    """Distinct near pairs routed to this partition whose exact hashes differ (step 5)."""
    lefts, rights = [], []
    for path in task.edge_files:
        _, (left, right) = read_cells(path, task.partition, task.partition + 1, 2)
        lefts.append(left)
        rights.append(right)
    left, right = distinct_pairs(np.concatenate(lefts), np.concatenate(rights))
    if len(left) == 0:
        return {"partition": task.partition, "pairs": 0}
    if task.exact_table is not None:
        _, (codes, exact) = read_cells(task.exact_table, 0, 1, 2)
        differ = exact[np.searchsorted(codes, left)] != exact[np.searchsorted(codes, right)]
        left = left[differ]
    return {"partition": task.partition, "pairs": len(left)}


def read_forest(path: str) -> tuple[np.ndarray, np.ndarray]:
    _, (child, root) = read_cells(path, 0, 1, 2)
    return child, root


@dataclass(frozen=True)
class MergeTask:
    inputs: tuple[str, ...]
    output: str


def merge_forests(task: MergeTask) -> dict[str, Any]:
    """Components of the union of some forests, as one forest (step 4)."""
    parts = [read_forest(p) for p in task.inputs]
    nodes, roots = component_roots(
        np.concatenate([c for c, _ in parts]), np.concatenate([r for _, r in parts])
    )
    child = nodes != roots
    size = write_cells(
        Path(task.output), [nodes[child], roots[child]], np.zeros(int(child.sum()), np.int64), 1
    )
    return {"output": task.output, "bytes": size, "links": int(child.sum())}


@dataclass(frozen=True)
class LookupTask:
    partial: str
    rows: np.ndarray
    exact: bool
    keep: KeepRule


def lookup(task: LookupTask) -> dict[str, Any]:
    """Ids, exact hashes and keep-rule keys of some rows of one shard (step 5)."""
    part = _load(task.partial)
    rows = task.rows
    return {
        "shard": part.shard,
        "ids": part.ids.gather(rows),
        "exact": part.exact[rows] if task.exact else None,
        "length": part.length[rows] if task.keep == "longest" else None,
        "score": part.score[rows] if task.keep == "score" else None,
    }


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


def _check_shards(infos: list[dict[str, Any]]) -> None:
    seen = [i["shard"] for i in infos]
    if len(set(seen)) != len(seen):
        raise StageError(f"dedupe: shard indices repeat among the partials: {seen}")
    if len({i["fingerprint"] for i in infos}) > 1:
        raise StageError(
            "dedupe: the shards were summarized with different polars versions (their word hashes differ); "
            "rerun the stage with one installation (e.g. --force)"
        )


def _merge_tree(ctx: StageContext, forests: list[str], work: Path) -> tuple[str, int, int]:
    """Merge forests FAN_IN at a time until one is left; (its path, levels, bytes written)."""
    assert ctx.map_tasks is not None
    level, written = 0, 0
    while len(forests) > 1:
        level += 1
        tasks = [
            MergeTask(tuple(forests[i : i + FAN_IN]), str(work / f"merge-{level}" / f"{i // FAN_IN:05d}.npy"))
            for i in range(0, len(forests), FAN_IN)
        ]
        results = list(ctx.map_tasks(merge_forests, tasks))
        written += sum(r["bytes"] for r in results)
        forests = sorted(r["output"] for r in results)
    return forests[0], level, written


def _lookup_all(
    ctx: StageContext, files: dict[int, str], nodes: np.ndarray, cfg: DedupeConfig
) -> dict[str, Any]:
    """Ids, exact hashes and keep-rule keys of ``nodes`` (codes, ascending), in their order."""
    assert ctx.map_tasks is not None
    shard_of = nodes >> np.int64(ROW_BITS)
    rows = nodes & np.int64(_ROW_MASK)
    shards = sorted_unique(shard_of)
    lo, hi = np.searchsorted(shard_of, shards, "left"), np.searchsorted(shard_of, shards, "right")
    tasks = [
        LookupTask(files[int(s)], rows[a:b], cfg.exact, cfg.keep)
        for s, a, b in zip(shards.tolist(), lo.tolist(), hi.tolist(), strict=True)
    ]
    found = {r["shard"]: r for r in ctx.map_tasks(lookup, tasks)}
    ordered = [found[s] for s in shards.tolist()]

    def joined(name: str) -> np.ndarray | None:
        arrays = [r[name] for r in ordered if r[name] is not None]
        return np.concatenate(arrays) if arrays else None

    ids = pl.concat([r["ids"] for r in ordered], rechunk=True) if ordered else pl.Series("id", [], pl.String)
    return {"ids": ids, "exact": joined("exact"), "length": joined("length"), "score": joined("score")}


def _scatter_all(ctx: StageContext, plan: FitPlan, files: Sequence[Path]) -> list[dict[str, Any]]:
    """Step 1 over every shard; the results in shard order, checked to fit together."""
    assert ctx.map_tasks is not None
    work = Path(plan.work)
    tasks = [ScatterTask(plan, str(f), str(work / "scatter" / f"{i:06d}.npy")) for i, f in enumerate(files)]
    infos = sorted(ctx.map_tasks(scatter, tasks), key=lambda i: i["shard"])
    _check_shards(infos)
    return infos


def _clusters(forest: str) -> tuple[np.ndarray, np.ndarray]:
    """Every clustered record (codes, ascending) and its cluster number, from the final forest."""
    child, root = read_forest(forest)
    nodes = sorted_unique(np.concatenate([child, root]))
    roots = nodes.copy()
    roots[np.searchsorted(nodes, child)] = root
    _, labels = unique_groups(roots)
    return nodes, labels


def _count_candidates(
    ctx: StageContext, plan: FitPlan, edge_files: tuple[str, ...], nodes: np.ndarray, exact: np.ndarray | None
) -> int:
    """Step 5: distinct near pairs whose exact hashes differ, summed over partitions."""
    assert ctx.map_tasks is not None
    table = None
    if plan.exact and len(nodes):
        table = str(Path(plan.work) / "exact.npy")
        write_cells(Path(table), [nodes, exact], np.zeros(len(nodes), np.int64), 1)
    tasks = [CountTask(q, edge_files, table) for q in range(plan.partitions)]
    return sum(c["pairs"] for c in ctx.map_tasks(count_pairs, tasks))


def _stats(
    cfg: DedupeConfig, infos: list[dict[str, Any]], pairs: list[dict[str, Any]], candidate_pairs: int
) -> dict[str, Any]:
    """The single-process fit's stats, from the sub-tasks' figures."""
    total = sum(i["rows"] for i in infos)
    partial_bytes = sum(i["nbytes"] for i in infos)
    stats: dict[str, Any] = {
        "records": total,
        "shards": len(infos),
        "exact": cfg.exact,
        "scope": cfg.scope,
        "keep": cfg.keep,
        "exact_pairs": sum(r["exact_pairs"] for r in pairs),
        "candidate_pairs": candidate_pairs,
        "records_without_shingles": sum(i["unsigned"] for i in infos),
        "partial_bytes": partial_bytes,
        "partial_bytes_per_record": round(partial_bytes / max(total, 1), 2),
    }
    if cfg.minhash is not None:
        stats["minhash"] = minhash_stats(cfg.minhash)
    return stats


def fit_partitioned(
    files: Sequence[Path], cfg: DedupeConfig, ctx: StageContext, *, partitions: int, hits: Any = None
) -> FitResult:
    """The dedupe fit over ``partitions`` partitions (see the module docstring)."""
    if ctx.map_tasks is None:
        raise StageError("dedupe: a partitioned fit needs an executor to map its sub-tasks on")
    work = Path(ctx.stage_dir) / WORK_DIR
    shutil.rmtree(work, ignore_errors=True)
    bands = lsh_params(cfg.minhash)[0] if cfg.minhash is not None else 0
    plan = FitPlan(str(work), partitions, bands, cfg.exact, cfg.scope == "source")
    infos = _scatter_all(ctx, plan, files)
    starts = np.zeros(len(infos) + 1, dtype=np.int64)
    np.cumsum([i["rows"] for i in infos], out=starts[1:])
    layout = Layout(np.array([i["shard"] for i in infos], dtype=np.int64), starts)
    files_by_shard = (tuple(i["file"] for i in infos), tuple(int(i["shard"]) for i in infos))
    pairs = sorted(
        ctx.map_tasks(pair_partition, [PairTask(plan, p, *files_by_shard) for p in range(partitions)]),
        key=lambda r: r["partition"],
    )
    final, levels, merge_bytes = _merge_tree(ctx, [r["forest"] for r in pairs], work)
    nodes, labels = _clusters(final)
    found = _lookup_all(ctx, {i["shard"]: i["partial"] for i in infos}, nodes, cfg)
    edge_files = tuple(r["edges"] for r in pairs)
    candidates = _count_candidates(ctx, plan, edge_files, nodes, found["exact"]) if bands else 0
    slot = np.searchsorted(layout.shards, nodes >> np.int64(ROW_BITS))
    positions = layout.starts[slot] + (nodes & np.int64(_ROW_MASK))
    priority = keep_priority(cfg, length=found["length"], score=found["score"]) if len(nodes) else []
    stats = _stats(cfg, infos, pairs, candidates)
    result = index_finish(layout, positions, labels, found["ids"], found["exact"], priority, stats, cfg, hits)
    scatter_bytes = sum(i["bytes"] for i in infos)
    result.stats["partitioned"] = {
        "partitions": partitions,
        "merge_levels": levels,
        "shuffle_bytes": scatter_bytes,
        "shuffle_bytes_per_record": round(scatter_bytes / max(layout.total, 1), 2),
        "edge_bytes": sum(r["edge_bytes"] for r in pairs),
        "forest_bytes": sum(r["forest_bytes"] for r in pairs),
        "merge_bytes": merge_bytes,
        "clustered_records": len(nodes),
    }
    shutil.rmtree(work, ignore_errors=True)
    return result
