"""Recipe validation: every error names its path, its line and, where it can, the fix."""

from __future__ import annotations

import pytest

from curate.errors import RecipeError
from curate.recipe import dump_resolved, load_recipe, parse_recipe
from tests.exec.toy_stages import REGISTRY


def problems(text: str) -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, registry=REGISTRY)
    return str(info.value)


BASE = "name: r\nsources:\n  - name: web\n    path: data/*.jsonl\n"


def test_unknown_stage_key_names_path_line_and_closest_key():
    message = problems(BASE + "stages:\n  - short: {min_chars: 3}\n  - short:\n      min_char: 4\n")
    assert "stages[1].short.min_char (line 8): unknown key 'min_char' — did you mean 'min_chars'?" in message


def test_unknown_stage_name_is_suggested():
    message = problems(BASE + "stages:\n  - shrot: {}\n")
    assert "stages[0] (line 6): unknown stage 'shrot' — did you mean 'short'?" in message


def test_unknown_top_level_and_source_keys():
    message = problems(BASE + "    text_fild: body\nstagse: []\n")
    assert "sources[0].text_fild (line 5): unknown key 'text_fild' — did you mean 'text_field'?" in message
    assert "stagse (line 6): unknown key 'stagse' — did you mean 'stages'?" in message


def test_wrong_type_and_bad_choice():
    message = problems(BASE + "stages:\n  - short: {min_chars: many}\noutput: {format: parket}\n")
    assert "stages[0].short.min_chars (line 6)" in message and "got 'many'" in message
    assert "output.format (line 7)" in message and "did you mean 'parquet'?" in message


def test_missing_required_and_not_a_mapping():
    assert "name (line 1): required key missing" in problems("sources: [{name: a, path: x}]\n")
    assert "a recipe is a YAML mapping" in problems("- just\n- a list\n")
    assert "stages[0] (line 6): a stage entry is a mapping with one key" in problems(
        BASE + "stages:\n  - short\n"
    )


def test_yaml_syntax_error_has_a_line():
    assert "(while parsing a flow sequence that starts on line 3)" in problems(
        "name: r\nsources:\n  - {name: [unclosed\n"
    )


def test_empty_stage_entry_means_defaults_and_resolved_recipe_round_trips():
    recipe = parse_recipe(BASE + "stages:\n  - short:\n  - exact: {}\n", registry=REGISTRY)
    assert [n for n, _ in recipe.stage_list()] == ["short", "exact"]
    assert recipe.stage_list()[0][1].min_chars == 10
    again = parse_recipe(dump_resolved(recipe), registry=REGISTRY)
    assert again == recipe


def test_duplicate_source_names_and_bad_names():
    assert "two sources are named 'a'" in problems(
        "name: r\nsources: [{name: a, path: x}, {name: a, path: y}]\n"
    )
    assert "source name 'a b'" in problems("name: r\nsources: [{name: a b, path: x}]\n")


def test_missing_input_names_the_pattern(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nsources: [{{name: web, path: '{tmp_path}/nothing/*.jsonl'}}]\n")
    with pytest.raises(RecipeError, match=r"path pattern '.*nothing/\*\.jsonl' matched no file"):
        load_recipe(recipe, registry=REGISTRY)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml", registry=REGISTRY)


def test_stage_sources_must_name_recipe_sources():
    message = problems(BASE + "stages:\n  - short: {sources: [wbe]}\n")
    assert (
        "stages[0].short.sources (line 6): names 'wbe', not a source of this recipe — did you mean 'web'?"
        in message
    )
