"""SFT conversations and preference comparisons in several input shapes, with planted bad records.

Each shape gets its own file. Bad records are placed at seeded line numbers and listed in the truth
files with what is wrong with them, so that format validation can be tested against them.
"""

from __future__ import annotations

import json
import random

from .tasks import Item, T, make_item, pick_lang

CJK_LANGS = {"zh"}


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _dump(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8")


def _turns(item: Item, rng: random.Random, *, multi: bool, system: bool) -> list[tuple[str, str]]:
    """A conversation as (role, text) pairs: optional system turn, the question, and a follow-up."""
    turns: list[tuple[str, str]] = []
    if system:
        turns.append(("system", rng.choice(T[item.lang]["system"])))
    turns += [("user", item.prompt), ("assistant", item.answer)]
    if multi and item.followup:
        turns += [("user", item.followup[0]), ("assistant", item.followup[1])]
    return turns


# --- SFT ---------------------------------------------------------------------------------------------
SFT_SHAPES = ("alpaca", "sharegpt", "messages", "prompt_response")
SFT_PER_SHAPE = 100
SHAREGPT_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}

# (shape, defect) -> how to spoil a good record; each yields one bad line
SFT_DEFECTS = {
    "alpaca": (
        "empty_assistant",
        "missing_output",
        "missing_instruction",
        "empty_instruction",
        "output_not_string",
    ),
    "sharegpt": (
        "empty_assistant",
        "unknown_role",
        "consecutive_user_turns",
        "ends_with_user",
        "missing_conversations",
    ),
    "messages": (
        "empty_assistant",
        "unknown_role",
        "consecutive_user_turns",
        "ends_with_user",
        "missing_messages",
    ),
    "prompt_response": (
        "empty_response",
        "missing_response",
        "empty_prompt",
        "response_not_string",
        "missing_prompt",
    ),
}


def _sft_row(shape: str, item: Item, turns: list[tuple[str, str]]) -> dict:
    if shape == "alpaca":
        if item.instruction is not None:
            return {"instruction": item.instruction, "input": item.input or "", "output": item.answer}
        return {"instruction": item.prompt, "input": "", "output": item.answer}
    if shape == "prompt_response":
        return {"prompt": item.prompt, "response": item.answer}
    if shape == "sharegpt":
        return {"conversations": [{"from": SHAREGPT_ROLE[r], "value": t} for r, t in turns]}
    return {"messages": [{"role": r, "content": t} for r, t in turns]}


def _spoil_sft(shape: str, defect: str, row: dict) -> dict:
    row = json.loads(json.dumps(row))  # deep copy
    if shape == "alpaca":
        if defect == "empty_assistant":
            row["output"] = ""
        elif defect == "missing_output":
            del row["output"]
        elif defect == "missing_instruction":
            del row["instruction"]
        elif defect == "empty_instruction":
            row["instruction"] = "   "
        elif defect == "output_not_string":
            row["output"] = ["a", "list"]
        return row
    if shape == "prompt_response":
        if defect == "empty_response":
            row["response"] = ""
        elif defect == "missing_response":
            del row["response"]
        elif defect == "empty_prompt":
            row["prompt"] = ""
        elif defect == "response_not_string":
            row["response"] = None
        elif defect == "missing_prompt":
            row = {"question": row["prompt"], "response": row["response"]}
        return row
    key = "conversations" if shape == "sharegpt" else "messages"
    role_k, text_k = ("from", "value") if shape == "sharegpt" else ("role", "content")
    user, assistant = ("human", "gpt") if shape == "sharegpt" else ("user", "assistant")
    turns = row[key]
    if defect == "empty_assistant":
        last = max(i for i, t in enumerate(turns) if t[role_k] == assistant)
        turns[last][text_k] = ""
    elif defect == "unknown_role":
        first = next(i for i, t in enumerate(turns) if t[role_k] == user)
        turns[first][role_k] = "narrator" if shape == "sharegpt" else "moderator"
    elif defect == "consecutive_user_turns":
        first = next(i for i, t in enumerate(turns) if t[role_k] == user)
        turns.insert(first + 1, {role_k: user, text_k: turns[first][text_k]})
    elif defect == "ends_with_user":
        while turns and turns[-1][role_k] == assistant:
            turns.pop()
    elif defect in ("missing_conversations", "missing_messages"):
        row = {"dialogue": turns}
    return row


def build_sft(seed: int) -> tuple[dict[str, list[bytes]], list[dict], list[str]]:
    """SFT files per shape, their truth rows, and every prompt (to keep eval prompts disjoint)."""
    files: dict[str, list[bytes]] = {}
    truth: list[dict] = []
    prompts: list[str] = []
    for shape in SFT_SHAPES:
        rng = _rng(seed, "sft", shape)
        defects = list(SFT_DEFECTS[shape])
        bad_at = dict(
            zip(sorted(rng.sample(range(1, SFT_PER_SHAPE + 1), len(defects))), defects, strict=True)
        )
        lines: list[bytes] = []
        name = f"sft/{shape}.jsonl"
        for lineno in range(1, SFT_PER_SHAPE + 1):
            lang = pick_lang(rng)
            item = make_item(rng, lang)
            multi = shape in ("sharegpt", "messages") and item.followup is not None and rng.random() < 0.45
            system = shape in ("sharegpt", "messages") and rng.random() < 0.3
            turns = _turns(item, rng, multi=multi, system=system)
            row = _sft_row(shape, item, turns)
            prompts.append(item.prompt)
            defect = bad_at.get(lineno)
            if defect:
                row = _spoil_sft(shape, defect, row)
            lines.append(_dump(row))
            n_turns = len(turns) if shape in ("sharegpt", "messages") else 2
            truth.append(
                {
                    "file": name,
                    "line": lineno,
                    "status": "bad" if defect else "ok",
                    "defect": defect,
                    "lang": lang,
                    "task": item.task,
                    "turns": n_turns,
                    "system": system,
                }
            )
        files[name] = lines
    return files, truth, prompts


# --- preference --------------------------------------------------------------------------------------
PREF_COUNTS = {"preference": 120, "hh": 100, "ratings": 80}
PREF_DEFECTS = {
    "preference": (
        "chosen_equals_rejected",
        "empty_chosen",
        "empty_rejected",
        "missing_rejected",
        "empty_prompt",
        "chosen_equals_rejected",
    ),
    "hh": (
        "no_shared_prefix",
        "empty_chosen_response",
        "chosen_equals_rejected",
        "missing_rejected",
        "no_assistant_turn",
    ),
    "ratings": ("all_tied", "single_completion", "empty_completion", "missing_completions"),
}
REJECT_KINDS = ("wrong", "truncated", "rude", "off_topic")


def truncate(text: str, rng: random.Random, lang: str) -> str:
    """Cut an answer off mid-sentence, at roughly 30-55% of its length, without closing punctuation."""
    cut = int(len(text) * rng.uniform(0.3, 0.55))
    if lang not in CJK_LANGS:
        space = text.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
    return text[:cut].rstrip(" ,.;:!?。，")


def rejected_answer(item: Item, kind: str, rng: random.Random, other: Item) -> str:
    if kind == "wrong":
        return item.wrong
    if kind == "truncated":
        cut = truncate(item.answer, rng, item.lang)
        return cut if cut and cut != item.answer else item.wrong
    if kind == "rude":
        return rng.choice(T[item.lang]["rude"])
    return other.answer  # off-topic: a good answer to a different question


def _pair(seed_rng: random.Random, lang: str | None = None) -> tuple[Item, str, str, Item]:
    lang = lang or pick_lang(seed_rng)
    item = make_item(seed_rng, lang)
    other = make_item(seed_rng, lang)
    while other.task.split("_")[0] == item.task.split("_")[0]:  # another kind of question
        other = make_item(seed_rng, lang)
    kind = seed_rng.choice(REJECT_KINDS)
    return item, kind, rejected_answer(item, kind, seed_rng, other), other


def _hh(turns: list[tuple[str, str]]) -> str:
    names = {"user": "Human", "assistant": "Assistant"}
    return "".join(f"\n\n{names[r]}: {t}" for r, t in turns)


def build_preference(seed: int) -> tuple[dict[str, list[bytes]], list[dict], list[str]]:
    files: dict[str, list[bytes]] = {}
    truth: list[dict] = []
    prompts: list[str] = []
    for shape, n in PREF_COUNTS.items():
        rng = _rng(seed, "pref", shape)
        defects = list(PREF_DEFECTS[shape])
        bad_at = dict(zip(sorted(rng.sample(range(1, n + 1), len(defects))), defects, strict=True))
        name = f"preference/{shape}.jsonl"
        lines: list[bytes] = []
        for lineno in range(1, n + 1):
            defect = bad_at.get(lineno)
            row, info = _PREF_BUILDERS[shape](rng, defect)
            prompts.append(info.pop("prompt"))
            lines.append(_dump(row))
            truth.append(
                {"file": name, "line": lineno, "status": "bad" if defect else "ok", "defect": defect, **info}
            )
        files[name] = lines
    return files, truth, prompts


def _preference_row(rng: random.Random, defect: str | None) -> tuple[dict, dict]:
    item, kind, rejected, _ = _pair(rng)
    as_messages = rng.random() < 0.4
    chosen = item.answer
    if defect == "chosen_equals_rejected":
        rejected = chosen
    elif defect == "empty_chosen":
        chosen = ""
    elif defect == "empty_rejected":
        rejected = ""
    prompt = "" if defect == "empty_prompt" else item.prompt
    if as_messages:
        system = rng.random() < 0.3
        p = ([{"role": "system", "content": rng.choice(T[item.lang]["system"])}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        row = {
            "prompt": p,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
    else:
        row = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if defect == "missing_rejected":
        del row["rejected"]
    info = {
        "lang": item.lang,
        "task": item.task,
        "form": "messages" if as_messages else "string",
        "rejected_kind": kind,
        "prompt": item.prompt,
    }
    return row, info


def _hh_row(rng: random.Random, defect: str | None) -> tuple[dict, dict]:
    item, kind, rejected, _ = _pair(rng)
    turns: list[tuple[str, str]] = []
    if rng.random() < 0.3:
        turns += [
            ("user", rng.choice(T[item.lang]["hello"])),
            ("assistant", rng.choice(T[item.lang]["hello_a"])),
        ]
    turns.append(("user", item.prompt))
    chosen_text = item.answer
    on_followup = False
    if item.followup and rng.random() < 0.35 and kind != "off_topic":
        on_followup = True
        # two exchanges: the comparison is on the answer to the follow-up question
        turns += [("assistant", item.answer), ("user", item.followup[0])]
        chosen_text = item.followup[1]
        kind = rng.choice(("truncated", "rude"))
        rejected = (
            truncate(chosen_text, rng, item.lang) if kind == "truncated" else rng.choice(T[item.lang]["rude"])
        )
    if defect == "chosen_equals_rejected":
        rejected = chosen_text
    elif defect == "empty_chosen_response":
        chosen_text = ""
    prefix = _hh(turns)
    chosen = prefix + "\n\nAssistant: " + chosen_text
    rejected_full = prefix + "\n\nAssistant: " + rejected
    if defect == "no_shared_prefix":
        rejected_full = _hh([("user", rng.choice(T[item.lang]["hello"])), ("assistant", rejected)])
    elif defect == "no_assistant_turn":
        rejected_full = prefix
    row = {"chosen": chosen, "rejected": rejected_full}
    if defect == "missing_rejected":
        row = {"chosen": chosen}
    info = {
        "lang": item.lang,
        "task": item.task,
        "turns": len(turns) + 1,
        "on_followup": on_followup,
        "rejected_kind": kind,
        "prompt": item.prompt,
    }
    return row, info


def _ratings_row(rng: random.Random, defect: str | None) -> tuple[dict, dict]:
    item, _, _, other = _pair(rng)
    pool = [
        (item.answer, rng.choice((9, 10))),
        (item.terse, rng.choice((7, 8))),
        (truncate(item.answer, rng, item.lang), rng.choice((3, 4))),
        (item.wrong, rng.choice((1, 2))),
        (rng.choice(T[item.lang]["rude"]), 1),
        (other.answer, 2),
    ]
    chosen = [pool[0], *rng.sample(pool[1:], rng.randint(2, 3))]
    if rng.random() < 0.2:  # a tie: the terse answer scored as high as the full one
        chosen = [(t, chosen[0][1]) if t == item.terse else (t, s) for t, s in chosen]
        if all(t != item.terse for t, _ in chosen):
            chosen[1] = (item.terse, chosen[0][1])
    # distinct texts only (a short answer can equal its own truncation)
    seen: set[str] = set()
    chosen = [(t, s) for t, s in chosen if not (t in seen or seen.add(t))]
    rng.shuffle(chosen)
    if defect == "all_tied":
        chosen = [(t, 5) for t, _ in chosen]
    elif defect == "single_completion":
        chosen = chosen[:1]
    elif defect == "empty_completion":
        chosen[0] = ("", chosen[0][1])
    row = {"prompt": item.prompt, "completions": [{"text": t, "score": s} for t, s in chosen]}
    if defect == "missing_completions":
        row = {"prompt": item.prompt, "answers": row["completions"]}
    scores = [s for _, s in chosen]
    info = {
        "lang": item.lang,
        "task": item.task,
        "n": len(chosen),
        "best": scores.index(max(scores)) if scores else None,
        "ties": len(scores) - len(set(scores)),
        "prompt": item.prompt,
    }
    return row, info


_PREF_BUILDERS = {"preference": _preference_row, "hh": _hh_row, "ratings": _ratings_row}


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


MAX_LENGTH_RATIO = 3  # eval pairs: neither answer more than 3x as long as the other (bytes)


def build_preference_eval(seed: int, n: int, exclude: set[str]) -> tuple[list[bytes], list[dict]]:
    """Held-out prompt/chosen/rejected pairs (plain strings), none sharing a prompt with training.

    Length-balanced: within each kind of rejected answer, the pairs alternate between a chosen
    answer longer and one shorter than the rejected answer (in UTF-8 bytes). The chosen answer is
    the full polite answer or the terse correct one, whichever falls on the wanted side (the one
    closer in length to the rejected answer when both do), and neither answer is more than
    ``MAX_LENGTH_RATIO`` times as long as the other. So neither length alone nor a summed
    log-probability, which favours the shorter answer, tells chosen from rejected: what tells them
    apart is being right, whole, polite and on topic.
    """
    rng = _rng(seed, "pref-eval")
    lines: list[bytes] = []
    truth: list[dict] = []
    chosen_longer_next = dict.fromkeys(REJECT_KINDS, True)
    while len(lines) < n:
        item, kind, rejected, _ = _pair(rng)
        if item.prompt in exclude or not rejected:
            continue
        want_longer = chosen_longer_next[kind]
        options = [
            (form, text)
            for form, text in (("full", item.answer), ("terse", item.terse))
            if text != rejected
            and _nbytes(text) != _nbytes(rejected)
            and (_nbytes(text) > _nbytes(rejected)) == want_longer
            and max(_nbytes(text), _nbytes(rejected))
            <= MAX_LENGTH_RATIO * min(_nbytes(text), _nbytes(rejected))
        ]
        if not options:
            continue  # this pair cannot fall on the wanted side: draw another
        form, chosen = min(options, key=lambda o: abs(_nbytes(o[1]) - _nbytes(rejected)))
        chosen_longer_next[kind] = not want_longer
        exclude.add(item.prompt)
        lines.append(_dump({"prompt": item.prompt, "chosen": chosen, "rejected": rejected}))
        truth.append(
            {
                "file": "eval/preference_eval.jsonl",
                "line": len(lines),
                "lang": item.lang,
                "task": item.task,
                "rejected_kind": kind,
                "chosen_form": form,
                "chosen_longer": want_longer,
            }
        )
    return lines, truth
