"""Dedupe indexes: deduping new data against an earlier run's index removes what deduping old and
new data together (old first) removes; parameters are checked; indexes grow run by run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.errors import CurateError
from curate.stages.base import FitResult
from curate.stages.dedupe import DedupeConfig, DedupePartial, fit, partitioned
from curate.stages.dedupe import index as dx
from tests.conftest import write_jsonl
from tests.stages.test_dedupe import doc, edited
from tests.stages.test_dedupe_partitioned import context, save, synthetic

EXACT = {"minhash": None}
NEAR = {"exact": False, "minhash": {"bands": 4, "rows": 2, "num_perm": 8}}
BOTH = {"minhash": {"bands": 4, "rows": 2, "num_perm": 8}}


def split(parts: list[DedupePartial], at: int) -> tuple[list[DedupePartial], list[DedupePartial]]:
    """The first ``at`` shards (corpus A) and the rest renumbered from 0 (corpus B)."""
    return parts[:at], [dataclasses.replace(p, shard=i) for i, p in enumerate(parts[at:])]


def run_fit(parts: list[DedupePartial], cfg: DedupeConfig, tmp: Path | None, workers: int) -> FitResult:
    """The single-process fit (tmp None) or the partitioned one on ``workers`` partitions."""
    if tmp is None:
        return fit(parts, cfg)
    tmp.mkdir(parents=True, exist_ok=True)
    return fit(parts, cfg, context(tmp, save(tmp, parts), workers))


def removed(result: FitResult, parts: list[DedupePartial], first_shard: int = 0) -> dict[str, str]:
    """Removed id -> reason, over shards ``first_shard``... of ``parts`` (numbered as in ``result``)."""
    state = result.state
    names = np.array([dx.REASONS[0], dx.REASONS[1], *state.reasons], dtype=object)
    out = {}
    for part in parts:
        drops = state.drops.get(part.shard)
        if drops is None or part.shard < first_shard:
            continue
        for row, reason in zip(drops.rows.tolist(), names[drops.reason].tolist(), strict=True):
            out[part.ids[row]] = reason
    return out


def dup_of(result: FitResult, parts: list[DedupePartial]) -> dict[str, str]:
    state = result.state
    out = {}
    for part in parts:
        drops = state.drops.get(part.shard)
        if drops is not None:
            for row, s in zip(drops.rows.tolist(), drops.survivor.tolist(), strict=True):
                out[part.ids[row]] = state.survivor_ids[s]
    return out


def against(cfg: DedupeConfig, *paths: Path) -> DedupeConfig:
    return DedupeConfig(**{**cfg.model_dump(), "against": [str(p) for p in paths]})


@pytest.fixture(autouse=True)
def partition_small_inputs(monkeypatch):
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)


@pytest.mark.parametrize("options", [EXACT, NEAR, BOTH, {**BOTH, "scope": "source"}])
@pytest.mark.parametrize("workers", [0, 2])
def test_against_an_index_removes_what_a_joint_run_removes(tmp_path, options, workers):
    cfg = DedupeConfig(**options)
    parts = synthetic([40, 30, 35, 25, 20], bands=4, families=70, exact_families=15, seed=7, sources=2)
    old, new = split(parts, 2)
    fit_dir = (lambda name: tmp_path / name) if workers else (lambda name: None)
    a = run_fit(old, cfg, fit_dir("a"), workers)
    stats = dx.build_index(old, a.state, cfg, tmp_path / "idx", name="A", run="runs/a")
    assert stats["records"] == sum(p.rows for p in old) - sum(a.stats["removed"].values())
    joint = run_fit(parts, cfg, fit_dir("joint"), workers)
    expected = removed(joint, parts, first_shard=2)
    got = removed(run_fit(new, against(cfg, tmp_path / "idx"), fit_dir("b"), workers), new)
    assert set(got) == set(expected)
    assert sum(r == "dup_in_index:A" for r in got.values()) > 5  # the index did some of the work
    assert {r for r in got.values()} <= {"dup_in_index:A", "exact_dup", "minhash_dup"}
    # what the joint run removes in B because of A, the against run removes as dup_in_index
    old_ids = set(pl.concat([p.ids for p in old]).to_list())
    joint_dup_of = dup_of(joint, parts)
    because_of_a = {i for i in expected if joint_dup_of[i] in old_ids}
    assert because_of_a == {i for i, r in got.items() if r == "dup_in_index:A"}


@pytest.mark.parametrize("options", [EXACT, BOTH])
def test_dup_of_names_a_kept_record_of_the_index(tmp_path, options):
    """Exact: the record a joint run keeps. Near: a kept record of the old cluster the new record
    joins (a joint run may name another when new records bridge several old clusters)."""
    cfg = DedupeConfig(**options)
    parts = synthetic([50, 40, 45], bands=4, families=40, exact_families=10, seed=3)
    old, new = split(parts, 2)
    a = fit(old, cfg)
    dx.build_index(old, a.state, cfg, tmp_path / "idx", name="A", run="a")
    kept_a = set(pl.concat([p.ids for p in old]).to_list()) - set(removed(a, old))
    joint = dup_of(fit(parts, cfg), parts)
    result = fit(new, against(cfg, tmp_path / "idx"))
    got = dup_of(result, new)
    hit = {i for i, r in removed(result, new).items() if r.startswith("dup_in_index")}
    assert hit and {got[i] for i in hit} <= kept_a
    same = sum(got[i] == joint[i] for i in hit)
    assert same == len(hit) if options is EXACT else same >= 0.8 * len(hit)


def test_a_grown_index_serves_as_old_and_new_together(tmp_path):
    cfg = DedupeConfig(**BOTH)
    parts = synthetic([30, 30, 30, 30, 30, 30], bands=4, families=60, exact_families=12, seed=11)
    a_parts, rest = split(parts, 2)
    b_parts, c_parts = split(rest, 2)
    a = fit(a_parts, cfg)
    dx.build_index(a_parts, a.state, cfg, tmp_path / "a", name="A", run="a")
    b_cfg = against(cfg, tmp_path / "a")
    b = fit(b_parts, b_cfg)
    dx.build_index(b_parts, b.state, b_cfg, tmp_path / "b", name="B", run="b")
    grown = tmp_path / "grown"
    first = dx.extend_index(grown, tmp_path / "a")  # a new index: a copy of A's
    assert first["records"] == dx.open_index(tmp_path / "a").records
    manifest = dx.extend_index(grown, tmp_path / "b")
    assert manifest["records"] == first["records"] + dx.open_index(tmp_path / "b").records
    assert [r["name"] for r in manifest["runs"]] == ["A", "B"]
    assert not list(tmp_path.glob(".grown.*"))  # written atomically, nothing left behind
    expected = removed(fit(parts, cfg), parts, first_shard=4)
    got = removed(fit(c_parts, against(cfg, grown)), c_parts)
    assert set(got) == set(expected) and got


def test_several_indexes_at_once(tmp_path):
    cfg = DedupeConfig(**BOTH)
    parts = synthetic([30, 30, 30], bands=4, families=40, exact_families=10, seed=5)
    for i in range(2):
        one = [dataclasses.replace(parts[i], shard=0)]
        dx.build_index(one, fit(one, cfg).state, cfg, tmp_path / f"i{i}", name=f"I{i}", run=str(i))
    new = [dataclasses.replace(parts[2], shard=0)]
    got = removed(fit(new, against(cfg, tmp_path / "i0", tmp_path / "i1")), new)
    assert {"dup_in_index:I0", "dup_in_index:I1"} <= set(got.values())


# ---------------------------------------------------------------------------------------------
# Parameters, paths and broken indexes
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def index_dir(tmp_path) -> Path:
    cfg = DedupeConfig(**BOTH)
    parts = synthetic([20], bands=4, families=5, seed=1)
    dx.build_index(parts, fit(parts, cfg).state, cfg, tmp_path / "idx", name="A", run="a")
    return tmp_path / "idx"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"minhash": {"bands": 4, "rows": 2, "num_perm": 8, "ngram": 4}}, "minhash.ngram = 5"),
        ({"minhash": {"bands": 2, "rows": 4, "num_perm": 8}}, "minhash.bands = 4"),
        ({"minhash": {"bands": 4, "rows": 2, "num_perm": 8, "seed": 9}}, "minhash.seed = 1"),
        (
            {"minhash": {"bands": 4, "rows": 2, "num_perm": 8, "shingle": "chars"}},
            "minhash.shingle = 'words'",
        ),
        ({**BOTH, "normalize": {"lowercase": False}}, "normalize.lowercase = True"),
        ({**BOTH, "scope": "source"}, "scope = 'global'"),
    ],
)
def test_an_index_with_other_parameters_is_refused_naming_the_parameter(index_dir, options, named):
    cfg = DedupeConfig(**options, against=[str(index_dir)])
    with pytest.raises(CurateError, match="against") as err:
        dx.check_against(cfg)
    assert named in str(err.value) and "set " in str(err.value)


def test_num_perm_alone_does_not_change_keys(index_dir):
    dx.check_against(DedupeConfig(minhash={"bands": 4, "rows": 2, "num_perm": 64}, against=[str(index_dir)]))


def test_an_index_without_a_kind_the_step_uses_is_refused(tmp_path):
    cfg = DedupeConfig(**EXACT)
    parts = synthetic([20], bands=4, families=5, seed=1)
    dx.build_index(parts, fit(parts, cfg).state, cfg, tmp_path / "idx", name="A", run="a")
    with pytest.raises(CurateError, match="holds no minhash keys"):
        dx.check_against(DedupeConfig(**BOTH, against=[str(tmp_path / "idx")]))
    dx.check_against(DedupeConfig(**EXACT, against=[str(tmp_path / "idx")]))


def test_missing_path_names_the_against_key(tmp_path):
    with pytest.raises(CurateError, match=r"against: .*nowhere' does not exist"):
        dx.check_against(DedupeConfig(against=[str(tmp_path / "nowhere")]))


def test_a_directory_that_is_no_index_is_refused(tmp_path):
    with pytest.raises(CurateError, match="not a dedupe index"):
        dx.open_index(tmp_path)


def test_a_corrupt_manifest_is_a_clear_error(index_dir):
    (index_dir / dx.MANIFEST).write_text('{"kind": "curate-dedupe-index", "form', encoding="utf-8")
    with pytest.raises(CurateError, match=r"cannot be read .*corrupt"):
        dx.open_index(index_dir)


def test_a_missing_array_is_a_clear_error(index_dir):
    (index_dir / "minhash.keys.npy").unlink()
    with pytest.raises(CurateError, match=r"lacks .*minhash.keys.npy.*corrupt"):
        dx.open_index(index_dir)


def test_a_newer_format_is_refused(index_dir):
    manifest = json.loads((index_dir / dx.MANIFEST).read_text())
    (index_dir / dx.MANIFEST).write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(CurateError, match="format 99"):
        dx.open_index(index_dir)


def test_index_files_are_sorted_unique_and_compact(index_dir):
    index = dx.open_index(index_dir)
    for kind in ("exact", "minhash"):
        keys, slots = index.arrays(kind)
        assert keys.dtype == np.uint64 and slots.dtype == np.uint32
        assert np.all(keys[1:] > keys[:-1])
        assert slots.max() < len(index.ids())
    assert index.manifest["kinds"]["minhash"]["params"]["bands"] == 4


# ---------------------------------------------------------------------------------------------
# Through recipes: the index a run writes, against in a recipe, `curate index add`
# ---------------------------------------------------------------------------------------------

RECIPE = """
name: {name}
sources:
{sources}
stages:
  - dedupe: {{minhash: {{threshold: 0.7, num_perm: 32{ngram}}}{against}}}
execution: {{shard_mb: 0.004}}
"""


def corpora(root: Path) -> dict[str, Path]:
    """Three small corpora; b and c repeat (exactly or with a few edits) records of the ones before."""
    rng = np.random.default_rng(0)
    texts = {"a": [doc(60, i) for i in range(30)]}
    texts["a"] += [edited(texts["a"][i], 3, 100 + i) for i in range(0, 30, 3)]
    texts["b"] = [doc(60, 1000 + i) for i in range(20)] + texts["a"][:5]
    texts["b"] += [edited(texts["a"][i], 4, 200 + i) for i in rng.choice(40, 10, replace=False).tolist()]
    texts["b"] += [edited(texts["b"][i], 2, 300 + i) for i in range(5)]
    texts["c"] = [doc(60, 2000 + i) for i in range(10)] + [
        edited(t, 3, 400 + i) for i, t in enumerate(texts["b"][:12])
    ]
    return {
        name: write_jsonl(
            root / f"{name}.jsonl", [{"id": f"{name}{i}", "text": t} for i, t in enumerate(rows)]
        )
        for name, rows in texts.items()
    }


def recipe(name: str, files: dict[str, Path], *against: Path, ngram: str = ""):
    from curate.recipe import parse_recipe

    sources = "\n".join(f"  - {{name: {n}, path: {str(files[n])!r}, id_field: id}}" for n in name)
    extra = f", against: {json.dumps([str(p) for p in against])}" if against else ""
    return parse_recipe(RECIPE.format(name=name, sources=sources, against=extra, ngram=ngram))


def removed_ids(run_dir: Path) -> set[str]:
    files = sorted((run_dir / "rejected" / "01-dedupe").glob("*.parquet"))
    return set(pl.concat([pl.read_parquet(f) for f in files])["id"]) if files else set()


@pytest.mark.slow
def test_recipes_against_an_index_match_a_joint_run_on_any_number_of_workers(tmp_path):
    from curate.exec.pipe import run_recipe
    from tests.exec.test_pipe import tree_bytes

    files = corpora(tmp_path)
    runs = tmp_path / "runs"
    a = run_recipe(recipe("a", files), run_dir=runs / "a", workers=1)
    index_stats = a.steps[1]["finalize"]["index"]
    assert (runs / "a" / "index" / "01-dedupe" / dx.MANIFEST).is_file()
    assert index_stats["records"] == a.steps[1]["records"]["out"] and index_stats["bytes_per_record"] > 0
    for workers in (1, 2):
        run_recipe(recipe("b", files, runs / "a"), run_dir=tmp_path / f"b{workers}" / "b", workers=workers)
    one, two = tmp_path / "b1" / "b", tmp_path / "b2" / "b"
    for part in ("output", "rejected", "index"):
        assert tree_bytes(one / part) == tree_bytes(two / part), part
    joint = run_recipe(recipe("ab", files), run_dir=runs / "ab", workers=2)
    assert joint.manifest["accounting"]["balanced"]
    joint_b = {i for i in removed_ids(runs / "ab") if i.startswith("b")}
    assert removed_ids(one) == joint_b
    rejected = pl.concat(
        [pl.read_parquet(f) for f in sorted((one / "rejected" / "01-dedupe").glob("*.parquet"))]
    )
    hits = rejected.filter(pl.col("reason") == "dup_in_index:a/01-dedupe")
    assert hits.height >= 5 and set(hits["dup_of"]) <= {f"a{i}" for i in range(40)}

    # the index grows run by run: c against a + b equals a joint run of a, b and c
    from typer.testing import CliRunner

    from curate.cli import app

    cli = CliRunner()
    grown = tmp_path / "corpus-index"
    for run in (runs / "a", one):
        result = cli.invoke(app, ["index", "add", str(grown), str(run)])
        assert result.exit_code == 0, result.output
    assert dx.open_index(grown).records == index_stats["records"] + len(
        pl.concat([pl.read_parquet(f) for f in sorted((one / "output").glob("*.parquet"))])
    )
    run_recipe(recipe("c", files, grown), run_dir=runs / "c", workers=1)
    abc = run_recipe(recipe("abc", files), run_dir=runs / "abc", workers=1)
    assert abc.manifest["accounting"]["balanced"]
    assert removed_ids(runs / "c") == {i for i in removed_ids(runs / "abc") if i.startswith("c")}
    assert removed_ids(runs / "c")

    bad = cli.invoke(app, ["index", "add", str(grown), str(tmp_path / "missing")])
    assert bad.exit_code != 0 and "does not exist" in bad.output


@pytest.mark.slow
def test_validate_refuses_an_index_with_other_parameters(tmp_path):
    from curate.exec.pipe import check_recipe, run_recipe

    files = corpora(tmp_path)
    run_recipe(recipe("a", files), run_dir=tmp_path / "runs" / "a", workers=1)
    other = recipe("b", files, tmp_path / "runs" / "a", ngram=", ngram: 3")
    with pytest.raises(CurateError, match=r"stages\[0\]\.dedupe: against: .*minhash.ngram = 5"):
        check_recipe(other)
