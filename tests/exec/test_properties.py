"""Whole-pipeline properties on random corpora, with the real stages."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe

WORDS = [
    "river",
    "mill",
    "school",
    "bread",
    "Fluss",
    "pain",
    "río",
    "学校",
    "パン",
    "lorem",
    "ipsum",
    "<b>",
    "&amp;",
]
text = st.lists(st.sampled_from(WORDS), min_size=0, max_size=60).map(" ".join)
line = st.one_of(
    text.map(lambda t: json.dumps({"text": t}, ensure_ascii=False).encode()),
    st.sampled_from([b"{oops", b'{"text": 3}', b"", b'{"text": null}']),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=1, max_size=40), duplicate=st.booleans())
def test_output_ids_are_input_ids_and_every_record_is_accounted_for(tmp_path_factory, lines, duplicate):
    root = tmp_path_factory.mktemp("prop")
    lines = lines + lines[: len(lines) // 2] if duplicate else lines
    (root / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    recipe = parse_recipe(
        f'name: p\nsources: [{{name: w, path: "{root}/a.jsonl"}}]\n'
        "stages:\n  - clean: {strip_html: true, min_words: 3}\n  - quality: {}\n  - dedupe: {}\n  - language: {}\n"
    )
    try:
        result = run_recipe(recipe, run_dir=root / "runs/p", workers=1, report=False)
    except Exception as exc:  # input that is entirely bad, or all removed, must be one clear error
        stops = ("all quarantined as bad input", "removed every record", "every input file is empty")
        assert any(stop in str(exc) for stop in stops), exc
        return
    acc = result.manifest["accounting"]
    assert acc["balanced"] and acc["records_in"] == sum(1 for line in lines if line.strip())
    files = sorted((root / "runs/p/output").glob("*.parquet"))
    out_ids = set(pl.read_parquet(files)["id"]) if files else set()
    read_ids = set(pl.read_parquet(sorted((root / "runs/p/stages/00-read").glob("*.parquet")))["id"])
    assert out_ids <= read_ids
    rejected = [pl.read_parquet(f)["id"] for f in sorted((root / "runs/p/rejected").rglob("*.parquet"))]
    rejected_ids = set(pl.concat(rejected)) if rejected else set()
    assert not out_ids & rejected_ids
    assert len(out_ids) + sum(len(r) for r in rejected) == acc["records_in"]
