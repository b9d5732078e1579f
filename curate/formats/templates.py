"""Chat templates rendered in Python: to text, and to segments that say which text is trained on.

Three templates:

- ``chatml``: ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per turn (Qwen, OpenHermes).
- ``llama3``: ``<|begin_of_text|>`` then ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>``
  per turn (Meta Llama 3).
- ``plain``: ``System: ...\\n\\n``, ``User: ...\\n\\n``, ``Assistant: ...<|endoftext|>``: readable
  labels, and the end-of-document token ends each assistant turn (the way base-model chat
  fine-tunes without special tokens stop generating).

A rendered conversation is a list of :class:`Segment` s: template markup (headers, end markers)
and message contents, each flagged ``train`` when it is a target: an assistant turn's content and
its end-of-turn marker, nothing else. A tokenizer that encodes segment by segment gets an exact
loss mask. Markup segments repeat across records, so they can be encoded once and cached.

Pretraining text is a stream of documents each followed by :data:`EOD`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TemplateName = Literal["chatml", "llama3", "plain"]
EOD = "<|endoftext|>"
"""End-of-document token: ends every pretraining document (and plain-template assistant turns)."""

Messages = Sequence[Mapping[str, str]]


class JinjaFile(BaseModel):
    """``template: {jinja: PATH}``: a Jinja chat template file, rendered as Hugging Face does."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    jinja: str = Field(
        description="Path of a Jinja chat template (Hugging Face conventions: messages, add_generation_prompt, bos_token, eos_token)."
    )


TemplateSpec = TemplateName | Literal["model"] | JinjaFile
"""A built-in template, ``model`` (the tokenizer's own ``chat_template``), or a template file.
The last two are rendered by :mod:`curate.formats.jinja`."""


@dataclass(frozen=True)
class Segment:
    """A piece of rendered text; ``train`` marks loss targets, ``markup`` template-made text."""

    text: str
    train: bool
    markup: bool


@dataclass(frozen=True)
class ChatTemplate:
    """How each role's turn is framed: ``header[role] + content + end[role] + after[role]``."""

    name: str
    header: Mapping[str, str]
    end: Mapping[str, str]
    after: Mapping[str, str]
    bos: str
    special_tokens: tuple[str, ...]

    def turn_segments(self, message: Mapping[str, str]) -> list[Segment]:
        """Segments of one turn; for an assistant turn, the content and its end marker train."""
        role = message["role"]
        train = role == "assistant"
        parts = [
            Segment(self.header[role], False, True),
            Segment(message["content"], train, False),
            Segment(self.end[role], train, True),
            Segment(self.after[role], False, True),
        ]
        return [p for p in parts if p.text]

    def render_segments(self, messages: Messages, *, system: str | None = None) -> list[Segment]:
        """The segments of a whole conversation (``system`` is used when it has no system turn)."""
        segments = [Segment(self.bos, False, True)] if self.bos else []
        for message in with_system(messages, system):
            segments += self.turn_segments(message)
        return segments

    def render(self, messages: Messages, *, system: str | None = None) -> str:
        """A whole conversation as text."""
        return join(self.render_segments(messages, system=system))

    def render_completion(
        self, prompt: Messages, completion: Messages, *, system: str | None = None
    ) -> tuple[list[Segment], list[Segment]]:
        """Segments of ``prompt`` followed by the header of the completion's first turn (a
        generation prompt), and segments of the rest of ``completion``. Joined, the two equal
        ``render_segments(prompt + completion)``.
        """
        head = self.render_segments(prompt, system=system)
        tail = [s for message in completion for s in self.turn_segments(message)]
        if completion and self.header[completion[0]["role"]]:
            head.append(tail.pop(0))
        return head, tail

    def generation_prompt(self, messages: Messages, *, system: str | None = None) -> str:
        """The conversation followed by the assistant header: what a model continues from."""
        return self.render(messages, system=system) + self.header["assistant"]


def with_system(messages: Messages, system: str | None) -> list[Mapping[str, str]]:
    """``messages`` with a leading system turn of ``system`` when set and none is there."""
    turns = list(messages)
    if system and not (turns and turns[0]["role"] == "system"):
        turns.insert(0, {"role": "system", "content": system})
    return turns


def join(segments: Iterable[Segment]) -> str:
    return "".join(s.text for s in segments)


def join_documents(texts: Iterable[str]) -> str:
    """Pretraining format: every document followed by the end-of-document token."""
    return "".join(text + EOD for text in texts)


def _same(value: str) -> dict[str, str]:
    return {"system": value, "user": value, "assistant": value}


CHATML = ChatTemplate(
    name="chatml",
    header={role: f"<|im_start|>{role}\n" for role in ("system", "user", "assistant")},
    end=_same("<|im_end|>"),
    after=_same("\n"),
    bos="",
    special_tokens=("<|im_start|>", "<|im_end|>", EOD),
)

LLAMA3 = ChatTemplate(
    name="llama3",
    header={
        role: f"<|start_header_id|>{role}<|end_header_id|>\n\n" for role in ("system", "user", "assistant")
    },
    end=_same("<|eot_id|>"),
    after=_same(""),
    bos="<|begin_of_text|>",
    special_tokens=("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", EOD),
)

PLAIN = ChatTemplate(
    name="plain",
    header={"system": "System: ", "user": "User: ", "assistant": "Assistant: "},
    end={"system": "\n\n", "user": "\n\n", "assistant": EOD},
    after=_same(""),
    bos="",
    special_tokens=(EOD,),
)

TEMPLATES: dict[str, ChatTemplate] = {t.name: t for t in (CHATML, LLAMA3, PLAIN)}


def all_special_tokens() -> tuple[str, ...]:
    """Every template's special tokens, each once, in a fixed order (for a tokenizer that serves all)."""
    return tuple(dict.fromkeys(tok for t in TEMPLATES.values() for tok in t.special_tokens))


def get_template(name: str) -> ChatTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        from curate.errors import RecipeError

        raise RecipeError(f"unknown chat template {name!r}: use {', '.join(TEMPLATES)}") from None
