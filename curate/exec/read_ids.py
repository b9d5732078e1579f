"""Duplicate record ids, found across every piece once the read step's pieces are all written.

Ids are how a record is traced through the run, so two records may not share one. Ids derived
from source, file and line are unique by construction; ids taken from a source's ``id_field`` are
not. After reading, every id of the read step is checked in input order (piece, shard, row: the
order of the files and lines, whatever ``shard_mb`` or the number of workers): the first record
with an id is kept, each later one is moved to ``rejected/00-read/`` with reason
``bad_input:duplicate_id``, its file and line, and an error naming where the first one came from.

The pass is idempotent, so a run killed in the middle of it resumes cleanly: a shard's rejected
file is rewritten (its earlier duplicate_id rows replaced) before its records are, and a piece's
marker is then recomputed from the files on disk.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import polars as pl

from curate.exec.rundir import RunDir, Step
from curate.exec.tasks import shard_file
from curate.io.readers import BAD_SCHEMA, ORIGINS
from curate.io.writers import read_json, write_json, write_parquet
from curate.records import ID, SOURCE

DUPLICATE = "bad_input:duplicate_id"


def reject_duplicate_ids(run: RunDir, step: Step, markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quarantine every later record of an id seen before; return the (updated) piece markers."""
    shards = [s["shard"] for m in markers for s in m["shards"]]
    if not shards:
        return markers
    frames = [
        pl.read_parquet(shard_file(run.stage(step), name), columns=[ID, SOURCE]).with_columns(
            pl.lit(k, pl.Int32).alias("_shard"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")
        )
        for k, name in enumerate(shards)
    ]
    ids = pl.concat(frames)
    later = ids.filter(~pl.col(ID).is_first_distinct())
    changed: set[str] = set()
    if later.height:
        first = ids.filter(pl.col(ID).is_in(later[ID].unique().implode())).unique(ID, keep="first")
        later = later.join(first.rename({SOURCE: "_first_source", "_shard": "_fs", "_row": "_fr"}), on=ID)
        for k, rows in later.partition_by("_shard", as_dict=True).items():
            name = shards[k[0]]
            _move_to_rejected(run, step, name, rows, shards)
            changed.add(name)
    out = []
    for marker in markers:
        if changed.intersection(s["shard"] for s in marker["shards"]) or _stale(run, step, marker):
            marker = _recount(run, step, marker)
        out.append(marker)
    return out


def _origin(run: RunDir, step: Step, shard: str, row: int, cache: dict[str, pl.DataFrame | None]) -> tuple:
    if shard not in cache:
        path = shard_file(run.stage(step) / ORIGINS, shard)
        cache[shard] = pl.read_parquet(path) if path.exists() else None
    frame = cache[shard]
    return (None, None) if frame is None else frame.row(row)


def _move_to_rejected(run: RunDir, step: Step, name: str, rows: pl.DataFrame, shards: list[str]) -> None:
    records = pl.read_parquet(shard_file(run.stage(step), name))
    cache: dict[str, pl.DataFrame | None] = {}
    drop = set(rows["_row"].to_list())
    bad = []
    for row in rows.sort("_row").iter_rows(named=True):
        file, line = _origin(run, step, name, row["_row"], cache)
        first_file, first_line = _origin(run, step, shards[row["_fs"]], row["_fr"], cache)
        where = f"{row['_first_source']}/{first_file}:{first_line}" if first_file else row["_first_source"]
        record = records.row(row["_row"], named=True)
        bad.append(
            {
                ID: row[ID],
                SOURCE: row[SOURCE],
                "file": file,
                "line": line,
                "reason": DUPLICATE,
                "error": f"id {row[ID]!r} is already the id of the record read from {where}; the first is kept",
                "raw": orjson.dumps(
                    {k: v for k, v in record.items() if k not in (ID, SOURCE)}, default=str
                ).decode()[:2000],
            }
        )
    rejected_path = shard_file(run.rejected(step), name)
    earlier = pl.read_parquet(rejected_path) if rejected_path.exists() else pl.DataFrame(schema=BAD_SCHEMA)
    earlier = earlier.filter(pl.col("reason") != DUPLICATE)
    write_parquet(pl.concat([earlier, pl.DataFrame(bad, schema=BAD_SCHEMA, orient="row")]), rejected_path)
    keep = pl.Series([i not in drop for i in range(records.height)])
    write_parquet(records.filter(keep), shard_file(run.stage(step), name))


def _stale(run: RunDir, step: Step, marker: dict[str, Any]) -> bool:
    """A marker whose shards were rewritten by a pass that was killed before it recounted."""
    return any(_height(shard_file(run.stage(step), s["shard"])) != s["out"] for s in marker["shards"])


def _height(path: Any) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _recount(run: RunDir, step: Step, marker: dict[str, Any]) -> dict[str, Any]:
    marker = {**marker, "shards": [dict(s) for s in marker["shards"]]}
    reasons: Counter[str] = Counter()
    for s in marker["shards"]:
        s["out"] = _height(shard_file(run.stage(step), s["shard"]))
        rejected = shard_file(run.rejected(step), s["shard"])
        if rejected.exists():
            counts = pl.read_parquet(rejected, columns=["reason"])["reason"].value_counts()
            reasons.update(dict(counts.iter_rows()))
    marker["out"] = sum(s["out"] for s in marker["shards"])
    marker["dropped"] = sum(reasons.values())
    marker["reasons"] = dict(sorted(reasons.items()))
    path = run.marker(step, marker["piece"])
    if read_json(path) != marker:
        write_json(marker, path)
    return marker
