"""What `curate validate` (and the start of `curate run`) can tell from a recipe and its inputs
before any work: a format stage that would drop a whole source, empty input files, paths resolved
against the working directory and then the recipe's directory, and the eval set named as such."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import InputError, RecipeError
from curate.exec.pipe import check_recipe
from curate.recipe import input_warnings, load_recipe, parse_recipe, resolve_paths
from tests.conftest import write_jsonl

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


# -- empty input files ---------------------------------------------------------------------------


def test_an_empty_input_file_is_named_at_validate(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/empty.jsonl").write_bytes(b"")
    (tmp_path / "r.yaml").write_text(f'name: r\nsources: [{{name: web, path: "{tmp_path}/data/*.jsonl"}}]\n')
    with pytest.raises(RecipeError) as error:
        load_recipe(tmp_path / "r.yaml")
    assert f"sources.web: the file it reads is empty (no record): {tmp_path}/data/empty.jsonl" in str(
        error.value
    )


def test_an_empty_file_among_others_is_a_warning(tmp_path):
    write_jsonl(tmp_path / "data/a.jsonl", [{"text": "hello"}])
    (tmp_path / "data/b.jsonl").write_bytes(b"\n\n")
    (tmp_path / "r.yaml").write_text(f'name: r\nsources: [{{name: web, path: "{tmp_path}/data/*.jsonl"}}]\n')
    recipe = load_recipe(tmp_path / "r.yaml")
    assert input_warnings(recipe.sources) == [
        f"sources.web: input file {tmp_path}/data/b.jsonl is empty (no record)"
    ]


def test_cli_validate_says_the_file_is_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "r.yaml").write_text("name: r\nsources: [{name: web, path: empty.jsonl}]\n")
    result = CliRunner().invoke(app, ["validate", "r.yaml"])
    assert (
        result.exit_code == 2 and "is empty (no record)" in result.output and "empty.jsonl" in result.output
    )


# -- paths: the working directory first, then the recipe's directory -----------------------------


def project(tmp_path):
    """A project directory holding a recipe beside its data, and a parent to run it from."""
    root = tmp_path / "project"
    write_jsonl(root / "data/web.jsonl", [{"text": f"document {i} " * 5} for i in range(5)])
    write_jsonl(root / "eval/eval.jsonl", [{"text": "held out"}])
    (root / "r.yaml").write_text(
        "name: r\n"
        "sources: [{name: web, path: data/*.jsonl}]\n"
        "stages:\n"
        "  - decontaminate: {eval: eval/eval.jsonl}\n"
        "  - tokenize: {}\n"
        "train: {steps: 1, eval: {path: eval/eval.jsonl}}\n"
    )
    return root


def test_relative_paths_resolve_against_the_recipes_directory_when_not_in_the_working_one(
    tmp_path, monkeypatch
):
    root = project(tmp_path)
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe("project/r.yaml")
    assert recipe.sources[0].path == os.path.join("project", "data/*.jsonl")
    assert recipe.train.eval.path == os.path.join("project", "eval/eval.jsonl")
    assert recipe.stage_list()[0][1].eval == os.path.join("project", "eval/eval.jsonl")
    # from the project directory itself the paths are as written
    monkeypatch.chdir(root)
    assert load_recipe("r.yaml").sources[0].path == "data/*.jsonl"


def test_the_working_directory_wins_when_both_match(tmp_path, monkeypatch):
    root = project(tmp_path)
    write_jsonl(tmp_path / "data/web.jsonl", [{"text": "the working directory's copy"}])
    monkeypatch.chdir(tmp_path)
    assert load_recipe(root / "r.yaml").sources[0].path == "data/*.jsonl"


def test_a_path_found_nowhere_names_both_places(tmp_path, monkeypatch):
    root = project(tmp_path)
    (root / "data/web.jsonl").unlink()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecipeError) as error:
        load_recipe("project/r.yaml")
    assert (
        f"sources.web: path pattern 'data/*.jsonl' matched no file (looked in {tmp_path.resolve()} and in "
        f"{root.resolve()}, the recipe's directory)"
    ) in str(error.value)


# -- the eval set is named train.eval.path, with its line ------------------------------------------


def test_a_missing_eval_set_is_named_as_the_eval_set_at_validate(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    text = (root / "r.yaml").read_text().replace("  - decontaminate: {eval: eval/eval.jsonl}\n", "")
    (root / "r.yaml").write_text(text.replace("eval/eval.jsonl", "eval/missing.jsonl"))
    with pytest.raises(RecipeError) as error:
        load_recipe("r.yaml")
    message = str(error.value)
    assert message.startswith(
        "r.yaml: train.eval.path (line 5): eval set 'eval/missing.jsonl' matches no file"
    )
    assert "decontaminate" not in message


def test_a_bad_line_in_the_eval_set_is_named_as_the_eval_set(tmp_path, monkeypatch):
    root = project(tmp_path)
    monkeypatch.chdir(root)
    text = (root / "r.yaml").read_text().replace("  - decontaminate: {eval: eval/eval.jsonl}\n", "")
    (root / "r.yaml").write_text(text)
    write_jsonl(root / "eval/eval.jsonl", [{"text": "fine"}], raw_lines=[b"{not json"])
    with pytest.raises(InputError) as error:
        load_recipe("r.yaml")
    assert str(error.value).startswith("r.yaml: train.eval.path (line 5): eval/eval.jsonl:2: not valid JSON")
    # a recipe built in code (no file, no lines) names the eval set too, not the implied stage
    with pytest.raises(InputError, match=r"^train.eval.path: eval/eval.jsonl:2: not valid JSON"):
        check_recipe(parse_recipe(text))


def test_tokenizer_directories_resolve_against_the_recipes_directory_too(tmp_path, monkeypatch):
    """tokenize: {hf: DIR}, format/mix tokenizer: DIR and train.init_from: hf:DIR beside the recipe."""
    root = project(tmp_path)
    (root / "tok").mkdir()
    (root / "model").mkdir()
    (root / "r.yaml").write_text(
        "name: r\n"
        "sources: [{name: web, path: data/*.jsonl}]\n"
        "stages:\n"
        "  - mix: {weights: {web: 1.0}, tokenizer: tok}\n"
        "  - format: {kind: pretrain, tokenizer: tok}\n"
        "  - tokenize: {hf: tok}\n"
    )
    monkeypatch.chdir(tmp_path)
    import yaml

    data = resolve_paths(yaml.safe_load((root / "r.yaml").read_text()), base_dir="project")
    stages = {next(iter(s)): next(iter(s.values())) for s in data["stages"]}
    assert stages["tokenize"]["hf"] == os.path.join("project", "tok")
    assert stages["format"]["tokenizer"] == os.path.join("project", "tok")
    assert stages["mix"]["tokenizer"] == os.path.join("project", "tok")
    monkeypatch.chdir(root)  # where the directory is found as written, it stays as written
    assert resolve_paths(yaml.safe_load((root / "r.yaml").read_text()), base_dir=tmp_path) == yaml.safe_load(
        (root / "r.yaml").read_text()
    )
