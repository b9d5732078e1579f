"""The export list, and exports written atomically: a failed or killed finalize leaves no export,
and writing again gives the same bytes; recorded in the stats and the manifest."""

from __future__ import annotations

import json

import polars as pl
import pytest
from pydantic import ValidationError

import curate
from curate.exports import EXPORTS
from curate.recipe import recipe_from_data
from curate.stages.tokenize import TokenizeConfig, finalize
from tests.conftest import REPO
from tests.stages.test_tokenize import CHATS, PAIRS, TRAIN, context, fitted, run_all

ALL = ["nanogpt", "hf", "megatron"]


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_registry_names_every_format():
    assert sorted(EXPORTS) == sorted(ALL)
    assert all(cls.name == name for name, cls in EXPORTS.items())


def test_nanogpt_is_always_exported_and_unknown_formats_are_refused():
    assert TokenizeConfig().export == ("nanogpt",)
    assert TokenizeConfig(export=["megatron", "hf", "megatron"]).export == ("nanogpt", "megatron", "hf")
    with pytest.raises(ValidationError, match="export"):
        TokenizeConfig(export=["gguf"])
    with pytest.raises(ValidationError, match="hf_rows"):
        TokenizeConfig(hf_rows="rows")


def test_exports_are_the_same_bytes_every_time_and_stale_files_go(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=48, export=ALL)
    run_all([CHATS, PAIRS], cfg, tmp_path / "a")
    # a killed finalize's leftovers, and an export of an earlier configuration of the step
    stale = tmp_path / "b" / "exports"
    for name in ("hf/train.parquet.tmp", "megatron/train.lengths.tmp", "megatron/train.bin.tmp", "old/x.bin"):
        (stale / name).parent.mkdir(parents=True, exist_ok=True)
        (stale / name).write_bytes(b"partial")
    _, _, stats = run_all([CHATS, PAIRS], cfg, tmp_path / "b")
    first, second = files(tmp_path / "a" / "exports"), files(tmp_path / "b" / "exports")
    assert sorted(first) == [
        "hf/preference.parquet",
        "hf/train.parquet",
        "megatron/train.bin",
        "megatron/train.idx",
    ]
    assert first == second
    assert files(tmp_path / "a" / "tokens") == files(tmp_path / "b" / "tokens")
    assert list(stats["exports"]) == ALL
    assert stats["exports"]["nanogpt"]["dir"] == "tokens"


def test_a_failed_finalize_leaves_no_export_and_no_temporary_file(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=64, export=ALL)
    run_all([CHATS.head(5)], cfg, tmp_path)
    result = fitted([CHATS.head(5)], cfg, tmp_path)
    good = tmp_path / "stages" / "part-00000.parquet"
    broken = tmp_path / "stages" / "part-00001.parquet"
    pl.DataFrame(
        {"source": ["web"], "text": ["x"], "input_ids": [[70_000]], "loss_mask": [[1]]},
        schema_overrides={"input_ids": pl.List(pl.UInt32), "loss_mask": pl.List(pl.UInt8)},
    ).write_parquet(broken)
    with pytest.raises(ValueError, match=r"out of range|does not fit"):
        finalize([good, broken], cfg, result.state, context(tmp_path))
    assert [p for p in (tmp_path / "exports").rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_a_run_records_its_exports_and_a_sibling_run_adopts_them(tmp_path):
    def recipe(name):
        return recipe_from_data(
            {
                "name": name,
                "sources": [
                    {
                        "name": "chat",
                        "path": str(REPO / "sample_data/sft/messages.jsonl"),
                        "format": "messages",
                        "limit": 24,
                    }
                ],
                "stages": [
                    {"format": {"kind": "sft"}},
                    {"tokenize": {"train": {"vocab_size": 800}, "seq_len": 96, "export": ["hf", "megatron"]}},
                ],
            }
        )

    first = curate.run(recipe("a"), run_dir=tmp_path / "a", report=False)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    tokenize = next(s for s in manifest["steps"] if s["stage"] == "tokenize")
    assert sorted(tokenize["finalize"]["exports"]) == sorted(ALL)
    assert (first.run_dir / "recipe.yaml").read_text().count("- megatron") == 1
    curate.run(recipe("b"), run_dir=tmp_path / "b", report=False)
    stats = json.loads(next((tmp_path / "b" / "stats").glob("*-tokenize.json")).read_text())
    assert "adopted_from" in stats
    assert files(tmp_path / "b" / "exports") == files(tmp_path / "a" / "exports")
