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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
    eval_half_width: float | None = None
    """The eval set's own error of the difference, folded into ``low``/``high`` (see
    :func:`with_eval_noise`); None: the interval is over seeds only."""

    @property
    def seed_half_width(self) -> float | None:
        """The half-width of the Student-t interval over seeds alone (None without an interval)."""
        if self.low is None or self.high is None:
            return None
        half = (self.high - self.low) / 2
        if self.eval_half_width is None:
            return half
        return math.sqrt(max(0.0, half * half - self.eval_half_width**2))

    @property
    def seeds_needed(self) -> int | None:
        """Seeds that would resolve a difference of the observed size (see :func:`seeds_needed`)."""
        if self.sd is None:
            return None
        return seeds_needed(
            self.mean, self.sd, confidence=self.confidence, eval_half_width=self.eval_half_width or 0.0
        )

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
            "seed_half_width": self.seed_half_width,
            "eval_half_width": self.eval_half_width,
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


def seeds_needed(
    difference: float,
    sd: float,
    *,
    confidence: float = 0.95,
    power: float = 0.8,
    eval_half_width: float = 0.0,
) -> int | None:
    """The fewest paired seeds at which a true difference of ``difference`` (paired standard
    deviation ``sd``) gives an interval that excludes zero with probability ``power``.

    The usual sample-size rule for a paired t-test, ``n >= ((t_{conf} + t_{power}) * sd / d)^2``
    with t quantiles at ``n - 1`` degrees of freedom, solved by counting up. ``sd == 0`` needs 2
    seeds (one pair gives no interval); a zero difference, or one that needs more than
    :data:`MAX_SEEDS`, gives None: no affordable number of seeds tells it apart.

    ``eval_half_width``: the eval set's own error of the difference, which seeds do not shrink
    (every seed scores the same documents); it is combined with the seeds' reach in quadrature,
    as in :func:`with_eval_noise`: ``sqrt(reach^2 + eval^2) <= |d|``. Where it is as large as
    the difference, no number of seeds resolves it (None).
    """
    if not math.isfinite(difference) or not math.isfinite(sd) or difference == 0:
        return None
    room = difference * difference - eval_half_width * eval_half_width
    if room <= 0:
        return None
    if sd == 0:
        return 2
    from scipy.stats import t

    for n in range(2, MAX_SEEDS + 1):
        df = n - 1
        reach = (t_quantile(confidence, df) + float(t.ppf(power, df))) * sd / math.sqrt(n)
        if reach * reach <= room:
            return n
    return None


def with_eval_noise(difference: PairedDifference, eval_half_width: float) -> PairedDifference:
    """``difference`` with the eval set's own error of it made part of its interval.

    Every variant is scored on the same eval documents, so the eval set's error of a difference
    is the bootstrap of the per-document difference (:func:`bootstrap_paired_ratio_difference`),
    not either score's absolute error. It is independent of the seed-to-seed spread, so the two
    half-widths add in quadrature::

        half = sqrt((t_{conf, n-1} * sd / sqrt(n))^2 + eval_half_width^2)

    and ``low``/``high`` = ``mean -/+ half``, with the verdict read again: better or worse needs
    both noise sources small against the difference. Without a seed interval (fewer than two
    pairs) the difference is returned with only ``eval_half_width`` recorded.
    """
    if not math.isfinite(eval_half_width) or eval_half_width < 0:
        raise ValueError(f"eval_half_width must be a finite number >= 0, got {eval_half_width}")
    if difference.low is None or difference.high is None:
        return replace(difference, eval_half_width=eval_half_width)
    seed_half = difference.seed_half_width or 0.0
    half = math.sqrt(seed_half * seed_half + eval_half_width * eval_half_width)
    low, high = difference.mean - half, difference.mean + half
    return replace(
        difference,
        low=low,
        high=high,
        verdict=interval_verdict(low, high, higher_is_better=difference.higher_is_better),
        eval_half_width=eval_half_width,
    )


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
    _check_items(num, den)
    value = float(num.sum() / den.sum())
    if num.size == 1:
        return Interval(value, value, value, confidence)
    ratios = _replicates(
        num.size, resamples, seed, lambda picks: num[picks].sum(axis=1) / den[picks].sum(axis=1)
    )
    return percentile_interval(value, ratios, confidence=confidence)


def _replicates(
    size: int, resamples: int, seed: int, statistic: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``statistic`` of ``resamples`` draws of ``size`` item indices with replacement (one row of
    indices a draw), drawn a block at a time: an eval set of 100k documents stays a few MB per block."""
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, BOOTSTRAP_BLOCK // size))
    out = np.empty(resamples, dtype=np.float64)
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        out[start:stop] = statistic(rng.integers(0, size, size=(stop - start, size)))
    return out


def _check_items(*arrays: np.ndarray) -> None:
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1 or arrays[0].size == 0:
        raise ValueError("the numerators and denominators must be non-empty 1-D sequences of one length")


def paired_ratio_difference_replicates(
    num_a: Sequence[float] | np.ndarray,
    den_a: Sequence[float] | np.ndarray,
    num_b: Sequence[float] | np.ndarray,
    den_b: Sequence[float] | np.ndarray,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, np.ndarray]:
    """``sum(num_a)/sum(den_a) - sum(num_b)/sum(den_b)`` over the same items, and ``resamples``
    bootstrap replicates of it: each draws item indices with replacement once and applies them to
    all four arrays (item i of ``a`` and of ``b`` are one document scored twice)."""
    arrays = [np.asarray(x, dtype=np.float64) for x in (num_a, den_a, num_b, den_b)]
    _check_items(*arrays)
    na, da, nb, db = arrays
    value = float(na.sum() / da.sum() - nb.sum() / db.sum())

    def difference(picks: np.ndarray) -> np.ndarray:
        return na[picks].sum(axis=1) / da[picks].sum(axis=1) - nb[picks].sum(axis=1) / db[picks].sum(axis=1)

    return value, _replicates(na.size, resamples, seed, difference)


def percentile_interval(value: float, replicates: np.ndarray, *, confidence: float = 0.95) -> Interval:
    """The percentile bootstrap interval of ``replicates`` around the estimate ``value``."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(np.asarray(replicates, dtype=np.float64), [tail, 100 - tail])
    return Interval(value, float(low), float(high), confidence)


def bootstrap_paired_ratio_difference(
    num_a: Sequence[float] | np.ndarray,
    den_a: Sequence[float] | np.ndarray,
    num_b: Sequence[float] | np.ndarray,
    den_b: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """The difference of two ratios over the same items, ``sum(num_a)/sum(den_a) -
    sum(num_b)/sum(den_b)``, with a percentile bootstrap that resamples item indices jointly.

    Two models scored on one eval set: bits per byte of A minus that of B, each document's bits
    and bytes under both. A document that is hard for one model is hard for the other, so most of
    the eval set's absolute error (:func:`bootstrap_ratio`) cancels in the difference; resampling
    the documents jointly measures what is left: how far the *difference* would move on another
    draw of documents. Identical inputs give a zero-width interval.
    """
    value, replicates = paired_ratio_difference_replicates(
        num_a, den_a, num_b, den_b, resamples=resamples, seed=seed
    )
    return percentile_interval(value, replicates, confidence=confidence)
