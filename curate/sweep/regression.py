"""Mixture regression (RegMix-style): fit a metric on the per-source weights of a sweep's runs,
then search the simplex for the mixture the fit predicts best.

The weights of a mixture sum to 1, so an ordinary polynomial with an intercept is collinear with
them. The fit uses Scheffé's mixture polynomials instead (Scheffé 1958, "Experiments with
mixtures"; the standard form for mixture designs): linear ``y = sum_i b_i w_i`` and quadratic
``y = sum_i b_i w_i + sum_{i<j} b_ij w_i w_j``, by least squares (numpy). Sources whose weight is
the same in every run carry no information: they are held at that weight and the others are
modelled on what is left.

RegMix (Liu et al. 2024, "RegMix: Data Mixture as Regression for Language Model Pre-training")
fits many small runs and picks the mixture the regression predicts best; with a handful of
variants the prediction is a hint, not a result, and the report says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from curate.report.sweep import row_metrics

ModelKind = Literal["linear", "quadratic"]
SearchKind = Literal["hull", "simplex"]
CONSTANT = 1e-9  # weight spread below which a source counts as fixed


def n_terms(k: int, model: ModelKind) -> int:
    return k if model == "linear" else k + k * (k - 1) // 2


def design_matrix(weights: np.ndarray, model: ModelKind) -> np.ndarray:
    """Columns of the Scheffé polynomial for rows of weights (n x k, rows summing to 1)."""
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    if model == "linear":
        return weights
    pairs = [weights[:, i] * weights[:, j] for i, j in itertools.combinations(range(weights.shape[1]), 2)]
    return np.column_stack([weights, *pairs]) if pairs else weights


@dataclass(frozen=True)
class MixtureFit:
    """A fitted mixture polynomial over ``sources`` (weights renormalised over them)."""

    sources: tuple[str, ...]
    model: ModelKind
    coef: np.ndarray
    r2: float
    r2_loo: float | None
    n_points: int
    n_mixtures: int
    fixed: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def predict(self, weights: np.ndarray) -> np.ndarray:
        """Predicted metric for rows of weights over ``sources`` (each row summing to 1)."""
        return design_matrix(weights, self.model) @ self.coef


def fit_mixture(
    weights: np.ndarray,
    y: Sequence[float],
    *,
    sources: Sequence[str],
    model: Literal["auto", "linear", "quadratic"] = "auto",
    fixed: Mapping[str, float] | None = None,
) -> MixtureFit:
    """Least-squares fit of ``y`` on the rows of ``weights`` (n x k over ``sources``; rows are
    renormalised to sum 1). ``auto`` takes the quadratic when the distinct mixtures outnumber its
    terms, else the linear model. R^2 is in-sample; ``r2_loo`` is the leave-one-out R^2 (from the
    hat matrix), an honest figure for small sweeps (None when a point has all the leverage)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum(axis=1, keepdims=True)
    values = np.asarray(y, dtype=float)
    k = w.shape[1]
    n_mixtures = len({tuple(np.round(row, 6)) for row in w})
    if model == "auto":
        model = "quadratic" if n_mixtures > n_terms(k, "quadratic") else "linear"
    p = n_terms(k, model)
    x = design_matrix(w, model)
    coef, *_ = np.linalg.lstsq(x, values, rcond=None)
    residual = values - x @ coef
    total = float(np.sum((values - values.mean()) ** 2))
    r2 = 1.0 - float(residual @ residual) / total if total > 0 else float("nan")
    warnings = []
    if n_mixtures <= p:
        warnings.append(
            f"too few variants: {n_mixtures} distinct mixtures for {p} terms of the {model} fit; it "
            f"interpolates them (R^2 means nothing) — sweep at least {2 * p} mixtures (e.g. dirichlet: {{n: {2 * p}}})"
        )
    elif n_mixtures < 2 * p:
        warnings.append(
            f"few variants: {n_mixtures} distinct mixtures for {p} terms; treat the predicted best as a hint"
        )
    return MixtureFit(
        tuple(sources), model, coef, r2, _r2_loo(x, values, residual, total), len(values), n_mixtures,
        dict(fixed or {}), tuple(warnings),
    )  # fmt: skip


def _r2_loo(x: np.ndarray, y: np.ndarray, residual: np.ndarray, total: float) -> float | None:
    """1 - PRESS / total sum of squares; PRESS from leave-one-out residuals e_i / (1 - h_ii)."""
    if total <= 0 or len(y) <= x.shape[1]:
        return None
    leverage = np.einsum("ij,ji->i", x, np.linalg.pinv(x))
    if np.any(leverage > 1 - 1e-8):
        return None
    press = float(np.sum((residual / (1 - leverage)) ** 2))
    return 1.0 - press / total


def simplex_candidates(k: int, *, samples: int, seed: int = 0) -> np.ndarray:
    """Points to search: the vertices, a fine grid for 2-3 sources, and Dirichlet(1) draws."""
    points = [np.eye(k)]
    if k == 2:
        t = np.linspace(0.0, 1.0, 2001)
        points.append(np.column_stack([t, 1 - t]))
    elif k == 3:
        steps = 200
        grid = [(a, b, steps - a - b) for a in range(steps + 1) for b in range(steps + 1 - a)]
        points.append(np.asarray(grid, dtype=float) / steps)
    points.append(np.random.default_rng(seed).dirichlet(np.ones(k), size=samples))
    return np.concatenate(points)


def hull_candidates(points: np.ndarray, *, samples: int, seed: int = 0) -> np.ndarray:
    """Points between the given mixtures (inside their convex hull): the mixtures themselves, a
    fine line between every pair, and random convex combinations of ``k + 1`` of them."""
    points = np.asarray(points, dtype=float)
    m, k = points.shape
    parts = [points]
    if 2 <= m <= 64:
        t = np.linspace(0.0, 1.0, 201)[:, None]
        parts += [points[i] * (1 - t) + points[j] * t for i, j in itertools.combinations(range(m), 2)]
    if m > 2:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, m, size=(samples, min(m, k + 1)))
        shares = rng.dirichlet(np.ones(picks.shape[1]), size=samples)
        parts.append(np.einsum("sp,spk->sk", shares, points[picks]))
    return np.concatenate(parts)


def best_mixture(
    fit: MixtureFit,
    *,
    higher_is_better: bool = False,
    samples: int = 200_000,
    seed: int = 0,
    within: np.ndarray | None = None,
) -> tuple[dict[str, float], float]:
    """The mixture the fit predicts best, with the fixed sources put back, and its predicted score:
    over the whole simplex, or only between the mixtures ``within`` (rows over ``fit.sources``)."""
    if within is None:
        candidates = simplex_candidates(len(fit.sources), samples=samples, seed=seed)
    else:
        rows = np.asarray(within, dtype=float)
        candidates = hull_candidates(rows / rows.sum(axis=1, keepdims=True), samples=samples, seed=seed)
    predicted = fit.predict(candidates)
    i = int(np.argmax(predicted) if higher_is_better else np.argmin(predicted))
    free = 1.0 - sum(fit.fixed.values())
    mixture = {s: float(w) * free for s, w in zip(fit.sources, candidates[i], strict=True)}
    mixture.update(fit.fixed)
    return mixture, float(predicted[i])


@dataclass(frozen=True)
class RegressionResult:
    """What the report and sweep.json show."""

    metric: str
    model: ModelKind
    search: SearchKind
    sources: list[str]
    coefficients: dict[str, float]
    r2: float
    r2_loo: float | None
    n_runs: int
    n_mixtures: int
    predicted_best: dict[str, float]
    predicted_score: float
    best_observed: dict[str, Any] | None
    extrapolates: list[str]
    warnings: list[str]
    fitted_on: str = "requested weights"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        mixture = ", ".join(f"{k} {v:.3f}" for k, v in self.predicted_best.items())
        loo = "" if self.r2_loo is None else f", leave-one-out R^2 {self.r2_loo:.3f}"
        where = "between the tried mixtures" if self.search == "hull" else "over the simplex"
        return (
            f"predicted best {self.metric} {self.predicted_score:.4g} at {mixture} ({where}; "
            f"{self.model} fit on the {self.fitted_on} of {self.n_runs} runs / {self.n_mixtures} mixtures, "
            f"R^2 {self.r2:.3f}{loo})"
        )


def mixture_regression(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str,
    higher_is_better: bool = False,
    model: Literal["auto", "linear", "quadratic"] = "auto",
    search: SearchKind = "hull",
    samples: int = 200_000,
    seed: int = 0,
) -> RegressionResult:
    """Fit ``metric`` on the weights of every run (leaderboard rows) and find the predicted best
    mixture: between the mixtures the sweep tried (``hull``: interpolation), or anywhere on the
    simplex (``simplex``: RegMix's search, trustworthy when the sweep covers the simplex, e.g. a
    Dirichlet design). Raises ValueError when the weights do not vary or no run has the metric."""
    usable = [r for r in rows if metric in row_metrics(r) and r.get("weights")]
    if not usable:
        raise ValueError(f"no run has both mix weights and the metric {metric!r}")
    # The mixture the model was trained on: what the mix delivered, where every run reports it.
    on = "realised" if all(r.get("realised") for r in usable) else "weights"
    sources = list(dict.fromkeys(k for r in usable for k in (*r["weights"], *r[on])))  # recipe order
    w = np.array([[float(r[on].get(s, 0.0)) for s in sources] for r in usable])
    w = w / w.sum(axis=1, keepdims=True)
    y = np.array([row_metrics(r)[metric] for r in usable])
    spread = w.max(axis=0) - w.min(axis=0)
    varying = [i for i in range(len(sources)) if spread[i] > CONSTANT]
    if len(varying) < 2:
        raise ValueError("the mix weights do not vary between variants: there is no mixture to regress on")
    fixed = {sources[i]: float(w[0, i]) for i in range(len(sources)) if i not in varying}
    names = [sources[i] for i in varying]
    fit = fit_mixture(w[:, varying], y, sources=names, model=model, fixed=fixed)
    within = w[:, varying] if search == "hull" else None
    best, score = best_mixture(
        fit, higher_is_better=higher_is_better, samples=samples, seed=seed, within=within
    )
    lows, highs = w.min(axis=0), w.max(axis=0)
    outside = [s for i, s in enumerate(sources) if not lows[i] - 1e-6 <= best.get(s, 0.0) <= highs[i] + 1e-6]
    warnings = list(fit.warnings)
    if outside:
        warnings.append(
            f"the predicted best puts {', '.join(outside)} outside the weights the sweep tried: an extrapolation"
        )
    order = np.argmax(y) if higher_is_better else np.argmin(y)
    observed = {
        "variant": usable[order].get("variant"),
        "seed": usable[order].get("seed"),
        metric: float(y[order]),
    }
    return RegressionResult(
        metric=metric,
        model=fit.model,
        search=search,
        sources=names,
        coefficients=_coefficient_names(names, fit),
        r2=fit.r2,
        r2_loo=fit.r2_loo,
        n_runs=fit.n_points,
        n_mixtures=fit.n_mixtures,
        predicted_best={s: best[s] for s in sources},
        predicted_score=score,
        best_observed=observed,
        extrapolates=outside,
        warnings=warnings,
        fitted_on="realised shares" if on == "realised" else "requested weights",
    )


def _coefficient_names(sources: list[str], fit: MixtureFit) -> dict[str, float]:
    terms = list(sources)
    if fit.model == "quadratic":
        terms += [f"{a}*{b}" for a, b in itertools.combinations(sources, 2)]
    return {t: float(c) for t, c in zip(terms, fit.coef, strict=True)}
