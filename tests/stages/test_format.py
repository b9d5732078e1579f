"""The format stage: TRL schemas per kind, conversions between kinds, bad records dropped with reasons."""

from __future__ import annotations

import json

import datasets
import polars as pl
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from curate.formats.hf import hf_table
from curate.formats.templates import EOD
from curate.records import BASE_SCHEMA, MESSAGES_DTYPE, REASON
from curate.stages import REGISTRY
from curate.stages.format import FormatConfig, apply


def u(text):
    return {"role": "user", "content": text}


def a(text):
    return {"role": "assistant", "content": text}


def s(text):
    return {"role": "system", "content": text}


def frame(kind, rows):
    schema = dict(BASE_SCHEMA[kind])
    schema["lang"] = pl.String  # a column an earlier stage added
    rows = [
        {"id": f"{kind}-{i}", "source": kind, "meta": json.dumps({"n": i}), "lang": "en", **r}
        for i, r in enumerate(rows)
    ]
    return pl.DataFrame(rows, schema=schema)


CHATS = frame(
    "chat",
    [
        {"messages": [u("Hi"), a("Hello!")]},
        {"messages": [s("Be brief."), u("2+2?"), a("4"), u("3+3?"), a("6")]},
        {"messages": [u("Empty answer"), a("   ")]},  # emptied by a cleaning stage
        {"messages": [u("No answer")]},
    ],
)
PAIRS = frame(
    "preference",
    [
        {"prompt": [u("Capital of France?")], "chosen": [a("Paris.")], "rejected": [a("Lyon.")]},
        {"prompt": [u("Same?")], "chosen": [a("yes")], "rejected": [a("yes")]},
    ],
)
TEXTS = frame("text", [{"text": "Just a document."}, {"text": "Another one."}])


def run(batch, **options):
    return apply(batch, FormatConfig(**options))


def reasons(result):
    return dict(zip(result.dropped["id"].to_list(), result.dropped[REASON].to_list(), strict=True))


def test_stage_is_registered():
    assert REGISTRY["format"].config is FormatConfig


def test_sft_messages_keeps_valid_chats_and_drops_bad_ones_with_reasons():
    result = run(CHATS, kind="sft")
    assert result.kept.columns == ["id", "source", "messages", "meta"]
    assert result.kept.schema["messages"] == MESSAGES_DTYPE
    assert result.kept["messages"].to_list() == CHATS["messages"].to_list()[:2]
    assert reasons(result) == {"chat-2": "bad_chat:empty_content", "chat-3": "bad_chat:last_not_assistant"}
    assert result.dropped.columns == [*CHATS.columns, REASON]
    assert result.kept["meta"].to_list() == ['{"n": 0}', '{"n": 1}']


def test_system_prompt_is_added_to_conversations_without_one():
    result = run(CHATS.head(2), kind="sft", system_prompt="You are helpful.")
    first, second = result.kept["messages"].to_list()
    assert first[0] == s("You are helpful.")
    assert second[0] == s("Be brief.")


def test_sft_prompt_completion_splits_off_the_last_assistant_turn():
    result = run(CHATS.head(2), kind="sft", sft_schema="prompt_completion")
    assert result.kept.columns == ["id", "source", "prompt", "completion", "meta"]
    assert result.kept["prompt"].to_list() == [[u("Hi")], [s("Be brief."), u("2+2?"), a("4"), u("3+3?")]]
    assert result.kept["completion"].to_list() == [[a("Hello!")], [a("6")]]


def test_sft_prompt_completion_strings_are_rendered_like_trl_and_end_with_the_end_of_turn():
    result = run(CHATS.head(1), kind="sft", sft_schema="prompt_completion", strings=True)
    assert (
        result.kept.row(0, named=True)["prompt"] == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    # no "\n" after <|im_end|>: TRL appends its EOS to a completion that does not end with it
    assert result.kept.row(0, named=True)["completion"] == "Hello!<|im_end|>"


def test_preference_pairs_in_sft_become_prompt_plus_chosen_or_are_dropped():
    result = run(PAIRS, kind="sft")
    assert result.kept["messages"].to_list() == [[u("Capital of France?"), a("Paris.")]]
    assert reasons(result) == {"preference-1": "bad_pair:identical"}
    assert result.counters == {"converted.preference_to_sft": 1.0}
    refused = run(PAIRS, kind="sft", preference_to_sft=False)
    assert refused.kept.height == 0
    assert set(reasons(refused).values()) == {"format_preference_in_sft"}


def test_text_in_sft_is_dropped_unless_kept_as_documents():
    assert set(reasons(run(TEXTS, kind="sft")).values()) == {"format_text_in_sft"}
    kept = run(TEXTS, kind="sft", keep_text=True)
    assert kept.kept.columns == ["id", "source", "text", "meta"]
    assert kept.kept["text"].to_list() == ["Just a document.", "Another one."]


def test_preference_keeps_valid_pairs_in_trl_explicit_prompt_form():
    result = run(PAIRS, kind="preference")
    assert result.kept.columns == ["id", "source", "prompt", "chosen", "rejected", "meta"]
    assert result.kept.row(0, named=True)["prompt"] == [u("Capital of France?")]
    assert result.kept.row(0, named=True)["chosen"] == [a("Paris.")]
    assert result.kept.row(0, named=True)["rejected"] == [a("Lyon.")]
    assert reasons(result) == {"preference-1": "bad_pair:identical"}


def test_preference_strings_share_the_prompt_and_end_with_the_end_of_turn():
    row = run(PAIRS.head(1), kind="preference", strings=True, template="llama3").kept.row(0, named=True)
    assert row["prompt"] == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert row["chosen"] == "Paris.<|eot_id|>"
    assert row["rejected"] == "Lyon.<|eot_id|>"


def test_chats_and_text_have_no_pairs():
    assert set(reasons(run(CHATS, kind="preference")).values()) == {"format_chat_in_preference"}
    assert set(reasons(run(TEXTS, kind="preference")).values()) == {"format_text_in_preference"}


def test_pretrain_renders_chats_and_pairs_through_the_template():
    chats = run(CHATS, kind="pretrain", template="plain")
    assert chats.kept.columns == ["id", "source", "text", "meta"]
    assert chats.kept["text"].to_list()[0] == f"User: Hi\n\nAssistant: Hello!{EOD}"
    assert reasons(chats) == {"chat-2": "bad_chat:empty_content", "chat-3": "bad_chat:last_not_assistant"}
    assert chats.counters == {"converted.chat_to_pretrain": 2.0}
    pairs = run(PAIRS, kind="pretrain")
    assert pairs.kept["text"].to_list() == [
        "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n"
    ]
    texts = run(TEXTS, kind="pretrain")
    assert texts.kept["text"].to_list() == TEXTS["text"].to_list()
    assert texts.dropped.height == 0


def test_an_empty_batch_gives_empty_output_with_the_right_columns():
    result = run(CHATS.clear(), kind="sft")
    assert result.kept.height == 0
    assert result.kept.schema["messages"] == MESSAGES_DTYPE


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "sft", "strings": True}, "prompt_completion"),
        ({"kind": "pretrain", "strings": True}, "strings applies"),
        ({"kind": "preference", "keep_text": True}, "keep_text"),
        ({"kind": "sft", "template": "vicuna"}, "template"),
        ({"kind": "rlhf"}, "kind"),
        ({"kind": "sft", "colour": "blue"}, "colour"),
    ],
)
def test_bad_configs_point_at_the_field(options, message):
    with pytest.raises(ValidationError, match=message):
        FormatConfig(**options)


def load(tmp_path, result, name):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(hf_table(result.kept), path)
    return datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
    )


MESSAGE_LIST = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})
STRING = datasets.Value("string")


@pytest.mark.parametrize(
    ("batch", "options", "features"),
    [
        (CHATS, {"kind": "sft"}, {"messages": MESSAGE_LIST}),
        (
            CHATS,
            {"kind": "sft", "sft_schema": "prompt_completion"},
            {"prompt": MESSAGE_LIST, "completion": MESSAGE_LIST},
        ),
        (
            CHATS,
            {"kind": "sft", "sft_schema": "prompt_completion", "strings": True},
            {"prompt": STRING, "completion": STRING},
        ),
        (
            PAIRS,
            {"kind": "preference"},
            {"prompt": MESSAGE_LIST, "chosen": MESSAGE_LIST, "rejected": MESSAGE_LIST},
        ),
        (
            PAIRS,
            {"kind": "preference", "strings": True},
            {"prompt": STRING, "chosen": STRING, "rejected": STRING},
        ),
        (CHATS, {"kind": "pretrain"}, {"text": STRING}),
    ],
)
def test_outputs_load_with_datasets_in_trl_schemas(tmp_path, batch, options, features):
    result = apply(batch, FormatConfig(**options))
    dataset = load(tmp_path, result, "out")
    expected = {"id": STRING, "source": STRING, **features, "meta": STRING}
    assert dict(dataset.features) == expected
    assert list(dataset.features) == list(expected)
    assert len(dataset) == result.kept.height
    first = dataset[0]
    for column in features:
        assert first[column] == result.kept.row(0, named=True)[column]
