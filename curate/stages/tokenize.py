"""``tokenize``: train (or load) a tokenizer, encode every record, pack token files.

``- tokenize: {train: {vocab_size: 8000, model_type: bpe}, seq_len: 512}``,
``- tokenize: {model: path/to/tokenizer.model, seq_len: 512}`` (a sentencepiece model) or
``- tokenize: {hf: path/to/tokenizer_dir, seq_len: 512}`` (a Hugging Face tokenizer directory,
see :mod:`curate.tokenize.hf`). The stage sees only the tokenizer interface
(:class:`curate.tokenize.base.Tokenizer`).

- ``summarize`` takes a deterministic sample of each shard: the records with the smallest
  hash of (seed, id), rendered through the chat template (so the tokenizer sees the format) and
  cut at line breaks into sentences of at most ``max_sentence_length`` bytes. The run's sample is
  the first ``input_sentence_size`` sentences in hash order over all shards: the same records
  whatever the sharding, so the same tokenizer with any number of shards or workers.
- ``fit`` trains sentencepiece on the sample (one thread, fixed seed: same sample, same model
  bytes), with every template's special tokens as user-defined symbols, or loads ``model`` or
  ``hf``; it saves ``tokenizer/tokenizer.model`` and ``.vocab`` (or the Hugging Face files) into
  the run directory. The state is the tokenizer's files, so workers need no shared file system.
- ``apply`` adds ``input_ids`` (list<uint32>) and ``loss_mask`` (list<uint8>) to every record:
  documents are their ids plus the end-of-document id (after a BOS where a Hugging Face
  tokenizer's config adds one), all targets; conversations are rendered
  through the template and encoded segment by segment, targets exactly the assistant tokens and
  their end-of-turn token; prompt/completion records target the completion. Preference records get
  ``chosen_input_ids``/``chosen_loss_mask`` and ``rejected_...``: prompt + response, response
  targeted.
- ``finalize`` packs the tokenized shards, in shard order, into ``tokens/`` (``curate.io.tokens``):
  ``concat`` for pretraining, whole conversations ``best_fit`` or ``greedy`` otherwise (see
  :mod:`curate.tokenize.pack`); preference shards add their chosen conversations to the packed
  rows (SFT on the preferred answers) and write every pair to ``tokens/preference.parquet``.
  The same pass feeds the exports of ``export`` (``hf``, ``megatron``: :mod:`curate.exports`).
  It names ``tokenizer/``, ``tokens/`` (and ``exports/``) as the step's artifacts for the stage cache.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from pydantic import Field, field_validator, model_validator

from curate.errors import StageError
from curate.exports import ExportInfo, ExportName, Exports, Pair
from curate.formats.jinja import TEMPLATE_ERROR, ModelTemplate
from curate.formats.templates import (
    ChatTemplate,
    JinjaFile,
    Segment,
    TemplateSpec,
    all_special_tokens,
    get_template,
    join,
)
from curate.io.tokens import TokenWriter, index_path
from curate.records import CHOSEN, ID, MESSAGES, PROMPT, REJECTED, SOURCE, TEXT
from curate.stages.base import (
    BatchResult,
    FitResult,
    GlobalStage,
    Options,
    ShardInfo,
    StageConfig,
    StageContext,
    empty_dropped,
    partition,
)
from curate.stages.format import COMPLETION
from curate.tokenize.base import Tokenizer
from curate.tokenize.chat import encode_chats, is_model_template, template_for
from curate.tokenize.load import SENTENCEPIECE_FILE, from_files
from curate.tokenize.pack import Packer, Packing, SourceCounts, Truncation
from curate.tokenize.spm import ModelType, Normalization, read_model, train_sentencepiece

INPUT_IDS, LOSS_MASK = "input_ids", "loss_mask"
PAIR_COLUMNS = tuple(f"{side}_{col}" for side in (CHOSEN, REJECTED) for col in (INPUT_IDS, LOSS_MASK))
TOKEN_COLUMNS = frozenset({INPUT_IDS, LOSS_MASK, *PAIR_COLUMNS})
"""Columns in the run's own token ids: for the packed files and exports, never for ``output/``."""
TOKENIZER_DIR, TOKENS_DIR = "tokenizer", "tokens"
PREFERENCE_FILE = "preference.parquet"
TRAIN_PARQUET = "train.parquet"
IGNORE_INDEX = -100
TEMPLATE_ERROR_COLUMN = "error"
"""Column of quarantined records that says why the chat template refused them."""
Form = Literal["documents", "messages", "prompt_completion", "preference"]
Sentence = tuple[tuple[int, int, int], str]
"""A sample sentence and its key: (record id hash, text number in the record, piece number)."""


class TokenizerTrainConfig(Options):
    vocab_size: int = Field(
        8000, ge=300, description="Vocabulary size (a soft limit unless hard_vocab_limit)."
    )
    model_type: ModelType = Field(
        "bpe", description="sentencepiece algorithm: bpe or unigram (unigram trains ~20x slower)."
    )
    byte_fallback: bool = Field(
        True, description="Encode characters outside the vocabulary as UTF-8 byte tokens (no <unk>)."
    )
    character_coverage: float = Field(
        0.9995,
        gt=0.0,
        le=1.0,
        description="Share of characters the vocabulary covers; sentencepiece's default 0.9995 suits CJK-rich text, 1.0 small alphabets.",
    )
    input_sentence_size: int = Field(
        20_000,
        ge=1,
        description="Sentences (text pieces of at most max_sentence_length bytes) sampled to train on.",
    )
    max_sentence_length: int = Field(
        4192,
        ge=64,
        description="Bytes per sample sentence; texts are cut at line breaks to fit (sentencepiece's default).",
    )
    normalization: Normalization = Field(
        "identity",
        description="sentencepiece normalisation rule: identity keeps text as is (as Llama does), nfkc / nmt_nfkc fold Unicode variants.",
    )
    split_digits: bool = Field(True, description="Split numbers into single digits (as Llama does).")
    hard_vocab_limit: bool = Field(
        False,
        description="Fail when the sample cannot fill vocab_size; otherwise a smaller vocabulary is reported in the stats.",
    )
    user_defined_symbols: tuple[str, ...] = Field(
        (), description="Extra tokens that are never split, besides the chat templates' special tokens."
    )
    seed: int = Field(
        0,
        description="Seeds the sample and sentencepiece; fixed per experiment so every variant shares a tokenizer.",
    )
    num_threads: int = Field(
        1, ge=1, description="sentencepiece trainer threads; 1 makes the model bytes reproducible."
    )


class TokenizeConfig(StageConfig):
    train: TokenizerTrainConfig | None = Field(
        None, description="Train a sentencepiece model on a sample (the default when model is unset)."
    )
    model: str | None = Field(
        None,
        description="Path of an existing sentencepiece .model to use instead of training. "
        "A relative path is looked up in the working directory, then in the recipe file's directory.",
    )
    hf: str | None = Field(
        None,
        description="A Hugging Face tokenizer to use instead of training: a local directory with tokenizer.json "
        "and tokenizer_config.json (as save_pretrained writes them), a snapshot in the local HF cache, or "
        "org/name of a cached model. Never downloaded.",
    )
    seq_len: int = Field(512, ge=8, description="Tokens per packed row.")
    template: TemplateSpec = Field(
        "chatml",
        description="Chat template conversations are rendered with (default: the format stage's): chatml, "
        "llama3, plain, model (the hf tokenizer's own chat_template, rendered as transformers does, the whole "
        "text tokenized once, targets exactly each assistant's content and end-of-turn) or {jinja: PATH} "
        "(a template file, rendered the same way).",
    )
    system_prompt: str | None = Field(
        None, description="System turn added to every conversation that has none."
    )
    packing: Literal["auto", "concat", "greedy", "best_fit"] = Field(
        "auto",
        description="concat: cut the token stream every seq_len (pretraining); best_fit / greedy: whole records per row, padded; auto: concat when every record is a plain document, else best_fit.",
    )
    truncation: Truncation = Field(
        "truncate",
        description="A conversation longer than seq_len keeps its first seq_len tokens (truncate) or is left out (drop).",
    )
    pack_window: int = Field(
        4096, ge=1, description="Rows packed at a time by best_fit/greedy (bounds memory)."
    )
    num_threads: int = Field(
        1,
        ge=1,
        description="Encoding threads per worker (workers already run in parallel); for hf, >1 turns on the "
        "tokenizers library's thread pool.",
    )
    parquet: bool = Field(
        False,
        description="Also write tokens/train.parquet with input_ids and labels (-100 where not a target).",
    )
    export: tuple[ExportName, ...] = Field(
        ("nanogpt",),
        description="Token exports, in the run's own tokenizer: nanogpt = tokens/ (uint16/uint32 memmap rows, "
        "masks, document starts, index.json; always written, the bundled trainer reads it); hf = "
        "exports/hf/train.parquet (input_ids, labels with -100 where not a target; packed rows with "
        "seq_lengths, or one row per record, see hf_rows) that TRL's SFTTrainer takes as tokenized, and for "
        "preference data exports/hf/preference.parquet (prompt_ids, chosen_ids, rejected_ids: DPO's "
        "columns); megatron = exports/megatron/train.bin + .idx, Megatron-LM's indexed dataset (one "
        "document per record as packed, uint16 or int32), read by megatron.core's IndexedDataset.",
    )
    hf_rows: Literal["packed", "records"] = Field(
        "packed",
        description="Rows of the hf export: packed (the rows of tokens/, seq_len each, with seq_lengths) or records (one row per conversation or document, unpadded).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> TokenizeConfig:
        if self.train is not None and self.model is not None:
            raise ValueError("give either train (train a tokenizer) or model (load one), not both")
        if self.hf is not None and (self.train is not None or self.model is not None):
            given = " and ".join(k for k in ("train", "model") if getattr(self, k) is not None)
            raise ValueError(
                f"hf (a Hugging Face tokenizer) and {given} are exclusive: give one way to get the tokenizer"
            )
        if self.template == "model" and self.hf is None:
            raise ValueError(
                "template: model renders with the tokenizer's own chat_template: it needs hf: (a Hugging Face "
                "tokenizer directory); for another tokenizer give a template file, template: {jinja: PATH}"
            )
        if isinstance(self.template, JinjaFile) and self.loads is None:
            raise ValueError(
                "template: {jinja: PATH} needs a tokenizer to load (hf: or model:): a trained tokenizer's "
                "special tokens are not known before the template renders its sample"
            )
        return self

    @field_validator("export")
    @classmethod
    def _nanogpt_always(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """tokens/ is always written (the trainer reads it): the resolved recipe lists it first."""
        return tuple(dict.fromkeys(("nanogpt", *value)))

    @property
    def loads(self) -> str | None:
        """The tokenizer this stage loads instead of training one (``model`` or ``hf``), if any."""
        return self.model if self.model is not None else self.hf

    @property
    def training(self) -> TokenizerTrainConfig:
        return self.train or TokenizerTrainConfig()


@dataclass(frozen=True)
class TokenizerState:
    """The tokenizer itself (its files, a few hundred KB to a few MB), so that ``apply`` needs no
    shared file system. ``sha256`` is the tokenizer's fingerprint."""

    kind: str
    files: dict[str, bytes] = field(repr=False)
    sha256: str
    chat_template: str | None = field(default=None, repr=False)
    """The Jinja template source of ``template: model`` / ``{jinja: PATH}`` (None: a built-in)."""

    @property
    def model(self) -> bytes:
        """The model bytes of a sentencepiece tokenizer."""
        return self.files[SENTENCEPIECE_FILE]


@dataclass(frozen=True)
class Sample:
    """One shard's share of the tokenizer sample: (key, sentence) in key order, and counts."""

    sentences: list[Sentence]
    records: int
    conversations: int


# --- rendering -------------------------------------------------------------------------------


def record_form(batch: pl.DataFrame) -> Form:
    """How a batch's records are tokenized, from its columns."""
    if MESSAGES in batch.columns:
        return "messages"
    if PROMPT in batch.columns and COMPLETION in batch.columns:
        return "prompt_completion"
    if PROMPT in batch.columns and CHOSEN in batch.columns:
        return "preference"
    if TEXT in batch.columns:
        return "documents"
    raise StageError(
        f"tokenize: records with columns {batch.columns} are none of text, messages, prompt/completion, prompt/chosen/rejected"
    )


def _segments(prompt: Any, completion: Any, template: ChatTemplate, system: str | None) -> list[Segment]:
    """Segments of prompt + completion, targets only in the completion."""
    if isinstance(prompt, str):
        return [Segment(prompt, False, False), Segment(completion, True, False)]
    head, tail = template.render_completion(prompt, completion, system=system)
    return [Segment(s.text, False, s.markup) for s in head] + tail


def segmented(
    batch: pl.DataFrame, template: ChatTemplate, system: str | None
) -> dict[str, list[list[Segment]]]:
    """Segments of every record, per output prefix ("" or "chosen_"/"rejected_" for pairs)."""
    form = record_form(batch)
    if form == "messages":
        return {"": [template.render_segments(m, system=system) for m in batch[MESSAGES].to_list()]}
    if form == "prompt_completion":
        pairs = zip(batch[PROMPT].to_list(), batch[COMPLETION].to_list(), strict=True)
        return {"": [_segments(p, c, template, system) for p, c in pairs]}
    prompts = batch[PROMPT].to_list()
    return {
        f"{side}_": [
            _segments(p, r, template, system) for p, r in zip(prompts, batch[side].to_list(), strict=True)
        ]
        for side in (CHOSEN, REJECTED)
    }


def sample_texts(batch: pl.DataFrame, template: ChatTemplate, system: str | None) -> list[list[str]]:
    """The texts of each record as the tokenizer will see them (two per preference pair)."""
    if record_form(batch) == "documents":
        return [[t or ""] for t in batch[TEXT].to_list()]
    per_prefix = segmented(batch, template, system)
    return [[join(s) for s in texts] for texts in zip(*per_prefix.values(), strict=True)]


def sentences(text: str, max_bytes: int) -> Iterator[str]:
    """``text`` cut at line breaks into pieces of at most ``max_bytes`` UTF-8 bytes (long lines cut anywhere)."""
    piece, size = [], 0
    for line in text.splitlines(keepends=True):
        n = len(line.encode("utf-8"))
        if size + n > max_bytes and piece:
            yield "".join(piece)
            piece, size = [], 0
        while n > max_bytes:
            head = line.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
            yield head
            line = line[len(head) :]
            n = len(line.encode("utf-8"))
        piece.append(line)
        size += n
    if piece and "".join(piece).strip():
        yield "".join(piece)


# --- the stage -------------------------------------------------------------------------------


def summarize(batch: pl.DataFrame, cfg: TokenizeConfig, shard: ShardInfo) -> Sample:
    """This shard's candidates for the tokenizer sample (none when loading a model)."""
    conversations = 0 if record_form(batch) == "documents" else batch.height
    if cfg.loads is not None or batch.height == 0:
        return Sample([], batch.height, conversations)
    train = cfg.training
    keys = np.fromiter(
        (xxhash.xxh64_intdigest(str(i).encode("utf-8"), seed=train.seed) for i in batch[ID].to_list()),
        dtype=np.uint64,
        count=batch.height,
    )
    order = np.argsort(keys, kind="stable")[: train.input_sentence_size]
    chosen = batch[order]
    texts = sample_texts(chosen, get_template(cfg.template), cfg.system_prompt)
    found: list[Sentence] = []
    for key, record_texts in zip(keys[order].tolist(), texts, strict=True):
        for t, text in enumerate(record_texts):
            found += (
                ((key, t, s), piece) for s, piece in enumerate(sentences(text, train.max_sentence_length))
            )
        if len(found) >= train.input_sentence_size:
            break
    return Sample(found[: train.input_sentence_size], batch.height, conversations)


def merge_samples(partials: Iterable[Sample], size: int) -> tuple[list[Sentence], int, int]:
    """The run's sample (the first ``size`` sentences in key order), records and conversations seen.

    One pass, one partial in memory at a time besides the running sample.
    """
    picked: list[Sentence] = []
    records = conversations = 0
    for partial in partials:
        picked = list(itertools.islice(heapq.merge(picked, partial.sentences), size))
        records += partial.records
        conversations += partial.conversations
    return picked, records, conversations


def fit(partials: Sequence[Sample], cfg: TokenizeConfig, ctx: StageContext) -> FitResult:
    """Train (or load) the tokenizer and save it into ``RUN_DIR/tokenizer/``."""
    started = time.perf_counter()
    train = cfg.training
    picked, records, conversations = merge_samples(partials, train.input_sentence_size)
    stats: dict[str, Any] = {"records": records}
    if cfg.hf is not None:
        kind, files = "hf", read_hf_files(cfg.hf)
        stats["loaded_from"] = cfg.hf
    elif cfg.model is not None:
        kind, files = "sentencepiece", {SENTENCEPIECE_FILE: read_model(cfg.model)}
        stats["loaded_from"] = cfg.model
    else:
        if not picked:
            raise StageError("tokenize: no text to train the tokenizer on (every shard is empty)")
        options = train.model_dump(exclude={"input_sentence_size", "user_defined_symbols"})
        symbols = tuple(dict.fromkeys([*all_special_tokens(), *train.user_defined_symbols]))
        model = train_sentencepiece((text for _, text in picked), user_defined_symbols=symbols, **options)
        kind, files = "sentencepiece", {SENTENCEPIECE_FILE: model}
        stats.update(
            requested_vocab_size=train.vocab_size,
            sample_sentences=len(picked),
            sample_bytes=sum(len(text.encode("utf-8")) for _, text in picked),
        )
    tokenizer = from_files(kind, files, where=f"tokenizer {cfg.loads!r}")
    chat_template = None
    if is_model_template(cfg.template):
        model_template = template_for(tokenizer, cfg.template, where=f"tokenizer {cfg.loads!r}")
        if conversations:
            model_template.probe()
        chat_template = model_template.source
    else:
        missing = tokenizer.missing_specials(get_template(cfg.template))  # type: ignore[arg-type]
        if missing and conversations:
            raise StageError(_missing_message(cfg, missing))
    tokenizer.save(Path(ctx.run_dir) / TOKENIZER_DIR)
    if kind == "hf":
        stats["kind"] = kind
    if cfg.loads is None and tokenizer.vocab_size < train.vocab_size:
        stats["vocab_capped"] = {"requested": train.vocab_size, "trained": tokenizer.vocab_size}
        stats["warnings"] = [vocab_cap_warning(train, tokenizer.vocab_size, stats)]
    stats.update(
        vocab_size=tokenizer.vocab_size,
        sha256=tokenizer.fingerprint,
        special_ids=tokenizer.ids_info(),
        seconds=round(time.perf_counter() - started, 3),
    )
    if chat_template is not None:
        stats["chat_template"] = "model" if cfg.template == "model" else "jinja"
    return FitResult(state=TokenizerState(kind, files, tokenizer.fingerprint, chat_template), stats=stats)


def _missing_message(cfg: TokenizeConfig, missing: Sequence[str]) -> str:
    needs = f"has no single token for {', '.join(missing)}, which template {cfg.template!r} needs"
    if cfg.hf is not None:
        return (
            f"Hugging Face tokenizer {cfg.hf!r} {needs}: choose the template of the model's family "
            "(tokenize.template / format.template), or a tokenizer that has these tokens"
        )
    return (
        f"tokenizer {cfg.model!r} {needs}: train one (tokenize.train) or load a model trained with these "
        "user_defined_symbols"
    )


def read_hf_files(spec: str) -> dict[str, bytes]:
    from curate.tokenize.hf import read_files

    return read_files(spec)


def check(cfg: TokenizeConfig) -> None:
    """Preflight for a Hugging Face tokenizer: its files exist and load, and it has the template's
    special tokens as single ids (sentencepiece models are checked in ``fit``, as before)."""
    if isinstance(cfg.template, JinjaFile) and cfg.hf is None:
        from curate.formats.jinja import read_jinja

        try:
            read_jinja(cfg.template.jinja)
        except StageError as error:
            raise StageError(f"tokenize: {error}") from error
    if cfg.hf is None:
        return
    tokenizer = from_files("hf", read_hf_files(cfg.hf), where=f"tokenizer {cfg.hf!r}")
    if is_model_template(cfg.template):
        try:
            template_for(tokenizer, cfg.template, where=f"tokenizer {cfg.hf!r}").probe()
        except StageError as error:
            raise StageError(f"tokenize: {error}") from error
        return
    missing = tokenizer.missing_specials(get_template(cfg.template))  # type: ignore[arg-type]
    if missing:
        raise StageError(f"tokenize: {_missing_message(cfg, missing)}")


def inputs(cfg: TokenizeConfig) -> list[str]:
    """A Hugging Face tokenizer's files (and a template file) join the cache key."""
    jinja = [cfg.template.jinja] if isinstance(cfg.template, JinjaFile) else []
    if cfg.hf is None:
        return jinja
    from curate.tokenize.hf import OPTIONAL_FILES, REQUIRED_FILES, resolve_dir

    try:
        directory = resolve_dir(cfg.hf)
    except StageError:  # preflight (check) reports it, naming the stage
        return [cfg.hf, *jinja]
    return [str(directory / name) for name in (*REQUIRED_FILES, *OPTIONAL_FILES)] + jinja


def vocab_cap_warning(train: TokenizerTrainConfig, trained: int, stats: dict[str, Any]) -> str:
    """Why the tokenizer is smaller than asked, and what to do about it."""
    return (
        f"tokenize: train.vocab_size is {train.vocab_size:,} but the tokenizer has {trained:,} tokens: "
        f"sentencepiece found no more pieces in its sample ({stats['sample_sentences']:,} sentences, "
        f"{stats['sample_bytes'] / 1e6:,.1f} MB), so it capped the vocabulary (hard_vocab_limit is off). "
        "Give it more text (train.input_sentence_size, more data), ask for a smaller vocab_size, or set "
        "hard_vocab_limit: true to fail instead"
    )


_TOKENIZERS: dict[tuple[str, int], Tokenizer] = {}


def load_tokenizer(state: TokenizerState, *, num_threads: int = 1) -> Tokenizer:
    """The tokenizer of ``state``, built once per process (and per encoding thread count)."""
    key = (state.sha256, num_threads)
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = from_files(state.kind, state.files, num_threads=num_threads)
    return _TOKENIZERS[key]


_TEMPLATES: dict[tuple[str, str], ModelTemplate] = {}


def load_template(state: TokenizerState, tokenizer: Tokenizer) -> ModelTemplate:
    """The Jinja template of ``state`` with its tokenizer's tokens, compiled once per process."""
    assert state.chat_template is not None
    key = (state.sha256, state.chat_template)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = template_for(tokenizer, "model", source=state.chat_template)
    return _TEMPLATES[key]


def chat_records(batch: pl.DataFrame, system: str | None) -> dict[str, list[Any]]:
    """Per output prefix, each record as a conversation and its first trained turn, or as
    (prompt, completion) strings already rendered (see :func:`curate.tokenize.chat.encode_chats`)."""
    from curate.formats.templates import with_system

    form = record_form(batch)
    if form == "messages":
        return {"": [(with_system(m, system), 0) for m in batch[MESSAGES].to_list()]}

    def record(prompt: Any, completion: Any) -> Any:
        if isinstance(prompt, str):
            return (prompt, completion)
        turns = with_system(prompt, system)
        return ([*turns, *completion], len(turns))

    prompts = batch[PROMPT].to_list()
    sides = [COMPLETION] if form == "prompt_completion" else [CHOSEN, REJECTED]
    return {
        ("" if side == COMPLETION else f"{side}_"): [
            record(p, c) for p, c in zip(prompts, batch[side].to_list(), strict=True)
        ]
        for side in sides
    }


def apply(batch: pl.DataFrame, cfg: TokenizeConfig, state: TokenizerState, shard: ShardInfo) -> BatchResult:
    """Add token ids and loss masks to every record (see the module docstring)."""
    tokenizer = load_tokenizer(state, num_threads=cfg.num_threads)
    if record_form(batch) == "documents":
        texts = batch[TEXT].fill_null("").to_list()
        ids, mask, lengths = tokenizer.encode_documents(texts)
        columns = {"": (ids, mask, lengths)}
        framing = 2 if tokenizer.add_bos else 1  # the end-of-document id (and a BOS)
        reasons: list[str | None] = ["tokenize_empty" if n <= framing else None for n in lengths.tolist()]
    elif state.chat_template is not None:
        model_template = load_template(state, tokenizer)
        columns, errors = {}, [None] * batch.height
        for prefix, recs in chat_records(batch, cfg.system_prompt).items():
            ids, mask, lengths, found = encode_chats(tokenizer, model_template, recs)
            columns[prefix] = (ids, mask, lengths)
            errors = [e or f for e, f in zip(errors, found, strict=True)]
        reasons = [None if e is None else f"tokenize_{TEMPLATE_ERROR}" for e in errors]
    else:
        template = get_template(cfg.template)  # type: ignore[arg-type]
        columns = {
            prefix: tokenizer.encode_segments(recs)
            for prefix, recs in segmented(batch, template, cfg.system_prompt).items()
        }
        reasons = [None] * batch.height
    added = [
        series
        for prefix, (ids, mask, lengths) in columns.items()
        for series in (
            list_series(f"{prefix}{INPUT_IDS}", ids, lengths, pa.uint32()),
            list_series(f"{prefix}{LOSS_MASK}", mask, lengths, pa.uint8()),
        )
    ]
    keep = np.array([r is None for r in reasons], dtype=bool)
    counters = {"tokens": 0.0, "target_tokens": 0.0}
    for _, mask, lengths in columns.values():
        per_record = np.bincount(
            np.repeat(np.arange(lengths.size), lengths), weights=mask, minlength=lengths.size
        )
        counters["tokens"] += float(lengths[keep].sum())
        counters["target_tokens"] += float(per_record[keep].sum())
    tokenized = batch.with_columns(added)
    if keep.all():  # the usual case: skip partition's filtering copies of every column
        return BatchResult(kept=tokenized, dropped=empty_dropped(tokenized), counters=counters)
    if state.chat_template is not None and record_form(batch) != "documents":
        tokenized = tokenized.with_columns(pl.Series(TEMPLATE_ERROR_COLUMN, errors, dtype=pl.String))
        split = partition(tokenized, reasons, counters)
        return BatchResult(split.kept.drop(TEMPLATE_ERROR_COLUMN), split.dropped, split.counters)
    return partition(tokenized, reasons, counters)


def list_series(name: str, flat: np.ndarray, lengths: np.ndarray, value_type: pa.DataType) -> pl.Series:
    """A polars list column from flat values and per-row lengths (no Python list per row)."""
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = pa.array(flat, type=value_type)
    return pl.Series(name, pa.LargeListArray.from_arrays(pa.array(offsets), values))


# --- finalize: packing -----------------------------------------------------------------------


def finalize(
    shard_paths: Sequence[Path], cfg: TokenizeConfig, state: TokenizerState, ctx: StageContext
) -> dict[str, Any]:
    """Pack every tokenized shard, in order, into ``RUN_DIR/tokens/``; return the packing stats."""
    tokenizer = load_tokenizer(state)
    name = SENTENCEPIECE_FILE if state.kind == "sentencepiece" else "tokenizer.json"
    out = Path(ctx.run_dir) / TOKENS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for stale in (index_path(out), out / PREFERENCE_FILE, out / TRAIN_PARQUET):
        stale.unlink(missing_ok=True)  # no index = incomplete, until the writer's close() publishes one
    schemas = [pq.read_schema(p) for p in shard_paths]
    packing = _packing(cfg, schemas)
    writer = TokenWriter(
        out,
        vocab_size=tokenizer.vocab_size,
        seq_len=cfg.seq_len,
        special_ids=tokenizer.ids_info(),
        tokenizer=f"{TOKENIZER_DIR}/{name}",
        packing=packing,
    )
    rows_out = _ParquetRows(out / TRAIN_PARQUET, cfg.seq_len) if cfg.parquet else None
    pairs_out: _PairWriter | None = None
    exports = Exports(
        cfg.export,
        ExportInfo(Path(ctx.run_dir), tokenizer.vocab_size, cfg.seq_len, hf_rows=cfg.hf_rows),
    )
    try:

        def sink(rows: np.ndarray, masks: np.ndarray, starts: np.ndarray) -> None:
            writer.write(rows, masks)
            writer.add_doc_starts(starts)
            exports.add_rows(rows, masks, starts)
            if rows_out is not None:
                rows_out.write_rows(rows, masks)

        packer = Packer(
            sink, cfg.seq_len, packing, cfg.truncation, tokenizer.pad_id, window_rows=cfg.pack_window
        )
        for path, schema in zip(shard_paths, schemas, strict=True):
            names = set(schema.names)
            if CHOSEN + "_" + INPUT_IDS in names:
                pairs_out = pairs_out or _PairWriter(out / PREFERENCE_FILE, cfg.seq_len, cfg.truncation)
                table = pq.read_table(path, columns=[ID, SOURCE, *PAIR_COLUMNS])
                _pack_pairs(table, packer, pairs_out, exports)
            else:
                table = pq.read_table(path, columns=[SOURCE, INPUT_IDS, LOSS_MASK])
                _pack_records(table, packer, exports, splittable=_documents(names))
        packer.close()
        stats = _packing_stats(packer, cfg, packing, writer.num_rows)
        if pairs_out is not None:
            pairs_out.close()
            stats["preference"] = pairs_out.summary()
        if rows_out is not None:
            rows_out.close()
            stats["parquet"] = TRAIN_PARQUET
        stats["num_docs"] = writer.num_docs
        stats["exports"] = exports.close()
        writer.close(stats)
    except BaseException:
        writer.abort()
        exports.abort()
        for extra in (rows_out, pairs_out):
            if extra is not None:
                extra.abort()
        raise
    # Directories outside the stage directory that belong to this step: the pipe loop links them
    # along when another run adopts the step from its cache.
    return {**stats, "artifacts": [TOKENIZER_DIR, TOKENS_DIR, *exports.directories]}


def _packing(cfg: TokenizeConfig, schemas: Sequence[pa.Schema]) -> Packing:
    if cfg.packing != "auto":
        return cfg.packing
    return "concat" if all(_documents(set(s.names)) for s in schemas) else "best_fit"


def _documents(columns: set[str]) -> bool:
    """Whether a tokenized shard holds plain documents (splittable anywhere) rather than conversations."""
    return TEXT in columns and not ({MESSAGES, PROMPT} & columns)


def _lists(table: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Flat values and offsets of a list column."""
    array = table.column(column).combine_chunks()
    return array.values.to_numpy(zero_copy_only=False), array.offsets.to_numpy()


def _records(table: pa.Table, prefix: str = "") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    ids, offsets = _lists(table, prefix + INPUT_IDS)
    mask, _ = _lists(table, prefix + LOSS_MASK)
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        yield ids[start:end], mask[start:end]


def _pack_records(table: pa.Table, packer: Packer, exports: Exports, *, splittable: bool) -> None:
    sources = table.column(SOURCE).to_pylist()
    for source, (ids, mask) in zip(sources, _records(table), strict=True):
        packed = packer.add(source, ids, mask, splittable=splittable)
        if packed is not None:
            exports.add_record(*packed)


def _pack_pairs(table: pa.Table, packer: Packer, pairs: _PairWriter, exports: Exports) -> None:
    """Chosen conversations go into the packed rows; both sides of each pair into the pair file."""
    sources = table.column(SOURCE).to_pylist()
    chosen = list(_records(table, CHOSEN + "_"))
    rejected = _records(table, REJECTED + "_")
    for source, (ids, mask) in zip(sources, chosen, strict=True):
        packed = packer.add(source, ids, mask, splittable=False)
        if packed is not None:
            exports.add_record(*packed)
    exports.add_pairs(pairs.add(table.column(ID).to_pylist(), sources, chosen, list(rejected)))


def _share(values: dict[str, int]) -> dict[str, float]:
    total = sum(values.values())
    return {k: round(v / total, 6) if total else 0.0 for k, v in values.items()}


def _packing_stats(packer: Packer, cfg: TokenizeConfig, packing: Packing, rows: int) -> dict[str, Any]:
    counts: dict[str, SourceCounts] = packer.counts
    slots = rows * cfg.seq_len
    tokens = sum(c.tokens for c in counts.values())
    targets = sum(c.target_tokens for c in counts.values())
    totals = {k: sum(getattr(c, k) for c in counts.values()) for k in SourceCounts().as_dict()}
    return {
        "packing": packing,
        "seq_len": cfg.seq_len,
        "rows": rows,
        "slots": slots,
        "pad_tokens": packer.pad_tokens,
        "fill_ratio": round(tokens / slots, 6) if slots else 0.0,
        "target_ratio": round(targets / slots, 6) if slots else 0.0,
        **totals,
        "sources": {name: c.as_dict() for name, c in sorted(counts.items())},
        "token_mix": _share({name: c.tokens for name, c in sorted(counts.items())}),
        "target_token_mix": _share({name: c.target_tokens for name, c in sorted(counts.items())}),
    }


class _AtomicParquet:
    """A Parquet file written in pieces under a temporary name, renamed into place on close."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.tmp, self.schema = path, path.with_name(path.name + ".tmp"), schema
        self.writer = pq.ParquetWriter(self.tmp, schema)

    def write(self, columns: dict[str, Any]) -> None:
        self.writer.write_table(pa.table(columns, schema=self.schema))

    def close(self) -> None:
        self.writer.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


class _ParquetRows(_AtomicParquet):
    """``train.parquet``: one row per packed sequence, ``input_ids`` and HF-style ``labels``."""

    def __init__(self, path: Path, seq_len: int) -> None:
        super().__init__(
            path, pa.schema([(INPUT_IDS, pa.list_(pa.uint32())), ("labels", pa.list_(pa.int32()))])
        )
        self.seq_len = seq_len

    def write_rows(self, rows: np.ndarray, masks: np.ndarray) -> None:
        labels = np.where(masks.astype(bool), rows.astype(np.int64), IGNORE_INDEX).astype(np.int32)
        offsets = pa.array(np.arange(rows.shape[0] + 1, dtype=np.int32) * self.seq_len)
        self.write(
            {
                INPUT_IDS: pa.ListArray.from_arrays(offsets, pa.array(rows.reshape(-1).astype(np.uint32))),
                "labels": pa.ListArray.from_arrays(offsets, pa.array(labels.reshape(-1))),
            }
        )


class _PairWriter(_AtomicParquet):
    """``preference.parquet``: id, source and both tokenized sides of every pair, fit to seq_len."""

    def __init__(self, path: Path, seq_len: int, truncation: Truncation) -> None:
        ids, mask = pa.list_(pa.uint32()), pa.list_(pa.uint8())
        fields = [(ID, pa.string()), (SOURCE, pa.string())]
        fields += [(name, ids if name.endswith(INPUT_IDS) else mask) for name in PAIR_COLUMNS]
        super().__init__(path, pa.schema(fields))
        self.seq_len, self.truncation = seq_len, truncation
        self.pairs = self.truncated = self.dropped = 0

    def add(
        self,
        record_ids: list[str],
        sources: list[str],
        chosen: list[tuple[np.ndarray, np.ndarray]],
        rejected: list[tuple[np.ndarray, np.ndarray]],
    ) -> list[Pair]:
        """Write the pairs that fit (see ``_fit``); return them, as written."""
        rows: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        written: list[Pair] = []
        for record_id, source, c, r in zip(record_ids, sources, chosen, rejected, strict=True):
            sides = self._fit(c, r)
            if sides is None:
                continue
            written.append((record_id, source, sides[0], sides[1]))
            rows[ID].append(record_id)
            rows[SOURCE].append(source)
            for (ids, mask), side in zip(sides, (CHOSEN, REJECTED), strict=True):
                rows[f"{side}_{INPUT_IDS}"].append(ids)
                rows[f"{side}_{LOSS_MASK}"].append(mask)
            self.pairs += 1
        self.write(rows)
        return written

    def _fit(
        self, chosen: tuple[np.ndarray, np.ndarray], rejected: tuple[np.ndarray, np.ndarray]
    ) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
        """Both sides within seq_len: as they are, truncated, or None (dropped)."""
        if max(chosen[0].size, rejected[0].size) <= self.seq_len:
            return chosen, rejected
        cut = tuple((ids[: self.seq_len], mask[: self.seq_len]) for ids, mask in (chosen, rejected))
        if self.truncation == "drop" or not all(mask.any() for _, mask in cut):
            self.dropped += 1
            return None
        self.truncated += 1
        return cut

    def summary(self) -> dict[str, Any]:
        return {
            "file": PREFERENCE_FILE,
            "pairs": self.pairs,
            "truncated_pairs": self.truncated,
            "dropped_pairs": self.dropped,
        }


STAGE = GlobalStage(
    name="tokenize",
    config=TokenizeConfig,
    summarize=summarize,
    fit=fit,
    apply=apply,
    finalize=finalize,
    check=check,
    inputs=inputs,
)
