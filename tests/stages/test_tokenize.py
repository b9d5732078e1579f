"""The tokenize stage, called directly: sample -> fit -> apply -> finalize into token files."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from curate.errors import StageError
from curate.formats.templates import EOD, get_template
from curate.io import state as state_file
from curate.io.tokens import open_tokens, read_index
from curate.records import BASE_SCHEMA, MESSAGES_DTYPE, REASON, kind_of
from curate.stages import REGISTRY, tokenize
from curate.stages.base import ShardInfo, StageContext
from curate.stages.tokenize import (
    PREFERENCE_FILE,
    TokenizeConfig,
    TokenizerTrainConfig,
    apply,
    finalize,
    fit,
    load_tokenizer,
    sentences,
    summarize,
)
from curate.tokenize.spm import MODEL_NAME, VOCAB_NAME, save_tokenizer, sha256
from tests.tokenize.corpus import LINES, corpus, model_bytes

TRAIN = TokenizerTrainConfig(vocab_size=600)


def u(text):
    return {"role": "user", "content": text}


def a(text):
    return {"role": "assistant", "content": text}


def frame(kind, source, rows, start=0):
    rows = [{"id": f"{source}-{start + i}", "source": source, "meta": "{}", **r} for i, r in enumerate(rows)]
    return pl.DataFrame(rows, schema=BASE_SCHEMA[kind])


DOCS = frame("text", "web", [{"text": text} for text in corpus(8)])
CHATS = frame(
    "chat",
    "chat",
    [
        {
            "messages": [
                u(LINES[i % len(LINES)]),
                a(LINES[(i + 3) % len(LINES)]),
                u(f"More {i}?"),
                a(f"Yes, {i} more. 😀"),
            ]
        }
        for i in range(40)
    ],
)
PAIRS = frame(
    "preference",
    "pref",
    [
        {
            "prompt": [u(f"Question {i}: {LINES[i % len(LINES)]}")],
            "chosen": [a(f"Good answer {i}.")],
            "rejected": [a(f"Bad {i}")],
        }
        for i in range(20)
    ],
)


def context(run_dir: Path) -> StageContext:
    return StageContext(
        run_dir=run_dir,
        stage_dir=run_dir / "stages" / "05-tokenize",
        seed=0,
        source_kinds={"web": "text", "chat": "chat", "pref": "preference"},
        shards=[],
    )


KINDS = {"text": "web", "chat": "chat", "preference": "pref"}


def shard(i, batch):
    kind = kind_of(batch)
    return ShardInfo(index=i, source=KINDS[kind], kind=kind)


def fitted(batches, cfg, run_dir):
    partials = [summarize(b, cfg, shard(i, b)) for i, b in enumerate(batches)]
    return fit(partials, cfg, context(run_dir))


def run_all(batches, cfg, run_dir):
    """Every step of the stage, as the pipe loop runs it; returns the apply results and the stats."""
    result = fitted(batches, cfg, run_dir)
    outputs, paths = [], []
    for i, batch in enumerate(batches):
        out = apply(batch, cfg, result.state, shard(i, batch))
        path = run_dir / "stages" / f"part-{i:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        out.kept.write_parquet(path)
        outputs.append(out)
        paths.append(path)
    stats = finalize(paths, cfg, result.state, context(run_dir))
    return result, outputs, stats


def runs(ids, mask):
    """Maximal runs of ids whose mask is 1."""
    mask = np.asarray(mask, dtype=np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [0]])))
    return [list(ids[start:end]) for start, end in zip(edges[::2], edges[1::2], strict=True)]


# --- config, registry --------------------------------------------------------------------------


def test_stage_is_registered_with_finalize():
    stage = REGISTRY["tokenize"]
    assert stage.config is TokenizeConfig
    assert stage.finalize is finalize


def test_train_and_model_exclude_each_other():
    with pytest.raises(ValidationError, match="either train"):
        TokenizeConfig(train={"vocab_size": 1000}, model="x.model")
    assert TokenizeConfig().training == TokenizerTrainConfig()
    with pytest.raises(ValidationError, match="model_type"):
        TokenizeConfig(train={"model_type": "wordpiece"})


# --- sample and fit ---------------------------------------------------------------------------


def test_sentences_are_cut_at_line_breaks_within_the_byte_limit():
    text = "short line\n" * 20 + "漢" * 100 + "\nend"
    pieces = list(sentences(text, 64))
    assert "".join(pieces) == text
    assert all(len(p.encode("utf-8")) <= 64 for p in pieces)
    assert pieces[0] == "short line\n" * 5


def test_summarize_is_bounded_and_sees_the_template():
    cfg = TokenizeConfig(train=TokenizerTrainConfig(input_sentence_size=7, max_sentence_length=100))
    sample = summarize(CHATS, cfg, shard(0, CHATS))
    assert len(sample.sentences) == 7
    assert all(len(text.encode("utf-8")) <= 100 for _, text in sample.sentences)
    assert any("<|im_start|>assistant\n" in text for _, text in sample.sentences)
    assert sample.records == 40
    assert sample.conversations == 40
    assert [key for key, _ in sample.sentences] == sorted(key for key, _ in sample.sentences)


def test_the_tokenizer_does_not_depend_on_how_the_data_is_sharded(tmp_path):
    cfg = TokenizeConfig(train=TokenizerTrainConfig(vocab_size=600, input_sentence_size=100))
    whole = fitted([DOCS, CHATS], cfg, tmp_path / "one")
    pieces = [DOCS[:50], CHATS[:13], DOCS[50:], CHATS[13:]]
    sharded = fitted(pieces, cfg, tmp_path / "four")
    assert whole.stats["sample_sentences"] == 100
    assert whole.state.sha256 == sharded.state.sha256
    assert whole.state.model == sharded.state.model
    assert (tmp_path / "one" / "tokenizer" / MODEL_NAME).read_bytes() == whole.state.model


def test_fit_saves_the_tokenizer_in_the_run_directory(tmp_path):
    result = fitted([DOCS, CHATS], TokenizeConfig(train=TRAIN), tmp_path)
    directory = tmp_path / "tokenizer"
    assert sorted(p.name for p in directory.iterdir()) == [MODEL_NAME, VOCAB_NAME]
    assert (directory / MODEL_NAME).read_bytes() == result.state.model
    assert result.state.sha256 == sha256(result.state.model)
    assert result.stats["vocab_size"] == 600
    assert result.stats["special_ids"]["<|im_start|>"] == 4
    assert result.stats["special_ids"]["pad"] == 3
    assert result.stats["records"] == DOCS.height + CHATS.height


def test_fit_loads_an_existing_model_and_copies_it(tmp_path):
    source = save_tokenizer(model_bytes(), tmp_path / "elsewhere")
    result = fitted([CHATS], TokenizeConfig(model=str(source)), tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer" / MODEL_NAME).read_bytes() == model_bytes()
    assert result.stats["loaded_from"] == str(source)


def test_a_loaded_model_without_the_template_tokens_is_refused_for_chats(tmp_path):
    source = save_tokenizer(model_bytes(with_specials=False), tmp_path / "plain")
    cfg = TokenizeConfig(model=str(source))
    with pytest.raises(StageError, match=re.escape("<|im_start|>")):
        fitted([DOCS, CHATS], cfg, tmp_path / "run")
    assert fitted([DOCS], cfg, tmp_path / "docs").stats["vocab_size"] == 600


def test_no_text_at_all_is_a_clear_error(tmp_path):
    with pytest.raises(StageError, match="no text"):
        fitted([DOCS.clear()], TokenizeConfig(train=TRAIN), tmp_path)


def test_the_state_carries_the_tokenizer_so_workers_need_no_shared_files(tmp_path, monkeypatch):
    result = fitted([DOCS], TokenizeConfig(train=TRAIN), tmp_path)
    state = state_file.loads(state_file.dumps(result.state))
    assert state == result.state and len(state_file.dumps(state)) < 2 * len(state.model)
    shutil.rmtree(tmp_path / "tokenizer")
    monkeypatch.setattr(tokenize, "_TOKENIZERS", {})
    out = apply(DOCS.head(2), TokenizeConfig(train=TRAIN), state, shard(0, DOCS))
    assert out.kept["input_ids"].list.len().min() > 1
    assert "model" not in repr(state)


# --- apply ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return fitted([DOCS, CHATS, PAIRS], TokenizeConfig(train=TRAIN), tmp_path_factory.mktemp("run")).state


def test_documents_get_their_ids_and_the_end_of_document_token(state):
    batch = pl.concat([DOCS.head(3), frame("text", "web", [{"text": ""}], start=99)])
    result = apply(batch, TokenizeConfig(train=TRAIN), state, shard(0, DOCS))
    tokenizer = load_tokenizer(state)
    assert result.dropped[REASON].to_list() == ["tokenize_empty"]
    assert result.kept.schema["input_ids"] == pl.List(pl.UInt32)
    assert result.kept.schema["loss_mask"] == pl.List(pl.UInt8)
    for row in result.kept.iter_rows(named=True):
        assert row["input_ids"][-1] == tokenizer.special_ids[EOD]
        assert tokenizer.decode(row["input_ids"][:-1]) == row["text"]
        assert row["loss_mask"] == [1] * len(row["input_ids"])
    assert result.counters["tokens"] == sum(len(x) for x in result.kept["input_ids"].to_list())


@pytest.mark.parametrize("template", ["chatml", "llama3", "plain"])
def test_the_loss_mask_decodes_to_exactly_the_assistant_turns(state, template):
    cfg = TokenizeConfig(train=TRAIN, template=template)
    result = apply(CHATS, cfg, state, shard(0, CHATS))
    tokenizer = load_tokenizer(state)
    end = get_template(template).end["assistant"]
    for row in result.kept.iter_rows(named=True):
        ids, mask = np.array(row["input_ids"]), row["loss_mask"]
        assert tokenizer.decode(ids) == get_template(template).render(row["messages"])
        trained = [tokenizer.decode(run) for run in runs(ids, mask)]
        assert trained == [m["content"] + end for m in row["messages"] if m["role"] == "assistant"]
    assert 0 < result.counters["target_tokens"] < result.counters["tokens"]


def test_prompt_completion_records_train_on_the_completion_only(state):
    conversational = pl.DataFrame(
        {
            "id": ["x"],
            "source": ["chat"],
            "prompt": [[u("Hi"), a("Hello"), u("Bye?")]],
            "completion": [[a("Bye!")]],
        },
        schema_overrides={"prompt": MESSAGES_DTYPE, "completion": MESSAGES_DTYPE},
    )
    strings = pl.DataFrame({"id": ["y"], "source": ["chat"], "prompt": ["Q: 1+1?\nA:"], "completion": [" 2"]})
    tokenizer = load_tokenizer(state)
    row = apply(conversational, TokenizeConfig(train=TRAIN), state, shard(0, CHATS)).kept.row(0, named=True)
    assert [tokenizer.decode(r) for r in runs(np.array(row["input_ids"]), row["loss_mask"])] == [
        "Bye!<|im_end|>"
    ]
    row = apply(strings, TokenizeConfig(train=TRAIN), state, shard(0, CHATS)).kept.row(0, named=True)
    assert tokenizer.decode(row["input_ids"]) == "Q: 1+1?\nA: 2"
    assert [tokenizer.decode(r) for r in runs(np.array(row["input_ids"]), row["loss_mask"])] == [" 2"]


def test_preference_pairs_get_prompt_plus_response_with_response_masks(state):
    result = apply(PAIRS, TokenizeConfig(train=TRAIN), state, shard(0, PAIRS))
    tokenizer = load_tokenizer(state)
    assert {"chosen_input_ids", "chosen_loss_mask", "rejected_input_ids", "rejected_loss_mask"} <= set(
        result.kept.columns
    )
    assert "input_ids" not in result.kept.columns
    for row in result.kept.iter_rows(named=True):
        for side in ("chosen", "rejected"):
            ids, mask = np.array(row[f"{side}_input_ids"]), row[f"{side}_loss_mask"]
            assert tokenizer.decode(ids) == get_template("chatml").render(row["prompt"] + row[side])
            assert [tokenizer.decode(r) for r in runs(ids, mask)] == [row[side][0]["content"] + "<|im_end|>"]
        prompt_len = row["chosen_loss_mask"].index(1)
        assert row["chosen_input_ids"][:prompt_len] == row["rejected_input_ids"][:prompt_len]


# --- finalize ---------------------------------------------------------------------------------


def test_pretraining_is_concatenated_and_round_trips_through_open_tokens(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=64)
    second = frame("text", "news", [{"text": t} for t in corpus(2)])
    _, outputs, stats = run_all([DOCS, second], cfg, tmp_path)
    tokens = open_tokens(tmp_path / "tokens")
    stream = np.concatenate([np.array(x) for out in outputs for x in out.kept["input_ids"].to_list()])
    assert tokens.index.packing == "concat"
    assert tokens.index.dtype == "uint16"
    assert tokens.tokens.shape == (-(-stream.size // 64), 64)
    flat = np.asarray(tokens.tokens).reshape(-1)
    assert np.array_equal(flat[: stream.size], stream)
    assert int(np.asarray(tokens.mask).sum()) == stream.size
    lengths = [len(x) for out in outputs for x in out.kept["input_ids"].to_list()]
    assert tokens.doc_starts.tolist() == np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
    assert stats["sources"]["web"]["tokens"] + stats["sources"]["news"]["tokens"] == stream.size
    assert stats["token_mix"]["web"] == pytest.approx(
        stats["sources"]["web"]["tokens"] / stream.size, abs=1e-6
    )
    assert stats["pad_tokens"] == tokens.tokens.size - stream.size
    index = read_index(tmp_path / "tokens")
    assert index.tokenizer == f"tokenizer/{MODEL_NAME}"
    assert index.special_ids["eod"] == index.special_ids["eos"] == index.special_ids[EOD]
    assert "bos" not in index.special_ids  # <s> never occurs in the packed tokens
    assert index.stats["rows"] == tokens.tokens.shape[0]


def test_sft_packing_keeps_every_conversation_whole_and_counts_truncation(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=48, pack_window=4)
    _, outputs, stats = run_all([CHATS], cfg, tmp_path)
    tokens = open_tokens(tmp_path / "tokens")
    assert tokens.index.packing == "best_fit"
    records = [
        (np.array(i), np.array(m))
        for i, m in zip(*(outputs[0].kept[c].to_list() for c in ("input_ids", "loss_mask")), strict=True)
    ]
    long = [r for r in records if r[0].size > 48]
    assert long, "the fixture must have conversations longer than seq_len"
    assert stats["truncated_records"] == len([r for r in long if r[1][:48].any()])
    assert stats["truncated_tokens"] == sum(r[0].size - 48 for r in long if r[1][:48].any())
    assert stats["dropped_records"] == len(long) - stats["truncated_records"]
    flat, mask = np.asarray(tokens.tokens).reshape(-1), np.asarray(tokens.mask).reshape(-1)
    expected = Counter(tuple(ids[:48].tolist()) for ids, m in records if m[:48].any())
    starts = [*tokens.doc_starts.tolist(), flat.size]
    found = Counter()
    for start, end in itertools.pairwise(starts):
        row_end = (start // 48 + 1) * 48
        piece = flat[start : min(end, row_end)]
        piece = piece[: len(piece) - int((piece == tokens.index.special_ids["pad"])[::-1].cumprod().sum())]
        found[tuple(piece.tolist())] += 1
        assert mask[start] == 0  # a conversation starts with template markup, never a target
    assert found == expected
    assert stats["fill_ratio"] == pytest.approx(1 - stats["pad_tokens"] / tokens.tokens.size)


def test_dropping_long_conversations_is_counted(tmp_path):
    _, outputs, stats = run_all([CHATS], TokenizeConfig(train=TRAIN, seq_len=48, truncation="drop"), tmp_path)
    lengths = [len(x) for x in outputs[0].kept["input_ids"].to_list()]
    assert stats["dropped_records"] == sum(n > 48 for n in lengths)
    assert stats["dropped_tokens"] == sum(n for n in lengths if n > 48)
    assert stats["truncated_records"] == 0
    assert open_tokens(tmp_path / "tokens").index.num_docs == sum(n <= 48 for n in lengths)


def test_preference_pairs_go_to_their_own_file_and_chosen_into_the_rows(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=64, parquet=True)
    _, outputs, stats = run_all([PAIRS], cfg, tmp_path)
    pairs = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "tokens" / PREFERENCE_FILE),
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert len(pairs) == PAIRS.height == stats["preference"]["pairs"]
    assert pairs.features["chosen_input_ids"] == datasets.List(datasets.Value("uint32"))
    assert pairs.features["rejected_loss_mask"] == datasets.List(datasets.Value("uint8"))
    kept = outputs[0].kept
    assert pairs["chosen_input_ids"] == kept["chosen_input_ids"].to_list()
    assert pairs["rejected_loss_mask"] == kept["rejected_loss_mask"].to_list()
    tokens = open_tokens(tmp_path / "tokens")
    assert int(np.asarray(tokens.mask).sum()) == sum(sum(m) for m in kept["chosen_loss_mask"].to_list())
    rows = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "tokens" / "train.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert len(rows) == tokens.tokens.shape[0]
    labels = np.array(rows["labels"])
    assert np.array_equal(np.array(rows["input_ids"]), np.asarray(tokens.tokens))
    assert np.array_equal(labels != -100, np.asarray(tokens.mask).astype(bool))


def test_mixed_sft_with_documents_packs_documents_in_pieces(tmp_path):
    _, outputs, stats = run_all(
        [DOCS.head(20), CHATS.head(10)], TokenizeConfig(train=TRAIN, seq_len=32), tmp_path
    )
    assert stats["packing"] == "best_fit"
    doc_tokens = sum(len(x) for x in outputs[0].kept["input_ids"].to_list())
    assert stats["sources"]["web"]["tokens"] == doc_tokens  # cut into rows, nothing truncated
    assert stats["sources"]["web"]["truncated_tokens"] == 0
    assert set(stats["target_token_mix"]) == {"web", "chat"}
    assert json.loads(json.dumps(stats)) == stats
    assert stats["artifacts"] == ["tokenizer", "tokens"]


def test_a_rerun_replaces_the_token_files(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=64)
    run_all([DOCS], cfg, tmp_path)
    run_all([DOCS.head(10)], cfg, tmp_path)
    tokens = open_tokens(tmp_path / "tokens")
    assert tokens.index.stats["records"] == 10
    assert (tmp_path / "tokens" / "train.bin").stat().st_size == tokens.tokens.size * 2
    assert not list((tmp_path / "tokens").glob("*.tmp"))


def test_a_failed_finalize_leaves_no_index_and_no_temporary_files(tmp_path):
    cfg = TokenizeConfig(train=TRAIN, seq_len=64, parquet=True)
    run_all([DOCS.head(5)], cfg, tmp_path)
    result = fitted([DOCS.head(5)], cfg, tmp_path)
    good = tmp_path / "stages" / "part-00000.parquet"
    broken = tmp_path / "stages" / "part-00001.parquet"
    pl.DataFrame(
        {"source": ["web"], "text": ["x"], "input_ids": [[70_000]], "loss_mask": [[1]]},
        schema_overrides={"input_ids": pl.List(pl.UInt32), "loss_mask": pl.List(pl.UInt8)},
    ).write_parquet(broken)
    with pytest.raises(ValueError, match="out of range"):
        finalize([good, broken], cfg, result.state, context(tmp_path))
    assert not (tmp_path / "tokens" / "index.json").exists()
    assert not (tmp_path / "tokens" / "train.parquet").exists()
    assert not list((tmp_path / "tokens").glob("*.tmp"))


def test_a_vocabulary_smaller_than_asked_is_reported_with_the_cap_and_why(tmp_path):
    asked = TokenizerTrainConfig(vocab_size=200_000)
    result = fitted([DOCS], TokenizeConfig(train=asked), tmp_path / "big")
    trained = result.stats["vocab_size"]
    assert trained < 200_000
    assert result.stats["vocab_capped"] == {"requested": 200_000, "trained": trained}
    (warning,) = result.stats["warnings"]
    assert f"train.vocab_size is 200,000 but the tokenizer has {trained:,} tokens" in warning
    assert "hard_vocab_limit" in warning and "sample" in warning
    exact = fitted([DOCS], TokenizeConfig(train=TRAIN), tmp_path / "exact")
    assert "warnings" not in exact.stats and "vocab_capped" not in exact.stats


def test_a_run_prints_the_vocabulary_cap_and_keeps_it_in_the_stats(tmp_path, capsys):
    from curate.exec.pipe import run_recipe
    from curate.io.writers import read_json
    from curate.recipe import parse_recipe
    from tests.conftest import write_jsonl

    write_jsonl(tmp_path / "data.jsonl", DOCS.select("text").to_dicts())
    recipe = parse_recipe(
        f"name: cap\nsources: [{{name: web, path: {tmp_path / 'data.jsonl'}}}]\n"
        "stages:\n  - tokenize: {train: {vocab_size: 200000}, seq_len: 64}\n"
    )
    run_recipe(recipe, run_dir=tmp_path / "run", workers=1, progress=False, report=False)
    assert "warning: tokenize: train.vocab_size is 200,000 but the tokenizer has" in capsys.readouterr().err
    (stats,) = [s for s in read_json(tmp_path / "run/manifest.json")["steps"] if s["stage"] == "tokenize"]
    assert stats["fit"]["vocab_capped"]["requested"] == 200_000
