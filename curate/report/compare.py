"""Paired comparisons of sweep variants: for each variant, the difference in the ranking metric
against the best variant and against a named baseline, paired over the seeds both ran, with its
95% interval, a verdict (better / worse / cannot tell at this budget) and, where it cannot tell,
what would: the seeds that a difference of the observed size needs (from the observed paired
spread) and what they cost at the runs' measured training speed, or the eval tokens that bring the
eval set's own sampling error under the difference.

**Eval noise is part of the interval** (bits-per-byte metrics: ``bpb``, ``<set>.bpb``,
``avg.bpb``). Every variant is scored on the same eval documents, so the eval set's error of a
*difference* is not either score's absolute bootstrap error (most of that cancels) but the
bootstrap of the per-document difference: each document's bits under the variant and under the
reference, each averaged over the paired seeds, over the same documents' bytes; the documents
are resampled jointly (:func:`curate.stats.bootstrap_paired_ratio_difference`; for ``avg.bpb``
each set is resampled on its own and the sets' differences averaged, as the metric is). The
per-document terms are averaged over seeds before the bootstrap, because every seed scores the
*same* documents: another draw of documents would move all seeds together, so that error does
not shrink as seeds are added, and averaging per-seed half-widths instead would also count, a
second time, the document-by-seed noise that the seed interval already holds. The reported
interval is ``mean ± sqrt(h_seeds^2 + h_eval^2)``, ``h_seeds = t_{0.975, n-1} * sd / sqrt(n)``
over the paired seed differences and ``h_eval`` the bootstrap's 95% half-width: better or worse
needs both noise sources small against the difference. Runs without per-document scores (scored
before curate kept ``RUN_DIR/eval_docs/``; ``curate score RUN_DIR`` writes them) keep the
seed-only interval, and the comparison says so (``eval_fallback``).

Input is the sweep's rows (see :mod:`curate.report.sweep`); a row may carry, besides its metrics,
``run_dir`` (where its ``score.json`` and ``eval_docs/`` are), ``train: {seconds, tokens,
tokens_per_s}`` (how long its training took) and ``eval: {noise: {metric: half-width}, tokens}``
(the eval set's absolute bootstrap interval, see ``curate.train.evalset.eval_noise``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from curate.stats import (
    PairedDifference,
    paired_difference,
    paired_ratio_difference_replicates,
    percentile_interval,
    with_eval_noise,
)

Role = Literal["best", "baseline"]
VERDICT_TEXT = {"better": "better", "worse": "worse", "cannot tell": "cannot tell at this budget"}


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)):
        return float(value)
    return None


_RESERVED = {"variant", "seed", "weights", "realised", "metrics", "run_dir", "train", "eval"}


def row_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """The metrics of a leaderboard row (its ``metrics`` mapping, else its other numeric keys)."""
    source = (
        row.get("metrics")
        if isinstance(row.get("metrics"), Mapping)
        else {k: v for k, v in row.items() if k not in _RESERVED}
    )
    return {
        k: float(v)
        for k, v in source.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }


def per_seed(rows: Sequence[Mapping[str, Any]], variant: str, metric: str) -> dict[Any, float]:
    """``{seed: value}`` of ``metric`` over the rows of ``variant``."""
    out: dict[Any, float] = {}
    for row in rows:
        if str(row.get("variant")) == variant:
            value = row_metrics(row).get(metric)
            if value is not None:
                out[row.get("seed")] = value
    return out


def run_seconds(row: Mapping[str, Any]) -> float | None:
    """How long a row's training took: its tokens over its measured tokens/s, else its wall time."""
    train = row.get("train") if isinstance(row.get("train"), Mapping) else {}
    tokens, speed = _number(train.get("tokens")), _number(train.get("tokens_per_s"))
    if tokens is not None and speed:
        return tokens / speed
    return _number(train.get("seconds"))


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


@dataclass(frozen=True)
class Comparison:
    """``variant - reference`` in ``metric``, paired over seeds (see :class:`PairedDifference`).

    ``seconds_per_seed``: the training time one more seed of both variants costs (mean measured
    run time of each, summed); ``tokens_per_s``: the measured training speed it rests on.
    ``eval_noise``: the mean half-width of the eval set's absolute bootstrap interval over the
    two variants' runs; ``eval_tokens``: the eval tokens a run scores. ``difference.
    eval_half_width`` (:attr:`eval_error`): the eval set's paired error of the difference, already
    in ``difference.low``/``high`` (see the module docstring); ``eval_fallback``: why the interval
    is over seeds only where it could have held eval noise (None otherwise)."""

    variant: str
    reference: str
    role: Role
    metric: str
    difference: PairedDifference
    seconds_per_seed: float | None = None
    tokens_per_s: float | None = None
    eval_noise: float | None = None
    eval_tokens: float | None = None
    eval_fallback: str | None = None

    @property
    def eval_error(self) -> float | None:
        """The eval set's error of the difference (paired bootstrap half-width), None if unknown."""
        return self.difference.eval_half_width

    @property
    def verdict(self) -> str:
        return self.difference.verdict

    @property
    def seeds_needed(self) -> int | None:
        return self.difference.seeds_needed

    @property
    def more_seeds(self) -> int | None:
        """Seeds to add to the ones both variants ran (None: unknown or no affordable number)."""
        needed = self.seeds_needed
        return None if needed is None else max(0, needed - self.difference.n)

    @property
    def more_seconds(self) -> float | None:
        """Training time of :attr:`more_seeds` more seeds of both variants, at the measured speed."""
        if self.more_seeds is None or self.seconds_per_seed is None:
            return None
        return self.more_seeds * self.seconds_per_seed

    @property
    def _eval_half(self) -> float | None:
        """The eval error the advice works from: the paired one, else (older runs) the absolute."""
        return self.eval_error if self.eval_error is not None else self.eval_noise

    @property
    def eval_tokens_needed(self) -> float | None:
        """Eval tokens at which the eval set's error of the difference (it falls as
        1/sqrt(tokens)) would be half the observed difference; None where it already is, or where
        nothing is measured. From the paired error where the runs keep per-document scores, else
        from the absolute one (an overestimate: most of it cancels in a difference)."""
        d, half = self.difference.mean, self._eval_half
        if half is None or self.eval_tokens is None or not math.isfinite(d) or d == 0:
            return None
        if half <= abs(d) / 2:
            return None
        return self.eval_tokens * (2 * half / abs(d)) ** 2

    def interval_text(self) -> str:
        """``+0.0123 [+0.0045, +0.0201]``; the mean alone with one seed."""
        d = self.difference
        if not math.isfinite(d.mean):
            return "–"
        if d.low is None or d.high is None:
            return f"{d.mean:+.4g} (1 seed)"
        return f"{d.mean:+.4g} [{d.low:+.3g}, {d.high:+.3g}]"

    def cell(self) -> str:
        """The table cell: the difference, its interval and the verdict."""
        return f"{self.interval_text()} {VERDICT_TEXT[self.verdict]}"

    def advice(self) -> str | None:
        """What would tell the two apart, in words (None when the verdict is already clear)."""
        if self.verdict != "cannot tell":
            return None
        d = self.difference
        head = f"{self.variant} vs {self.reference} ({self.role}): {self.metric} {self.interval_text()}, cannot tell"
        parts: list[str] = []
        if d.n == 0:
            return f"{head}: no seed ran for both"
        if d.n == 1:
            parts.append("one seed each cannot separate a difference from seed noise: run at least 2 seeds")
        elif d.mean == 0 and d.sd == 0:
            parts.append("identical in every seed: at this budget the two are the same")
        elif self.seeds_needed is None and self.eval_error is not None and self.eval_error >= abs(d.mean):
            parts.append(
                f"the eval set's error of the difference (±{self.eval_error:.2g}) is as large as the difference: "
                "more seeds cannot settle it (every seed scores the same documents)"
            )
        elif self.seeds_needed is None:
            parts.append(
                f"a difference of {abs(d.mean):.2g} against a paired seed spread of {d.sd:.2g} would need more "
                "than 1000 seeds: at this budget the two are the same"
            )
        else:
            cost = ""
            if self.more_seconds is not None:
                speed = f" at the measured {self.tokens_per_s:,.0f} tokens/s" if self.tokens_per_s else ""
                cost = f", about {_duration(self.more_seconds)} more training{speed}"
            parts.append(
                f"a difference of this size needs about {self.seeds_needed} paired seeds "
                f"(paired sd {d.sd:.2g}; {self.more_seeds} more{cost})"
            )
        needed = self.eval_tokens_needed
        if needed is not None:
            which = (
                "error of the difference (±{:.2g}, paired bootstrap over the same documents)"
                if self.eval_error is not None
                else "own error (±{:.2g}, bootstrap over documents; absolute, an overestimate for a difference)"
            ).format(self._eval_half)
            parts.append(
                f"the eval set's {which} is larger than half the difference: score on about "
                f"{_round(needed):,} eval tokens (now {self.eval_tokens:,.0f})"
            )
        if self.eval_fallback is not None:
            parts.append(self.eval_fallback)
        return f"{head}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "reference": self.reference,
            "role": self.role,
            "metric": self.metric,
            **self.difference.to_dict(),
            "more_seeds": self.more_seeds,
            "seconds_per_seed": self.seconds_per_seed,
            "more_seconds": self.more_seconds,
            "tokens_per_s": self.tokens_per_s,
            "eval_noise": self.eval_noise,
            "eval_error": self.eval_error,
            "eval_fallback": self.eval_fallback,
            "eval_tokens": self.eval_tokens,
            "eval_tokens_needed": self.eval_tokens_needed,
            "advice": self.advice(),
        }


def _round(value: float) -> int:
    """Two significant digits: an estimate, not a count."""
    digits = max(0, len(str(int(value))) - 2)
    return int(round(value, -digits))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def eval_noise_of(rows: Sequence[Mapping[str, Any]], variant: str, metric: str) -> float | None:
    """The mean over a variant's runs of the eval set's bootstrap half-width of ``metric``."""
    values = []
    for row in rows:
        if str(row.get("variant")) == variant and isinstance(row.get("eval"), Mapping):
            noise = row["eval"].get("noise")
            values.append(_number(noise.get(metric)) if isinstance(noise, Mapping) else None)
    return _mean(values)


def _eval_tokens(rows: Sequence[Mapping[str, Any]], variants: Sequence[str]) -> float | None:
    return _mean(
        [
            _number(row["eval"].get("tokens"))
            for row in rows
            if str(row.get("variant")) in variants and isinstance(row.get("eval"), Mapping)
        ]
    )


def is_bpb(metric: str) -> bool:
    """Whether ``metric`` is an eval set's bits per byte (``bpb``, ``<set>.bpb``, ``avg.bpb``), the
    metrics whose eval noise the runs' per-document scores measure."""
    return metric == "bpb" or (metric.endswith(".bpb") and not metric.startswith("tasks."))


DocsByRun = dict[str, dict[str, dict[str, Any]]]
"""``{run_dir: {metric: {set: DocScores}}}`` (see ``curate.train.eval_docs.run_eval_docs``)."""

FALLBACK_TEXT = (
    "the interval is over seeds only: these runs keep no per-document eval scores (scored before curate "
    "wrote RUN_DIR/eval_docs/, or on other documents); `curate score RUN_DIR` on each run adds them"
)


def load_eval_docs(rows: Sequence[Mapping[str, Any]]) -> DocsByRun:
    """The per-document eval scores of every row's run directory that has them (read once)."""
    from curate.io.rundir import RunLayout
    from curate.io.writers import read_json
    from curate.train.eval_docs import run_eval_docs

    out: DocsByRun = {}
    for row in rows:
        run_dir = row.get("run_dir")
        if not run_dir or str(run_dir) in out:
            continue
        score_file = RunLayout(Path(str(run_dir))).score_file
        try:
            score = read_json(score_file) if score_file.is_file() else None
        except (OSError, ValueError):
            score = None
        out[str(run_dir)] = run_eval_docs(run_dir, score) if isinstance(score, Mapping) else {}
    return out


def _docs_by_seed(
    rows: Sequence[Mapping[str, Any]], variant: str, metric: str, docs: DocsByRun
) -> dict[Any, dict[str, Any]]:
    out = {}
    for row in rows:
        if str(row.get("variant")) == variant and row.get("run_dir"):
            found = docs.get(str(row["run_dir"]), {}).get(metric)
            if found:
                out[row.get("seed")] = found
    return out


def paired_eval_error(
    variant: Mapping[Any, Mapping[str, Any]],
    reference: Mapping[Any, Mapping[str, Any]],
    seeds: Sequence[Any],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
) -> float | None:
    """The eval set's error of ``variant - reference`` in bits per byte: the half-width of a
    paired bootstrap over the eval documents (see the module docstring).

    ``variant``/``reference``: ``{seed: {set: DocScores}}``; ``seeds``: the paired seeds. Each
    document's bits are averaged over the seeds per side, then the documents are resampled
    jointly; with several sets (``avg.bpb``) each set is resampled independently and the sets'
    differences averaged. None unless every seed has every set on both sides, on the same
    documents."""
    if not seeds or any(s not in variant or s not in reference for s in seeds):
        return None
    names = sorted(variant[seeds[0]])
    if not names or any(set(side[s]) != set(names) for s in seeds for side in (variant, reference)):
        return None
    replicates, values = [], []
    for k, name in enumerate(names):
        runs = [side[s].get(name) for s in seeds for side in (variant, reference)]
        if any(r is None for r in runs) or not all(runs[0].pairs_with(r) for r in runs[1:]):
            return None
        n_bytes = runs[0].bytes.astype(np.float64)
        a = np.mean([variant[s][name].bits for s in seeds], axis=0)
        b = np.mean([reference[s][name].bits for s in seeds], axis=0)
        value, reps = paired_ratio_difference_replicates(a, n_bytes, b, n_bytes, resamples=resamples, seed=k)
        values.append(value)
        replicates.append(reps)
    interval = percentile_interval(float(np.mean(values)), np.mean(replicates, axis=0), confidence=confidence)
    return interval.half_width


def compare(
    rows: Sequence[Mapping[str, Any]],
    variant: str,
    reference: str,
    *,
    metric: str,
    higher_is_better: bool,
    role: Role = "baseline",
    confidence: float = 0.95,
    eval_docs: DocsByRun | None = None,
) -> Comparison:
    """``variant - reference`` in ``metric`` over the seeds both ran, with its costs; for a
    bits-per-byte metric, with the eval set's paired error in its interval where the runs keep
    per-document scores (``eval_docs``: from :func:`load_eval_docs`, read here when not given)."""
    difference = paired_difference(
        per_seed(rows, variant, metric),
        per_seed(rows, reference, metric),
        higher_is_better=higher_is_better,
        confidence=confidence,
    )
    fallback = None
    if is_bpb(metric) and difference.n:
        docs = load_eval_docs(rows) if eval_docs is None else eval_docs
        error = paired_eval_error(
            _docs_by_seed(rows, variant, metric, docs),
            _docs_by_seed(rows, reference, metric, docs),
            difference.seeds,
            confidence=confidence,
        )
        if error is None:
            fallback = FALLBACK_TEXT
        else:
            difference = with_eval_noise(difference, error)
    seconds = {
        v: _mean([run_seconds(r) for r in rows if str(r.get("variant")) == v]) for v in (variant, reference)
    }
    per_seed_cost = None if None in seconds.values() else sum(seconds.values())  # type: ignore[arg-type]
    speeds = [
        _number(r["train"].get("tokens_per_s"))
        for r in rows
        if str(r.get("variant")) in (variant, reference) and isinstance(r.get("train"), Mapping)
    ]
    noise = _mean([eval_noise_of(rows, v, metric) for v in (variant, reference)])
    return Comparison(
        variant,
        reference,
        role,
        metric,
        difference,
        seconds_per_seed=per_seed_cost,
        tokens_per_s=_mean(speeds),
        eval_noise=noise,
        eval_tokens=_eval_tokens(rows, (variant, reference)),
        eval_fallback=fallback,
    )


def compare_variants(
    rows: Sequence[Mapping[str, Any]],
    order: Sequence[str],
    *,
    metric: str,
    higher_is_better: bool,
    baseline: str | None = None,
    confidence: float = 0.95,
) -> dict[str, dict[Role, Comparison]]:
    """Every variant of ``order`` (the leaderboard's, best first) against the best (``order[0]``)
    and against ``baseline``: ``{variant: {"best": ..., "baseline": ...}}``; a variant is not
    compared with itself."""
    out: dict[str, dict[Role, Comparison]] = {}
    if not order:
        return out
    references: list[tuple[Role, str]] = [("best", order[0])]
    if baseline is not None:
        references.append(("baseline", baseline))
    docs = load_eval_docs(rows) if is_bpb(metric) else {}
    for variant in order:
        out[variant] = {
            role: compare(
                rows,
                variant,
                reference,
                metric=metric,
                higher_is_better=higher_is_better,
                role=role,
                confidence=confidence,
                eval_docs=docs,
            )
            for role, reference in references
            if reference != variant
        }
    return out


def advice_lines(comparisons: Mapping[str, Mapping[Role, Comparison]]) -> list[str]:
    """What would settle each comparison that cannot tell, one line each (a pair compared twice,
    as best and as baseline, once)."""
    lines, seen = [], set()
    for by_role in comparisons.values():
        for c in by_role.values():
            key = frozenset((c.variant, c.reference))
            text = c.advice()
            if text is not None and key not in seen:
                seen.add(key)
                lines.append(text)
    return lines
