"""Encoding records into token ids and loss masks with a sentencepiece model.

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

import re
from collections.abc import Sequence

import numpy as np

from curate.errors import StageError
from curate.formats.templates import EOD, ChatTemplate, Segment, all_special_tokens
from curate.tokenize.spm import processor


def _as_ids(ids: np.ndarray) -> np.ndarray:
    """sentencepiece's int32 ids as uint32 (a view: ids are never negative)."""
    return ids.view(np.uint32) if ids.dtype == np.int32 else ids.astype(np.uint32)


class Tokenizer:
    """A sentencepiece model plus the ids curate needs (end of document, padding, specials)."""

    def __init__(self, model: bytes, *, num_threads: int = 1) -> None:
        self.sp = processor(model)
        self.num_threads = num_threads
        self.vocab_size = self.sp.vocab_size()
        unk = self.sp.unk_id()
        self.special_ids = {tok: self.sp.piece_to_id(tok) for tok in all_special_tokens()}
        self.special_ids = {tok: i for tok, i in self.special_ids.items() if i != unk}
        if EOD not in self.special_ids:
            if self.sp.eos_id() < 0:
                raise StageError(f"the tokenizer has neither {EOD} nor an eos piece to end documents with")
            self.special_ids[EOD] = self.sp.eos_id()
        self.eod_id = self.special_ids[EOD]
        self.pad_id = self.sp.pad_id() if self.sp.pad_id() >= 0 else self.eod_id
        specials = sorted(self.special_ids, key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, specials)) + ")")
        self._markup: dict[str, np.ndarray] = {}

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
        return _as_ids(np.concatenate(encoded)), lengths

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
        arrays: list[np.ndarray | None] = []
        train: list[bool] = []
        content_at: list[int] = []
        contents: list[str] = []
        markup, encode_markup = self._markup, self.encode_markup
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
            encoded = self.sp.encode(contents, out_type="numpy", num_threads=self.num_threads)
            for at, ids in zip(content_at, encoded, strict=True):
                arrays[at] = ids
        segment_counts = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
        segment_lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))  # type: ignore[arg-type]
        ids = _as_ids(np.concatenate(arrays)) if arrays else np.zeros(0, dtype=np.uint32)  # type: ignore[arg-type]
        mask = np.repeat(np.array(train, dtype=np.uint8), segment_lengths)
        ends = np.concatenate([[0], np.cumsum(segment_lengths)])[np.cumsum(segment_counts)]
        return ids, mask, np.diff(ends, prepend=0)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self.sp.decode([int(i) for i in ids])
