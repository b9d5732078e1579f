"""Encoding records into token ids and loss masks with a sentencepiece model (the
:class:`curate.tokenize.base.Tokenizer` of models curate trains or loads).

Everything is encoded in batches (one ``sp.encode(list, num_threads=...)`` call per batch) and
returned flat: one id array, one mask array, and the length of each record, ready to become a
polars list column without a Python list per token.

Conversations are encoded segment by segment (:mod:`curate.formats.templates`), so the mask is
exact: a token is a target iff it comes from an assistant content or its end-of-turn marker.
Template markup repeats across records and is encoded once per process; special tokens in markup
map straight to their ids, whether the model has them as user-defined or control symbols, and the
end-of-document token falls back to the model's ``</s>`` where it lacks ``<|endoftext|>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curate.errors import StageError
from curate.formats.templates import EOD, ChatTemplate, Segment, all_special_tokens
from curate.tokenize.base import as_ids, assemble_segments, id_dtype, special_pattern
from curate.tokenize.spm import processor, save_tokenizer, sha256


class SentencePieceTokenizer:
    """A sentencepiece model plus the ids curate needs (end of document, padding, specials)."""

    kind = "sentencepiece"
    add_bos = False

    def __init__(self, model: bytes, *, num_threads: int = 1) -> None:
        self.model = model
        self.sp = processor(model)
        self.num_threads = num_threads
        self.vocab_size = self.sp.vocab_size()
        self.fingerprint = sha256(model)
        self.bos_id = self.sp.bos_id() if self.sp.bos_id() >= 0 else None
        self.eos_id = self.sp.eos_id() if self.sp.eos_id() >= 0 else None
        unk = self.sp.unk_id()
        self.special_ids = {tok: self.sp.piece_to_id(tok) for tok in all_special_tokens()}
        self.special_ids = {tok: i for tok, i in self.special_ids.items() if i != unk}
        if EOD not in self.special_ids:
            if self.sp.eos_id() < 0:
                raise StageError(f"the tokenizer has neither {EOD} nor an eos piece to end documents with")
            self.special_ids[EOD] = self.sp.eos_id()
        self.eod_id = self.special_ids[EOD]
        self.pad_id = self.sp.pad_id() if self.sp.pad_id() >= 0 else self.eod_id
        self._special_re = special_pattern(list(self.special_ids))
        self._markup: dict[str, np.ndarray] = {}

    @property
    def id_dtype(self) -> np.dtype:
        return id_dtype(self.vocab_size)

    def save(self, directory: Path) -> Path:
        """``tokenizer.model`` and ``tokenizer.vocab`` (sentencepiece's own files)."""
        return save_tokenizer(self.model, directory)

    def missing_specials(self, template: ChatTemplate) -> list[str]:
        """The template's special tokens this model cannot encode as one id."""
        return [tok for tok in template.special_tokens if tok not in self.special_ids]

    def ids_info(self) -> dict[str, int]:
        """Special ids for the token index: unk, pad, eod and every special token present.

        ``eos`` is the end-of-document id too: it is what ends (and so precedes) every packed
        document, which is what a scorer should start a document with. No ``bos`` is written:
        sentencepiece's ``<s>`` never occurs in the packed tokens.
        """
        ids = {"unk": self.sp.unk_id(), "pad": self.pad_id, "eod": self.eod_id, "eos": self.eod_id}
        return {**ids, **self.special_ids}

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of every text, flat (uint32), and the number of ids per text (int64)."""
        if not texts:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
        encoded = self.sp.encode(list(texts), out_type="numpy", num_threads=self.num_threads)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        return as_ids(np.concatenate(encoded)), lengths

    def encode_with_offsets(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids, lengths, and each id's ``[start, end)`` character span in its text.

        sentencepiece reports UTF-8 byte spans of each piece; they are turned into character
        spans (a byte-fallback piece inside a character covers that whole character).
        """
        ids: list[int] = []
        lengths: list[int] = []
        spans: list[tuple[int, int]] = []
        for text in texts:
            data = text.encode("utf-8")
            # char_at[b]: the character that byte b belongs to (len(text) past the end)
            char_at = np.repeat(np.arange(len(text)), [len(c.encode("utf-8")) for c in text]).tolist()
            char_at.append(len(text))
            pieces = self.sp.encode(
                text, out_type="proto"
            ).pieces  # immutable_proto: refused by sentencepiece 0.2.1+
            for piece in pieces:
                ids.append(piece.id)
                start = char_at[min(piece.begin, len(data))]
                # a byte-fallback piece sentencepiece reports as empty (the first bytes of a character)
                # covers its character, as the piece that reports the character's bytes does
                end = char_at[piece.end - 1] + 1 if piece.end > piece.begin else min(start + 1, len(text))
                spans.append((start, end))
            lengths.append(len(pieces))
        offsets = np.array(spans, dtype=np.int64).reshape(-1, 2)
        return np.array(ids, dtype=np.uint32), np.array(lengths, dtype=np.int64), offsets

    def encode_documents(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pretraining documents: each text's ids then the end-of-document id; every id a target."""
        flat, lengths = self.encode_texts(texts)
        ids = np.insert(flat, np.cumsum(lengths), np.uint32(self.eod_id))
        return ids, np.ones(ids.size, dtype=np.uint8), lengths + 1

    def encode_markup(self, text: str) -> np.ndarray:
        """Ids of template-made text: special tokens by id, the rest by sentencepiece (cached)."""
        ids = self._markup.get(text)
        if ids is None:
            parts = [p for p in self._special_re.split(text) if p]
            pieces = [[self.special_ids[p]] if p in self.special_ids else self.sp.encode(p) for p in parts]
            # int32, as sentencepiece returns: concatenating with content ids then needs no upcast.
            ids = np.array([i for piece in pieces for i in piece], dtype=np.int32)
            self._markup[text] = ids
        return ids

    def encode_segments(
        self, records: Sequence[Sequence[Segment]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ids, loss mask (1 on ``train`` segments) and length of each segmented record."""
        return assemble_segments(
            records,
            markup=self._markup,
            encode_markup=self.encode_markup,
            encode_contents=lambda contents: self.sp.encode(
                contents, out_type="numpy", num_threads=self.num_threads
            ),
        )

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self.sp.decode([int(i) for i in ids])

    chat_template: str | None = None
    """A sentencepiece model carries no chat template (use ``template: {jinja: PATH}``)."""

    @property
    def template_variables(self) -> dict[str, str]:
        """``bos_token``/``eos_token`` for a chat template: the model's ``<s>``/``</s>`` pieces."""
        ids = {"bos_token": self.bos_id, "eos_token": self.eos_id}
        return {key: self.sp.id_to_piece(i) for key, i in ids.items() if i is not None}

    @property
    def control_tokens(self) -> list[str]:
        """The template special tokens the model holds as single pieces, and its eos piece."""
        eos = [self.sp.id_to_piece(self.eos_id)] if self.eos_id is not None else []
        return [*self.special_ids, *eos]


Tokenizer = SentencePieceTokenizer
"""The name this class had before there was a second implementation."""
