"""Seeds pair across a sweep's variants: the same seed gives the same initialisation and data
order, so two variants that differ in nothing the training sees score identically per seed, and
the sweep says that no number of seeds tells them apart."""

from __future__ import annotations

import polars as pl
import pytest

from curate.sweep import run_sweep
from tests.sweep.conftest import read_json, write_project, write_sweep

pytestmark = pytest.mark.slow

# two variants with the same data and training, named apart and logged at another interval
SAME = """\
seeds: [0, 1]
set: {train.steps: 8, train.eval_every: 0}
baseline: b
variants:
  - {name: a, set: {train.log_every: 2}}
  - {name: b, set: {train.log_every: 4}}
"""


def test_variants_with_the_same_data_and_seed_score_identically(tmp_path):
    write_project(tmp_path)
    result = run_sweep(write_sweep(tmp_path, SAME), out=tmp_path / "sweeps/same", workers=1)
    bpb = {(r.variant, r.seed): r.metrics["bpb"] for r in result.runs}
    assert bpb[("a", 0)] == bpb[("b", 0)] and bpb[("a", 1)] == bpb[("b", 1)]
    assert bpb[("a", 0)] != bpb[("a", 1)]  # another seed: another initialisation and order
    for run in result.runs:  # the run's costs and its eval set's own noise reach the comparison
        assert run.train["tokens_per_s"] > 0 and run.eval["noise"]["bpb"] > 0
    first = result.standings[0].variant
    other = "a" if first == "b" else "b"
    c = result.comparisons[other]["best"]
    assert c.difference.mean == 0 and c.difference.sd == 0 and c.verdict == "cannot tell"
    assert c.seeds_needed is None and "the two are the same" in c.advice()
    assert c.seconds_per_seed > 0 and c.eval_noise > 0
    board = pl.read_csv(tmp_path / "sweeps/same/leaderboard.csv")
    assert board.filter(pl.col("variant") == other)["vs_best.verdict"].to_list() == ["cannot tell"]
    summary = read_json(tmp_path / "sweeps/same/sweep.json")
    assert summary["baseline"] == "b" and {c["role"] for c in summary["comparisons"]} == {"best", "baseline"}
    html = (tmp_path / "sweeps/same/report.html").read_text()
    assert "Paired comparisons" in html and "vs baseline (b)" in html
