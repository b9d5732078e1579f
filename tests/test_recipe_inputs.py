"""What `curate validate` (and the start of `curate run`) can tell from a recipe and its inputs
before any work: a format stage that would drop a whole source, empty input files, paths resolved
against the working directory and then the recipe's directory, and the eval set named as such."""

from __future__ import annotations

import pytest

from curate.errors import RecipeError
from curate.recipe import parse_recipe

FORMAT_RECIPE = """name: r
sources:
  - {{name: web, path: data/*.jsonl}}
  - {{name: chat, path: chat/*.jsonl, format: {chat_format}}}
stages:
  - clean: {{}}
  - format: {format}
"""


@pytest.mark.parametrize(
    ("chat_format", "format", "culprit", "why"),
    [
        ("sharegpt", "{kind: sft}", "web", "kind sft makes conversations, but source 'web' is plain text"),
        ("sharegpt", "{kind: preference}", "web", "source 'web' is plain text"),
        ("sharegpt", "{kind: preference, sources: [chat]}", "chat", "source 'chat' is a chat"),
        ("hh", "{kind: sft, preference_to_sft: false, sources: [chat]}", "chat", "preference_to_sft"),
    ],
)
def test_a_format_that_would_drop_a_whole_source_is_a_validate_error(chat_format, format, culprit, why):
    with pytest.raises(RecipeError) as error:
        parse_recipe(FORMAT_RECIPE.format(chat_format=chat_format, format=format))
    message = str(error.value)
    assert "stages[1].format.kind (line 7):" in message and why in message
    assert f"source {culprit!r}" in message and "so every record of it would be dropped" in message


@pytest.mark.parametrize(
    "format",
    ["{kind: pretrain}", "{kind: sft, keep_text: true}", "{kind: sft, sources: [chat]}"],
)
def test_a_format_that_fits_its_sources_is_valid(format):
    recipe = parse_recipe(FORMAT_RECIPE.format(chat_format="sharegpt", format=format))
    assert [name for name, _ in recipe.stage_list()] == ["clean", "format"]
