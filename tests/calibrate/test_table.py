"""The calibration table from per-seed scores with known answers."""

from __future__ import annotations

import pytest

from curate.calibrate.table import (
    NOT_DETECTABLE,
    calibration_table,
    duplicate_budget,
    smallest_detected,
    verdict_lines,
)

CLEAN = {0: 2.114, 1: 2.130, 2: 2.121}
SCORES = {
    "clean": CLEAN,
    # consistently worse by about 0.07, 0.03, 0.015: all detected with 3 seeds
    "shuffle-0.1": {s: v + 0.015 + 0.001 * s for s, v in CLEAN.items()},
    "shuffle-0.25": {s: v + 0.03 + 0.002 * s for s, v in CLEAN.items()},
    "shuffle-0.5": {s: v + 0.07 - 0.003 * s for s, v in CLEAN.items()},
    # noise around zero: never detected
    "duplicate-0.1": {0: 2.116, 1: 2.126, 2: 2.123},
    "duplicate-0.25": {0: 2.112, 1: 2.140, 2: 2.118},
    "duplicate-0.5": {0: 2.110, 1: 2.145, 2: 2.125},
    # detected at the two larger doses only
    "boilerplate-0.1": {0: 2.120, 1: 2.126, 2: 2.125},
    "boilerplate-0.25": {s: v + 0.015 + 0.001 * (s % 2) for s, v in CLEAN.items()},
    "boilerplate-0.5": {s: v + 0.03 + 0.001 * (s % 2) for s, v in CLEAN.items()},
}
DOSES = [0.5, 0.1, 0.25]


@pytest.fixture
def rows():
    return calibration_table(SCORES, defects=["shuffle", "duplicate", "boilerplate"], doses=DOSES)


def test_table_has_every_defect_and_dose_in_dose_order_with_paired_differences(rows):
    assert [(r.defect, r.dose) for r in rows][:3] == [("shuffle", 0.1), ("shuffle", 0.25), ("shuffle", 0.5)]
    shuffle = rows[0].difference
    assert shuffle.n == 3 and shuffle.mean == pytest.approx(0.016)
    assert shuffle.verdict == "worse" and shuffle.low > 0


def test_smallest_detected_dose_per_defect(rows):
    assert smallest_detected(rows) == {"shuffle": 0.1, "duplicate": None, "boilerplate": 0.25}


def test_a_defect_never_detected_is_not_detectable_at_this_budget_never_an_all_clear(rows):
    lines = verdict_lines(rows, metric="bpb", epochs=0.5)
    duplicate = next(line for line in lines if line.startswith("duplicate"))
    assert NOT_DETECTABLE in duplicate
    assert "0.5 times" in duplicate and "epochs" in duplicate  # says what budget would expose it
    assert next(line for line in lines if line.startswith("shuffle")).startswith(
        "shuffle: detected from a 10% dose"
    )


def test_a_single_seed_detects_nothing():
    one = {k: {0: v[0]} for k, v in SCORES.items()}
    rows = calibration_table(one, defects=["shuffle"], doses=DOSES)
    assert all(not r.detected and r.difference.low is None for r in rows)
    assert NOT_DETECTABLE in verdict_lines(rows, metric="bpb")[0]


def test_missing_runs_give_no_difference_and_no_detection():
    rows = calibration_table({"clean": CLEAN}, defects=["shuffle"], doses=[0.5])
    assert rows[0].difference.n == 0 and not rows[0].detected


def test_higher_is_better_metrics_detect_a_drop():
    acc = {"clean": {0: 0.70, 1: 0.72, 2: 0.71}, "shuffle-0.5": {0: 0.60, 1: 0.63, 2: 0.61}}
    (row,) = calibration_table(acc, defects=["shuffle"], doses=[0.5], higher_is_better=True)
    assert row.detected


def test_duplicate_budget_states_the_epochs_reached():
    assert "passes over the clean data 0.5 times" in duplicate_budget(0.5)
    assert "budget passes" not in duplicate_budget(None)
