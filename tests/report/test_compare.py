"""Paired comparisons of sweep variants on synthetic leaderboards with known answers: the
difference, its interval and verdict, the seeds and the time a "cannot tell" needs, and where the
terminal table, the leaderboard files and the sweep report show them."""

from __future__ import annotations

import io
import math
import shutil
import statistics
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from curate.report.compare import compare, compare_variants
from curate.report.sweep import leaderboard, render_sweep_report, sweep_comparisons
from curate.stats import bootstrap_paired_ratio_difference, seeds_needed
from curate.sweep.runner import leaderboard_table
from curate.train.eval_docs import DocScores, read_eval_docs, write_run_eval_docs
from curate.train.score import write_score_json

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


# -- the eval set's error of the difference, from the runs' per-document scores --------------------

DOCS, DOC_BYTES = 200, 1000


def _centred(rng, sd: float) -> np.ndarray:
    x = rng.normal(0.0, sd, size=DOCS)
    return x - x.mean()  # exactly mean zero: the set's bpb is what the table says


def doc_rows(root: Path, seeds: int, *, spread: float, sets: tuple[str, ...] = ("eval",)) -> list[dict]:
    """Runs of `clean` and `boiler` with score.json and eval_docs/: every document has its own
    difficulty (shared by the variants), and `boiler`'s per-document change has mean PAIRED[s]
    and standard deviation `spread` over documents (the same documents in every seed)."""
    rng = np.random.default_rng(7)
    n_bytes = np.full(DOCS, DOC_BYTES, dtype=np.int64)
    difficulty = {name: _centred(rng, 0.4) for name in sets}
    change = {name: _centred(rng, spread) for name in sets}
    out = []
    for s in range(seeds):
        base = 2.10 + SEED_EFFECT[s]
        for variant in ("clean", "boiler"):
            run_dir = root / f"{variant}-s{s}"
            docs = {}
            for name in sets:
                per_byte = (
                    base + difficulty[name] + (PAIRED[s] + change[name] if variant == "boiler" else 0.0)
                )
                docs[name] = DocScores(per_byte * DOC_BYTES, n_bytes, "same-documents")
            write_run_eval_docs(run_dir, docs)
            score = {"sets": {name: {"metrics": {"bpb": d.bpb}} for name, d in docs.items()}}
            if len(sets) > 1:
                score["avg"] = {"bpb": float(np.mean([d.bpb for d in docs.values()]))}
            write_score_json(run_dir / "score.json", score)
            metric = "bpb" if len(sets) == 1 else "avg.bpb"
            out.append(
                {
                    "variant": variant,
                    "seed": s,
                    "metrics": {metric: score["avg"]["bpb"] if len(sets) > 1 else docs[sets[0]].bpb},
                    "run_dir": str(run_dir),
                    "eval": {"noise": {metric: 0.05}, "tokens": 50_000},
                }
            )
    return out


def test_eval_error_of_the_difference_is_the_paired_bootstrap_and_adds_in_quadrature(tmp_path):
    table = doc_rows(tmp_path, 4, spread=0.05)
    c = compare(table, "boiler", "clean", metric="bpb", higher_is_better=False)
    # known answer: the bootstrap of the seed-averaged per-document difference over the same documents
    mean_bits = {
        v: np.mean(
            [read_eval_docs(tmp_path / f"{v}-s{s}" / "eval_docs" / "eval.npz").bits for s in range(4)], axis=0
        )
        for v in ("boiler", "clean")
    }
    n_bytes = np.full(DOCS, DOC_BYTES)
    expected = bootstrap_paired_ratio_difference(mean_bits["boiler"], n_bytes, mean_bits["clean"], n_bytes)
    assert c.eval_error == pytest.approx(expected.half_width)
    assert c.eval_error == pytest.approx(1.96 * 0.05 / math.sqrt(DOCS), rel=0.2)  # ~ 1.96 sd / sqrt(docs)
    assert c.eval_error < 0.05 / 5  # far under the absolute ±0.05 the rows carry: most of it cancels
    seed_half = 3.182446305284263 * statistics.stdev(PAIRED[:4]) / 2
    half = math.hypot(seed_half, expected.half_width)
    assert c.difference.mean == pytest.approx(statistics.fmean(PAIRED[:4]))
    assert c.difference.low == pytest.approx(c.difference.mean - half)
    assert c.difference.high == pytest.approx(c.difference.mean + half)
    assert c.verdict == "worse" and c.eval_fallback is None
    assert c.to_dict()["eval_error"] == c.eval_error and c.to_dict()["seed_half_width"] == pytest.approx(
        seed_half
    )


def test_verdict_turns_to_cannot_tell_when_the_eval_set_cannot_tell_though_seeds_agree(tmp_path):
    # the same seed differences as above (told apart over seeds), but the change helps half the
    # documents and hurts the other half: on another draw of documents it could go either way
    table = doc_rows(tmp_path, 4, spread=0.3)
    c = compare(table, "boiler", "clean", metric="bpb", higher_is_better=False)
    seeds_only = compare(
        [{k: v for k, v in r.items() if k != "run_dir"} for r in table],
        "boiler",
        "clean",
        metric="bpb",
        higher_is_better=False,
    )
    assert seeds_only.verdict == "worse"
    assert c.verdict == "cannot tell" and c.eval_error > abs(c.difference.mean)
    text = c.advice()
    assert "more seeds cannot settle it" in text and "paired bootstrap over the same documents" in text
    # eval tokens from the paired error, not the absolute ±0.05 the rows carry
    assert c.eval_tokens_needed == pytest.approx(50_000 * (2 * c.eval_error / abs(c.difference.mean)) ** 2)


def test_avg_bpb_resamples_each_set_and_averages_their_differences(tmp_path):
    table = doc_rows(tmp_path, 3, spread=0.05, sets=("web", "chat"))
    c = compare(table, "boiler", "clean", metric="avg.bpb", higher_is_better=False)
    assert c.eval_error is not None and c.eval_fallback is None
    one = compare(
        doc_rows(tmp_path / "one", 3, spread=0.05), "boiler", "clean", metric="bpb", higher_is_better=False
    )
    # two independent sets of the same size: about 1/sqrt(2) of one set's error
    assert c.eval_error == pytest.approx(one.eval_error / math.sqrt(2), rel=0.25)


def test_runs_without_per_document_scores_keep_the_seed_interval_and_say_so(tmp_path):
    table = doc_rows(tmp_path, 2, spread=0.05)
    for r in table:  # an older run: score.json only
        shutil.rmtree(Path(r["run_dir"]) / "eval_docs")
    c = compare(table, "boiler", "clean", metric="bpb", higher_is_better=False)
    plain = compare(rows(2), "boiler", "clean", metric="bpb", higher_is_better=False)
    assert c.eval_error is None and c.difference.low == pytest.approx(plain.difference.low)
    assert c.verdict == plain.verdict == "cannot tell"
    assert "over seeds only" in c.eval_fallback and "over seeds only" in c.advice()
    # the eval-token advice falls back on the absolute error, and says it overstates a difference's
    assert c.eval_tokens_needed == pytest.approx(50_000 * (2 * 0.05 / abs(c.difference.mean)) ** 2)
    assert "an overestimate" in c.advice()
    # one side with files, the other without: no pairing either
    table = doc_rows(tmp_path / "half", 2, spread=0.05)
    shutil.rmtree(Path(table[0]["run_dir"]) / "eval_docs")
    assert compare(table, "boiler", "clean", metric="bpb", higher_is_better=False).eval_error is None
