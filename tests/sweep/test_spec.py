"""The sweep file: validation with located errors, variants, grid and Dirichlet expansion, seeds."""

from __future__ import annotations

import pytest
import yaml

from curate.errors import RecipeError
from curate.recipe import recipe_from_data
from curate.sweep import dirichlet_variants, grid_variants, load_sweep, round_to_simplex, variant_recipe
from curate.sweep.spec import Dirichlet, mix_weights
from tests.sweep.conftest import write_sweep


def test_variants_are_planned_with_their_recipes_and_normalised_weights(project):
    path = write_sweep(
        project,
        "seeds: [0, 1]\n"
        "set: {train.steps: 5}\n"
        "variants:\n"
        "  - {name: web-heavy, set: {stages.mix.weights: {web: 9, chat: 1}}}\n"
        "  - {name: lr, set: {train.lr: 0.01}}\n",
    )
    plan = load_sweep(path)
    assert plan.name == "sweep" and [v.name for v in plan.variants] == ["web-heavy", "lr"]
    heavy, lr = plan.variants
    assert heavy.weights == {"web": 0.9, "chat": 0.1}  # normalised as mix normalises them
    assert lr.weights == {"web": 0.5, "chat": 0.5} and lr.recipe.train.lr == 0.01
    assert heavy.recipe.train.steps == 5 and lr.recipe.train.steps == 5  # the sweep-wide set
    assert [(v.name, s) for v, s in plan.runs()] == [("web-heavy", 0), ("web-heavy", 1), ("lr", 0), ("lr", 1)]


def test_a_seed_sets_the_training_seed_not_the_recipe_seed(project):
    plan = load_sweep(write_sweep(project, "seeds: [3]\nvariants: [{name: a}]\n"))
    recipe = variant_recipe(plan.variants[0], 3, tokenizer=project / "t.model")
    assert recipe.train.seed == 3 and recipe.seed == 7  # dedupe and mix keep the base's seed
    assert recipe.name == "a-s3"
    tokenize = dict(recipe.stage_list())["tokenize"]
    assert tokenize.model == str(project / "t.model") and tokenize.train is None


def test_a_bad_path_is_located_in_the_sweep_file_with_a_suggestion(project):
    path = write_sweep(
        project,
        "variants:\n  - {name: a, set: {train.lr: 0.01}}\n  - {name: b, set: {stages.mix.weigths: {web: 1}}}\n",
    )
    with pytest.raises(RecipeError) as info:
        load_sweep(path)
    message = str(info.value)
    assert "variants[1].set" in message and "(line 4)" in message
    assert "'stages.mix.weigths'" in message and "did you mean 'weights'?" in message


def test_a_value_the_recipe_refuses_names_the_variant_and_field(project):
    path = write_sweep(project, "variants:\n  - {name: neg, set: {train.lr: -1}}\n")
    with pytest.raises(RecipeError) as info:
        load_sweep(path)
    assert (
        "variant 'neg'" in str(info.value) and "train.lr" in str(info.value) and "(line 3)" in str(info.value)
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("variants: [{name: a}]\ngrid: {train.lr: [1]}\n", "exactly one of variants"),
        ("seed: [0]\nvariants: [{name: a}]\n", "unknown key 'seed' — did you mean 'seeds'?"),
        ("variants: [{name: a}, {name: a}]\n", "variant names repeat: a"),
        ("variants: [{name: 'a b'}]\n", "must be letters"),
        ("grid: {train.lr: []}\n", "has no values"),
        ("dirichlet: {n: 2, sources: [web, chatt]}\n", "did you mean 'chat'?"),
        ("variants: [{name: v, set: {stages.tokenize.train.vocab_size: 500}}]\n", "tokenizer: per_variant"),
    ],
)
def test_sweep_file_errors(project, body, expected):
    with pytest.raises(RecipeError) as info:
        load_sweep(write_sweep(project, body))
    assert expected in str(info.value)


def test_a_recipe_given_as_a_sweep_file_says_so(project):
    recipe = project / "recipe.yaml"
    recipe.write_text("name: r\nsources: [{name: web, path: data/*.jsonl}]\nstages: [clean: {}]\n")
    with pytest.raises(RecipeError) as info:
        load_sweep(recipe)
    assert f"{recipe} is a recipe, not a sweep file: run it with `curate run {recipe}`" in str(info.value)
    assert f"starts with `base: {recipe}`" in str(info.value)


def test_a_changed_tokenizer_is_allowed_per_variant(project):
    plan = load_sweep(
        write_sweep(
            project,
            "tokenizer: per_variant\nvariants: [{name: v, set: {stages.tokenize.train.vocab_size: 500}}]\n",
        )
    )
    assert dict(plan.variants[0].recipe.stage_list())["tokenize"].train.vocab_size == 500


def test_base_without_training_is_refused(project):
    (project / "base.yaml").write_text((project / "base.yaml").read_text().split("\ntrain:")[0] + "\n")
    with pytest.raises(RecipeError, match="no train: block"):
        load_sweep(write_sweep(project, "variants: [{name: a}]\n"))


def test_grid_is_the_cartesian_product_named_by_its_values():
    grid = {"stages.mix.weights.web": [0.2, 0.5, 0.8], "train.lr": [1e-3, 3e-3]}
    variants = grid_variants(grid)
    assert variants == grid_variants(grid)  # deterministic
    assert [name for name, _ in variants] == [
        "web0.2_lr0.001",
        "web0.2_lr0.003",
        "web0.5_lr0.001",
        "web0.5_lr0.003",
        "web0.8_lr0.001",
        "web0.8_lr0.003",
    ]
    assert variants[3][1] == {"stages.mix.weights.web": 0.5, "train.lr": 3e-3}
    unnamed = grid_variants({"stages.mix.weights": [{"web": 1}, {"web": 2}]})
    assert [name for name, _ in unnamed] == ["grid-00", "grid-01"]


def test_grid_weights_are_normalised_by_mix(project):
    plan = load_sweep(write_sweep(project, "grid: {stages.mix.weights.web: [0.5, 1.5]}\n"))
    assert [v.weights for v in plan.variants] == [{"web": 0.5, "chat": 0.5}, {"web": 0.75, "chat": 0.25}]
    assert all(sum(mix_weights(v.recipe).values()) == pytest.approx(1.0) for v in plan.variants)


def test_dirichlet_mixtures_are_deterministic_and_sum_to_one(project):
    plan = load_sweep(write_sweep(project, "dirichlet: {n: 12, sources: [web, chat], seed: 4}\n"))
    again = load_sweep(write_sweep(project, "dirichlet: {n: 12, sources: [web, chat], seed: 4}\n", "b.yaml"))
    other = load_sweep(write_sweep(project, "dirichlet: {n: 12, seed: 5}\n", "c.yaml"))
    weights = [v.weights for v in plan.variants]
    assert [v.name for v in plan.variants] == [f"dir-{i:02d}" for i in range(12)]
    assert weights == [v.weights for v in again.variants]
    assert weights != [v.weights for v in other.variants]
    for w in weights:
        assert set(w) == {"web", "chat"} and sum(w.values()) == pytest.approx(1.0, abs=1e-12)
        assert all(0 <= x <= 1 for x in w.values())
    assert len({w["web"] for w in weights}) == 12  # twelve different mixtures


def test_dirichlet_over_some_sources_keeps_the_others_base_weight(project):
    data = yaml.safe_load((project / "base.yaml").read_text())
    data["sources"].append({**data["sources"][0], "name": "code"})
    data["stages"][2]["mix"]["weights"] = {"web": 0.25, "chat": 0.25, "code": 0.5}
    three = recipe_from_data(data)
    drawn = dirichlet_variants(Dirichlet(n=5, sources=["web", "chat"], alpha=[2.0, 1.0]), three)
    for _, sets in drawn:
        w = sets["stages.mix.weights"]
        assert w["code"] == 0.5 and w["web"] + w["chat"] == pytest.approx(0.5, abs=1e-12)


def test_round_to_simplex_sums_to_exactly_one_in_its_units():
    shares = round_to_simplex([1 / 3, 1 / 3, 1 / 3])
    assert shares == [0.3334, 0.3333, 0.3333]
    assert round(sum(x * 10_000 for x in round_to_simplex([0.123456, 0.5, 0.376544]))) == 10_000


def test_baseline_names_a_variant_or_is_refused_with_its_line(project):
    plan = load_sweep(write_sweep(project, "baseline: a\nvariants: [{name: a}, {name: b}]\n"))
    assert plan.sweep.baseline == "a"
    assert load_sweep(write_sweep(project, "variants: [{name: a}]\n")).sweep.baseline is None
    with pytest.raises(
        RecipeError,
        match=r"baseline \(line 2\): baseline 'heavy' is not a variant of this sweep — did you mean 'web-heavy'",
    ):
        load_sweep(write_sweep(project, "baseline: heavy\nvariants: [{name: web-heavy}, {name: b}]\n"))
