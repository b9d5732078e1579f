"""Paired differences, seeds needed and bootstrap intervals on tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curate.stats import (
    bootstrap_paired_ratio_difference,
    bootstrap_ratio,
    interval_verdict,
    paired_difference,
    seeds_needed,
    with_eval_noise,
)


def test_consistent_small_difference_is_told_apart_only_when_paired() -> None:
    # the boilerplate case: worse than clean in every seed by about the seed spread
    clean = {0: 2.114, 1: 2.130, 2: 2.121, 3: 2.109}
    boiler = {0: 2.132, 1: 2.145, 2: 2.138, 3: 2.126}
    diff = paired_difference(boiler, clean, higher_is_better=False)
    assert diff.n == 4 and diff.verdict == "worse"
    assert diff.low is not None and diff.low > 0
    assert diff.mean == pytest.approx(np.mean([0.018, 0.015, 0.017, 0.017]))
    # the same numbers unpaired: the two 95% intervals of the means overlap
    from curate.report.sweep import summarize_metric

    a, b = summarize_metric(list(clean.values())), summarize_metric(list(boiler.values()))
    assert a.mean + a.ci95 > b.mean - b.ci95


def test_interval_matches_student_t_by_hand() -> None:
    diff = paired_difference({1: 3.0, 2: 4.0, 3: 5.0}, {1: 2.0, 2: 2.0, 3: 2.0}, higher_is_better=True)
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert diff.mean == 2.0 and diff.sd == 1.0
    assert diff.low == pytest.approx(2.0 - half) and diff.high == pytest.approx(2.0 + half)
    assert diff.verdict == "cannot tell"  # the interval reaches below zero


def test_seeds_pair_by_key_and_unpaired_seeds_are_left_out() -> None:
    diff = paired_difference({0: 1.0, 1: 2.0, 7: 9.0}, {0: 0.5, 1: 1.0, 5: 0.0}, higher_is_better=True)
    assert diff.seeds == (0, 1) and diff.n == 2
    assert diff.mean == pytest.approx(0.75)


def test_one_pair_or_none_cannot_tell() -> None:
    one = paired_difference({0: 1.0}, {0: 0.0}, higher_is_better=True)
    assert one.verdict == "cannot tell" and one.low is None and one.seeds_needed is None
    none = paired_difference({0: 1.0}, {1: 0.0}, higher_is_better=True)
    assert none.n == 0 and math.isnan(none.mean) and none.verdict == "cannot tell"


@pytest.mark.parametrize(
    ("low", "high", "higher", "verdict"),
    [
        (0.1, 0.2, True, "better"),
        (0.1, 0.2, False, "worse"),
        (-0.2, -0.1, True, "worse"),
        (-0.2, -0.1, False, "better"),
        (-0.1, 0.1, False, "cannot tell"),
    ],
)
def test_verdict_reads_the_metric_direction(low: float, high: float, higher: bool, verdict: str) -> None:
    assert interval_verdict(low, high, higher_is_better=higher) == verdict


def test_seeds_needed_matches_the_paired_t_table() -> None:
    # effect size 1 (difference = sd), 5% two-sided, power 0.8: the textbook answer is 10 pairs
    assert seeds_needed(1.0, 1.0) == 10
    assert seeds_needed(-1.0, 1.0) == 10
    # halving the effect roughly quadruples the seeds
    assert 30 <= seeds_needed(0.5, 1.0) <= 36
    assert seeds_needed(0.0, 1.0) is None
    assert seeds_needed(1e-6, 1.0) is None  # beyond MAX_SEEDS
    assert seeds_needed(0.3, 0.0) == 2


def test_verdict_turns_from_cannot_tell_to_better_as_seeds_are_added() -> None:
    rng = np.random.default_rng(3)
    base = 2.1 + rng.normal(0, 0.02, size=16)  # seed-to-seed spread
    variant = base - 0.01 + rng.normal(0, 0.006, size=16)  # really better, by half the spread
    verdicts = [
        paired_difference(
            dict(enumerate(variant[:n])), dict(enumerate(base[:n])), higher_is_better=False
        ).verdict
        for n in (2, 16)
    ]
    assert verdicts == ["cannot tell", "better"]


def test_bootstrap_ratio_covers_the_value_and_narrows_with_more_documents() -> None:
    rng = np.random.default_rng(0)
    nbytes = rng.integers(200, 2000, size=2000).astype(float)
    bits = nbytes * rng.normal(2.0, 0.3, size=2000)
    small = bootstrap_ratio(bits[:100], nbytes[:100])
    large = bootstrap_ratio(bits, nbytes)
    assert large.value == pytest.approx(bits.sum() / nbytes.sum())
    assert small.low < small.value < small.high
    assert large.low < 2.0 < large.high
    assert large.half_width < small.half_width / 2
    assert bootstrap_ratio(bits, nbytes, seed=1).value == large.value
    assert bootstrap_ratio(bits, nbytes) == large  # deterministic for one seed


def test_bootstrap_ratio_refuses_mismatched_input() -> None:
    with pytest.raises(ValueError, match="one length"):
        bootstrap_ratio([1.0, 2.0], [1.0])


def test_bootstrap_ratio_draws_in_blocks_without_changing_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import curate.stats

    rng = np.random.default_rng(3)
    nbytes = rng.integers(100, 900, size=300).astype(float)
    bits = nbytes * rng.normal(1.5, 0.2, size=300)
    whole = bootstrap_ratio(bits, nbytes, resamples=500)
    monkeypatch.setattr(curate.stats, "BOOTSTRAP_BLOCK", 300 * 7)  # 7 resamples per block
    assert bootstrap_ratio(bits, nbytes, resamples=500) == whole


# -- the eval set's error of a difference: a paired bootstrap over the same documents --------------


def _docs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_bytes = rng.integers(200, 3000, size=n).astype(np.float64)
    bits = n_bytes * rng.normal(2.5, 0.4, size=n)  # documents of very different difficulty
    return bits, n_bytes


def test_paired_bootstrap_of_identical_inputs_has_zero_width() -> None:
    bits, n_bytes = _docs(300)
    got = bootstrap_paired_ratio_difference(bits, n_bytes, bits, n_bytes)
    assert (got.value, got.low, got.high) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_of_a_constant_shift_per_byte_is_that_shift_exactly() -> None:
    bits, n_bytes = _docs(300)
    # every document 0.03 bits per byte worse under A: the difference is 0.03 on any draw of documents
    got = bootstrap_paired_ratio_difference(bits + 0.03 * n_bytes, n_bytes, bits, n_bytes)
    assert got.value == pytest.approx(0.03, abs=1e-12)
    assert got.low == pytest.approx(0.03, abs=1e-12) and got.high == pytest.approx(0.03, abs=1e-12)
    # the same constant in bits per document, on documents of one length: also exact
    same = np.full(300, 1000.0)
    got = bootstrap_paired_ratio_difference(bits + 7.0, same, bits, same)
    assert got.value == pytest.approx(0.007, abs=1e-12) and got.half_width == pytest.approx(0.0, abs=1e-12)


def test_paired_bootstrap_of_a_mean_difference_matches_the_normal_interval() -> None:
    # unit denominators: the ratio is a mean, and the bootstrap half-width ~ 1.96 sd / sqrt(n)
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, size=2000)
    b = a - rng.normal(0.1, 0.5, size=2000)  # a - b: mean 0.1, sd 0.5
    ones = np.ones_like(a)
    got = bootstrap_paired_ratio_difference(a, ones, b, ones, resamples=4000)
    expected = 1.959963984540054 * float(np.std(a - b, ddof=1)) / math.sqrt(a.size)
    assert got.value == pytest.approx(float(np.mean(a - b)))
    assert got.half_width == pytest.approx(expected, rel=0.08)


def test_paired_bootstrap_is_far_narrower_than_the_unpaired_error_when_correlated() -> None:
    bits, n_bytes = _docs(400)
    rng = np.random.default_rng(2)
    other = bits * 0.99 + rng.normal(0, 0.02, size=bits.size) * n_bytes  # the same documents, scored again
    paired = bootstrap_paired_ratio_difference(other, n_bytes, bits, n_bytes)
    unpaired = math.hypot(
        bootstrap_ratio(other, n_bytes).half_width, bootstrap_ratio(bits, n_bytes).half_width
    )
    assert 0 < paired.half_width < unpaired / 5
    assert paired.low <= paired.value <= paired.high


def test_paired_bootstrap_refuses_items_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="one length"):
        bootstrap_paired_ratio_difference([1.0, 2.0], [1.0, 1.0], [1.0], [1.0])


def test_eval_noise_adds_to_the_seed_interval_in_quadrature() -> None:
    diff = paired_difference({1: 3.0, 2: 4.0, 3: 5.0}, {1: 2.0, 2: 2.0, 3: 2.0}, higher_is_better=True)
    seed_half = 4.302652729911275 / math.sqrt(3)
    combined = with_eval_noise(diff, 1.5)
    half = math.sqrt(seed_half**2 + 1.5**2)
    assert combined.low == pytest.approx(2.0 - half) and combined.high == pytest.approx(2.0 + half)
    assert combined.seed_half_width == pytest.approx(seed_half)
    assert combined.eval_half_width == 1.5 and combined.mean == diff.mean and combined.sd == diff.sd
    assert with_eval_noise(diff, 0.0).low == pytest.approx(diff.low)


def test_verdict_turns_to_cannot_tell_when_the_eval_noise_is_large_though_seeds_agree() -> None:
    variant = {0: 2.132, 1: 2.145, 2: 2.138, 3: 2.126}
    clean = {0: 2.114, 1: 2.130, 2: 2.121, 3: 2.109}
    diff = paired_difference(variant, clean, higher_is_better=False)
    assert diff.verdict == "worse"
    assert with_eval_noise(diff, 0.002).verdict == "worse"  # small eval error: still told apart
    wide = with_eval_noise(diff, 0.02)  # the eval set's error of the difference exceeds it
    assert wide.verdict == "cannot tell" and wide.low < 0 < wide.high
    # and no number of seeds fixes that: every seed scores the same documents
    assert wide.seeds_needed is None
    assert seeds_needed(diff.mean, diff.sd, eval_half_width=0.01) >= seeds_needed(diff.mean, diff.sd)  # type: ignore[operator]
