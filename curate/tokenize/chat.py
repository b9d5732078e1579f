"""Conversations through a model's own Jinja chat template, tokenized whole, with exact masks.

``template: model`` (the tokenizer's ``chat_template``) or ``template: {jinja: PATH}``: every
record is rendered to one text with :class:`curate.formats.jinja.ModelTemplate`, which also finds
the character span of each assistant turn to train on; the whole text is then encoded once with
offsets (never piece by piece: a BPE merge across a template boundary must come out as the model
sees it), and a token is a target iff its span overlaps an assistant span. The ids are those of
``tokenizer.apply_chat_template(messages, tokenize=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from curate.errors import StageError
from curate.formats.jinja import ModelTemplate, TemplateRecordError, read_jinja
from curate.formats.templates import JinjaFile, TemplateSpec
from curate.tokenize.base import Tokenizer, encode_spanned

ChatRecord = tuple[Sequence[Mapping[str, Any]], int]
"""A conversation and the position of its first turn to train on (0: every assistant turn)."""


def is_model_template(spec: TemplateSpec) -> bool:
    """Whether ``spec`` is a Jinja template (``model`` or ``{jinja: PATH}``) rather than a built-in."""
    return spec == "model" or isinstance(spec, JinjaFile)


def template_for(
    tokenizer: Tokenizer, spec: TemplateSpec, *, where: str = "", source: str | None = None
) -> ModelTemplate:
    """The Jinja template ``spec`` names, with ``tokenizer``'s special tokens. ``source`` is the
    template text when already read (a ``{jinja: PATH}`` file carried in the stage state)."""
    if source is None:
        source = read_jinja(spec.jinja) if isinstance(spec, JinjaFile) else tokenizer.chat_template
    if source is None:
        raise StageError(
            f"template: model, but {where or 'the tokenizer'} has no chat_template in its tokenizer_config.json: "
            "use a tokenizer directory whose config has one, give a template file (template: {jinja: PATH}), "
            "or a built-in template (chatml, llama3, plain)"
        )
    name = f"{{jinja: {spec.jinja}}}" if isinstance(spec, JinjaFile) else f"of {where or 'the tokenizer'}"
    return ModelTemplate(
        source, variables=tokenizer.template_variables, control_tokens=tokenizer.control_tokens, name=name
    )


def encode_chats(
    tokenizer: Tokenizer, template: ModelTemplate, records: Sequence[ChatRecord | tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """Ids, loss mask and length of every record, and for each the template's error (None: fine).

    A record is a conversation and its first trained turn, or a ``(prompt, completion)`` pair of
    strings already rendered (the completion is the target). A refused record gets no ids.
    """
    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    errors: list[str | None] = []
    for record, first in records:
        if isinstance(record, str):
            texts.append(record + first)  # type: ignore[operator]
            spans.append([(len(record), len(record) + len(first))])  # type: ignore[arg-type]
            errors.append(None)
            continue
        try:
            text, found = template.spans(record, first=first)  # type: ignore[arg-type]
        except TemplateRecordError as error:
            text, found = "", []
            errors.append(str(error))
        else:
            errors.append(None)
        texts.append(text)
        spans.append(found)
    ids, mask, lengths = encode_spanned(tokenizer, texts, spans)
    return ids, mask, lengths, errors
