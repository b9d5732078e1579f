"""`curate schema`: a valid JSON Schema that accepts the example recipes and rejects typos."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import RecipeError
from curate.recipe import parse_recipe
from curate.schema import recipe_schema
from curate.stages import REGISTRY
from tests.conftest import REPO

EXAMPLE = {
    "name": "every-stage",
    "description": "one entry per registered stage, with options, defaults and an empty entry",
    "seed": 3,
    "sources": [
        {"name": "web", "path": "sample_data/web/*.jsonl", "text_field": "text"},
        {"name": "news", "path": ["a/*.jsonl.gz", "b/*.jsonl.zst"], "limit": 100},
    ],
    "stages": [
        {"quality": {"gopher": {}, "c4": {}, "fineweb": {}}},
        {"dedupe": {"exact": True, "minhash": {"threshold": 0.8, "num_perm": 128, "ngram": 5}}},
        {"language": {"keep": ["en", "de"], "min_score": 0.65}},
        {"mix": {"weights": {"web": 0.7, "news": 0.3}, "target": {"records": 1000}, "max_epochs": 3}},
        {"dedupe": None},  # `- dedupe:` means the defaults
    ],
    "output": {"format": "parquet"},
    "execution": {"workers": 2, "shard_mb": 8},
}


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is a dev dependency: pip install -e .[dev]"
    )
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, recipe: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(recipe)]


def test_the_example_recipe_is_valid_for_curate_and_for_the_schema(validator):
    parse_recipe(yaml.safe_dump(EXAMPLE))  # curate itself accepts it
    assert errors(validator, EXAMPLE) == []


@pytest.mark.parametrize("path", sorted(REPO.glob("recipes/*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_validate(validator, path, monkeypatch):
    data = yaml.safe_load(path.read_text())
    if "base" in data:  # a sweep file (docs/sweep.md): its variants must be valid recipes
        from curate.sweep import load_sweep

        monkeypatch.chdir(REPO)
        plan = load_sweep(path)
        assert plan.variants and errors(validator, plan.base_data) == []
        return
    assert errors(validator, data) == []


def test_resolved_recipes_validate(validator):
    """What a run writes to RUN_DIR/recipe.yaml (every default filled in) is a valid recipe too."""
    from curate.recipe import dump_resolved

    resolved = yaml.safe_load(dump_resolved(parse_recipe(yaml.safe_dump(EXAMPLE))))
    assert errors(validator, resolved) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["stages"][1]["dedupe"]["minhash"].update(treshold=0.8),  # typo in an option
        lambda r: r["stages"].append({"dedup": {}}),  # unknown stage
        lambda r: r["stages"].append({}),  # an entry that names no stage
        lambda r: r["stages"].append({"quality": {}, "dedupe": {}}),  # two stages in one entry
        lambda r: r["stages"][2]["language"].update(min_score="high"),  # wrong type
        lambda r: r.pop("sources"),  # required key
        lambda r: r["output"].update(format="csv"),  # not one of the choices
    ],
    ids=["typo", "unknown-stage", "empty-entry", "two-stages", "wrong-type", "missing-sources", "bad-choice"],
)
def test_the_schema_rejects_what_curate_rejects(validator, change):
    recipe = json.loads(json.dumps(EXAMPLE))
    change(recipe)
    assert errors(validator, recipe)
    with pytest.raises(RecipeError):
        parse_recipe(yaml.safe_dump(recipe))


def test_stage_entries_show_their_options_and_descriptions():
    schema = recipe_schema()
    defs = schema["$defs"]
    for name, stage in REGISTRY.items():
        entry = defs[f"{name}_stage"]
        assert entry["required"] == [name] and entry["additionalProperties"] is False
        assert entry["description"] and entry["properties"][name]["description"]
        ref = entry["properties"][name]["anyOf"][0]["$ref"].split("/")[-1]
        options = defs[ref]["properties"]
        assert set(options) == set(stage.config.model_fields)
        for option, spec in options.items():
            assert spec.get("description"), f"{name}.{option} has no description"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_out_writes_the_file(tmp_path):
    path = tmp_path / "curate-recipe.schema.json"
    result = CliRunner().invoke(app, ["schema", "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text()) == recipe_schema()
