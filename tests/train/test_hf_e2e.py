"""recipes/sft-hf-lora.yaml end to end, shortened: a LoRA fine-tune of sample_data/hf-model, scored
with the base model's own score before fine-tuning."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("transformers")
pytest.importorskip("peft")

from curate.cli import app
from tests.conftest import REPO


@pytest.mark.slow
def test_sft_recipe_on_a_hf_model_with_lora(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path / "cache"))
    recipe = yaml.safe_load((REPO / "recipes" / "sft-hf-lora.yaml").read_text())
    for source in recipe["sources"]:
        source["path"] = str(REPO / source["path"])
    recipe["stages"][-1]["tokenize"]["hf"] = str(REPO / "sample_data" / "hf-tokenizer")
    recipe["train"].update(steps=4, batch_size=4, init_from=f"hf:{REPO / 'sample_data' / 'hf-model'}")
    recipe["train"]["eval"] = {"path": str(REPO / "sample_data/eval/preference_eval.jsonl"), "max_records": 8}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(run_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output

    score = json.loads((run_dir / "score.json").read_text())
    assert math.isfinite(score["metrics"]["bpb"]) and math.isfinite(score["base"]["metrics"]["bpb"])
    assert score["delta_bpb"] == pytest.approx(score["metrics"]["bpb"] - score["base"]["metrics"]["bpb"])
    assert "pref_accuracy" in score["base"]["metrics"] and "delta_pref_accuracy" in score
    assert (run_dir / "train" / "hf" / "adapter_config.json").is_file()
    assert "before fine-tuning" in (run_dir / "report.html").read_text()
