"""The tokenizer interface: what the tokenize stage, the mix's token counts and the trainer use.

Two implementations: :class:`curate.tokenize.encoder.SentencePieceTokenizer` (a model curate
trains or loads) and :class:`curate.tokenize.hf.HFTokenizer` (a Hugging Face ``tokenizer.json``
directory). Everything is encoded in batches and returned flat: one uint32 id array and the
number of ids per text, ready to become a list column without a Python list per token.

Ids of a record as the tokenize stage writes them:

- a **document**: ``[bos]`` (only where the tokenizer's own config adds one) + its ids + the
  end-of-document id (``eod_id``); every id a target;
- a **segmented record** (a rendered conversation, a prompt and its completion): each segment's
  ids in order, template markup encoded with its special tokens as single ids; the mask is 1 on
  the ids of ``train`` segments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from curate.formats.templates import ChatTemplate, Segment
from curate.io.tokens import dtype_for_vocab


@runtime_checkable
class Tokenizer(Protocol):
    """One tokenizer, whatever made it. Ids are uint32 in memory; token files use ``id_dtype``."""

    kind: str
    """``sentencepiece`` or ``hf``: how the tokenizer is stored and loaded."""
    vocab_size: int
    """One more than the largest id the tokenizer can emit."""
    eod_id: int
    """Ends every document (the tokenizer's eos token, or ``<|endoftext|>`` where it has one)."""
    pad_id: int
    bos_id: int | None
    """The tokenizer's beginning-of-sequence token, if it has one."""
    eos_id: int | None
    add_bos: bool
    """Whether documents start with ``bos_id`` (the tokenizer's own config says so)."""
    special_ids: dict[str, int]
    """The template special tokens (``<|im_start|>`` ...) the tokenizer holds as single ids."""
    fingerprint: str
    """sha256 hex of what defines the tokenizer: equal fingerprints, equal ids (cache keys)."""
    num_threads: int

    @property
    def id_dtype(self) -> np.dtype: ...

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of every text, flat (uint32), and the number of ids per text (int64); no specials added."""
        ...

    def encode_with_offsets(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`encode_texts`, plus each id's ``[start, end)`` character span in its text ((n, 2) int64)."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pretraining documents: ids, loss mask (all 1) and length of each (see the module docstring)."""
        ...

    def encode_markup(self, text: str) -> np.ndarray:
        """Ids of template-made text: its special tokens by id, the rest encoded (cached)."""
        ...

    def encode_segments(
        self, records: Sequence[Sequence[Segment]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids, loss mask (1 on ``train`` segments) and length of each segmented record."""
        ...

    def decode(self, ids: Sequence[int] | np.ndarray) -> str: ...

    chat_template: str | None
    """The tokenizer's own Jinja chat template (``tokenizer_config.json``), if it has one."""
    template_variables: dict[str, str]
    """Special tokens a Jinja chat template is rendered with (``bos_token``, ``eos_token`` ...)."""
    control_tokens: list[str]
    """Tokens encoded as single ids wherever they occur (a template's end-of-turn markers among them)."""

    def missing_specials(self, template: ChatTemplate) -> list[str]:
        """The template's special tokens this tokenizer cannot encode as one id."""
        ...

    def ids_info(self) -> dict[str, int]:
        """Special ids for the token index (pad, eod, eos, bos where documents start with it, specials)."""
        ...

    def save(self, directory: Path) -> Path:
        """Write the tokenizer's files into ``directory``; return the file that names it."""
        ...


def id_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab <= 65,535), else uint32."""
    return np.dtype(dtype_for_vocab(vocab_size))


def as_ids(ids: np.ndarray) -> np.ndarray:
    """Ids as uint32 (int32 ids become a view: ids are never negative)."""
    if ids.dtype == np.uint32:
        return ids
    return ids.view(np.uint32) if ids.dtype == np.int32 else ids.astype(np.uint32)


def special_pattern(specials: Sequence[str]) -> re.Pattern[str]:
    """Splits text at special tokens (longest first), keeping them."""
    ordered = sorted(specials, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, ordered)) + ")")


def assemble_segments(
    records: Sequence[Sequence[Segment]],
    *,
    markup: dict[str, np.ndarray],
    encode_markup: Callable[[str], np.ndarray],
    encode_contents: Callable[[list[str]], Sequence[np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, mask and length of segmented records: markup from its cache (``markup``), every
    content of the batch encoded in one ``encode_contents`` call."""
    arrays: list[np.ndarray | None] = []
    train: list[bool] = []
    content_at: list[int] = []
    contents: list[str] = []
    for segments in records:
        for segment in segments:
            train.append(segment.train)
            if segment.markup:
                cached = markup.get(segment.text)
                arrays.append(encode_markup(segment.text) if cached is None else cached)
            else:
                content_at.append(len(arrays))
                contents.append(segment.text)
                arrays.append(None)
    if contents:
        for at, ids in zip(content_at, encode_contents(contents), strict=True):
            arrays[at] = ids
    segment_counts = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    segment_lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))  # type: ignore[arg-type]
    ids = as_ids(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.uint32)  # type: ignore[arg-type]
    mask = np.repeat(np.array(train, dtype=np.uint8), segment_lengths)
    ends = np.concatenate([[0], np.cumsum(segment_lengths)])[np.cumsum(segment_counts)]
    return ids, mask, np.diff(ends, prepend=0)


def encode_spanned(
    tokenizer: Tokenizer, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, loss mask and length of whole texts, each encoded once (``encode_with_offsets``): a
    token is a target iff its character span overlaps one of its text's target ``spans``."""
    own = getattr(tokenizer, "encode_spanned", None)
    if own is not None:  # the same result, computed faster by the tokenizer itself
        return own(texts, spans)
    ids, lengths, offsets = tokenizer.encode_with_offsets(texts)
    mask = np.zeros(ids.size, dtype=np.uint8)
    at = 0
    for n, targets in zip(lengths.tolist(), spans, strict=True):
        if targets:
            starts, ends = offsets[at : at + n, 0], offsets[at : at + n, 1]
            for lo, hi in targets:
                mask[at : at + n] |= ((starts < hi) & (ends > lo)).astype(np.uint8)
        at += n
    return ids, mask, lengths
