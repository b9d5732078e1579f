"""``format``: shape records into the training set a trainer expects, in TRL's dataset schemas.

``- format: {kind: sft, template: chatml}`` with ``kind``:

- ``pretrain``: ``text`` (TRL's standard language-modeling form). Chats become their rendering
  through ``template``; preference records the rendering of prompt + chosen.
- ``sft``: ``messages`` (conversational language modeling), or with ``sft_schema:
  prompt_completion`` ``prompt``/``completion`` (the last assistant turn is the completion),
  as message lists or, with ``strings: true``, as text rendered through ``template`` (the
  prompt ends with the assistant header, as TRL's ``apply_chat_template`` does). Preference
  records become prompt + chosen; plain text records are dropped unless ``keep_text``.
- ``preference``: ``prompt``/``chosen``/``rejected`` (TRL's explicit-prompt form), message
  lists or strings. Text and chat records have no pair and are dropped.

String completions (``completion``, ``chosen``, ``rejected``) end with the template's end-of-turn
marker and nothing after it (``...<|im_end|>``, not ``...<|im_end|>\n``): TRL's trainers append
the tokenizer's EOS to a string completion that does not already end with it, which for a chat
tokenizer is that marker.

Every record is checked again (a cleaning stage may have emptied a turn): invalid chats and pairs
are dropped as ``bad_chat:<why>`` / ``bad_pair:<why>``. Output keeps ``id``, ``source``, ``meta``.

``template: model`` renders with the tokenizer's own Jinja ``chat_template`` (``tokenizer``, by
default the tokenize stage's ``hf``), ``template: {jinja: PATH}`` with a template file
(:mod:`curate.formats.jinja`). Then every conversation is rendered, and its assistant text
located, here (whatever the output schema): a record the template refuses
(``raise_exception("roles must alternate")``, a Jinja error) or in whose rendering no assistant
text is found is quarantined as ``format_template_error``, the template's message in ``error``.
String completions are the rendering after the prompt's generation prompt, up to the end-of-turn
marker of the last assistant turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, model_validator

from curate.errors import StageError
from curate.formats.jinja import TEMPLATE_ERROR, ModelTemplate, TemplateRecordError
from curate.formats.shapes import BadRecord, Conversation, validate_chat, validate_pair
from curate.formats.templates import (
    ChatTemplate,
    JinjaFile,
    Segment,
    TemplateSpec,
    get_template,
    join,
    with_system,
)
from curate.records import (
    CHOSEN,
    ID,
    MESSAGES,
    MESSAGES_DTYPE,
    META,
    PROMPT,
    REJECTED,
    SOURCE,
    TEXT,
    kind_of,
)
from curate.stages.base import BatchResult, BatchStage, StageConfig, partition

FormatKind = Literal["pretrain", "sft", "preference"]
SftSchema = Literal["messages", "prompt_completion"]
COMPLETION = "completion"
KEPT_COLUMNS = (ID, SOURCE, META)


class FormatConfig(StageConfig):
    kind: FormatKind = Field(
        description="Training set to produce: pretrain (text), sft (conversations) or preference (pairs)."
    )
    template: TemplateSpec = Field(
        "chatml",
        description="Chat template used wherever a conversation becomes text (chats in a pretrain set, strings: "
        "true, and the tokenize stage unless it names its own): chatml, llama3, plain, model (the tokenizer's own "
        "Jinja chat_template) or {jinja: PATH} (a template file).",
    )
    tokenizer: str | None = Field(
        None,
        description="Tokenizer whose chat_template (template: model) and special tokens (template: model or "
        "{jinja: PATH}) render conversations: a Hugging Face tokenizer directory. Unset: the tokenize stage's hf/model.",
    )
    system_prompt: str | None = Field(
        None, description="System turn added to every conversation that has none (unset: none added)."
    )
    sft_schema: SftSchema = Field(
        "messages",
        description="sft columns: messages (whole conversation) or prompt_completion (last assistant turn as completion).",
    )
    strings: bool = Field(
        False,
        description="Write prompt/completion or prompt/chosen/rejected as template-rendered strings (TRL's standard form) instead of message lists.",
    )
    keep_text: bool = Field(
        False,
        description="sft only: keep plain text records as pretraining documents (column text, loss on every token) instead of dropping them.",
    )
    preference_to_sft: bool = Field(
        True,
        description="sft only: turn a preference record into the conversation prompt + chosen instead of dropping it.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FormatConfig:
        if self.strings and self.kind == "sft" and self.sft_schema == "messages":
            raise ValueError(
                "strings: true needs sft_schema: prompt_completion (for one rendered text, use kind: pretrain)"
            )
        if self.strings and self.kind == "pretrain":
            raise ValueError("strings applies to sft and preference; a pretrain set is text already")
        if self.keep_text and self.kind != "sft":
            raise ValueError("keep_text applies to kind: sft only")
        return self


Row = dict[str, Any]


def apply(batch: pl.DataFrame, cfg: FormatConfig) -> BatchResult:
    """Shape one batch (one source, one record kind) into ``cfg.kind``'s columns."""
    source_kind = kind_of(batch)
    kept_columns = [c for c in KEPT_COLUMNS if c in batch.columns]
    if source_kind == "text" and (cfg.kind == "pretrain" or cfg.keep_text):
        return partition(_ordered(batch.select([*kept_columns, TEXT])), [None] * batch.height)
    if source_kind == "text":
        return partition(batch, [f"format_text_in_{cfg.kind}"] * batch.height)
    if source_kind == "chat" and cfg.kind == "preference":
        return partition(batch, ["format_chat_in_preference"] * batch.height)
    if source_kind == "preference" and cfg.kind == "sft" and not cfg.preference_to_sft:
        return partition(batch, ["format_preference_in_sft"] * batch.height)
    model_template = jinja_template(cfg)
    if model_template is not None:
        shape = _model_shaper(cfg, model_template)
    else:
        shape = _shaper(cfg, get_template(cfg.template))  # type: ignore[arg-type]
    records = _records(batch, source_kind)
    reasons: list[str | None] = []
    errors: list[str | None] = []
    rows: list[Row] = []
    for record in records:
        try:
            rows.append(shape(record))
            reasons.append(None)
            errors.append(None)
        except BadRecord as bad:
            reasons.append(bad.reason)
            errors.append(None)
        except TemplateRecordError as error:
            reasons.append(f"format_{TEMPLATE_ERROR}")
            errors.append(str(error))
    if any(e is not None for e in errors):
        split = partition(batch.with_columns(pl.Series(ERROR, errors, dtype=pl.String)), reasons)
        split = BatchResult(split.kept.drop(ERROR), split.dropped, split.counters)
    else:
        split = partition(batch, reasons)
    counters = (
        {f"converted.{source_kind}_to_{cfg.kind}": float(len(rows))}
        if _converts(source_kind, cfg.kind)
        else {}
    )
    kept = split.kept.select(kept_columns).hstack(_frame(rows, cfg))
    return BatchResult(kept=_ordered(kept), dropped=split.dropped, counters=counters)


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """id, source, the format's columns, meta."""
    front = [c for c in (ID, SOURCE) if c in frame.columns]
    back = [META] if META in frame.columns else []
    return frame.select([*front, *(c for c in frame.columns if c not in (*front, *back)), *back])


def _converts(source_kind: str, kind: FormatKind) -> bool:
    return {"chat": "sft", "preference": "preference"}.get(source_kind) != kind


def _records(batch: pl.DataFrame, source_kind: str) -> list[tuple[Conversation, ...]]:
    """Each record's message lists: (messages,) for chats, (prompt, chosen, rejected) for pairs."""
    columns = [MESSAGES] if source_kind == "chat" else [PROMPT, CHOSEN, REJECTED]
    return list(zip(*(batch[c].to_list() for c in columns), strict=True))


def _conversation(record: tuple[Conversation, ...], system: str | None) -> Conversation:
    """One record as a conversation: a chat as it is, a pair as its prompt plus the chosen answer;
    ``system`` prepended where the record has no system turn."""
    if len(record) == 1:
        return validate_chat(with_system(record[0] or [], system))
    prompt, chosen, _ = _pair(record, system)
    return [*prompt, *chosen]


def _shaper(cfg: FormatConfig, template: ChatTemplate) -> Callable[[tuple[Conversation, ...]], Row]:
    """The function turning one record's message lists into the output row of ``cfg.kind``."""
    system = cfg.system_prompt

    def conversation(record: tuple[Conversation, ...]) -> Conversation:
        return _conversation(record, system)

    def pretrain(record: tuple[Conversation, ...]) -> Row:
        return {TEXT: template.render(conversation(record))}

    def sft(record: tuple[Conversation, ...]) -> Row:
        messages = conversation(record)
        if cfg.sft_schema == "messages":
            return {MESSAGES: messages}
        prompt, completion = messages[:-1], messages[-1:]
        if cfg.strings:
            head, tail = template.render_completion(prompt, completion)
            return {PROMPT: join(head), COMPLETION: join(_closed(tail))}
        return {PROMPT: prompt, COMPLETION: completion}

    def preference(record: tuple[Conversation, ...]) -> Row:
        prompt, chosen, rejected = _pair(record, system)
        if not cfg.strings:
            return {PROMPT: prompt, CHOSEN: chosen, REJECTED: rejected}
        head, chosen_tail = template.render_completion(prompt, chosen)
        _, rejected_tail = template.render_completion(prompt, rejected)
        return {
            PROMPT: join(head),
            CHOSEN: join(_closed(chosen_tail)),
            REJECTED: join(_closed(rejected_tail)),
        }

    return {"pretrain": pretrain, "sft": sft, "preference": preference}[cfg.kind]


ERROR = "error"
"""Column of quarantined records that says why the chat template refused them."""
_JINJA: dict[tuple[str, str], ModelTemplate] = {}


def jinja_template(cfg: FormatConfig) -> ModelTemplate | None:
    """The Jinja template of ``template: model`` / ``{jinja: PATH}`` (compiled once per process)."""
    from curate.tokenize.chat import is_model_template, template_for

    if not is_model_template(cfg.template):
        return None
    if cfg.tokenizer is None:
        raise StageError(
            f"format: template {_spec_name(cfg.template)} needs a tokenizer: set format.tokenizer to a Hugging Face "
            "tokenizer directory, or add a tokenize stage with hf: after this stage"
        )
    key = (cfg.tokenizer, cfg.template.jinja if isinstance(cfg.template, JinjaFile) else "model")
    if key not in _JINJA:
        from curate.tokenize.load import load_tokenizer

        tokenizer = load_tokenizer(cfg.tokenizer)
        _JINJA[key] = template_for(tokenizer, cfg.template, where=f"tokenizer {cfg.tokenizer!r}")
    return _JINJA[key]


def _spec_name(spec: TemplateSpec) -> str:
    return f"{{jinja: {spec.jinja}}}" if isinstance(spec, JinjaFile) else str(spec)


def check(cfg: FormatConfig) -> None:
    """Preflight of a Jinja template: the tokenizer loads, it has a chat template, and the template
    renders a probe conversation in which every assistant text is found."""
    try:
        template = jinja_template(cfg)
        if template is not None:
            template.probe()
    except StageError as error:
        message = str(error)
        raise StageError(message if message.startswith("format:") else f"format: {message}") from error


def inputs(cfg: FormatConfig) -> list[str]:
    """A template file and the tokenizer's config (where its chat_template is) join the cache key."""
    files = [cfg.template.jinja] if isinstance(cfg.template, JinjaFile) else []
    if cfg.tokenizer is not None and cfg.template == "model":
        files.append(str(Path(cfg.tokenizer) / "tokenizer_config.json"))
    return files


def _model_shaper(cfg: FormatConfig, template: ModelTemplate) -> Callable[[tuple[Conversation, ...]], Row]:
    """As :func:`_shaper`, through a Jinja template; every conversation is rendered and its
    assistant spans found, so a record the template refuses is quarantined here."""
    system = cfg.system_prompt

    def conversation(record: tuple[Conversation, ...]) -> Conversation:
        return _conversation(record, system)

    def pretrain(record: tuple[Conversation, ...]) -> Row:
        text, _ = template.spans(conversation(record))
        return {TEXT: text}

    def sft(record: tuple[Conversation, ...]) -> Row:
        messages = conversation(record)
        if cfg.sft_schema == "messages":
            template.spans(messages)
            return {MESSAGES: messages}
        prompt, completion = messages[:-1], messages[-1:]
        if cfg.strings:
            head, tail = template.completion_texts(prompt, completion)
            return {PROMPT: head, COMPLETION: tail}
        template.spans(messages, first=len(prompt))
        return {PROMPT: prompt, COMPLETION: completion}

    def preference(record: tuple[Conversation, ...]) -> Row:
        prompt, chosen, rejected = _pair(record, system)
        if not cfg.strings:
            for side in (chosen, rejected):
                template.spans([*prompt, *side], first=len(prompt))
            return {PROMPT: prompt, CHOSEN: chosen, REJECTED: rejected}
        head, chosen_text = template.completion_texts(prompt, chosen)
        _, rejected_text = template.completion_texts(prompt, rejected)
        return {PROMPT: head, CHOSEN: chosen_text, REJECTED: rejected_text}

    return {"pretrain": pretrain, "sft": sft, "preference": preference}[cfg.kind]


def _closed(tail: list[Segment]) -> list[Segment]:
    """A rendered completion ending with its end-of-turn marker: the markup the template puts after
    the last turn (ChatML's newline after ``<|im_end|>``) is left out. TRL's trainers append the
    tokenizer's EOS to a string completion unless it already ends with it; for a chat model's
    tokenizer that EOS is the template's end-of-turn (``<|im_end|>``, ``<|eot_id|>``), so a
    completion ending in ``<|im_end|>\n`` would get a second one."""
    end = len(tail)
    while end and tail[end - 1].markup and not tail[end - 1].train:
        end -= 1
    return tail[:end]


def _pair(
    record: tuple[Conversation, ...], system: str | None
) -> tuple[Conversation, Conversation, Conversation]:
    prompt, chosen, rejected = record
    return validate_pair(with_system(prompt or [], system), chosen or [], rejected or [])


def _frame(rows: Sequence[Row], cfg: FormatConfig) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=output_schema(cfg))


def output_schema(cfg: FormatConfig) -> dict[str, pl.DataType]:
    """The columns ``format`` adds for ``cfg`` (besides id, source, meta)."""
    value = pl.String() if cfg.strings else MESSAGES_DTYPE
    if cfg.kind == "pretrain":
        return {TEXT: pl.String()}
    if cfg.kind == "preference":
        return {PROMPT: value, CHOSEN: value, REJECTED: value}
    if cfg.sft_schema == "messages":
        return {MESSAGES: MESSAGES_DTYPE}
    return {PROMPT: value, COMPLETION: value}


STAGE = BatchStage(name="format", config=FormatConfig, apply=apply, check=check, inputs=inputs)
