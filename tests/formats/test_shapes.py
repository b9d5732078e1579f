"""Every input shape: objects that convert (and to what), objects that are rejected (and why)."""

from __future__ import annotations

import pytest

from curate.errors import RecipeError
from curate.formats.shapes import BadRecord, chat_messages, consumed_fields, preference_pairs


def u(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def a(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def s(text: str) -> dict[str, str]:
    return {"role": "system", "content": text}


# --- chats: good ------------------------------------------------------------------------------

GOOD_CHATS = [
    ("alpaca", {"instruction": "Name a colour.", "output": "Blue."}, [u("Name a colour."), a("Blue.")]),
    (
        "alpaca",
        {"instruction": "Translate.", "input": "Bonjour", "output": "Hello"},
        [u("Translate.\n\nBonjour"), a("Hello")],
    ),
    ("alpaca", {"instruction": "Say hi.", "input": "  ", "output": "Hi"}, [u("Say hi."), a("Hi")]),
    (
        "alpaca",
        {
            "instruction": "Next?",
            "output": "4",
            "system": "Be brief.",
            "history": [["1+1?", "2"], ["2+1?", "3"]],
        },
        [s("Be brief."), u("1+1?"), a("2"), u("2+1?"), a("3"), u("Next?"), a("4")],
    ),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "human", "value": "你好"},
                {"from": "gpt", "value": "你好！有什么可以帮你？"},
            ]
        },
        [u("你好"), a("你好！有什么可以帮你？")],
    ),
    (
        "sharegpt",
        {
            "conversations": [
                {"from": "system", "value": "Du bist hilfsbereit."},
                {"from": "human", "value": "Hallo"},
                {"from": "gpt", "value": "Hallo!"},
                {"from": "human", "value": "Wie geht's?"},
                {"from": "gpt", "value": "Gut 🙂"},
            ]
        },
        [s("Du bist hilfsbereit."), u("Hallo"), a("Hallo!"), u("Wie geht's?"), a("Gut 🙂")],
    ),
    (
        "sharegpt",
        {
            "system": "Terse.",
            "conversations": [{"from": "user", "value": "q"}, {"from": "assistant", "value": "r"}],
        },
        [s("Terse."), u("q"), a("r")],
    ),
    ("messages", {"messages": [u("hi"), a("hello")]}, [u("hi"), a("hello")]),
    (
        "messages",
        {"messages": [s("sys"), u("hi"), a("hello"), u("bye"), a("ciao")]},
        [s("sys"), u("hi"), a("hello"), u("bye"), a("ciao")],
    ),
    ("prompt_response", {"prompt": "2+2?", "response": "4"}, [u("2+2?"), a("4")]),
    (
        "prompt_response",
        {"prompt": "2+2?", "completion": " 4", "system": "Math."},
        [s("Math."), u("2+2?"), a(" 4")],
    ),
    ("prompt_response", {"prompt": [u("q")], "completion": [a("r")]}, [u("q"), a("r")]),
]


@pytest.mark.parametrize(("fmt", "obj", "expected"), GOOD_CHATS)
def test_chat_shapes_convert(fmt, obj, expected):
    assert chat_messages(obj, fmt) == expected


def test_field_overrides_the_default_list_field():
    obj = {"dialog": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "r"}]}
    assert chat_messages(obj, "sharegpt", field="dialog") == [u("q"), a("r")]
    assert chat_messages({"turns": [u("q"), a("r")]}, "messages", field="turns") == [u("q"), a("r")]


def test_field_on_a_shape_without_list_field_is_a_recipe_error():
    with pytest.raises(RecipeError, match="alpaca"):
        chat_messages({"instruction": "q", "output": "r"}, "alpaca", field="x")


def test_content_is_kept_byte_for_byte():
    text = "  line one\n\n\tline two  "
    assert chat_messages({"messages": [u(text), a(text)]}, "messages")[1]["content"] == text


# --- chats: bad -------------------------------------------------------------------------------

BAD_CHATS = [
    ("alpaca", {"output": "x"}, "bad_chat:missing_field"),
    ("alpaca", {"instruction": "x"}, "bad_chat:missing_field"),
    ("alpaca", {"instruction": "q", "output": ""}, "bad_chat:empty_content"),
    ("alpaca", {"instruction": " \n", "output": "r"}, "bad_chat:empty_content"),
    ("alpaca", {"instruction": "q", "output": 42}, "bad_chat:content_not_string"),
    ("alpaca", {"instruction": "q", "input": ["x"], "output": "r"}, "bad_chat:content_not_string"),
    ("alpaca", {"instruction": "q", "output": "r", "history": [["only one"]]}, "bad_chat:bad_turn"),
    ("sharegpt", {"conversations": "hello"}, "bad_chat:not_a_list"),
    ("sharegpt", {"conversations": []}, "bad_chat:no_turns"),
    (
        "sharegpt",
        {"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "r"}]},
        "bad_chat:unknown_role",
    ),
    ("sharegpt", {"conversations": [{"from": "human"}, {"from": "gpt", "value": "r"}]}, "bad_chat:bad_turn"),
    ("sharegpt", {"conversations": ["q", "r"]}, "bad_chat:bad_turn"),
    ("sharegpt", {"conversations": [{"from": "gpt", "value": "r"}]}, "bad_chat:not_alternating"),
    ("sharegpt", {"conversations": [{"from": "human", "value": "q"}]}, "bad_chat:last_not_assistant"),
    ("messages", {"msgs": [u("q"), a("r")]}, "bad_chat:missing_field"),
    ("messages", {"messages": None}, "bad_chat:missing_field"),
    ("messages", {"messages": [s("only system")]}, "bad_chat:no_turns"),
    ("messages", {"messages": [u("q"), s("late system"), a("r")]}, "bad_chat:system_not_first"),
    ("messages", {"messages": [u("q"), u("q again"), a("r")]}, "bad_chat:not_alternating"),
    ("messages", {"messages": [u("q"), a("r"), a("r again")]}, "bad_chat:not_alternating"),
    ("messages", {"messages": [u("q"), a("r"), u("dangling")]}, "bad_chat:last_not_assistant"),
    ("messages", {"messages": [u("q"), {"role": "tool", "content": "x"}]}, "bad_chat:unknown_role"),
    ("messages", {"messages": [u("q"), a(None)]}, "bad_chat:empty_content"),  # type: ignore[arg-type]
    (
        "messages",
        {"messages": [u("q"), {"role": "assistant", "content": [{"type": "text"}]}]},
        "bad_chat:content_not_string",
    ),
    ("messages", {"messages": [u("q"), {"role": "assistant"}]}, "bad_chat:bad_turn"),
    ("prompt_response", {"prompt": "q"}, "bad_chat:missing_field"),
    ("prompt_response", {"prompt": "", "response": "r"}, "bad_chat:empty_content"),
    ("prompt_response", {"prompt": "q", "response": "\t"}, "bad_chat:empty_content"),
]


@pytest.mark.parametrize(("fmt", "obj", "reason"), BAD_CHATS)
def test_bad_chats_are_rejected_with_reasons(fmt, obj, reason):
    with pytest.raises(BadRecord) as caught:
        chat_messages(obj, fmt)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(reason)


def test_a_non_object_is_a_bad_record_not_a_crash():
    with pytest.raises(BadRecord, match="bad_chat:not_an_object"):
        chat_messages(["not", "a", "dict"], "messages")  # type: ignore[arg-type]
    with pytest.raises(BadRecord, match="bad_pair:not_an_object"):
        preference_pairs("text", "preference")  # type: ignore[arg-type]


# --- preference: good -------------------------------------------------------------------------

GOOD_PAIRS = [
    (
        "preference",
        {"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
        [([u("Capital of France?")], [a("Paris.")], [a("Lyon.")])],
    ),
    (
        "preference",
        {"prompt": [s("geo"), u("Capital?")], "chosen": [a("Paris")], "rejected": [a("Rome")]},
        [([s("geo"), u("Capital?")], [a("Paris")], [a("Rome")])],
    ),
    (  # responses repeating the prompt as a prefix are cut after it
        "preference",
        {"prompt": [u("q")], "chosen": [u("q"), a("good")], "rejected": [u("q"), a("bad")]},
        [([u("q")], [a("good")], [a("bad")])],
    ),
    (  # TRL implicit prompt: the shared prefix up to the last user turn
        "preference",
        {"chosen": [u("q1"), a("r1"), u("q2"), a("good")], "rejected": [u("q1"), a("r1"), u("q2"), a("bad")]},
        [([u("q1"), a("r1"), u("q2")], [a("good")], [a("bad")])],
    ),
    (
        "preference",
        {"system": "Be kind.", "prompt": "q", "chosen": "yes", "rejected": "no"},
        [([s("Be kind."), u("q")], [a("yes")], [a("no")])],
    ),
    (
        "hh",
        {
            "chosen": "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant: 6.",
            "rejected": "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: And 3+3?\n\nAssistant: Seven.",
        },
        [([u("What is 2+2?"), a("4."), u("And 3+3?")], [a("6.")], [a("Seven.")])],
    ),
    (
        "hh",
        {"chosen": "Human: Hi\n\nAssistant: Hello!", "rejected": "Human: Hi\n\nAssistant:Go away."},
        [([u("Hi")], [a("Hello!")], [a("Go away.")])],
    ),
    (
        "ratings",
        {
            "instruction": "Write a haiku.",
            "completions": [
                {"response": "ok haiku", "overall_score": 6.5},
                {"response": "great haiku", "overall_score": 9},
                {"response": "bad haiku", "overall_score": 2},
            ],
        },
        [([u("Write a haiku.")], [a("great haiku")], [a("bad haiku")])],
    ),
    (
        "ratings",
        {"prompt": "q", "completions": ["x", "y"], "scores": [1, 3]},
        [([u("q")], [a("y")], [a("x")])],
    ),
    (  # unscored completions are skipped; the first of equal best scores wins
        "ratings",
        {
            "prompt": "q",
            "responses": [
                {"text": "a1", "rating": 5},
                {"text": "a2", "rating": None},
                {"text": "a3", "rating": 5},
                {"text": "a4", "rating": 1},
            ],
        },
        [([u("q")], [a("a1")], [a("a4")])],
    ),
]


@pytest.mark.parametrize(("fmt", "obj", "expected"), GOOD_PAIRS)
def test_preference_shapes_convert(fmt, obj, expected):
    assert preference_pairs(obj, fmt) == [tuple(p) for p in expected]


def test_ratings_all_pairs_above_the_margin_drop_ties():
    obj = {"prompt": "q", "completions": ["w", "x", "y", "z"], "scores": [1.0, 2.0, 2.0, 4.0]}
    pairs = preference_pairs(obj, "ratings", ratings_pairs="all")
    assert [(c[0]["content"], r[0]["content"]) for _, c, r in pairs] == [
        ("x", "w"),
        ("y", "w"),
        ("z", "w"),
        ("z", "x"),
        ("z", "y"),
    ]  # x-y tie left out
    wide = preference_pairs(obj, "ratings", ratings_pairs="all", margin=1.5)
    assert [(c[0]["content"], r[0]["content"]) for _, c, r in wide] == [("z", "w"), ("z", "x"), ("z", "y")]


# --- preference: bad --------------------------------------------------------------------------

BAD_PAIRS = [
    ("preference", {"prompt": "q", "chosen": "same", "rejected": "same"}, "bad_pair:identical"),
    ("preference", {"prompt": "q", "chosen": "", "rejected": "no"}, "bad_pair:empty_content"),
    ("preference", {"prompt": "q", "chosen": [], "rejected": "no"}, "bad_pair:empty_response"),
    ("preference", {"prompt": "q", "rejected": "no"}, "bad_pair:missing_field"),
    ("preference", {"chosen": "yes", "rejected": "no"}, "bad_pair:missing_prompt"),
    ("preference", {"prompt": "", "chosen": "yes", "rejected": "no"}, "bad_pair:empty_content"),
    (
        "preference",
        {"prompt": [u("q")], "chosen": [u("other"), a("x")], "rejected": [a("y")]},
        "bad_pair:prompt_mismatch",
    ),
    ("preference", {"chosen": [u("q1"), a("x")], "rejected": [u("q2"), a("y")]}, "bad_pair:no_shared_prompt"),
    ("preference", {"prompt": "q", "chosen": [a("x"), a("y")], "rejected": "z"}, "bad_pair:not_alternating"),
    (
        "preference",
        {"prompt": [u("q")], "chosen": [{"role": "bot", "content": "x"}], "rejected": "z"},
        "bad_pair:unknown_role",
    ),
    ("preference", {"prompt": "q", "chosen": ["x"], "rejected": "z"}, "bad_pair:bad_turn"),
    ("preference", {"prompt": [u("q"), a("x")], "chosen": "y", "rejected": "z"}, "bad_pair:not_alternating"),
    (
        "hh",
        {"chosen": "no markers here", "rejected": "\n\nHuman: q\n\nAssistant: r"},
        "bad_pair:hh_unparsable",
    ),
    (
        "hh",
        {"chosen": "\n\nHuman: q\n\nAssistant:", "rejected": "\n\nHuman: q\n\nAssistant: r"},
        "bad_pair:empty_response",
    ),
    (
        "hh",
        {"chosen": "\n\nHuman: q\n\nAssistant: r\n\nHuman: more", "rejected": "\n\nHuman: q\n\nAssistant: s"},
        "bad_pair:last_not_assistant",
    ),
    (
        "hh",
        {"chosen": "\n\nHuman: q1\n\nAssistant: r", "rejected": "\n\nHuman: q2\n\nAssistant: s"},
        "bad_pair:prompt_mismatch",
    ),
    (
        "hh",
        {"chosen": "\n\nHuman: q\n\nAssistant: r", "rejected": "\n\nHuman: q\n\nAssistant: r "},
        "bad_pair:identical",
    ),
    ("hh", {"chosen": 7, "rejected": "\n\nHuman: q\n\nAssistant: r"}, "bad_pair:content_not_string"),
    (
        "hh",
        {"chosen": "\n\nAssistant: hi\n\nAssistant: r", "rejected": "\n\nAssistant: hi\n\nAssistant: s"},
        "bad_pair:not_alternating",
    ),
    ("ratings", {"prompt": "q", "completions": [{"response": "x", "score": 3}]}, "bad_pair:too_few_scored"),
    (
        "ratings",
        {"prompt": "q", "completions": [{"response": "x", "score": "high"}, {"response": "y", "score": 1}]},
        "bad_pair:too_few_scored",
    ),
    (
        "ratings",
        {"prompt": "q", "completions": [{"response": "x", "score": True}, {"response": "y", "score": 1}]},
        "bad_pair:too_few_scored",
    ),
    (
        "ratings",
        {
            "prompt": "q",
            "completions": [{"response": "x", "score": float("nan")}, {"response": "y", "score": 1}],
        },
        "bad_pair:too_few_scored",
    ),
    ("ratings", {"prompt": "q", "completions": ["x", "y"], "scores": [2, 2]}, "bad_pair:ties"),
    ("ratings", {"prompt": "q", "completions": ["x", "y"], "scores": [1]}, "bad_pair:bad_score"),
    ("ratings", {"prompt": "q", "completions": ["x", "y"]}, "bad_pair:missing_field"),
    ("ratings", {"prompt": "q", "completions": ["x", "x"], "scores": [1, 5]}, "bad_pair:identical"),
    ("ratings", {"completions": ["x", "y"], "scores": [1, 5]}, "bad_pair:missing_field"),
    ("ratings", {"prompt": "q", "completions": [5, 6], "scores": [1, 5]}, "bad_pair:bad_turn"),
    (
        "ratings",
        {"prompt": "q", "completions": [{"response": "", "score": 1}, {"response": "y", "score": 5}]},
        "bad_pair:empty_content",
    ),
]


@pytest.mark.parametrize(("fmt", "obj", "reason"), BAD_PAIRS)
def test_bad_pairs_are_rejected_with_reasons(fmt, obj, reason):
    with pytest.raises(BadRecord) as caught:
        preference_pairs(obj, fmt)
    assert caught.value.reason == reason


def test_ratings_margin_not_met_is_its_own_reason():
    obj = {"prompt": "q", "completions": ["x", "y"], "scores": [1, 2]}
    with pytest.raises(BadRecord) as caught:
        preference_pairs(obj, "ratings", margin=1.0)
    assert caught.value.reason == "bad_pair:below_margin"
    assert preference_pairs(obj, "ratings", margin=0.5)


def test_unknown_formats_are_recipe_errors():
    with pytest.raises(RecipeError, match="vicuna"):
        chat_messages({}, "vicuna")  # type: ignore[arg-type]
    with pytest.raises(RecipeError, match="pairs"):
        preference_pairs({}, "pairs")  # type: ignore[arg-type]
    with pytest.raises(RecipeError, match="some"):
        preference_pairs(
            {"prompt": "q", "completions": ["x", "y"], "scores": [1, 2]}, "ratings", ratings_pairs="some"
        )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "obj", "field"),
    [(fmt, obj, None) for fmt, obj, _ in GOOD_CHATS]
    + [(fmt, obj, None) for fmt, obj, _ in GOOD_PAIRS]
    + [("sharegpt", {"dialog": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "r"}]}, "dialog")],
)
def test_every_field_a_shape_reads_is_listed_as_consumed(fmt, obj, field):
    """A reader keeps the fields outside consumed_fields as meta: they must not change the record."""
    convert = (
        chat_messages if fmt in ("alpaca", "sharegpt", "messages", "prompt_response") else preference_pairs
    )
    kwargs = {"field": field} if field else {}
    consumed = consumed_fields(fmt, field)
    assert set(obj) <= consumed
    assert "source_url" not in consumed
    assert convert({**obj, "source_url": "https://example.org"}, fmt, **kwargs) == convert(obj, fmt, **kwargs)
