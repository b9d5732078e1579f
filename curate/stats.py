"""The statistics behind a verdict: paired differences over seeds, the seeds a difference needs,
and bootstrap intervals over eval documents.

A sweep trains every variant with the same seeds, so variant and baseline share an initialisation
and data order per seed; the seed-to-seed spread then cancels in their difference. Comparing the
two means with unpaired intervals throws that away and calls real, consistent differences a tie.
Everything here is plain arithmetic on small tables (a few seeds, a few thousand documents).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Verdict = Literal["better", "worse", "cannot tell"]
MAX_SEEDS = 1000
"""Where :func:`seeds_needed` stops looking: a difference that needs more is called unresolvable."""


@dataclass(frozen=True)
class PairedDifference:
    """``variant - baseline`` of one metric over the seeds both were run with.

    ``low``/``high`` bound the mean difference at ``confidence`` (Student t over the paired
    differences; None with fewer than two pairs). ``verdict`` reads the interval in the metric's
    direction: ``better`` when the whole interval lies on the good side of zero, ``worse`` on the
    bad side, ``cannot tell`` when it contains zero or there is no interval.
    """

    mean: float
    low: float | None
    high: float | None
    sd: float | None
    n: int
    seeds: tuple[Any, ...]
    verdict: Verdict
    higher_is_better: bool
    confidence: float

    @property
    def seeds_needed(self) -> int | None:
        """Seeds that would resolve a difference of the observed size (see :func:`seeds_needed`)."""
        if self.sd is None:
            return None
        return seeds_needed(self.mean, self.sd, confidence=self.confidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "sd": self.sd,
            "n": self.n,
            "seeds": list(self.seeds),
            "verdict": self.verdict,
            "higher_is_better": self.higher_is_better,
            "confidence": self.confidence,
            "seeds_needed": self.seeds_needed,
        }


def t_quantile(confidence: float, df: int) -> float:
    """The two-sided Student-t critical value for ``confidence`` with ``df`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def paired_difference(
    variant: Mapping[Any, float],
    baseline: Mapping[Any, float],
    *,
    higher_is_better: bool,
    confidence: float = 0.95,
) -> PairedDifference:
    """The paired difference ``variant - baseline`` over the seeds both have (keys: seeds).

    Seeds only one side has are left out: an unpaired seed carries the seed-to-seed spread the
    pairing exists to remove. Non-finite values are left out the same way.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    seeds = tuple(
        s
        for s in variant
        if s in baseline and math.isfinite(float(variant[s])) and math.isfinite(float(baseline[s]))
    )
    diffs = [float(variant[s]) - float(baseline[s]) for s in seeds]
    if not diffs:
        return PairedDifference(
            math.nan, None, None, None, 0, (), "cannot tell", higher_is_better, confidence
        )
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return PairedDifference(mean, None, None, None, 1, seeds, "cannot tell", higher_is_better, confidence)
    sd = statistics.stdev(diffs)
    half = t_quantile(confidence, len(diffs) - 1) * sd / math.sqrt(len(diffs))
    low, high = mean - half, mean + half
    return PairedDifference(
        mean,
        low,
        high,
        sd,
        len(diffs),
        seeds,
        interval_verdict(low, high, higher_is_better=higher_is_better),
        higher_is_better,
        confidence,
    )


def interval_verdict(low: float, high: float, *, higher_is_better: bool) -> Verdict:
    """better / worse / cannot tell for an interval of ``variant - baseline``."""
    if low > 0:
        return "better" if higher_is_better else "worse"
    if high < 0:
        return "worse" if higher_is_better else "better"
    return "cannot tell"


def seeds_needed(difference: float, sd: float, *, confidence: float = 0.95, power: float = 0.8) -> int | None:
    """The fewest paired seeds at which a true difference of ``difference`` (paired standard
    deviation ``sd``) gives an interval that excludes zero with probability ``power``.

    The usual sample-size rule for a paired t-test, ``n >= ((t_{conf} + t_{power}) * sd / d)^2``
    with t quantiles at ``n - 1`` degrees of freedom, solved by counting up. ``sd == 0`` needs 2
    seeds (one pair gives no interval); a zero difference, or one that needs more than
    :data:`MAX_SEEDS`, gives None: no affordable number of seeds tells it apart.
    """
    if not math.isfinite(difference) or not math.isfinite(sd) or difference == 0:
        return None
    if sd == 0:
        return 2
    from scipy.stats import t

    for n in range(2, MAX_SEEDS + 1):
        df = n - 1
        reach = (t_quantile(confidence, df) + float(t.ppf(power, df))) * sd / math.sqrt(n)
        if reach <= abs(difference):
            return n
    return None


BOOTSTRAP_BLOCK = 1 << 20
"""Document indices drawn at once by :func:`bootstrap_ratio` (bounds its memory)."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided interval."""

    value: float
    low: float
    high: float
    confidence: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def bootstrap_ratio(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """``sum(numerators) / sum(denominators)`` with a percentile bootstrap over items.

    Bits per byte over an eval set is such a ratio (bits of each document over its bytes);
    resampling whole documents gives the eval set's own sampling error: how much the score would
    move on another draw of documents of the same kind.
    """
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.shape != den.shape or num.ndim != 1 or num.size == 0:
        raise ValueError("numerators and denominators must be two non-empty 1-D sequences of one length")
    value = float(num.sum() / den.sum())
    if num.size == 1:
        return Interval(value, value, value, confidence)
    rng = np.random.default_rng(seed)
    # resamples drawn a block at a time: an eval set of 100k documents stays a few MB per block
    block = max(1, min(resamples, BOOTSTRAP_BLOCK // num.size))
    ratios = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        picks = rng.integers(0, num.size, size=(stop - start, num.size))
        ratios[start:stop] = num[picks].sum(axis=1) / den[picks].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Interval(value, float(low), float(high), confidence)
