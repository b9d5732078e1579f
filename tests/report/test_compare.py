"""Paired comparisons of sweep variants on synthetic leaderboards with known answers: the
difference, its interval and verdict, the seeds and the time a "cannot tell" needs, and where the
terminal table, the leaderboard files and the sweep report show them."""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path

import pytest
from rich.console import Console

from curate.report.compare import compare, compare_variants
from curate.report.sweep import leaderboard, render_sweep_report, sweep_comparisons
from curate.stats import seeds_needed
from curate.sweep.runner import leaderboard_table

# What each seed does to every variant alike (initialisation, data order): large, shared.
SEED_EFFECT = [0.00, 0.030, -0.020, 0.015, -0.025, 0.010, 0.020, -0.015]
# What a variant changes, per seed: a real +0.012 (worse in bpb) with a small paired spread.
PAIRED = [0.014, 0.010, 0.013, 0.011, 0.015, 0.009, 0.012, 0.012]


def rows(seeds: int, *, seconds: float = 30.0, tokens_per_s: float = 2000.0) -> list[dict]:
    out = []
    for s in range(seeds):
        base = 2.10 + SEED_EFFECT[s]
        for variant, value in (("clean", base), ("boiler", base + PAIRED[s]), ("shuffled", base + 0.08)):
            out.append(
                {
                    "variant": variant,
                    "seed": s,
                    "metrics": {"bpb": value},
                    "train": {"tokens": seconds * tokens_per_s, "tokens_per_s": tokens_per_s},
                    "eval": {"noise": {"bpb": 0.02}, "tokens": 50_000},
                }
            )
    return out


def test_paired_difference_of_a_synthetic_table_has_the_known_answer():
    table = rows(4)
    c = compare(table, "boiler", "clean", metric="bpb", higher_is_better=False)
    diffs = PAIRED[:4]
    assert c.difference.n == 4 and c.difference.mean == pytest.approx(statistics.fmean(diffs))
    assert c.difference.sd == pytest.approx(statistics.stdev(diffs))
    half = 3.182446305284263 * statistics.stdev(diffs) / 2  # t(0.975, 3) * sd / sqrt(4)
    assert c.difference.low == pytest.approx(c.difference.mean - half)
    assert c.verdict == "worse" and c.advice() is None
    # the same runs unpaired: the means' 95% intervals overlap, a leaderboard of means calls it a tie
    board = {s.variant: s.metrics["bpb"] for s in leaderboard(table)}
    assert board["clean"].mean + board["clean"].ci95 > board["boiler"].mean - board["boiler"].ci95
    # seconds per extra seed: one more run of each variant at the measured speed
    assert c.seconds_per_seed == pytest.approx(60.0) and c.tokens_per_s == pytest.approx(2000.0)


def test_verdict_turns_from_cannot_tell_to_worse_as_seeds_are_added():
    verdicts = {}
    for n in (1, 2, 3, 4, 8):
        c = compare(rows(n), "boiler", "clean", metric="bpb", higher_is_better=False)
        verdicts[n] = c.verdict
    assert verdicts[1] == "cannot tell" and verdicts[2] == "cannot tell"
    assert verdicts[4] == "worse" and verdicts[8] == "worse"
    # and the direction: the clean variant against the boilerplate one is better
    assert compare(rows(8), "clean", "boiler", metric="bpb", higher_is_better=False).verdict == "better"


def test_cannot_tell_says_how_many_seeds_and_how_long():
    table = rows(2)
    c = compare(table, "boiler", "clean", metric="bpb", higher_is_better=False)
    sd = abs(PAIRED[1] - PAIRED[0]) / math.sqrt(2)
    expected = seeds_needed(statistics.fmean(PAIRED[:2]), sd)
    assert c.verdict == "cannot tell" and c.seeds_needed == expected and expected > 2
    assert c.more_seeds == expected - 2
    assert c.more_seconds == pytest.approx((expected - 2) * 60.0)
    text = c.advice()
    assert f"about {expected} paired seeds" in text and f"{expected - 2} more" in text
    assert "2,000 tokens/s" in text
    # eval noise (±0.02) is larger than half the difference (0.012): say how many eval tokens would do
    assert c.eval_tokens_needed == pytest.approx(50_000 * (2 * 0.02 / 0.012) ** 2)
    assert "eval tokens" in text


def test_one_seed_each_says_it_cannot_separate_seed_noise():
    c = compare(rows(1), "boiler", "clean", metric="bpb", higher_is_better=False)
    assert c.verdict == "cannot tell" and c.seeds_needed is None
    assert "one seed each cannot separate" in c.advice()


def test_every_variant_against_the_best_and_a_baseline():
    table = rows(4)
    order = [s.variant for s in leaderboard(table)]
    assert order == ["clean", "boiler", "shuffled"]
    found = compare_variants(table, order, metric="bpb", higher_is_better=False, baseline="boiler")
    assert set(found["clean"]) == {"baseline"}  # the best is not compared with itself
    assert set(found["boiler"]) == {"best"}
    assert set(found["shuffled"]) == {"best", "baseline"}
    assert found["shuffled"]["best"].difference.mean == pytest.approx(0.08)
    assert found["shuffled"]["best"].verdict == "worse"
    assert found["clean"]["baseline"].verdict == "better"


def test_terminal_table_and_report_show_the_verdicts():
    table = rows(2)
    standings = leaderboard(table)
    comparisons = sweep_comparisons(table, standings, "bpb", baseline="clean")
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(leaderboard_table(standings, "bpb", comparisons=comparisons))
    text = console.file.getvalue()
    assert "vs best (clean), paired" in text and "vs baseline (clean), paired" in text
    assert "cannot tell at this budget" in text and "worse" in text
    assert "boiler vs clean (best)" in text and "paired seeds" in text  # what would tell, under the table
    html = render_sweep_report(Path("sweep"), table, [None] * len(table), baseline="clean")
    assert "Paired comparisons" in html and "cannot tell at this budget" in html
    assert "eval-set ± (bootstrap)" in html


def test_a_baseline_without_the_metric_is_left_out():
    table = rows(2)
    standings = leaderboard(table)
    found = sweep_comparisons(table, standings, "bpb", baseline="gone")
    assert all(set(by_role) <= {"best"} for by_role in found.values())
