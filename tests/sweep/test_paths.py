"""set: paths — parsing, addressing stages by name and index, nested fields, and errors that
name the bad key with the closest valid one."""

from __future__ import annotations

import copy

import pytest
import yaml

from curate.recipe import recipe_from_data
from curate.sweep.paths import PathError, format_path, parse_path, set_path

RECIPE = yaml.safe_load(
    """
name: r
sources:
  - {name: web, path: data/web.jsonl}
  - {name: chat, path: data/chat.jsonl, format: messages}
stages:
  - clean: {min_chars: 20}
  - dedupe:
  - mix: {weights: {web: 0.5, chat: 0.5}}
  - mix: {weights: {web: 0.1, chat: 0.9}}
  - tokenize: {train: {vocab_size: 400}}
train: {steps: 20}
"""
)


@pytest.fixture
def data():
    return copy.deepcopy(RECIPE)


def test_parse_path_reads_dots_indices_and_quoted_keys():
    assert parse_path("stages[3].mix.weights") == ["stages", 3, "mix", "weights"]
    assert parse_path('stages.mix.weights["web.en"]') == ["stages", "mix", "weights", "web.en"]
    assert parse_path("sources[-1].limit") == ["sources", -1, "limit"]
    assert parse_path("a[b]") == ["a", "b"]
    assert format_path(["stages", 3, "mix", "weights", "web.en"]) == 'stages[3].mix.weights["web.en"]'
    for bad in ("", "train.", "train..lr", "a]b"):
        with pytest.raises(PathError):
            parse_path(bad)


def test_stage_by_name_addresses_the_first_stage_of_that_name(data):
    set_path(data, "stages.mix.weights", {"web": 0.9, "chat": 0.1})
    assert data["stages"][2]["mix"]["weights"] == {"web": 0.9, "chat": 0.1}
    assert data["stages"][3]["mix"]["weights"] == {"web": 0.1, "chat": 0.9}  # the second mix is untouched


def test_stage_by_index_and_a_single_weight(data):
    set_path(data, "stages[3].mix.weights.web", 0.4)
    assert data["stages"][3]["mix"]["weights"] == {"web": 0.4, "chat": 0.9}
    assert data["stages"][2]["mix"]["weights"] == {"web": 0.5, "chat": 0.5}


def test_nested_fields_are_created_where_the_recipe_left_defaults(data):
    set_path(data, "train.model.n_layer", 2)
    set_path(data, "train.eval.path", "eval.jsonl")
    set_path(data, "stages.dedupe.minhash.threshold", 0.7)  # `- dedupe:` (null) becomes a mapping
    set_path(data, "stages.mix.per_source.chat.max_epochs", 2.0)  # a dict of option blocks
    assert data["train"] == {"steps": 20, "model": {"n_layer": 2}, "eval": {"path": "eval.jsonl"}}
    assert data["stages"][1] == {"dedupe": {"minhash": {"threshold": 0.7}}}
    recipe = recipe_from_data(data)
    assert recipe.train.model.n_layer == 2
    assert recipe.stage_list()[1][1].minhash.threshold == 0.7
    assert recipe.stage_list()[3][1].per_source["chat"].max_epochs == 2.0


def test_sources_by_index_and_by_name(data):
    set_path(data, "sources[0].limit", 10)
    set_path(data, "sources.chat.limit", 5)
    assert [s.get("limit") for s in data["sources"]] == [10, 5]


def test_whole_values_are_replaced_not_merged(data):
    set_path(data, "train", {"steps": 5})
    set_path(data, "stages.clean", {"max_chars": 900})
    set_path(data, "stages[1]", {"dedupe": {"exact": True}})
    assert data["train"] == {"steps": 5}
    assert data["stages"][0] == {"clean": {"max_chars": 900}}
    assert data["stages"][1] == {"dedupe": {"exact": True}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("stages.mix.weigths", "stages.mix has no key 'weigths' — did you mean 'weights'?"),
        ("stages.mixx.weights", "the recipe has no stage 'mixx' — did you mean 'mix'?"),
        ("stages.language.keep", "no stage 'language'"),
        ("train.lrr", "train has no key 'lrr' — did you mean 'lr'?"),
        ("train.model.n_layers", "train.model has no key 'n_layers' — did you mean 'n_layer'?"),
        ("trian.lr", "the recipe has no key 'trian' — did you mean 'train'?"),
        ("stages[2].dedupe.exact", "stages[2] is 'mix', not 'dedupe'"),
        ("stages[9].mix.weights", "no stages[9]"),
        ("sources.webb.limit", "no item named 'webb' — did you mean 'web'?"),
        ("sources[5].limit", "has 2 items, no index 5"),
        ("train.lr.value", "train.lr is a single value"),
    ],
)
def test_bad_paths_name_the_key_and_suggest_one(data, path, expected):
    before = copy.deepcopy(data)
    with pytest.raises(PathError) as info:
        set_path(data, path, 1)
    assert expected in str(info.value) and repr(path) in str(info.value)
    assert data == before  # nothing was half-set
