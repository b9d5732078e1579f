"""Repeated lines and paragraphs in dedupe indexes: deduping B against A's index removes from B's
records exactly what deduping A + B together (A first) removes; `curate index add` sums counts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.errors import CurateError
from curate.io import state as state_file
from curate.stages.base import ShardInfo, StageContext
from curate.stages.dedupe import DedupeConfig, apply, fit, partitioned, summarize
from curate.stages.dedupe import index as dx
from tests.stages.test_dedupe import doc, shards_of, texts_frame

POOL = [f"shared boiler line number {i} of the site" for i in range(16)]
RARE = [f"a rarer line, number {i}, seen once or twice" for i in range(120)]
LEGAL = [f"Legal notice {i}: by reading\nyou agree to terms {i}." for i in range(4)]


def corpus(n: int, seed: int, start: int) -> pl.DataFrame:
    """Records of unique lines around lines and paragraphs drawn from shared pools (a few also
    repeat inside their record, some records are whole copies of earlier ones)."""
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        if texts and rng.random() < 0.1:
            texts.append(rng.choice(texts))
            continue
        body = [doc(rng.randint(3, 12), seed * 1000 + i * 10 + j) for j in range(rng.randint(1, 4))]
        head = rng.sample(POOL, rng.randint(0, 3)) + rng.sample(RARE, rng.randint(0, 2))
        if rng.random() < 0.2 and head:
            body.append(head[0])
        para = [f"\n{rng.choice(LEGAL)}\n"] if rng.random() < 0.4 else []
        texts.append("\n".join(head + body + para) + ("\n" if i % 3 == 0 else ""))
    return texts_frame(texts, start=start)


def inline_map(fn, tasks):
    return (fn(task) for task in tasks)


def stage(
    frames: list[pl.DataFrame], cfg: DedupeConfig, tmp: Path | None, workers: int
) -> tuple[list, object, list[tuple[pl.DataFrame, pl.DataFrame]]]:
    """The whole stage over ``frames`` (one shard each): the partials, the fit and each shard's
    kept and dropped records. The fit is partitioned over ``workers`` when ``tmp`` is given."""
    shards = [(ShardInfo(i, "web", "text"), b) for i, b in enumerate(frames)]
    partials = [summarize(b, cfg, s) for s, b in shards]
    ctx = None
    if tmp is not None:
        files = [state_file.save(p, tmp / "partials" / f"{i:04d}.npz") for i, p in enumerate(partials)]
        ctx = StageContext(
            tmp, tmp / "stage", 0, {}, (), map_tasks=inline_map, workers=workers, partial_files=files
        )
    fitted = fit(partials, cfg, ctx)
    results = [apply(b, cfg, fitted.state, s) for s, b in shards]
    return partials, fitted, [(r.kept, r.dropped) for r in results]


def joined(results: list[tuple[pl.DataFrame, pl.DataFrame]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.concat([k for k, _ in results]), pl.concat([d for _, d in results])


@pytest.fixture(autouse=True)
def partition_small_inputs(monkeypatch):
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)


OPTIONS = [
    {"exact": False, "minhash": False, "lines": {}},
    {"exact": False, "minhash": False, "lines": {"remove": "all", "min_remaining_chars": 20}},
    {"exact": False, "minhash": False, "lines": {"min_repeats": 3, "max_removed_fraction": 0.8}},
    {"exact": False, "minhash": False, "paragraphs": {}, "lines": {"remove": "all", "min_repeats": 4}},
    {"minhash": False, "lines": {"min_remaining_chars": 0}},  # whole documents too, in the same step
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("workers", [0, 2])
def test_against_an_index_removes_from_new_records_what_a_joint_run_removes(tmp_path, options, workers):
    a = shards_of(corpus(60, seed=1, start=0), 15)
    b = shards_of(corpus(45, seed=2, start=1000), 15)
    cfg = DedupeConfig.model_validate(options)
    where = (lambda name: tmp_path / name) if workers else (lambda name: None)
    a_parts, a_fit, _ = stage(a, cfg, where("a"), workers)
    dx.build_index(a_parts, a_fit.state, cfg, tmp_path / "idx", name="A", run="a")
    _, _, joint = stage(a + b, cfg, where("joint"), workers)
    on_b = DedupeConfig.model_validate({**options, "against": [str(tmp_path / "idx")]})
    _, b_fit, alone = stage(b, on_b, where("b"), workers)
    kept, dropped = joined(alone)
    joint_kept, joint_dropped = joined(joint[len(a) :])
    assert kept.equals(joint_kept)
    assert dropped.drop("dup_of", "cluster").equals(joint_dropped.drop("dup_of", "cluster"))
    # the index did some of the work: B alone removes less
    plain_kept, _ = joined(stage(b, cfg, None, 0)[2])
    assert not plain_kept.equals(kept)
    for kind in ("lines", "paragraphs"):
        if kind in options:
            assert b_fit.stats[kind]["in_index"] > 0


def test_the_index_holds_every_distinct_unit_with_its_count(tmp_path):
    frames = shards_of(corpus(40, seed=3, start=0), 10)
    cfg = DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": {}, "paragraphs": {}})
    parts, fitted, _ = stage(frames, cfg, None, 0)
    dx.build_index(parts, fitted.state, cfg, tmp_path / "idx", name="A", run="a")
    index = dx.open_index(tmp_path / "idx")
    from curate.stages.dedupe.lines import unit_keys

    text = pl.concat(frames)["text"]
    for kind in ("lines", "paragraphs"):
        keys, counts = index.arrays(kind)
        assert keys.dtype == np.uint64 and counts.dtype == np.uint32 and np.all(keys[1:] > keys[:-1])
        every, _ = unit_keys(text, kind, unit_cfg=getattr(cfg, kind), norm=cfg.normalize)
        want_keys, want_counts = np.unique(every, return_counts=True)
        np.testing.assert_array_equal(keys, want_keys)
        np.testing.assert_array_equal(counts, want_counts)
        entry = index.manifest["kinds"][kind]
        assert entry["counts"] == f"{kind}.counts.npy" and "slots" not in entry
        assert entry["params"][kind] == {"min_chars": 10}


def test_index_add_sums_unit_counts(tmp_path):
    cfg = DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": {}})
    halves = [shards_of(corpus(30, seed=s, start=100 * s), 10) for s in (4, 5)]
    for i, frames in enumerate(halves):
        parts, fitted, _ = stage(frames, cfg, None, 0)
        dx.build_index(parts, fitted.state, cfg, tmp_path / f"i{i}", name=f"I{i}", run=str(i))
        dx.extend_index(tmp_path / "grown", tmp_path / f"i{i}")
    parts, fitted, _ = stage(halves[0] + halves[1], cfg, None, 0)
    dx.build_index(parts, fitted.state, cfg, tmp_path / "both", name="B", run="b")
    grown, both = dx.open_index(tmp_path / "grown"), dx.open_index(tmp_path / "both")
    for got, want in zip(grown.arrays("lines"), both.arrays("lines"), strict=True):
        np.testing.assert_array_equal(got, want)
    assert grown.records == both.records == 60


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"lines": {"min_chars": 5}}, "lines.min_chars = 10"),
        ({"lines": {}, "normalize": {"digits": True}}, "normalize.digits = False"),
        ({"paragraphs": {}}, "holds no paragraphs keys"),
    ],
)
def test_an_index_with_other_unit_parameters_is_refused(tmp_path, options, named):
    cfg = DedupeConfig.model_validate({"exact": False, "minhash": False, "lines": {}})
    parts, fitted, _ = stage([corpus(10, seed=6, start=0)], cfg, None, 0)
    dx.build_index(parts, fitted.state, cfg, tmp_path / "idx", name="A", run="a")
    other = DedupeConfig.model_validate(
        {"exact": False, "minhash": False, **options, "against": [str(tmp_path / "idx")]}
    )
    with pytest.raises(CurateError, match="against") as err:
        dx.check_against(other)
    assert named in str(err.value)
    # min_repeats and remove may differ: the index holds counts
    dx.check_against(
        DedupeConfig.model_validate(
            {
                "exact": False,
                "minhash": False,
                "lines": {"min_repeats": 5, "remove": "all"},
                "against": [str(tmp_path / "idx")],
            }
        )
    )


# ---------------------------------------------------------------------------------------------
# Through recipes: a lines-only step writes its index; against and `curate index add`
# ---------------------------------------------------------------------------------------------

RECIPE = """
name: {name}
sources:
{sources}
stages:
  - dedupe: {{exact: false, minhash: false, lines: {{min_remaining_chars: 20}}{against}}}
execution: {{shard_mb: 0.002}}
"""


def recipe(name: str, files: dict[str, Path], *against: Path):
    from curate.recipe import parse_recipe

    sources = "\n".join(f"  - {{name: {n}, path: {str(files[n])!r}}}" for n in name)
    extra = f", against: {json.dumps([str(p) for p in against])}" if against else ""
    return parse_recipe(RECIPE.format(name=name, sources=sources, against=extra))


def outputs(run_dir: Path) -> pl.DataFrame:
    files = sorted((run_dir / "output").glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]).select("id", "text") if files else pl.DataFrame()


def rejected(run_dir: Path) -> set[str]:
    files = sorted((run_dir / "rejected" / "01-dedupe").glob("*.parquet"))
    return set(pl.concat([pl.read_parquet(f) for f in files])["id"]) if files else set()


@pytest.mark.slow
def test_recipes_with_lines_against_an_index_match_a_joint_run(tmp_path):
    from typer.testing import CliRunner

    from curate.cli import app
    from curate.exec.pipe import run_recipe
    from tests.conftest import write_jsonl
    from tests.exec.test_pipe import tree_bytes

    files = {}
    for k, name in enumerate("abc"):
        frame = corpus(40, seed=10 + k, start=0)
        files[name] = write_jsonl(tmp_path / f"{name}.jsonl", [{"text": t} for t in frame["text"]])
    runs = tmp_path / "runs"
    a = run_recipe(recipe("a", files), run_dir=runs / "a", workers=1)
    assert a.steps[1]["finalize"]["index"]["entries"]["lines"] > 40  # a lines-only step writes its index
    for workers in (1, 2):
        run_recipe(recipe("b", files, runs / "a"), run_dir=tmp_path / f"b{workers}" / "b", workers=workers)
    one, two = tmp_path / "b1" / "b", tmp_path / "b2" / "b"
    for part in ("output", "rejected", "index"):
        assert tree_bytes(one / part) == tree_bytes(two / part), part
    run_recipe(recipe("ab", files), run_dir=runs / "ab", workers=2)
    joint = outputs(runs / "ab").filter(pl.col("id").str.starts_with("b"))
    assert outputs(one).equals(joint) and joint.height
    assert rejected(one) == {i for i in rejected(runs / "ab") if i.startswith("b")}

    cli = CliRunner()
    grown = tmp_path / "corpus-index"
    for run in (runs / "a", one):
        result = cli.invoke(app, ["index", "add", str(grown), str(run)])
        assert result.exit_code == 0, result.output
    run_recipe(recipe("c", files, grown), run_dir=runs / "c", workers=1)
    run_recipe(recipe("abc", files), run_dir=runs / "abc", workers=1)
    assert outputs(runs / "c").equals(outputs(runs / "abc").filter(pl.col("id").str.starts_with("c")))
    assert rejected(runs / "c") == {i for i in rejected(runs / "abc") if i.startswith("c")}
