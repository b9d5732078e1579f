"""The output step: records only (never token ids), a card that keeps each directory's own
datasets cache, strings that TRL takes as they are. Checked with the real datasets and TRL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import datasets
import polars as pl
import pytest

import curate
from curate.exec.output import unified_schema
from curate.recipe import recipe_from_data
from curate.stages.tokenize import TOKEN_COLUMNS
from tests.conftest import REPO
from tests.trl_tiny import hf_tokenizer, tiny_model, trainer_args

TOKENIZE = {"train": {"vocab_size": 800}, "seq_len": 96}


def tiny_run(directory: Path, name: str, sources: list[dict], fmt: dict) -> Path:
    recipe = recipe_from_data(
        {
            "name": name,
            "sources": [{**s, "path": str(REPO / s["path"]), "limit": 24} for s in sources],
            "stages": [{"format": fmt}, {"tokenize": TOKENIZE}],
            "output": {"format": "parquet"},
        }
    )
    return curate.run(recipe, run_dir=directory / name, report=False).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    sft = tiny_run(
        root,
        "sft",
        [{"name": "chat", "path": "sample_data/sft/messages.jsonl", "format": "messages"}],
        {"kind": "sft", "template": "chatml"},
    )
    pref = tiny_run(
        root,
        "preference",
        [{"name": "pairs", "path": "sample_data/preference/preference.jsonl", "format": "preference"}],
        {"kind": "preference", "template": "chatml", "strings": True},
    )
    return {"sft": sft, "preference": pref}


def test_the_output_schema_leaves_out_the_token_columns(tmp_path):
    path = tmp_path / "part.parquet"
    pl.DataFrame(
        {"id": ["a"], "chosen": ["x"], "chosen_input_ids": [[1, 2]], "chosen_loss_mask": [[0, 1]]}
    ).write_parquet(path)
    other = tmp_path / "other.parquet"
    pl.DataFrame({"id": ["b"], "text": ["y"], "input_ids": [[3]], "loss_mask": [[1]]}).write_parquet(other)
    assert list(unified_schema([path, other])) == ["id", "chosen", "text"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sft", "preference"])
def test_output_carries_records_and_never_token_ids(runs, kind):
    output = runs[kind] / "output"
    columns = set(pl.read_parquet_schema(next(output.glob("*.parquet"))))
    assert not columns & TOKEN_COLUMNS
    assert not [c for c in columns if "input_ids" in c or "loss_mask" in c]
    card = (output / "README.md").read_text()
    assert "input_ids" not in card and "loss_mask" not in card
    manifest = json.loads((runs[kind] / "manifest.json").read_text())
    assert manifest["complete"]
    assert (runs[kind] / "tokens" / "index.json").exists()  # the tokens are still packed


@pytest.mark.slow
def test_trl_tokenizes_the_sft_output_with_its_own_tokenizer(runs, tmp_path):
    """TRL's SFTTrainer used to find curate's input_ids and train on them as its own ids."""
    from trl import SFTConfig, SFTTrainer

    dataset = datasets.load_dataset(
        "parquet",
        data_files=str(runs["sft"] / "output/*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "c"),
    )
    tokenizer = hf_tokenizer([m["content"] for row in list(dataset["messages"]) for m in row])
    tokenizer.chat_template = CHATML_JINJA
    model = tiny_model(tmp_path / "model", vocab_size=len(tokenizer))
    trainer = SFTTrainer(
        model=str(model),
        args=trainer_args(SFTConfig, tmp_path / "out", max_length=None),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    first = trainer.train_dataset[0]
    expected = tokenizer.apply_chat_template(dataset[0]["messages"], tokenize=True, return_dict=True)
    assert first["input_ids"] == expected["input_ids"]
    assert max(max(r) for r in list(trainer.train_dataset["input_ids"])) < len(tokenizer)


@pytest.mark.slow
def test_trl_appends_no_second_end_of_turn_to_string_pairs(runs, tmp_path):
    from trl import DPOConfig, DPOTrainer

    dataset = datasets.load_dataset(
        "parquet",
        data_files=str(runs["preference"] / "output/*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "c"),
    )
    prompts, chosen, rejected = (list(dataset[c]) for c in ("prompt", "chosen", "rejected"))
    assert all(c.endswith("<|im_end|>") for c in chosen + rejected)
    tokenizer = hf_tokenizer(prompts + chosen + rejected)
    model = tiny_model(tmp_path / "model", vocab_size=len(tokenizer))
    trainer = DPOTrainer(
        model=str(model),
        args=trainer_args(DPOConfig, tmp_path / "out", max_length=None),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    eos = tokenizer.eos_token_id
    for row in trainer.train_dataset:
        for side in ("chosen_ids", "rejected_ids"):
            assert row[side][-1] == eos
            assert row[side].count(eos) == 1, tokenizer.decode(row[side])


LOAD = textwrap.dedent(
    """
    import json, sys, datasets
    ds = datasets.load_dataset(sys.argv[1], split="train")
    print(json.dumps({"columns": ds.column_names, "ids": list(ds["id"])}))
    """
)


@pytest.mark.slow
def test_loading_an_output_directory_returns_its_own_rows_in_a_shared_cache(runs, tmp_path):
    """With the card's `data_files: "*.parquet"`, every output/ had one cache key: the second
    directory loaded in a fresh process returned the first one's rows."""
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_OFFLINE": "1"}
    env.pop("HF_DATASETS_CACHE", None)
    found = {}
    for kind in ("preference", "sft"):
        done = subprocess.run(
            [sys.executable, "-c", LOAD, str(runs[kind] / "output")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found[kind] = json.loads(done.stdout.strip().splitlines()[-1])
    for kind in ("preference", "sft"):
        expected = pl.read_parquet(runs[kind] / "output/*.parquet")
        assert found[kind]["columns"] == expected.columns
        assert sorted(found[kind]["ids"]) == sorted(expected["id"].to_list())


CHATML_JINJA = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
