"""The partitioned dedupe fit (sub-tasks over partitions) gives the single-process fit's state.

Partials are built directly from families of records sharing band keys (mixed, so they spread
over partitions) to make many collisions, shared groups across bands and shards, chains that only
join through another partition, exact duplicates, unsigned records and empty shards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.errors import StageError
from curate.io import state as state_file
from curate.stages.base import FitResult, ShardInfo, StageContext
from curate.stages.dedupe import DedupeConfig, DedupePartial, apply, fit, partitioned, summarize
from curate.stages.dedupe.partitioned import PARTITION_BYTES, fit_partitions, read_cells, write_cells
from curate.stages.dedupe.shingles import U64, splitmix64, token_hash_fingerprint


@pytest.fixture(autouse=True)
def partition_small_inputs(monkeypatch):
    """The fit keeps small inputs in one process; these tests partition tiny ones."""
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)


def inline_map(fn, tasks):
    return (fn(task) for task in tasks)


def context(tmp: Path, files: list[Path], workers: int) -> StageContext:
    return StageContext(
        tmp, tmp / "stage", 0, {}, (), map_tasks=inline_map, workers=workers, partial_files=files
    )


def save(tmp: Path, partials: list[DedupePartial]) -> list[Path]:
    files = []
    for i, part in enumerate(partials):
        path = tmp / "partials" / f"{i:04d}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        state_file.save(part, path)
        files.append(path)
    return files


def synthetic(
    sizes: list[int], *, bands: int, families: int, seed: int, sources: int = 1, exact_families: int = 50
) -> list[DedupePartial]:
    """Records of ``families`` near-duplicate families: each band key is its family's key for
    that band with probability 0.5, else a key of its own; one record in five shares an exact
    hash with others of one of ``exact_families``."""
    rng = np.random.default_rng(seed)
    parts = []
    start = 0
    for shard, rows in enumerate(sizes):
        family = rng.integers(0, families, size=(rows, 1)) * bands + np.arange(bands)
        own = (start + np.arange(rows))[:, None] * bands + np.arange(bands) + (1 << 40)
        keys = splitmix64(np.where(rng.random((rows, bands)) < 0.5, family, own).astype(U64))
        shared = rng.integers(0, exact_families, size=rows) + (1 << 50)
        exact = splitmix64(np.where(rng.random(rows) < 0.2, shared, start + np.arange(rows)).astype(U64))
        unsigned = np.flatnonzero(rng.random(rows) < 0.05).astype(np.int64)
        parts.append(
            DedupePartial(
                shard=shard,
                source=f"s{shard % sources}",
                rows=rows,
                ids=pl.Series("id", [f"r{start + i}" for i in range(rows)], dtype=pl.String),
                exact=exact,
                bands=keys,
                unsigned=unsigned,
                length=rng.integers(1, 5, size=rows).astype(np.uint32),
                score=np.where(
                    rng.random(rows) < 0.2, np.nan, rng.integers(0, 4, size=rows).astype(np.float64)
                ),
                hash_fingerprint=token_hash_fingerprint(),
            )
        )
        start += rows
    return parts


def assert_same(single: FitResult, split: FitResult) -> None:
    a, b = single.state, split.state
    assert a.rows == b.rows
    assert sorted(a.drops) == sorted(b.drops)
    for shard, drops in a.drops.items():
        for name in ("rows", "reason", "survivor", "cluster"):
            np.testing.assert_array_equal(getattr(drops, name), getattr(b.drops[shard], name), err_msg=name)
    assert a.survivor_ids.to_list() == b.survivor_ids.to_list()
    stats = dict(split.stats)
    assert stats.pop("partitioned")["partitions"] >= 2
    assert single.stats == stats


def config(**options) -> DedupeConfig:
    options.setdefault("minhash", {"bands": 4, "rows": 2, "num_perm": 8})
    return DedupeConfig(**options)


@pytest.mark.parametrize("workers", [2, 3, 8])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"exact": False},
        {"minhash": None},
        {"keep": "longest"},
        {"keep": "score", "score_column": "quality"},
        {"keep": "score", "score_column": "quality", "score_order": "lowest"},
        {"scope": "source"},
    ],
)
def test_partitioned_fit_equals_the_single_process_fit(tmp_path, options, workers):
    cfg = config(**options)
    partials = synthetic(
        [40, 0, 75, 33, 60], bands=4, families=60, exact_families=12, seed=workers, sources=2
    )
    single = fit(partials, cfg)
    assert single.stats["clusters"] > 5 and sum(single.stats["removed"].values()) > 15
    split = fit(partials, cfg, context(tmp_path, save(tmp_path, partials), workers))
    assert_same(single, split)
    assert not (tmp_path / "stage" / "_fit").exists()  # the shuffle files are cleaned up


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    families=st.integers(1, 200),
    exact_families=st.integers(1, 300),
    workers=st.integers(2, 9),
    seed=st.integers(0, 2**16),
    keep=st.sampled_from(["first", "longest"]),
)
def test_any_partitioning_gives_the_same_state(
    tmp_path_factory, sizes, families, exact_families, workers, seed, keep
):
    tmp = tmp_path_factory.mktemp("fit")
    cfg = config(keep=keep)
    partials = synthetic(sizes, bands=4, families=families, exact_families=exact_families, seed=seed)
    assert_same(fit(partials, cfg), fit(partials, cfg, context(tmp, save(tmp, partials), workers)))


def test_real_texts_give_the_same_output_rows(tmp_path):
    """Summarize real texts (default options: 14 bands), fit both ways, apply: the same rows drop."""
    base = [" ".join(f"w{(i * 7 + j * 13) % 97}" for j in range(40)) for i in range(30)]
    texts = [*base, *(t.replace("w1 ", "x1 ", 1) for t in base[:10]), *base[5:12]]
    frame = pl.DataFrame({"id": [f"d{i}" for i in range(len(texts))], "source": "web", "text": texts})
    shards = [frame.slice(i, 11) for i in range(0, frame.height, 11)]
    cfg = DedupeConfig()
    infos = [ShardInfo(i, "web", "text") for i in range(len(shards))]
    partials = [summarize(s, cfg, info) for s, info in zip(shards, infos, strict=True)]
    single = fit(partials, cfg)
    split = fit(partials, cfg, context(tmp_path, save(tmp_path, partials), 4))
    assert_same(single, split)
    dropped = [apply(s, cfg, split.state, info).dropped for s, info in zip(shards, infos, strict=True)]
    assert (
        pl.concat(dropped).height
        == single.stats["removed"]["exact_dup"] + single.stats["removed"]["minhash_dup"]
        > 10
    )


def test_when_the_fit_is_partitioned(tmp_path, monkeypatch):
    cfg = config()
    files = save(tmp_path, synthetic([10, 10], bands=4, families=3, seed=0))
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 1 << 20)
    assert fit_partitions(context(tmp_path, files, 4), cfg, 2) == 1  # small input
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)
    assert fit_partitions(None, cfg, 2) == 1
    assert fit_partitions(context(tmp_path, files, 1), cfg, 2) == 1  # one worker, small input
    assert fit_partitions(context(tmp_path, files, 4), cfg, 2) == 4
    assert fit_partitions(context(tmp_path, files, 4), cfg, 3) == 1  # partials not all on disk
    verify = DedupeConfig(minhash={"verify": True})
    assert fit_partitions(context(tmp_path, files, 4), verify, 2) == 1
    big = tmp_path / "big.npz"
    with open(big, "wb") as f:
        f.truncate(3 * PARTITION_BYTES)
    assert fit_partitions(context(tmp_path, [big], 1), cfg, 1) == 3


def test_partials_from_different_word_hashes_are_refused(tmp_path):
    partials = synthetic([5, 5], bands=4, families=2, seed=1)
    partials[1] = DedupePartial(**{**partials[1].__dict__, "hash_fingerprint": 12345})
    with pytest.raises(StageError, match="different polars versions"):
        fit(partials, config(), context(tmp_path, save(tmp_path, partials), 2))


def test_cell_files_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    cell = rng.integers(0, 7, size=500)
    a, b = rng.integers(0, 2**63, size=500), np.arange(500, dtype=np.int64)
    write_cells(tmp_path / "c.npy", [a, b], cell, 9)
    offsets, (ra, rb) = read_cells(str(tmp_path / "c.npy"), 2, 5, 2)
    want = np.flatnonzero((cell >= 2) & (cell < 5))
    want = want[np.argsort(cell[want], kind="stable")]
    np.testing.assert_array_equal(ra, a[want])
    np.testing.assert_array_equal(rb, b[want])
    np.testing.assert_array_equal(np.diff(offsets), np.bincount(cell, minlength=9)[2:5])
