"""From per-seed scores to detections: each damaged copy against the clean data, paired by seed.

A copy is *detected* when the paired difference ``damaged - clean`` of the ranking metric over the
seeds both ran is worse at the chosen confidence (:func:`curate.stats.paired_difference`): the
whole interval lies on the bad side of zero. Anything else (an interval that straddles zero, a
single seed, a damaged copy that scored better) is not detected, and a defect not detected at any
dose is "not detectable at this budget": the loop cannot see it, which is not the same as the
data being free of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from curate.stats import PairedDifference, paired_difference

CLEAN = "clean"
NOT_DETECTABLE = "not detectable at this budget"


def variant_name(defect: str, dose: float) -> str:
    """The sweep variant of one defect at one dose: ``shuffle-0.25``."""
    return f"{defect}-{dose:g}"


@dataclass(frozen=True)
class Detection:
    """One defect at one dose against the clean data."""

    defect: str
    dose: float
    difference: PairedDifference

    @property
    def detected(self) -> bool:
        return self.difference.verdict == "worse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "defect": self.defect,
            "dose": self.dose,
            "variant": variant_name(self.defect, self.dose),
            "detected": self.detected,
            **{f"difference_{k}": v for k, v in self.difference.to_dict().items()},
        }


def calibration_table(
    scores: Mapping[str, Mapping[Any, float]],
    *,
    defects: Sequence[str],
    doses: Sequence[float],
    higher_is_better: bool = False,
    confidence: float = 0.95,
) -> list[Detection]:
    """Every (defect, dose) against ``scores["clean"]``, by seed; ``scores`` maps variant names
    (:func:`variant_name`) to {seed: metric}. A variant with no scores gets an empty difference
    (verdict "cannot tell")."""
    clean = scores.get(CLEAN, {})
    rows = []
    for defect in defects:
        for dose in sorted(doses):
            damaged = scores.get(variant_name(defect, dose), {})
            diff = paired_difference(damaged, clean, higher_is_better=higher_is_better, confidence=confidence)
            rows.append(Detection(defect, dose, diff))
    return rows


def smallest_detected(rows: Sequence[Detection]) -> dict[str, float | None]:
    """Per defect, the smallest dose detected (None: not detected at any dose tried)."""
    out: dict[str, float | None] = {}
    for row in rows:
        out.setdefault(row.defect, None)
        if row.detected and (out[row.defect] is None or row.dose < out[row.defect]):  # type: ignore[operator]
            out[row.defect] = row.dose
    return out


def describe(row: Detection, *, metric: str) -> str:
    """``+0.071 bpb [+0.052, +0.090], worse`` (or why there is no interval)."""
    d = row.difference
    if d.n == 0:
        return "no paired runs"
    if d.low is None or d.high is None:
        return f"{d.mean:+.4f} {metric} over 1 seed: no interval (2 seeds or more give one)"
    return f"{d.mean:+.4f} {metric} [{d.low:+.4f}, {d.high:+.4f}], {d.verdict}"


def verdict_lines(rows: Sequence[Detection], *, metric: str, epochs: float | None = None) -> list[str]:
    """One line per defect: the smallest dose detected and its difference, or "not detectable at
    this budget" with the largest dose's difference and the seeds that would resolve it."""
    lines = []
    smallest = smallest_detected(rows)
    for defect, dose in smallest.items():
        ofdefect = [r for r in rows if r.defect == defect]
        if dose is not None:
            row = next(r for r in ofdefect if r.dose == dose)
            lines.append(f"{defect}: detected from a {dose:.0%} dose ({describe(row, metric=metric)})")
            continue
        worst = max(ofdefect, key=lambda r: r.dose)
        text = f"{defect}: {NOT_DETECTABLE} (at {worst.dose:.0%}: {describe(worst, metric=metric)}"
        d = worst.difference
        worse_on_average = d.mean < 0 if d.higher_is_better else d.mean > 0
        if worse_on_average:
            if d.seeds_needed is not None:
                text += f"; about {d.seeds_needed} seeds would resolve a difference of this size"
            elif d.sd is not None:
                text += "; no affordable number of seeds resolves a difference this small"
        elif d.n:
            text += "; the damaged copy did not even score worse on average"
        text += ")"
        if defect == "duplicate":
            text += "; " + duplicate_budget(epochs)
        lines.append(text)
    return lines


def duplicate_budget(epochs: float | None) -> str:
    """What budget would expose repetition, against the epochs the current budget reaches."""
    reach = "" if epochs is None else f"this budget passes over the clean data {epochs:.2g} times; "
    return (
        f"{reach}a repeated document only costs a small proxy something once training passes over the data "
        "several times (more epochs: more steps on the same data, or calibrate on a smaller slice of it "
        "with --epochs 2.5; see docs/calibrate.md)"
    )
