"""``tokenize: {hf: PATH}``: the stage, its checks and the mix's token counts with a Hugging Face tokenizer."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError
from transformers import AutoTokenizer

from curate.errors import StageError
from curate.io.tokens import open_tokens, read_index
from curate.records import REASON
from curate.stages import REGISTRY
from curate.stages.mix import record_tokens
from curate.stages.tokenize import TokenizeConfig, TokenizerTrainConfig, apply, check, fit
from curate.tokenize.load import load_tokenizer
from tests.stages.test_tokenize import CHATS, DOCS, PAIRS, context, frame, run_all, shard


def test_hf_excludes_train_and_model(hf_qwen):
    with pytest.raises(ValidationError, match=r"hf .* and train are exclusive"):
        TokenizeConfig(hf=str(hf_qwen), train=TokenizerTrainConfig())
    with pytest.raises(ValidationError, match=r"hf .* and model are exclusive"):
        TokenizeConfig(hf=str(hf_qwen), model="tokenizer.model")


def test_preflight_names_what_is_missing(hf_llama3, hf_qwen, tmp_path):
    assert REGISTRY["tokenize"].check is check
    check(TokenizeConfig(hf=str(hf_qwen), template="chatml"))
    check(TokenizeConfig(hf=str(hf_llama3), template="llama3"))
    with pytest.raises(StageError, match=r"no single token for <\|im_start\|>, <\|im_end\|>.*'chatml'"):
        check(TokenizeConfig(hf=str(hf_llama3), template="chatml"))
    with pytest.raises(StageError, match=str(tmp_path / "missing")):
        check(TokenizeConfig(hf=str(tmp_path / "missing")))


def test_records_get_the_tokenizers_ids_and_token_files_name_it(hf_qwen, tmp_path):
    cfg = TokenizeConfig(hf=str(hf_qwen), seq_len=256)
    result, outputs, stats = run_all([DOCS, CHATS, PAIRS], cfg, tmp_path)
    auto = AutoTokenizer.from_pretrained(str(hf_qwen))
    texts = DOCS["text"].to_list()
    expected = [[*ids, auto.eos_token_id] for ids in auto(texts)["input_ids"]]
    assert outputs[0].kept["input_ids"].to_list() == expected
    index = read_index(tmp_path / "tokens")
    assert index.tokenizer == "tokenizer/tokenizer.json"
    assert index.dtype == "uint16" and index.vocab_size == load_tokenizer(hf_qwen).vocab_size
    assert index.special_ids["eos"] == auto.eos_token_id and "bos" not in index.special_ids
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (tmp_path / "tokenizer" / name).read_bytes() == (hf_qwen / name).read_bytes()
    assert result.stats["kind"] == "hf" and result.stats["sha256"] == load_tokenizer(hf_qwen).fingerprint
    assert stats["preference"]["pairs"] == PAIRS.height


def test_wide_vocabularies_write_uint32_token_files(hf_wide, tmp_path):
    cfg = TokenizeConfig(hf=str(hf_wide), seq_len=32)
    run_all([DOCS.head(20)], cfg, tmp_path)
    tokens = open_tokens(tmp_path / "tokens")
    assert tokens.index.dtype == "uint32" and tokens.tokens.dtype == np.uint32
    assert tokens.tokens.min() > 65_535
    tok = load_tokenizer(tmp_path / "tokenizer")
    first = tokens.tokens.reshape(-1)[: int(np.argmax(tokens.tokens.reshape(-1) == tok.eod_id))]
    assert tok.decode(first) == DOCS["text"][0]


def test_an_empty_document_is_dropped_with_a_bos_tokenizer(hf_llama3, tmp_path):
    """An empty document is BOS + EOS with Llama 3's tokenizer: still empty, still dropped."""
    cfg = TokenizeConfig(hf=str(hf_llama3))
    batch = frame("text", "web", [{"text": "Some text."}, {"text": ""}])
    state = fit([], cfg, context(tmp_path)).state
    out = apply(batch, cfg, state, shard(0, batch))
    assert out.kept["text"].to_list() == ["Some text."]
    assert out.dropped[REASON].to_list() == ["tokenize_empty"]
    assert out.kept["input_ids"].to_list()[0][0] == load_tokenizer(hf_llama3).bos_id


def test_mix_counts_tokens_with_a_hf_tokenizer(hf_qwen):
    batch = pl.DataFrame({"text": DOCS["text"].head(30)})
    auto = AutoTokenizer.from_pretrained(str(hf_qwen))
    counted = record_tokens(batch, tokenizer=str(hf_qwen))
    assert counted.tolist() == [
        len(ids) for ids in auto(batch["text"].to_list(), add_special_tokens=False)["input_ids"]
    ]


def test_a_recipe_is_refused_before_any_work(hf_llama3, tmp_path):
    """`curate validate` and `curate run` check the tokenizer first: files, then template tokens."""
    from curate.exec.pipe import check_recipe
    from curate.recipe import recipe_from_data

    def recipe(hf, template="chatml"):
        data = {
            "name": "r",
            "sources": [{"name": "web", "path": str(tmp_path / "*.jsonl")}],
            "stages": [{"format": {"kind": "pretrain"}}, {"tokenize": {"hf": str(hf), "template": template}}],
        }
        return recipe_from_data(data)

    with pytest.raises(StageError, match=r"stages\[1\]\.tokenize: .*" + str(tmp_path / "gone")):
        check_recipe(recipe(tmp_path / "gone"))
    with pytest.raises(StageError, match=r"stages\[1\]\.tokenize: .*no single token for <\|im_start\|>"):
        check_recipe(recipe(hf_llama3))
    check_recipe(recipe(hf_llama3, template="llama3"))
