"""decontaminate: eval records never reach the training data."""

from __future__ import annotations

import polars as pl
import pytest

from curate.errors import StageError
from curate.records import BASE_SCHEMA
from curate.stages.decontaminate import DecontaminateConfig, apply
from tests.conftest import write_jsonl


def texts(*values: str, ids: list[str] | None = None) -> pl.DataFrame:
    ids = ids or [f"t{i}" for i in range(len(values))]
    return pl.DataFrame(
        {"id": ids, "source": ["web"] * len(values), "text": list(values), "meta": [None] * len(values)},
        schema=BASE_SCHEMA["text"],
    )


@pytest.fixture
def eval_file(tmp_path):
    return write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {"text": "The held-out page  about\nrivers."},
            {"id": "web/a.jsonl:9", "text": "another eval page"},
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        ],
    )


def test_overlap_by_text_up_to_whitespace_and_by_id_is_dropped(eval_file):
    batch = texts(
        "  The held-out page about rivers.  ", "a training page", "unrelated", ids=["a", "b", "web/a.jsonl:9"]
    )
    result = apply(batch, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.kept["id"].to_list() == ["b"]
    assert result.dropped["id"].to_list() == ["a", "web/a.jsonl:9"]
    assert set(result.dropped["reason"]) == {"eval_overlap"}
    assert result.counters == {"eval_overlap": 2}


def test_text_that_differs_in_words_is_kept(eval_file):
    batch = texts("The held-out page about lakes.", "The held-out page about rivers")
    result = apply(batch, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.kept.height == 2


def test_overlap_is_an_error_by_default_naming_the_records(eval_file):
    with pytest.raises(StageError, match=r"1 training record\(s\) are in the eval set .* \(e\.g\. x\)"):
        apply(texts("another eval page", ids=["x"]), DecontaminateConfig(eval=str(eval_file)))


def test_chat_records_compare_their_joined_turns(eval_file):
    chats = pl.DataFrame(
        {
            "id": ["c1", "c2"],
            "source": ["chat", "chat"],
            "messages": [
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "goodbye"}],
            ],
            "meta": [None, None],
        },
        schema=BASE_SCHEMA["chat"],
    )
    result = apply(chats, DecontaminateConfig(eval=str(eval_file), on_overlap="drop"))
    assert result.dropped["id"].to_list() == ["c1"]


def test_missing_eval_file_is_a_clear_error(tmp_path):
    with pytest.raises(StageError, match="matches no file"):
        apply(texts("x"), DecontaminateConfig(eval=str(tmp_path / "none*.jsonl")))
