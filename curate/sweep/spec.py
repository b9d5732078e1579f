"""The sweep file: a base recipe, variations of it, seeds — validated, expanded, planned.

::

    base: recipes/quickstart.yaml
    seeds: [0, 1, 2]
    variants:                      # or grid: {...} / dirichlet: {n: 16, sources: [web, chat]}
      - {name: web-heavy, set: {stages.mix.weights: {web: 0.9, chat: 0.1}}}
      - {name: balanced,  set: {stages.mix.weights: {web: 0.5, chat: 0.5}}}

:func:`load_sweep` reads the file, expands ``grid``/``dirichlet`` into named variants, applies
every ``set:`` path to the base recipe and validates each variant as a recipe, so that every
error (a bad key in the sweep file, a path that addresses nothing, a value a stage refuses) is
reported with its place in the file before anything runs.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from curate.errors import RecipeError
from curate.recipe import (
    RecipeBase,
    check_sources_exist,
    explain_errors,
    load_yaml,
    read_config_file,
    recipe_from_data,
    resolve_paths,
    suggest,
    yaml_line,
)
from curate.stages import REGISTRY, StageRegistry
from curate.sweep.paths import PathError, format_path, parse_path, set_path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
WEIGHTS_PATH = "stages.mix.weights"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Strict):
    """One named change of the base recipe."""

    name: str = Field(description="Variant name (letters, digits, _ . -); runs go to runs/<name>-s<seed>.")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Recipe paths and their values, e.g. {stages.mix.weights: {web: 0.9, chat: 0.1}, train.lr: 1e-3}.",
    )

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"variant name {value!r} must be letters, digits, '_', '.' or '-' (e.g. web-heavy)"
            )
        return value


class Dirichlet(_Strict):
    """N random mixtures drawn from a Dirichlet distribution over the named sources' weights."""

    n: int = Field(ge=1, description="Number of mixtures (variants dir-00, dir-01, ...).")
    sources: list[str] | None = Field(
        None,
        min_length=2,
        description="Sources whose weights are drawn (default: every source of the base recipe). Sources "
        "left out keep their base weight; the named ones share the rest.",
    )
    alpha: float | list[float] = Field(
        1.0,
        description="Concentration: one value for every source, or one per source. 1.0 draws uniformly "
        "on the simplex; smaller values favour mixtures dominated by one source.",
    )
    seed: int = Field(0, ge=0, description="Seed of the draw: same seed, same mixtures.")
    path: str = Field(WEIGHTS_PATH, description="Where the weights go in the recipe.")

    @field_validator("alpha")
    @classmethod
    def _positive(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"alpha must be > 0, got {value}")
        return value

    @model_validator(mode="after")
    def _alpha_per_source(self) -> Dirichlet:
        if isinstance(self.alpha, list) and (self.sources is None or len(self.alpha) != len(self.sources)):
            raise ValueError("a list of alpha values needs `sources:` of the same length")
        return self


class Regression(_Strict):
    """RegMix-style mixture regression: fit the metric on the per-source weights of every run."""

    metric: str | None = Field(None, description="Metric to model (default: the sweep's ranking metric).")
    model: Literal["auto", "linear", "quadratic"] = Field(
        "auto",
        description="Scheffé mixture polynomial: linear (one term per source) or quadratic (plus one per "
        "pair of sources); auto takes quadratic when there are enough distinct mixtures.",
    )
    search: Literal["hull", "simplex"] = Field(
        "hull",
        description="Where the predicted best is searched: hull, only between the mixtures the sweep tried "
        "(interpolation); simplex, any mixture (RegMix's search: trust it when the sweep covers the "
        "simplex, e.g. a dirichlet design).",
    )
    samples: int = Field(
        200_000,
        ge=100,
        description="Random candidate mixtures searched for the predicted best.",
    )
    seed: int = Field(0, ge=0, description="Seed of the candidate draw.")


class Sweep(_Strict):
    """A sweep file: a base recipe, how it varies, and the seeds every variant trains with."""

    name: str | None = Field(
        None, description="Sweep name; the sweep directory defaults to sweeps/<name> (default: file name)."
    )
    base: str = Field(
        description="The base recipe file: relative to the working directory, else to the sweep file."
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0],
        min_length=1,
        description="Training seeds: each run of a variant sets train.seed (init, data order) to one; the "
        "recipe seed (dedupe, sampling) stays the base's, so the data is the same across seeds.",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Paths set in the base for every variant (e.g. {train.steps: 100} for a quick sweep).",
    )
    variants: list[Variant] | None = Field(None, description="An explicit list of variants.")
    grid: dict[str, list[Any]] | None = Field(
        None,
        description="Every combination of these values: {stages.mix.weights.web: [0.2, 0.5, 0.8], train.lr: [1e-3, 3e-3]}.",
    )
    dirichlet: Dirichlet | None = Field(None, description="N random mixtures of the sources' weights.")
    tokenizer: str = Field(
        "shared",
        description="shared: train the base recipe's tokenizer once and encode every variant with it "
        "(perplexity is only comparable under one tokenizer); per_variant: each variant trains its own "
        "(compare bits per byte only); or the path of a sentencepiece .model to use everywhere.",
    )
    metric: str | None = Field(
        None,
        description="Metric the leaderboard is ranked by (default bpb, else avg.bpb, else ppl, else nll): any "
        "metric of the runs' score.json by name: bpb, ppl, nll, pref_accuracy... with one eval set; avg.bpb, "
        "<set>.bpb, <set>.nll with named sets (train.eval.sets); tasks.<task>.acc, .acc_norm, .acc_bytes, .bpb "
        "for multiple-choice tasks. Accuracies and margins rank higher-first.",
    )
    regression: bool | Regression = Field(
        False, description="Fit metric ~ weights and report the predicted best mixture (true, or options)."
    )
    baseline: str | None = Field(
        None,
        description="A variant every other one is compared with (besides the best): the paired difference "
        "in the ranking metric over seeds, its 95% interval and a verdict (better / worse / cannot tell at "
        "this budget). Default: compare with the best only.",
    )

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"sweep name {value!r} must be letters, digits, '_', '.' or '-'")
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {seeds}")
        return seeds

    @field_validator("variants")
    @classmethod
    def _distinct_names(cls, variants: list[Variant] | None) -> list[Variant] | None:
        names = [v.name for v in variants or []]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"variant names repeat: {', '.join(repeated)}")
        if variants is not None and not variants:
            raise ValueError("variants is empty: list at least one {name, set}")
        return variants

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, grid: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        if grid is not None:
            if not grid:
                raise ValueError("grid is empty: give at least one path with a list of values")
            empty = [k for k, v in grid.items() if not v]
            if empty:
                raise ValueError(f"grid path {empty[0]!r} has no values")
        return grid

    @model_validator(mode="after")
    def _one_design(self) -> Sweep:
        given = [k for k in ("variants", "grid", "dirichlet") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of variants (a list), grid (values per path) or dirichlet (random mixtures)"
                + (f"; got {' and '.join(given)}" if given else "")
            )
        return self

    @property
    def regression_options(self) -> Regression | None:
        if self.regression is False:
            return None
        return Regression() if self.regression is True else self.regression  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class PlannedVariant:
    """A variant with its recipe data (the base with every ``set`` applied) and validated recipe."""

    name: str
    set: dict[str, Any]
    data: dict[str, Any]
    recipe: RecipeBase
    weights: dict[str, float]
    where: str


@dataclass
class SweepPlan:
    sweep: Sweep
    path: Path | None
    base_path: Path
    base_data: dict[str, Any]
    base: RecipeBase
    variants: list[PlannedVariant] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.sweep.name:
            return self.sweep.name
        return self.path.stem if self.path is not None else self.base.name

    def runs(self) -> list[tuple[PlannedVariant, int]]:
        """Every (variant, seed) run, variant by variant."""
        return [(v, seed) for v in self.variants for seed in self.sweep.seeds]


def load_sweep(
    path: str | Path, *, registry: StageRegistry = REGISTRY, check_inputs: bool = True
) -> SweepPlan:
    """Read and validate a sweep file and plan its variants (see :func:`plan_sweep`)."""
    path = Path(path)
    return parse_sweep(
        read_config_file(path, "sweep"), path=path, registry=registry, check_inputs=check_inputs
    )


def parse_sweep(
    text: str,
    *,
    path: Path | None = None,
    registry: StageRegistry = REGISTRY,
    check_inputs: bool = True,
) -> SweepPlan:
    source_name = str(path) if path is not None else "<sweep>"
    data, root = load_yaml(text, source_name=source_name)
    if not isinstance(data, dict):
        raise RecipeError(
            f"{source_name}: a sweep file is a YAML mapping with base, seeds and variants (or grid / dirichlet)"
        )
    if "base" not in data and {"sources", "stages"} & set(data):
        raise RecipeError(
            f"{source_name} is a recipe, not a sweep file: run it with `curate run {source_name}`, or "
            f"sweep it from a file that starts with `base: {source_name}` (see docs/sweep.md)"
        )
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as exc:
        raise explain_errors(exc, Sweep, source_name=source_name, root=root, registry=registry) from None
    return plan_sweep(
        sweep, path=path, root=root, registry=registry, check_inputs=check_inputs, source_name=source_name
    )


def _base_file(sweep: Sweep, path: Path | None, source_name: str, root: Any) -> Path:
    candidates = [Path(sweep.base)]
    if path is not None and not Path(sweep.base).is_absolute():
        candidates.append(path.parent / sweep.base)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    line = yaml_line(root, ["base"])
    tried = " or ".join(repr(str(c)) for c in candidates)
    raise RecipeError(f"{source_name}: base (line {line}): recipe file {tried} does not exist")


def plan_sweep(
    sweep: Sweep,
    *,
    path: Path | None = None,
    root: Any = None,
    registry: StageRegistry = REGISTRY,
    check_inputs: bool = True,
    source_name: str | None = None,
) -> SweepPlan:
    """Load the base recipe, apply the sweep-wide ``set``, expand the design into variants and
    validate each one. Raises RecipeError naming the sweep file, the variant and the line."""
    source_name = source_name or (str(path) if path is not None else "<sweep>")
    base_path = _base_file(sweep, path, source_name, root)
    base_text = base_path.read_text(encoding="utf-8")
    base_data, base_root = load_yaml(base_text, source_name=str(base_path))
    if not isinstance(base_data, dict):
        raise RecipeError(f"{base_path}: a recipe is a YAML mapping with name, sources and stages")
    base_data = resolve_paths(base_data, base_dir=base_path.parent)  # as `curate run` would
    recipe_from_data(base_data, source_name=str(base_path), root=base_root, registry=registry)
    located = _Locator(source_name, root)
    _apply(base_data, sweep.set, registry, located, ["set"])
    base = recipe_from_data(
        copy.deepcopy(base_data), source_name=located.at(["set"], "the base with `set`"), registry=registry
    )
    if check_inputs:
        check_sources_exist(base.sources, base_dir=base_path.parent)
    if base.train is None:
        raise RecipeError(
            f"{base_path}: the base recipe has no train: block; a sweep scores every variant by training "
            "on it (add e.g. `train: {preset: tiny, steps: 300, eval: {path: ...}}`)"
        )
    plan = SweepPlan(sweep, path, base_path, base_data, base)
    for name, sets, loc in expand_design(sweep, base, located):
        data = copy.deepcopy(base_data)
        _apply(data, sets, registry, located, loc)
        where = located.at(loc, f"variant {name!r}")
        recipe = recipe_from_data(copy.deepcopy(data), source_name=where, registry=registry)
        plan.variants.append(PlannedVariant(name, sets, data, recipe, mix_weights(recipe), where))
    _check_tokenizer_fixed(plan)
    _check_baseline(plan, located)
    return plan


def _check_baseline(plan: SweepPlan, located: _Locator) -> None:
    names = [v.name for v in plan.variants]
    baseline = plan.sweep.baseline
    if baseline is not None and baseline not in names:
        raise RecipeError(
            f"{located.at(['baseline'])}: baseline {baseline!r} is not a variant of this sweep"
            f"{suggest(baseline, names)}"
        )


class _Locator:
    """Places in the sweep file, for error messages: ``sweep.yaml: variants[1].set (line 7)``."""

    def __init__(self, source_name: str, root: Any) -> None:
        self.source_name, self.root = source_name, root

    def at(self, loc: list[Any], label: str | None = None) -> str:
        where = format_path(loc) if loc else "(top level)"
        line = yaml_line(self.root, loc) if self.root is not None else None
        text = f"{self.source_name}: {label + ' at ' if label else ''}{where}"
        return text + (f" (line {line})" if line else "")


def _apply(
    data: dict[str, Any], sets: Mapping[str, Any], registry: StageRegistry, located: _Locator, loc: list[Any]
) -> None:
    for key, value in sets.items():
        try:
            set_path(data, key, copy.deepcopy(value), registry=registry)
        except PathError as exc:
            raise RecipeError(f"{located.at([*loc, key])}: {exc}") from None


def mix_weights(recipe: RecipeBase) -> dict[str, float]:
    """The requested mix weights of the first mix stage, normalised to sum 1 ({} without weights)."""
    for name, config in recipe.stage_list():
        if name == "mix":
            weights = getattr(config, "weights", None) or {}
            total = sum(weights.values())
            return {k: v / total for k, v in weights.items()} if total > 0 else {}
    return {}


# ---------------------------------------------------------------------------------------------
# Designs


def expand_design(
    sweep: Sweep, base: RecipeBase, located: _Locator | None = None
) -> list[tuple[str, dict[str, Any], list[Any]]]:
    """(name, set, location in the sweep file) of every variant, in a fixed order."""
    located = located or _Locator("<sweep>", None)
    if sweep.variants is not None:
        return [(v.name, dict(v.set), ["variants", i, "set"]) for i, v in enumerate(sweep.variants)]
    if sweep.grid is not None:
        return [(name, sets, ["grid"]) for name, sets in grid_variants(sweep.grid)]
    assert sweep.dirichlet is not None
    try:
        return [(name, sets, ["dirichlet"]) for name, sets in dirichlet_variants(sweep.dirichlet, base)]
    except ValueError as exc:
        raise RecipeError(f"{located.at(['dirichlet'])}: {exc}") from None


def grid_variants(grid: Mapping[str, list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The cartesian product of the grid's values, in order (the last path varies fastest), each
    named by its values (``web0.2_lr0.001``), or ``grid-00``... when values cannot name it."""
    paths = list(grid)
    combos = [dict(zip(paths, values, strict=True)) for values in itertools.product(*grid.values())]
    labels = _short_labels(paths)
    names = []
    for combo in combos:
        parts = [_value_label(combo[p]) for p in paths]
        names.append(
            None
            if any(p is None for p in parts)
            else "_".join(f"{labels[k]}{parts[k]}" for k in range(len(paths)))
        )
    if any(n is None or not _NAME.match(n) for n in names) or len(set(names)) != len(names):
        width = max(2, len(str(len(combos) - 1)))
        names = [f"grid-{i:0{width}d}" for i in range(len(combos))]
    return list(zip(names, combos, strict=True))  # type: ignore[arg-type]


def _short_labels(paths: list[str]) -> list[str]:
    """The last key of each path (``web``, ``lr``), or the last two when those collide."""
    tokens = [parse_path(p) for p in paths]
    last = [_clean(str(t[-1])) for t in tokens]
    if len(set(last)) == len(last):
        return last
    return [_clean(".".join(str(x) for x in t[-2:])) for t in tokens]


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


def _value_label(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and len(value) <= 24:
        return _clean(Path(value).stem if "/" in value else value)
    return None


def dirichlet_variants(spec: Dirichlet, base: RecipeBase) -> list[tuple[str, dict[str, Any]]]:
    """``spec.n`` mixtures drawn with numpy's seeded generator, rounded to 1e-4 so that they sum
    to exactly 1 (largest remainders), named ``dir-00``... Sources not drawn keep their base
    weight; the drawn ones share what is left."""
    all_sources = [s.name for s in base.sources]
    sources = spec.sources or all_sources
    unknown = [s for s in sources if s not in all_sources]
    if unknown:
        raise ValueError(
            f"dirichlet.sources names {unknown[0]!r}, not a source of the base recipe"
            + suggest(unknown[0], all_sources)
        )
    fixed: dict[str, float] = {}
    if set(sources) != set(all_sources):
        weights = mix_weights(base)
        if not weights:
            raise ValueError(
                "dirichlet over some sources only needs the base mix weights of the others; "
                "set stages.mix.weights in the base or list every source"
            )
        fixed = {s: weights.get(s, 0.0) for s in all_sources if s not in sources}
    alpha = spec.alpha if isinstance(spec.alpha, list) else [spec.alpha] * len(sources)
    draws = np.random.default_rng(spec.seed).dirichlet(alpha, size=spec.n)
    free = 1.0 - sum(fixed.values())
    width = max(2, len(str(spec.n - 1)))
    out = []
    for i, draw in enumerate(draws):
        shares = round_to_simplex(np.concatenate([draw * free, list(fixed.values())]))
        named = dict(zip([*sources, *fixed], shares, strict=True))
        weights = {s: named[s] for s in all_sources if s in named}
        out.append((f"dir-{i:0{width}d}", {spec.path: weights}))
    return out


def round_to_simplex(values: np.ndarray, *, decimals: int = 4) -> list[float]:
    """Non-negative values rounded to ``decimals`` places, summing to exactly 1 in those units
    (largest-remainder rounding of the normalised values)."""
    units = 10**decimals
    shares = np.asarray(values, dtype=float) / float(np.sum(values)) * units
    floors = np.floor(shares).astype(int)
    short = units - int(floors.sum())
    order = np.argsort(-(shares - floors), kind="stable")
    floors[order[:short]] += 1
    return [int(f) / units for f in floors]


def _check_tokenizer_fixed(plan: SweepPlan) -> None:
    """With a shared tokenizer, no variant may change how the tokenizer is made."""
    if plan.sweep.tokenizer != "shared":
        return
    base = _tokenizer_options(plan.base)
    for variant in plan.variants:
        if _tokenizer_options(variant.recipe) != base:
            raise RecipeError(
                f"{variant.where}: the variant changes the tokenizer (stages.tokenize.train / model), but "
                "this sweep shares one tokenizer so that perplexities compare; set `tokenizer: per_variant` "
                "in the sweep file to give each variant its own (then compare bits per byte only)"
            )


def _tokenizer_options(recipe: RecipeBase) -> Any:
    tokenize = recipe.stage_config("tokenize")
    if tokenize is None:
        return None
    return (tokenize.training.model_dump(mode="json"), tokenize.model)  # type: ignore[attr-defined]
