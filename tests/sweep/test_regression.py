"""Mixture regression: known optima are recovered from synthetic sweeps, and the fit says when
it has too little to go on."""

from __future__ import annotations

import numpy as np
import pytest

from curate.sweep.regression import best_mixture, design_matrix, fit_mixture, mixture_regression

TARGET = np.array([0.5, 0.3, 0.2])


def bowl(w: np.ndarray) -> np.ndarray:
    """A metric with its minimum 2.0 at TARGET, a quadratic in the weights."""
    return 2.0 + np.sum((w - TARGET) ** 2, axis=1)


def rows_of(weights: np.ndarray, y: np.ndarray, sources=("web", "chat", "code")) -> list[dict]:
    return [
        {
            "variant": f"v{i}",
            "seed": 0,
            "weights": dict(zip(sources, map(float, w), strict=True)),
            "metrics": {"bpb": float(v)},
        }
        for i, (w, v) in enumerate(zip(weights, y, strict=True))
    ]


def test_quadratic_fit_recovers_an_interior_optimum():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(3), size=30)
    y = bowl(w) + rng.normal(0, 1e-4, size=30)
    fit = fit_mixture(w, y, sources=["web", "chat", "code"])
    assert fit.model == "quadratic" and fit.r2 > 0.99 and fit.r2_loo > 0.98 and not fit.warnings
    best, score = best_mixture(fit, samples=50_000)
    assert np.allclose([best["web"], best["chat"], best["code"]], TARGET, atol=0.02)
    assert score == pytest.approx(2.0, abs=1e-3)
    # a linear model cannot place an optimum inside the simplex: its best is a vertex
    linear = fit_mixture(w, y, sources=["web", "chat", "code"], model="linear")
    corner, _ = best_mixture(linear, samples=1000)
    assert max(corner.values()) == pytest.approx(1.0)


def test_higher_is_better_flips_the_search():
    w = np.random.default_rng(1).dirichlet(np.ones(3), size=20)
    fit = fit_mixture(w, -bowl(w), sources=["a", "b", "c"])
    best, score = best_mixture(fit, higher_is_better=True, samples=20_000)
    assert np.allclose(list(best.values()), TARGET, atol=0.02) and score == pytest.approx(-2.0, abs=1e-3)


def test_scheffe_terms():
    x = design_matrix(np.array([[0.2, 0.3, 0.5]]), "quadratic")
    assert np.allclose(x, [[0.2, 0.3, 0.5, 0.06, 0.1, 0.15]])
    assert design_matrix(np.array([[0.2, 0.8]]), "linear").tolist() == [[0.2, 0.8]]


def test_too_few_mixtures_warns_and_auto_falls_back_to_linear():
    w = np.array([[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    fit = fit_mixture(w, [3.0, 3.1, 3.5, 3.4], sources=["web", "chat"])
    assert fit.model == "linear" and fit.n_mixtures == 2
    assert any("too few variants" in m for m in fit.warnings)


def test_mixture_regression_over_leaderboard_rows_holds_a_constant_source_fixed():
    rng = np.random.default_rng(2)
    free = rng.dirichlet(np.ones(2), size=16)
    weights = np.column_stack([free * 0.8, np.full(16, 0.2)])  # code is always 0.2
    y = 1.0 + (free[:, 0] - 0.7) ** 2
    result = mixture_regression(rows_of(weights, y), metric="bpb", samples=10_000)
    assert result.sources == ["web", "chat"]
    assert result.predicted_best["code"] == pytest.approx(0.2)
    assert result.predicted_best["web"] == pytest.approx(0.7 * 0.8, abs=0.01)
    assert result.predicted_score == pytest.approx(1.0, abs=1e-3) and result.r2 > 0.999
    assert result.best_observed["bpb"] == pytest.approx(float(y.min()))
    assert "predicted best bpb" in result.summary()


def test_mixture_regression_refuses_weights_that_do_not_vary():
    rows = rows_of(np.array([[0.5, 0.3, 0.2]] * 3), np.array([1.0, 1.1, 0.9]))
    with pytest.raises(ValueError, match="do not vary"):
        mixture_regression(rows, metric="bpb")


def test_hull_search_stays_between_the_tried_mixtures_simplex_search_extrapolates():
    # every tried mixture has web <= 0.4; the true optimum (web 0.5) lies outside them
    rng = np.random.default_rng(3)
    free = rng.dirichlet(np.ones(3), size=40)
    tried = free[free[:, 0] <= 0.4][:20]
    rows = rows_of(tried, bowl(tried))
    inside = mixture_regression(rows, metric="bpb", samples=20_000)
    assert inside.search == "hull" and inside.extrapolates == []
    assert inside.predicted_best["web"] <= tried[:, 0].max() + 1e-9
    # better than every tried mixture (the fit is exact here), not as good as the true optimum
    assert 2.0 + 1e-4 < inside.predicted_score <= bowl(tried).min() + 1e-9
    assert "between the tried mixtures" in inside.summary()
    anywhere = mixture_regression(rows, metric="bpb", search="simplex", samples=20_000)
    assert anywhere.predicted_best["web"] == pytest.approx(0.5, abs=0.02)
    assert anywhere.extrapolates == ["web"] and any("extrapolation" in m for m in anywhere.warnings)


def test_the_fit_uses_the_shares_the_mix_delivered_when_every_run_reports_them():
    """A cap that binds makes the delivered mixture differ from the requested one: the model was
    trained on what was delivered, so that is what the metric is regressed on."""
    rng = np.random.default_rng(3)
    delivered = rng.dirichlet(np.ones(3), size=12)
    rows = rows_of(delivered, bowl(delivered))
    for row in rows:
        row["realised"], row["weights"] = row["weights"], {"web": 0.6, "chat": 0.3, "code": 0.1}
    result = mixture_regression(rows, metric="bpb", model="quadratic", samples=10_000)
    assert result.fitted_on == "realised shares" and result.r2 == pytest.approx(1.0)
    assert result.sources == ["web", "chat", "code"]
    rows[0].pop("realised")
    with pytest.raises(ValueError, match="do not vary"):  # falls back to the (constant) requests
        mixture_regression(rows, metric="bpb")
