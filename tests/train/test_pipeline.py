"""The train step of a run: init_from base:<source> trains a base model once and reuses it."""

from __future__ import annotations

import json

import pytest

from curate.errors import RecipeError
from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe
from tests.conftest import write_jsonl

SENTENCES = [
    "The baker opens the shop at six and the first loaves are gone by seven.",
    "A heron waits in the shallow water below the old stone bridge.",
    "Children walk to school along the river when the weather is dry.",
    "The market hall roof was repaired after the storm last winter.",
]


def recipe(tmp_path, steps: int):
    docs = [{"text": " ".join(SENTENCES[(i + j) % 4] for j in range(6)) + f" Note {i}."} for i in range(60)]
    write_jsonl(tmp_path / "data/web.jsonl", docs)
    write_jsonl(
        tmp_path / "eval.jsonl", [{"text": "The heron waits by the bridge while the baker opens the shop."}]
    )
    return parse_recipe(
        f"""
name: base-run
sources: [{{name: web, path: "{tmp_path}/data/web.jsonl"}}]
stages:
  - format: {{kind: pretrain}}
  - tokenize: {{train: {{vocab_size: 320}}, seq_len: 32}}
train:
  preset: tiny
  model: {{n_layer: 2, n_head: 2, n_embd: 32}}
  steps: {steps}
  batch_size: 4
  init_from: base:web
  base_steps: 15
  eval: {{path: "{tmp_path}/eval.jsonl"}}
"""
    )


def test_a_base_model_must_name_a_source_of_the_recipe(tmp_path):
    text = """
name: r
sources: [{name: web, path: data/*.jsonl}]
stages:
  - tokenize: {}
train:
  init_from: base:wbe
"""
    with pytest.raises(RecipeError) as error:
        parse_recipe(text)
    message = str(error.value)
    assert "train.init_from (line 7): names base:wbe, but 'wbe' is not a source of this recipe" in message
    assert "did you mean 'web'?" in message


@pytest.mark.slow
def test_base_model_is_trained_once_and_fine_tuned_from(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path / "cache"))
    first = run_recipe(recipe(tmp_path, steps=5), run_dir=tmp_path / "runs/a", workers=1, report=False)
    score = json.loads((tmp_path / "runs/a/score.json").read_text())
    base = score["init_from"]["checkpoint"]
    assert base.startswith(str(tmp_path / "cache" / "base"))
    assert score["metrics"]["bpb"] > 0 and first.manifest["score"]["ppl"] > 1
    (mtime,) = {p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("checkpoint.pt")}
    # another recipe of the experiment (more fine-tuning steps) reuses the same base model
    run_recipe(recipe(tmp_path, steps=7), run_dir=tmp_path / "runs/b", workers=1, report=False)
    again = json.loads((tmp_path / "runs/b/score.json").read_text())
    assert again["init_from"]["checkpoint"] == base
    assert {p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("checkpoint.pt")} == {mtime}


ANIMALS = [
    "cat",
    "dog",
    "horse",
    "cow",
    "goat",
    "sheep",
    "duck",
    "goose",
    "hen",
    "pig",
    "fox",
    "deer",
    "hare",
    "owl",
]


def pair(animal: str) -> dict:
    return {
        "prompt": f"Is the {animal} an animal?",
        "chosen": f"Yes, the {animal} is certainly an animal.",
        "rejected": f"No, the {animal} is a stone.",
    }


@pytest.mark.slow
def test_dpo_after_training_moves_preference_accuracy_on_held_out_pairs(tmp_path):
    write_jsonl(tmp_path / "pairs.jsonl", [pair(a) for a in ANIMALS[:10]] * 3)
    write_jsonl(tmp_path / "eval.jsonl", [pair(a) for a in ANIMALS[10:]])
    text = f"""
name: dpo-run
sources: [{{name: pairs, path: "{tmp_path}/pairs.jsonl", format: preference}}]
stages:
  - format: {{kind: preference}}
  - tokenize: {{train: {{vocab_size: 300}}, seq_len: 128}}
train:
  preset: tiny
  model: {{n_layer: 2, n_head: 2, n_embd: 32}}
  steps: 1
  batch_size: 4
  lr: 1.0e-5
  eval: {{path: "{tmp_path}/eval.jsonl"}}
  dpo: {{beta: 0.1, steps: 30, batch_size: 8, lr: 5.0e-3, warmup: 0}}
"""
    run_recipe(parse_recipe(text), run_dir=tmp_path / "runs/d", workers=1, report=False)
    score = json.loads((tmp_path / "runs/d/score.json").read_text())
    dpo = score["dpo"]
    assert dpo["truncated_pairs"] == 0
    assert dpo["after"]["pref_margin"] > dpo["before"]["pref_margin"] + 1
    assert dpo["after"]["pref_accuracy"] >= 0.75 > dpo["before"]["pref_accuracy"]
    assert (tmp_path / "runs/d/dpo/checkpoint.pt").exists()


def test_dpo_needs_preference_pairs_in_the_output(tmp_path):
    from curate.errors import RecipeError
    from curate.train.pipeline import output_pairs

    (tmp_path / "output").mkdir()
    import polars as pl

    pl.DataFrame({"text": ["a"]}).write_parquet(tmp_path / "output/part-0.parquet")
    with pytest.raises(RecipeError, match=r"format: \{kind: preference\}"):
        output_pairs(tmp_path)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            {"messages": [{"role": "human", "content": "hi"}, {"role": "gpt", "content": "hello"}]},
            "role 'human'",
        ),
        ({"messages": [{"from": "human", "value": "hi"}]}, "without a string 'content'"),
        ({"messages": [{"role": "user", "content": "only a question"}]}, "no assistant turn"),
        ({"messages": "hello"}, "not a list of turns"),
        ({"prompt": "q", "chosen": 3, "rejected": "b"}, "chosen is int"),
    ],
)
def test_an_eval_set_scoring_cannot_use_is_refused_before_any_work(tmp_path, record, problem):
    from curate.exec.pipe import check_recipe

    parsed = recipe(tmp_path, steps=5)
    write_jsonl(tmp_path / "eval.jsonl", [record])
    with pytest.raises(RecipeError, match=f"train.eval.path .*record 1 .*cannot be scored: .*{problem}"):
        check_recipe(parsed)  # what `curate validate` runs
    with pytest.raises(RecipeError, match="cannot be scored"):
        run_recipe(parsed, run_dir=tmp_path / "run", workers=1, progress=False)
    assert not (tmp_path / "run").exists()


def test_a_well_shaped_chat_eval_set_passes_the_check(tmp_path):
    from curate.exec.pipe import check_recipe

    parsed = recipe(tmp_path, steps=5)
    chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    write_jsonl(tmp_path / "eval.jsonl", [chat])
    check_recipe(parsed)
    write_jsonl(tmp_path / "eval.jsonl", [chat, {"text": "a document"}])
    with pytest.raises(RecipeError, match="mixes record kinds"):
        check_recipe(parsed)
