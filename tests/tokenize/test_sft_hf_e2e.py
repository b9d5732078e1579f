"""recipes/sft-hf.yaml end to end, shortened: conversations in the model's own chat template,
tokenized whole with its tokenizer, trained on and scored, and exports/hf taken by TRL as is."""

from __future__ import annotations

import json
import math

import datasets
import numpy as np
import polars as pl
import pytest
import yaml
from transformers import AutoTokenizer
from typer.testing import CliRunner

from curate.cli import app
from curate.io.tokens import open_tokens
from curate.tokenize.load import load_tokenizer
from tests.conftest import REPO
from tests.trl_tiny import tiny_model, trainer_args

SAMPLE_TOKENIZER = REPO / "sample_data" / "hf-tokenizer"


@pytest.mark.slow
def test_sft_recipe_with_the_models_template_trains_scores_and_exports_for_trl(tmp_path):
    from trl import SFTConfig, SFTTrainer

    recipe = yaml.safe_load((REPO / "recipes" / "sft-hf.yaml").read_text())
    for source in recipe["sources"]:
        source["path"] = str(REPO / source["path"])
    recipe["stages"][-1]["tokenize"]["hf"] = str(SAMPLE_TOKENIZER)
    recipe["train"].update(steps=10, batch_size=4)
    recipe["train"]["eval"] = {
        "path": str(REPO / "sample_data/eval/preference_eval.jsonl"),
        "max_records": 20,
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(run_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output

    # output/ carries the records (messages), never ids
    output = pl.read_parquet(run_dir / "output" / "*.parquet")
    assert "messages" in output.columns and "input_ids" not in output.columns
    # tokens/ holds each conversation exactly as transformers' apply_chat_template tokenizes it
    tokenizer = load_tokenizer(SAMPLE_TOKENIZER)
    auto = AutoTokenizer.from_pretrained(str(SAMPLE_TOKENIZER))
    tokens = open_tokens(run_dir / "tokens")
    assert (
        tokens.index.vocab_size == tokenizer.vocab_size
        and tokens.index.tokenizer == "tokenizer/tokenizer.json"
    )
    stream = np.asarray(tokens.tokens).reshape(-1)
    mask = np.asarray(tokens.mask).reshape(-1).astype(bool)
    pad = "<|endoftext|>"  # pads the end of each packed row
    texts = {tokenizer.decode(stream[a:b]).replace(pad, "") for a, b in _documents(tokens, stream.size)}
    system = {"role": "system", "content": "You are a helpful assistant."}
    rendered = [
        auto.apply_chat_template([system, *m] if m[0]["role"] != "system" else m, tokenize=False)
        for m in output["messages"].to_list()
    ]
    whole = [t for t in rendered if len(auto(t, add_special_tokens=False)["input_ids"]) <= 256]
    assert len(whole) > 0.5 * len(rendered)
    assert [t for t in whole if t not in texts] == []  # the longer ones are truncated to seq_len
    targets = tokenizer.decode(stream[mask])
    assert targets.count("<|im_end|>") >= len(whole) and "<|im_start|>" not in targets

    score = json.loads((run_dir / "score.json").read_text())
    assert all(math.isfinite(v) for v in score["metrics"].values() if isinstance(v, float))

    # exports/hf: TRL's SFTTrainer takes it as tokenized (nothing re-tokenized, nothing dropped)
    rows = datasets.load_dataset(
        "parquet",
        data_files=str(run_dir / "exports/hf/train.parquet"),
        split="train",
        cache_dir=str(tmp_path / "c"),
    )
    assert np.array_equal(np.array(rows["input_ids"]), np.asarray(tokens.tokens))
    model = tiny_model(tmp_path / "model", vocab_size=len(auto))
    trainer = SFTTrainer(
        model=str(model),
        args=trainer_args(
            SFTConfig, tmp_path / "out", max_length=256, max_steps=1, per_device_train_batch_size=2
        ),
        train_dataset=rows,
        processing_class=auto,
    )
    prepared = trainer.train_dataset
    assert len(prepared) == len(rows)
    assert list(prepared["input_ids"]) == list(rows["input_ids"])
    assert list(prepared["labels"]) == list(rows["labels"])
    trainer.train()


def _documents(tokens, total):
    starts = sorted({int(s) for s in tokens.doc_starts} | {0})
    return zip(starts, [*starts[1:], total], strict=True)
