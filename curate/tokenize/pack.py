"""Packing tokenized records into rows of exactly ``seq_len`` tokens.

- ``concat``: every record's ids one after the other, cut every ``seq_len`` tokens (GPT-style
  pretraining; a document may span rows). Only the very last row is padded.
- ``greedy``: records in order; a row is closed and padded when the next record does not fit.
- ``best_fit``: best-fit decreasing over a window of records: longest first, each into the open
  row with the least room that still holds it. Fewer padding tokens than ``greedy``, order lost.

In ``greedy`` and ``best_fit`` no record is split across rows, except documents marked
``splittable`` (plain pretraining text), which are cut into ``seq_len`` pieces first. A record
that cannot be split and is longer than ``seq_len`` is truncated (its first ``seq_len`` tokens
kept) or dropped, per ``truncation``; a truncated record with no target token left is dropped.
Every record start (and every piece of a cut document) is a document start in the index. Padding
uses ``pad_id`` with mask 0.

Windows bound memory: a window of about ``window_rows * seq_len`` tokens is packed and written
before the next is read, so in ``greedy`` and ``best_fit`` a row never mixes records of two
windows (``concat`` carries its unfinished row over to the next window).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Packing = Literal["concat", "greedy", "best_fit"]
Truncation = Literal["truncate", "drop"]


@dataclass
class SourceCounts:
    """Per-source token accounting (all additive)."""

    records: int = 0
    tokens_in: int = 0
    tokens: int = 0
    target_tokens: int = 0
    truncated_records: int = 0
    truncated_tokens: int = 0
    dropped_records: int = 0
    dropped_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


RowSink = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
"""Receives (rows, masks, doc_starts): doc_starts are offsets in the flat stream of every row written."""


def best_fit_bins(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    """Best-fit decreasing: item indices per bin, bins in opening order, items longest first."""
    order = np.argsort(-lengths, kind="stable")
    bins: list[list[int]] = []
    open_space: list[tuple[int, int]] = []  # (room left, bin number), sorted
    for item in order.tolist():
        size = int(lengths[item])
        at = bisect.bisect_left(open_space, (size, -1))
        if at == len(open_space):
            bins.append([item])
            room, number = capacity - size, len(bins) - 1
        else:
            room, number = open_space.pop(at)
            bins[number].append(item)
            room -= size
        if room > 0:
            bisect.insort(open_space, (room, number))
    return bins


def greedy_bins(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    """Next-fit in input order: a new bin whenever the next item does not fit the current one."""
    bins: list[list[int]] = []
    room = 0
    for item, size in enumerate(lengths.tolist()):
        if not bins or size > room:
            bins.append([])
            room = capacity
        bins[-1].append(item)
        room -= size
    return bins


@dataclass
class Packer:
    """Feed records with :meth:`add`, then :meth:`close`; rows go to ``sink`` as they fill.

    ``sink(rows, masks, doc_starts)`` gets (k, seq_len) arrays and the offsets, in the flat
    stream of all rows written so far, where the records in them start.
    """

    sink: RowSink
    seq_len: int
    packing: Packing
    truncation: Truncation
    pad_id: int
    window_rows: int = 4096
    counts: dict[str, SourceCounts] = field(default_factory=dict)
    pad_tokens: int = 0
    rows_written: int = 0
    _ids: list[np.ndarray] = field(default_factory=list)
    _masks: list[np.ndarray] = field(default_factory=list)
    _buffered: int = 0
    _stream_starts: list[int] = field(default_factory=list)
    _stream_end: int = 0

    def add(
        self, source: str, ids: np.ndarray, mask: np.ndarray, *, splittable: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """One record of ``source``; ``splittable`` records may be cut (plain documents).
        Returns the record as it goes into the rows (truncated where it is), None if dropped."""
        counts = self.counts.setdefault(source, SourceCounts())
        counts.records += 1
        counts.tokens_in += ids.size
        if self.packing != "concat" and ids.size > self.seq_len and not splittable:
            cut = ids.size - self.seq_len
            ids, mask = ids[: self.seq_len], mask[: self.seq_len]
            if self.truncation == "drop" or not mask.any():
                counts.dropped_records += 1
                counts.dropped_tokens += ids.size + cut
                return None
            counts.truncated_records += 1
            counts.truncated_tokens += cut
        counts.tokens += ids.size
        counts.target_tokens += int(mask.sum())
        if self.packing == "concat":
            self._stream_starts.append(self._stream_end)
            self._stream_end += ids.size
            self._buffer(ids, mask)
        else:
            for start in range(0, ids.size, self.seq_len):
                self._buffer(ids[start : start + self.seq_len], mask[start : start + self.seq_len])
        return ids, mask

    def close(self) -> None:
        """Pack and write what is buffered (the last concat row is padded)."""
        if self.packing == "concat":
            self._flush_concat(final=True)
        elif self._ids:
            self._flush_bins()

    def _buffer(self, ids: np.ndarray, mask: np.ndarray) -> None:
        self._ids.append(ids)
        self._masks.append(mask)
        self._buffered += ids.size
        if self._buffered >= self.window_rows * self.seq_len:
            if self.packing == "concat":
                self._flush_concat(final=False)
            else:
                self._flush_bins()

    def _flush_concat(self, *, final: bool) -> None:
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.uint32)
        mask = np.concatenate(self._masks) if self._masks else np.zeros(0, dtype=np.uint8)
        keep = ids.size if final else ids.size // self.seq_len * self.seq_len
        pad = -keep % self.seq_len
        rows = np.concatenate([ids[:keep], np.full(pad, self.pad_id, dtype=ids.dtype)])
        row_masks = np.concatenate([mask[:keep], np.zeros(pad, dtype=np.uint8)])
        self.pad_tokens += pad
        self._write(rows.reshape(-1, self.seq_len), row_masks.reshape(-1, self.seq_len), self._stream_starts)
        self._stream_starts = []
        self._ids, self._masks = ([ids[keep:]], [mask[keep:]]) if keep < ids.size else ([], [])
        self._buffered = ids.size - keep

    def _flush_bins(self) -> None:
        lengths = np.fromiter((a.size for a in self._ids), dtype=np.int64, count=len(self._ids))
        place = best_fit_bins if self.packing == "best_fit" else greedy_bins
        bins = place(lengths, self.seq_len)
        rows = np.full((len(bins), self.seq_len), self.pad_id, dtype=np.uint32)
        masks = np.zeros((len(bins), self.seq_len), dtype=np.uint8)
        starts: list[int] = []
        for r, items in enumerate(bins):
            at = 0
            for item in items:
                n = int(lengths[item])
                rows[r, at : at + n] = self._ids[item]
                masks[r, at : at + n] = self._masks[item]
                starts.append((self.rows_written + r) * self.seq_len + at)
                at += n
            self.pad_tokens += self.seq_len - at
        self._write(rows, masks, starts)
        self._ids, self._masks, self._buffered = [], [], 0

    def _write(self, rows: np.ndarray, masks: np.ndarray, starts: list[int]) -> None:
        if rows.shape[0] or starts:
            self.sink(rows, masks, np.array(starts, dtype=np.int64))
        self.rows_written += rows.shape[0]
