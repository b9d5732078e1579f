"""Input shapes: one parsed input object (a JSON line, a Parquet row) -> canonical messages.

Readers call :func:`chat_messages` for a source with ``format: alpaca | sharegpt | messages |
prompt_response`` and :func:`preference_pairs` for ``format: preference | hh | ratings``. Both
return plain ``{"role", "content"}`` dicts (the ``MESSAGE_DTYPE`` struct of ``curate.records``) and
raise :class:`BadRecord` for an object that cannot become a valid record; its ``reason``
(``bad_chat:<why>`` / ``bad_pair:<why>``) is what the record is quarantined under, and its message
says what exactly is wrong.

A valid conversation has known roles (system/user/assistant), an optional system turn first, then
user and assistant turns alternating, no empty content, and ends with an assistant turn. A valid
pair has a prompt ending with a user turn, two non-empty responses that differ, and a prompt both
responses share. Contents are kept byte for byte (only HH transcripts are stripped, because their
``"\\n\\nHuman: "`` framing leaves padding around every turn).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from curate.errors import CurateError, RecipeError

ChatFormat = Literal["alpaca", "sharegpt", "messages", "prompt_response"]
PreferenceFormat = Literal["preference", "hh", "ratings"]
RatingsPairs = Literal["best_worst", "all"]
Message = dict[str, str]
Conversation = list[Message]
Pair = tuple[Conversation, Conversation, Conversation]
"""(prompt, chosen, rejected): TRL's explicit-prompt conversational preference form."""

ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "assistant": "assistant",
}
DEFAULT_FIELDS: dict[str, str] = {"sharegpt": "conversations", "messages": "messages"}
RESPONSE_KEYS = ("response", "completion")
RATINGS_PROMPT_KEYS = ("prompt", "instruction")
RATINGS_LIST_KEYS = ("completions", "responses")
RATINGS_TEXT_KEYS = ("response", "text", "content", "completion")
RATINGS_SCORE_KEYS = ("score", "rating", "overall_score")
RATINGS_SCORES_KEYS = ("scores", "ratings")
SHAPE_FIELDS: dict[str, frozenset[str]] = {
    "alpaca": frozenset({"instruction", "input", "output", "system", "history"}),
    "sharegpt": frozenset({"system"}),
    "messages": frozenset(),
    "prompt_response": frozenset({"prompt", "system", *RESPONSE_KEYS}),
    "preference": frozenset({"prompt", "chosen", "rejected", "system"}),
    "hh": frozenset({"chosen", "rejected"}),
    "ratings": frozenset({"system", *RATINGS_PROMPT_KEYS, *RATINGS_LIST_KEYS, *RATINGS_SCORES_KEYS}),
}
"""Top-level input fields each shape reads, besides the list field of sharegpt and messages."""


def consumed_fields(fmt: ChatFormat | PreferenceFormat, field: str | None = None) -> frozenset[str]:
    """The input fields shape ``fmt`` turns into the record; a reader keeps the others as ``meta``."""
    list_field = field or DEFAULT_FIELDS.get(fmt)
    return SHAPE_FIELDS[fmt] | ({list_field} if list_field else set())


class BadRecord(CurateError):
    """An input object that is not a valid record. ``reason`` is the quarantine reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _bad(kind: str, why: str, detail: str = "") -> BadRecord:
    return BadRecord(f"{kind}:{why}", detail)


# --- validation -------------------------------------------------------------------------------


def validate_chat(messages: Sequence[Mapping[str, Any]], *, kind: str = "bad_chat") -> Conversation:
    """Check a conversation and return it as fresh ``{"role", "content"}`` dicts.

    ``kind`` prefixes the reason (``bad_chat`` for chats, ``bad_pair`` when checking the
    prompt + response of a pair).
    """
    turns = [_turn(m, kind) for m in messages]
    if not any(t["role"] != "system" for t in turns):
        raise _bad(kind, "no_turns", "no user or assistant turn")
    for i, turn in enumerate(turns):
        if turn["role"] == "system" and i > 0:
            raise _bad(kind, "system_not_first", f"system turn at position {i}")
    start = 1 if turns[0]["role"] == "system" else 0
    for i, turn in enumerate(turns[start:]):
        expected = "user" if i % 2 == 0 else "assistant"
        if turn["role"] != expected:
            raise _bad(kind, "not_alternating", f"turn {start + i} is {turn['role']}, expected {expected}")
    if turns[-1]["role"] != "assistant":
        raise _bad(kind, "last_not_assistant", f"last turn is {turns[-1]['role']}")
    return turns


def _turn(message: Any, kind: str) -> Message:
    if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
        raise _bad(kind, "bad_turn", f"expected a {{role, content}} object, got {_preview(message)}")
    role, content = message["role"], message["content"]
    if role not in ROLES:
        raise _bad(kind, "unknown_role", f"role {role!r} is none of {', '.join(ROLES)}")
    return {"role": role, "content": _content(content, kind, role)}


def _content(value: Any, kind: str, what: str) -> str:
    if value is None:
        raise _bad(kind, "empty_content", f"{what} content is null")
    if not isinstance(value, str):
        raise _bad(kind, "content_not_string", f"{what} content is {type(value).__name__}, not a string")
    if not value.strip():
        raise _bad(kind, "empty_content", f"{what} content is empty")
    return value


def _preview(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field(obj: Mapping[str, Any], name: str, kind: str) -> Any:
    if name not in obj or obj[name] is None:
        raise _bad(kind, "missing_field", f"no {name!r} field (fields: {', '.join(map(str, obj))})")
    return obj[name]


def _first_field(obj: Mapping[str, Any], names: Sequence[str], kind: str) -> Any:
    for name in names:
        if obj.get(name) is not None:
            return obj[name]
    raise _bad(
        kind, "missing_field", f"none of the fields {', '.join(names)} (fields: {', '.join(map(str, obj))})"
    )


def _system_turn(obj: Mapping[str, Any], kind: str) -> Conversation:
    """The optional top-level ``system`` string of an object, as a turn list (empty when absent)."""
    system = obj.get("system")
    if system is None or (isinstance(system, str) and not system.strip()):
        return []
    return [{"role": "system", "content": _content(system, kind, "system")}]


def _as_list(value: Any, kind: str, name: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise _bad(kind, "not_a_list", f"{name} is {type(value).__name__}, expected a list of turns")
    return list(value)


# --- chat shapes -----------------------------------------------------------------------------


def chat_messages(obj: Mapping[str, Any], fmt: ChatFormat, *, field: str | None = None) -> Conversation:
    """The validated conversation of one input object in chat shape ``fmt``.

    - ``alpaca``: ``instruction``, optional ``input`` (appended to the instruction after a blank
      line), ``output``; optional ``system`` and ``history`` (earlier ``[user, assistant]`` pairs).
    - ``sharegpt``: ``conversations`` (or ``field``), a list of ``{from, value}`` with
      ``human``/``gpt``/``system`` (``user``/``assistant``/``chatgpt`` accepted); optional ``system``.
    - ``messages``: ``messages`` (or ``field``), a list of ``{role, content}``.
    - ``prompt_response``: ``prompt`` and ``response`` (or ``completion``), each a string or a
      message list (TRL's conversational prompt-completion form); optional ``system``.
    """
    if field is not None and fmt not in DEFAULT_FIELDS:
        raise RecipeError(
            f"format {fmt!r} takes no field (got field={field!r}); only sharegpt and messages do"
        )
    if not isinstance(obj, Mapping):
        raise _bad("bad_chat", "not_an_object", f"expected an object, got {type(obj).__name__}")
    if fmt == "alpaca":
        turns = _alpaca(obj)
    elif fmt == "sharegpt":
        turns = _sharegpt(obj, field or DEFAULT_FIELDS["sharegpt"])
    elif fmt == "messages":
        name = field or DEFAULT_FIELDS["messages"]
        turns = _as_list(_field(obj, name, "bad_chat"), "bad_chat", name)
    elif fmt == "prompt_response":
        turns = _prompt_response(obj)
    else:
        raise RecipeError(f"unknown chat format {fmt!r}: use alpaca, sharegpt, messages or prompt_response")
    return validate_chat(turns)


def _alpaca(obj: Mapping[str, Any]) -> list[Any]:
    instruction = _content(_field(obj, "instruction", "bad_chat"), "bad_chat", "instruction")
    extra = obj.get("input")
    if extra is not None and not isinstance(extra, str):
        raise _bad("bad_chat", "content_not_string", f"input is {type(extra).__name__}, not a string")
    user = f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction
    turns: list[Any] = _system_turn(obj, "bad_chat")
    history = obj.get("history")
    for i, pair in enumerate(_as_list(history, "bad_chat", "history") if history else []):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise _bad("bad_chat", "bad_turn", f"history[{i}] is not a [user, assistant] pair")
        turns += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    turns += [
        {"role": "user", "content": user},
        {"role": "assistant", "content": _field(obj, "output", "bad_chat")},
    ]
    return turns


def _sharegpt(obj: Mapping[str, Any], name: str) -> list[Any]:
    turns: list[Any] = _system_turn(obj, "bad_chat")
    for turn in _as_list(_field(obj, name, "bad_chat"), "bad_chat", name):
        if not isinstance(turn, Mapping):
            raise _bad("bad_chat", "bad_turn", f"expected a {{from, value}} object, got {_preview(turn)}")
        speaker = turn.get("from", turn.get("role"))
        if speaker is None or ("value" not in turn and "content" not in turn):
            raise _bad("bad_chat", "bad_turn", f"expected a {{from, value}} object, got {_preview(turn)}")
        role = SHAREGPT_ROLES.get(str(speaker).lower())
        if role is None:
            raise _bad(
                "bad_chat", "unknown_role", f"speaker {speaker!r} is none of {', '.join(SHAREGPT_ROLES)}"
            )
        turns.append({"role": role, "content": turn.get("value", turn.get("content"))})
    return turns


def _prompt_response(obj: Mapping[str, Any]) -> list[Any]:
    prompt = _messages_or_text(_field(obj, "prompt", "bad_chat"), "user", "bad_chat")
    response = _messages_or_text(_first_field(obj, RESPONSE_KEYS, "bad_chat"), "assistant", "bad_chat")
    return _with_system(_system_turn(obj, "bad_chat"), prompt) + response


def _messages_or_text(value: Any, role: str, kind: str) -> list[Any]:
    """A string as one turn of ``role``; a list as the turns it holds (checked later)."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    return _as_list(value, kind, role)


def _with_system(system: Conversation, turns: list[Any]) -> list[Any]:
    """Prepend a top-level system turn unless the turns already start with one."""
    starts_with_system = bool(turns) and isinstance(turns[0], Mapping) and turns[0].get("role") == "system"
    return turns if starts_with_system else system + turns


# --- preference shapes -----------------------------------------------------------------------


def preference_pairs(
    obj: Mapping[str, Any],
    fmt: PreferenceFormat,
    *,
    ratings_pairs: RatingsPairs = "best_worst",
    margin: float = 0.0,
) -> list[Pair]:
    """The validated (prompt, chosen, rejected) pairs of one input object in shape ``fmt``.

    - ``preference``: ``prompt`` (optional), ``chosen``, ``rejected``; each a string (a prompt
      string is one user turn, a response string one assistant turn) or a message list. Responses
      that repeat the prompt as a prefix are cut after it; without a prompt (TRL's implicit-prompt
      form) the prompt is the turns both responses share, up to the last user turn.
    - ``hh``: ``chosen`` and ``rejected`` HH-RLHF transcripts (``"\\n\\nHuman: ...\\n\\nAssistant:
      ..."``) that differ only in the final assistant turn.
    - ``ratings``: ``prompt`` (or ``instruction``) and ``completions`` (or ``responses``), either
      objects with a text (``response``/``text``/``content``/``completion``) and a score
      (``score``/``rating``/``overall_score``), or strings with a parallel ``scores``/``ratings``
      list. ``ratings_pairs="best_worst"`` gives one pair (best vs worst); ``"all"`` every pair
      whose scores differ by more than ``margin``. Ties never make a pair; unscored completions
      are skipped.

    One pair per object except for ``ratings`` with ``"all"``.
    """
    if not isinstance(obj, Mapping):
        raise _bad("bad_pair", "not_an_object", f"expected an object, got {type(obj).__name__}")
    if fmt == "preference":
        return [_explicit_pair(obj)]
    if fmt == "hh":
        return [_hh_pair(obj)]
    if fmt == "ratings":
        return _ratings_pairs(obj, ratings_pairs, margin)
    raise RecipeError(f"unknown preference format {fmt!r}: use preference, hh or ratings")


def validate_pair(prompt: Sequence[Any], chosen: Sequence[Any], rejected: Sequence[Any]) -> Pair:
    """Check a (prompt, chosen, rejected) triple and return it as fresh message lists."""
    if not chosen or not rejected:
        raise _bad("bad_pair", "empty_response", "chosen or rejected has no turns")
    if not prompt:
        raise _bad("bad_pair", "missing_prompt", "the prompt has no turns")
    full_chosen = validate_chat([*prompt, *chosen], kind="bad_pair")
    full_rejected = validate_chat([*prompt, *rejected], kind="bad_pair")
    n = len(prompt)
    if full_chosen[n:] == full_rejected[n:]:
        raise _bad("bad_pair", "identical", "chosen and rejected are the same")
    return full_chosen[:n], full_chosen[n:], full_rejected[n:]


def _explicit_pair(obj: Mapping[str, Any]) -> Pair:
    chosen = _messages_or_text(_field(obj, "chosen", "bad_pair"), "assistant", "bad_pair")
    rejected = _messages_or_text(_field(obj, "rejected", "bad_pair"), "assistant", "bad_pair")
    _check_turn_shapes(chosen + rejected)
    system = _system_turn(obj, "bad_pair")
    if obj.get("prompt") is None:
        prompt, chosen, rejected = _shared_prompt(chosen, rejected)
        prompt = _with_system(system, prompt)
    else:
        prompt = _with_system(system, _messages_or_text(obj["prompt"], "user", "bad_pair"))
        _check_turn_shapes(prompt)
        chosen, rejected = _strip_prompt(chosen, prompt), _strip_prompt(rejected, prompt)
    return validate_pair(prompt, chosen, rejected)


def _check_turn_shapes(turns: list[Any]) -> None:
    for turn in turns:
        if not isinstance(turn, Mapping) or "role" not in turn:
            raise _bad("bad_pair", "bad_turn", f"expected a {{role, content}} object, got {_preview(turn)}")


def _strip_prompt(response: list[Any], prompt: list[Any]) -> list[Any]:
    """A response without the prompt it repeats; a response starting with another prompt is bad."""
    if not response or response[0]["role"] not in ("system", "user"):
        return response
    n = len(prompt)
    if len(response) > n and _same_turns(response[:n], prompt):
        return response[n:]
    raise _bad("bad_pair", "prompt_mismatch", "a response starts with turns that are not the prompt")


def _same_turns(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    return len(a) == len(b) and all(
        x["role"] == y["role"] and x.get("content") == y.get("content") for x, y in zip(a, b, strict=True)
    )


def _shared_prompt(chosen: list[Any], rejected: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Implicit prompt: the longest shared prefix of both responses, cut after its last user turn."""
    if chosen and chosen[0]["role"] == "assistant":
        raise _bad("bad_pair", "missing_prompt", "no prompt field and the responses carry no prompt turns")
    shared = 0
    while shared < min(len(chosen), len(rejected)) and _same_turns(
        chosen[shared : shared + 1], rejected[shared : shared + 1]
    ):
        shared += 1
    users = [i for i in range(shared) if chosen[i]["role"] == "user"]
    if not users:
        raise _bad("bad_pair", "no_shared_prompt", "chosen and rejected share no user turn")
    cut = users[-1] + 1
    return chosen[:cut], chosen[cut:], rejected[cut:]


_HH_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):[ ]?")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}


def hh_turns(transcript: Any) -> Conversation:
    """The turns of an HH-RLHF transcript (contents stripped; not yet validated)."""
    if not isinstance(transcript, str):
        raise _bad(
            "bad_pair", "content_not_string", f"transcript is {type(transcript).__name__}, not a string"
        )
    parts = _HH_MARKER.split(transcript)
    if len(parts) < 3 or parts[0].strip():
        raise _bad("bad_pair", "hh_unparsable", "not a '\\n\\nHuman: ...\\n\\nAssistant: ...' transcript")
    return [
        {"role": _HH_ROLES[who], "content": text.strip()}
        for who, text in zip(parts[1::2], parts[2::2], strict=True)
    ]


def _hh_pair(obj: Mapping[str, Any]) -> Pair:
    chosen = hh_turns(_field(obj, "chosen", "bad_pair"))
    rejected = hh_turns(_field(obj, "rejected", "bad_pair"))
    for turns in (chosen, rejected):
        if turns[-1]["role"] != "assistant":
            raise _bad("bad_pair", "last_not_assistant", "a transcript does not end with an Assistant turn")
        if not turns[-1]["content"]:
            raise _bad("bad_pair", "empty_response", "a transcript ends with an empty Assistant turn")
    if chosen[:-1] != rejected[:-1]:
        raise _bad("bad_pair", "prompt_mismatch", "the transcripts differ before their final Assistant turn")
    return validate_pair(chosen[:-1], chosen[-1:], rejected[-1:])


def _ratings_pairs(obj: Mapping[str, Any], mode: RatingsPairs, margin: float) -> list[Pair]:
    prompt = _with_system(
        _system_turn(obj, "bad_pair"),
        _messages_or_text(_first_field(obj, RATINGS_PROMPT_KEYS, "bad_pair"), "user", "bad_pair"),
    )
    scored = _scored_completions(obj)
    if len(scored) < 2:
        raise _bad("bad_pair", "too_few_scored", f"{len(scored)} scored completion(s), need 2")
    if mode == "best_worst":
        best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
        worst = min(range(len(scored)), key=lambda i: (scored[i][1], i))
        candidates = [(best, worst)]
    elif mode == "all":
        candidates = [
            (i, j) if scored[i][1] > scored[j][1] else (j, i)
            for i in range(len(scored))
            for j in range(i + 1, len(scored))
        ]
    else:
        raise RecipeError(f"unknown ratings_pairs {mode!r}: use best_worst or all")
    wide = [(hi, lo) for hi, lo in candidates if scored[hi][1] - scored[lo][1] > margin]
    pairs = [
        validate_pair(prompt, scored[hi][0], scored[lo][0])
        for hi, lo in wide
        if scored[hi][0] != scored[lo][0]
    ]
    if pairs:
        return pairs
    if wide:
        raise _bad("bad_pair", "identical", "the completions that differ in score have the same text")
    why = "ties" if len({s for _, s in scored}) == 1 else "below_margin"
    raise _bad("bad_pair", why, f"no two completions differ in score by more than {margin}")


def _scored_completions(obj: Mapping[str, Any]) -> list[tuple[list[Any], float]]:
    """(response turns, score) of every completion that has a usable score."""
    completions = _as_list(_first_field(obj, RATINGS_LIST_KEYS, "bad_pair"), "bad_pair", "completions")
    if completions and all(isinstance(c, str) for c in completions):
        scores = _as_list(_first_field(obj, RATINGS_SCORES_KEYS, "bad_pair"), "bad_pair", "scores")
        if len(scores) != len(completions):
            raise _bad("bad_pair", "bad_score", f"{len(scores)} scores for {len(completions)} completions")
        items = list(zip(completions, scores, strict=True))
    else:
        items = [_text_and_score(c) for c in completions]
    return [
        (_messages_or_text(text, "assistant", "bad_pair"), float(score))
        for text, score in items
        if _usable_score(score)
    ]


def _text_and_score(completion: Any) -> tuple[Any, Any]:
    if not isinstance(completion, Mapping):
        raise _bad(
            "bad_pair", "bad_turn", f"completion {_preview(completion)} is neither a string nor an object"
        )
    text = _first_field(completion, RATINGS_TEXT_KEYS, "bad_pair")
    score = next((completion[k] for k in RATINGS_SCORE_KEYS if completion.get(k) is not None), None)
    return text, score


def _usable_score(score: Any) -> bool:
    return isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score)
