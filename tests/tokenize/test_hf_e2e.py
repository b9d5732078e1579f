"""recipes/pretrain-hf.yaml end to end, shortened: a Hugging Face tokenizer's tokens train and score."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.io.tokens import open_tokens
from curate.tokenize.load import load_tokenizer
from curate.train.checkpoint import load_checkpoint
from tests.conftest import REPO


@pytest.mark.slow
def test_pretrain_recipe_with_a_hf_tokenizer_trains_and_scores(tmp_path):
    recipe = yaml.safe_load((REPO / "recipes" / "pretrain-hf.yaml").read_text())
    recipe["sources"][0]["path"] = str(REPO / "sample_data" / "web" / "web-0[01].jsonl")
    recipe["stages"][-1]["tokenize"]["hf"] = str(REPO / "sample_data" / "hf-tokenizer")
    recipe["train"].update(steps=20, batch_size=8)
    recipe["train"]["eval"] = {"path": str(REPO / "sample_data/eval/web_eval.jsonl"), "max_records": 40}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(run_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output

    tokenizer = load_tokenizer(REPO / "sample_data" / "hf-tokenizer")
    tokens = open_tokens(run_dir / "tokens")
    assert tokens.index.vocab_size == tokenizer.vocab_size and tokens.index.dtype == "uint16"
    assert tokens.index.tokenizer == "tokenizer/tokenizer.json"
    stream = np.asarray(tokens.tokens).reshape(-1)
    first = stream[: int(np.argmax(stream == tokenizer.eod_id))]
    assert tokenizer.decode(first).strip()  # the first packed document decodes to text

    score = json.loads((run_dir / "score.json").read_text())
    metrics = score["metrics"]
    assert math.isfinite(metrics["bpb"]) and 0 < metrics["bpb"] < 12
    assert score["eval"]["records"] == 40
    # bytes are counted from the eval texts, not from decoded tokens
    texts = [
        json.loads(line)["text"]
        for line in (REPO / "sample_data/eval/web_eval.jsonl").read_text().splitlines()
    ]
    assert score["eval"]["bytes"] == sum(len(t.encode("utf-8")) for t in texts[:40])
    assert score["tokens_seen"] == 20 * 8 * 127
    # the checkpoint names the run's tokenizer directory and its fingerprint
    recorded = load_checkpoint(run_dir / "train" / "checkpoint.pt").tokenizer
    assert recorded == {"path": str((run_dir / "tokenizer").resolve()), "sha256": tokenizer.fingerprint}
