"""A model's own Jinja chat template, rendered as ``transformers`` does, with exact assistant spans.

``template: model`` renders conversations with the ``chat_template`` of the tokenizer's
``tokenizer_config.json``; ``template: {jinja: PATH}`` with a template file. Rendering follows
Hugging Face's conventions, so the text equals ``tokenizer.apply_chat_template(messages,
tokenize=False)``: the same sandboxed Jinja environment (``trim_blocks``, ``lstrip_blocks``,
``loopcontrols``, the ``{% generation %}`` tag), the same helpers (``raise_exception``,
``strftime_now``, a ``tojson`` that does not escape HTML), and the same variables: ``messages``,
``add_generation_prompt``, and the tokenizer's special tokens (``bos_token``, ``eos_token``, ...).

**What is trained on (the assistant span).** Templates rarely mark the assistant's text
(``{% generation %}`` is in few of them), so curate finds it: for each assistant turn ``i`` it
renders the conversation up to turn ``i - 1`` with the generation prompt (where the assistant's
text begins) and up to turn ``i`` (where its turn ends), both prefixes of the whole rendering.
Between the two, the span starts at the assistant's content (as the template wrote it: as is,
or stripped, as Llama 3's template does) and ends after the template's end-of-turn marker: the
special tokens the template writes right after the content (``<|im_end|>``, ``<|eot_id|>``,
``<end_of_turn>``, ``</s>``), with any whitespace between them. What follows the marker (ChatML's
newline) and every header are not trained on: the model never has to produce them, the inference
server writes them. A template with no special token after the content trains on the content only.
Most turns need only the first of the two renderings: where the content is the last thing of its
turn (followed only by whitespace and control tokens), its last such place is the turn's own, so
a one-turn chat is rendered once; other turns fall back to the second rendering.

A record the template refuses (a Jinja error, ``raise_exception("roles must alternate")``) or
whose assistant text cannot be found raises :class:`TemplateRecordError` with the template's
message; stages quarantine that record. A template with no assistant text at all is caught at
preflight (:meth:`ModelTemplate.probe`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from curate.errors import StageError

Span = tuple[int, int]
TEMPLATE_ERROR = "template_error"
"""Suffix of the quarantine reason of a record the template refuses (``format_template_error``)."""
PROBE = (
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "What is two plus two?"},
    {"role": "assistant", "content": "Two plus two is four."},
    {"role": "user", "content": "And three plus three?"},
    {"role": "assistant", "content": "Three plus three is six."},
)


class TemplateRecordError(Exception):
    """One record the template cannot render or mask; ``str()`` is the template's message."""


@lru_cache(maxsize=16)
def compile_template(source: str) -> Any:
    """``source`` compiled in Hugging Face's chat-template environment (see the module docstring)."""
    import jinja2
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        """``{% generation %}...{% endgeneration %}``: renders its body (curate finds spans itself)."""

        tags: ClassVar[set[str]] = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return caller()

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: Any = None,
        separators: Any = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise StageError(f"chat template does not compile: {error} (line {error.lineno})") from error


def special_token_values(config: Mapping[str, Any]) -> dict[str, str]:
    """``bos_token``, ``eos_token`` ... of a tokenizer config as strings (AddedToken dicts unwrapped)."""
    values: dict[str, str] = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            values[key] = value
    return values


def chat_template_of(config: Mapping[str, Any]) -> str | None:
    """The default chat template of a tokenizer config (a string, or the ``default`` of a named list)."""
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default")
    return template if isinstance(template, str) and template else None


class ModelTemplate:
    """A Jinja chat template plus the tokenizer's special tokens it is rendered with.

    ``control_tokens``: the tokenizer's added tokens; the end-of-turn marker after an assistant's
    content is the run of these (and whitespace) that directly follows it.
    """

    def __init__(
        self, source: str, *, variables: Mapping[str, str], control_tokens: Iterable[str], name: str
    ) -> None:
        self.source = source
        self.name = name
        self.variables = dict(variables)
        self.compiled = compile_template(source)
        tokens = sorted({t for t in control_tokens if t}, key=len, reverse=True)
        self._tokens = tuple(tokens)
        body = "|".join(map(re.escape, tokens))
        self._eot = re.compile(rf"(?:\s*(?:{body}))+" if tokens else r"(?!x)x")
        self._tail = re.compile(rf"(?:\s|{body})*\Z" if tokens else r"\s*\Z")

    def render(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = False) -> str:
        """The conversation as the template writes it; a template error is a TemplateRecordError."""
        import jinja2

        try:
            return self.compiled.render(
                messages=[dict(m) for m in messages],
                add_generation_prompt=add_generation_prompt,
                tools=None,
                documents=None,
                **self.variables,
            )
        except jinja2.TemplateError as error:
            raise TemplateRecordError(str(error) or type(error).__name__) from error
        except Exception as error:  # a template's runtime fault is the record's problem
            raise TemplateRecordError(f"{type(error).__name__}: {error}") from error

    def _prefix(
        self, full: str, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = False
    ) -> int | None:
        """Length of the rendering of ``messages`` where it is a prefix of ``full``, else None."""
        if not messages and not add_generation_prompt:
            return 0
        try:
            text = self.render(messages, add_generation_prompt=add_generation_prompt)
        except TemplateRecordError:
            return None
        return len(text) if full.startswith(text) else None

    def spans(self, messages: Sequence[Mapping[str, Any]], *, first: int = 0) -> tuple[str, list[Span]]:
        """The rendered conversation and the ``[start, end)`` character span of each assistant turn
        at position ``first`` or later: its content and the end-of-turn marker after it."""
        full = self.render(messages)
        spans: list[Span] = []
        for i in range(first, len(messages)):
            if messages[i].get("role") != "assistant":
                continue
            spans.append(self._span(full, messages, i))
        return full, spans

    def _span(self, full: str, messages: Sequence[Mapping[str, Any]], i: int) -> Span:
        end = len(full) if i == len(messages) - 1 else self._prefix(full, messages[: i + 1])
        if end is None:
            raise TemplateRecordError(
                f"the template renders the conversation up to turn {i} differently once later turns follow, "
                "so the assistant text of that turn cannot be located"
            )
        content = str(messages[i].get("content") or "")
        found = self._closing(full, content, end)
        if found is None:
            start = self._prefix(full, messages[:i], add_generation_prompt=True)
            if start is None or start > end:
                start = self._prefix(full, messages[:i]) or 0
            found = self._content(full, content, start, end)
        if found is None:
            raise TemplateRecordError(
                f"the content of assistant turn {i} is not in the template's rendering of it"
            )
        at, stop = found
        marker = self._eot.match(full, stop, end)
        return at, marker.end() if marker else stop

    def _closing(self, full: str, content: str, end: int) -> Span | None:
        """The common case without a second rendering: ``content`` (as is, or stripped) is the last
        thing of its turn, followed only by whitespace and control tokens up to ``end``. Its last
        such place is then the turn's own (an earlier copy, in a user turn, is followed by more
        text). Content that starts with whitespace, or is only whitespace and control tokens, is
        left to :meth:`_content`, which knows where the header ends."""
        if content[:1].isspace():  # as is, or trimmed by the template: only the header's end tells
            return None
        tail = self._closing_run(full, end)
        for text in dict.fromkeys((content, content.strip())):
            if not text or self._tail.fullmatch(text):
                continue
            # the last copy that starts before the closing run and reaches into it: one inside a
            # control token (an answer "|>" in "<|im_end|>") starts too late
            at = full.rfind(text, 0, tail - 1 + len(text))
            if 0 <= at < tail <= at + len(text) and self._tail.match(full, at + len(text), end):
                return at, at + len(text)
        return None

    def _closing_run(self, full: str, end: int) -> int:
        """Where the run of whitespace and control tokens that ends at ``end`` begins (walked back
        from ``end``: a regex search from the front would scan the whole conversation)."""
        at = end
        while at > 0:
            if full[at - 1].isspace():
                at -= 1
                continue
            token = next((t for t in self._tokens if full.startswith(t, at - len(t), at)), None)
            if token is None:
                return at
            at -= len(token)
        return at

    def _content(self, full: str, content: str, start: int, end: int) -> Span | None:
        """Where ``content`` (as is, or stripped) is written between ``start`` and ``end``: right
        after ``start`` (past whitespace), else its last place followed only by whitespace and
        control tokens up to ``end``."""
        for text in dict.fromkeys((content, content.strip())):
            if not text:
                continue
            lead = start + len(full[start:end]) - len(full[start:end].lstrip())
            if full.startswith(text, lead) and lead + len(text) <= end:
                return lead, lead + len(text)
            at = full.rfind(text, start, end)
            while at >= 0:
                if self._tail.match(full[at + len(text) : end]):
                    return at, at + len(text)
                at = full.rfind(text, start, at + len(text) - 1)
        return None

    def completion_texts(
        self, prompt: Sequence[Mapping[str, Any]], completion: Sequence[Mapping[str, Any]]
    ) -> tuple[str, str]:
        """TRL's prompt/completion strings: the prompt with the generation prompt, and the rest of
        the whole rendering up to the end of the last assistant span (the end-of-turn marker, not
        the newline after it: TRL adds EOS to a completion that does not end with it)."""
        full, spans = self.spans([*prompt, *completion], first=len(prompt))
        head = self._prefix(full, prompt, add_generation_prompt=True)
        if head is None:
            raise TemplateRecordError(
                "the prompt with the generation prompt is not a prefix of the whole conversation"
            )
        stop = spans[-1][1] if spans else len(full)
        return full[:head], full[head:stop]

    def probe(self) -> None:
        """Preflight: the template renders a probe conversation (with a system turn, or without
        where the template refuses one) and the assistant text of every turn is found."""
        errors: list[str] = []
        for messages in (PROBE, PROBE[1:]):
            try:
                full, spans = self.spans(messages)
            except TemplateRecordError as error:
                errors.append(str(error))
                continue
            wanted = [m["content"] for m in messages if m["role"] == "assistant"]
            if all(full[a:b].strip().startswith(w) for (a, b), w in zip(spans, wanted, strict=True)):
                return
            errors.append("no assistant text found in its rendering")
        raise StageError(
            f"chat template {self.name}: {errors[-1]} (probe conversation: user/assistant turns"
            f"{', with and without a system turn'}); curate needs a template that writes each assistant's content"
        )


def read_jinja(path: str) -> str:
    """The text of a template file (``template: {jinja: PATH}``)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise StageError(f"chat template file {path!r} does not exist: give the path of a Jinja template")
    return file.read_text(encoding="utf-8")
