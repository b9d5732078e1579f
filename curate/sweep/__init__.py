"""Sweeps: a base recipe, variations of it and several training seeds, run side by side so that
upstream steps are computed once, ranked on a leaderboard (mean and 95% CI over seeds), with an
optional mixture regression (RegMix-style) predicting the best mixture.

::

    from curate.sweep import load_sweep, run_sweep

    result = run_sweep("recipes/sweep-mix.yaml", out="sweeps/mix", parallel=2)
    result.standings[0].variant, result.files["report"]
"""

from __future__ import annotations

from curate.sweep.paths import PathError, parse_path, set_path
from curate.sweep.regression import (
    MixtureFit,
    RegressionResult,
    best_mixture,
    fit_mixture,
    mixture_regression,
)
from curate.sweep.runner import (
    RunOutcome,
    SweepResult,
    leaderboard_table,
    run_sweep,
    variant_recipe,
    write_leaderboard,
)
from curate.sweep.spec import (
    Dirichlet,
    PlannedVariant,
    Regression,
    Sweep,
    SweepPlan,
    Variant,
    dirichlet_variants,
    grid_variants,
    load_sweep,
    parse_sweep,
    plan_sweep,
    round_to_simplex,
)

__all__ = [
    "Dirichlet",
    "MixtureFit",
    "PathError",
    "PlannedVariant",
    "Regression",
    "RegressionResult",
    "RunOutcome",
    "Sweep",
    "SweepPlan",
    "SweepResult",
    "Variant",
    "best_mixture",
    "dirichlet_variants",
    "fit_mixture",
    "grid_variants",
    "leaderboard_table",
    "load_sweep",
    "mixture_regression",
    "parse_path",
    "parse_sweep",
    "plan_sweep",
    "round_to_simplex",
    "run_sweep",
    "set_path",
    "variant_recipe",
    "write_leaderboard",
]
