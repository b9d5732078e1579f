"""Duplicate id_field values: the first record of an id is kept, later ones are quarantined,
the same whatever the sharding."""

from __future__ import annotations

import polars as pl
import pytest

from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe
from tests.conftest import write_jsonl

RECIPE = """
name: ids
sources:
  - {{name: a, path: "{data}/a/*.jsonl", id_field: key}}
  - {{name: b, path: "{data}/b.jsonl", id_field: key}}
stages: []
execution: {{shard_mb: {shard_mb}}}
"""


def corpus(tmp_path):
    data = tmp_path / "data"
    rows1 = [{"key": i % 150, "text": f"a1 row {i} " + "pad " * 20} for i in range(200)]  # 50 repeats
    rows2 = [{"key": 100 + i, "text": f"a2 row {i} " + "pad " * 20} for i in range(100)]  # 50 seen in a1
    write_jsonl(data / "a" / "1.jsonl", rows1)
    write_jsonl(data / "a" / "2.jsonl", rows2)
    write_jsonl(data / "b.jsonl", [{"key": 7, "text": "from b, id seen in a"}, {"key": "x", "text": "new"}])
    return data


@pytest.mark.parametrize("shard_mb", [64, 0.002])
def test_later_duplicate_ids_are_rejected_naming_the_first(tmp_path, shard_mb):
    data = corpus(tmp_path)
    recipe = parse_recipe(RECIPE.format(data=data, shard_mb=shard_mb))
    result = run_recipe(recipe, run_dir=tmp_path / "run", workers=1, report=False)
    out = pl.read_parquet(sorted((tmp_path / "run/output").glob("*.parquet")))
    assert out["id"].is_unique().all() and out.height == 150 + 50 + 1
    kept = dict(zip(out["id"].to_list(), out["text"].to_list(), strict=True))
    assert kept["7"].startswith("a1 row 7 ") and kept["120"].startswith("a1 row 120 ")
    rejected = pl.read_parquet(sorted((tmp_path / "run/rejected/00-read").glob("*.parquet")))
    assert rejected.height == 50 + 50 + 1 and set(rejected["reason"]) == {"bad_input:duplicate_id"}
    dup = rejected.filter(pl.col("file") == "b.jsonl").row(0, named=True)
    assert (dup["id"], dup["line"]) == ("7", 1)
    assert "a/1.jsonl:8" in dup["error"] and "from b" in dup["raw"]
    later = rejected.filter((pl.col("id") == "120") & (pl.col("file") == "2.jsonl"))
    assert later["line"].to_list() == [21] and "a/1.jsonl:121" in later["error"][0]
    acc = result.manifest["accounting"]
    assert acc["balanced"] and acc["records_in"] == 302 and acc["rejected"] == 101
    read = result.steps[0]
    assert read["records"] == {"in": 302, "out": 201, "dropped": 101, "added": 0}
