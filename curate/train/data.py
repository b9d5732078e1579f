"""Batches over the packed token files of the tokenize stage (``curate.io.tokens``).

Each row of ``seq_len`` tokens becomes one training sequence: the model reads ``row[:-1]`` and
predicts ``row[1:]``; a target counts in the loss iff its mask byte is 1 (pretraining: every token
but padding; SFT: assistant tokens and their end-of-turn token). Masked targets are replaced by
``IGNORE_INDEX`` so the loss skips them.

Each epoch visits every row once, in a seeded order (``numpy.random.default_rng([seed, epoch])``).
Two orders:

- ``documents`` (the default): every row is read at a time of the epoch set by the document it
  starts in (a seeded random phase of the document's index) and how far into that document it
  is (``document_times``). The order is a function of the documents, not of how they were cut
  into rows: two datasets with the same documents but a few changed (a calibration's damaged
  copy, a re-cleaned source) read the same text at about the same steps under the same seed, so
  a paired comparison of them does not also compare two unrelated data orders (issue 15).
  Neighbouring rows come from unrelated documents, as in a random permutation.
- ``rows``: a seeded permutation of the rows (nanoGPT's independent windows); the order depends
  only on the seed and the number of rows, so adding one token reshuffles everything.

A batch that runs past the end of an epoch continues with the next epoch's order; ``state_dict``
records where the loader is, which makes training resumable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from curate.io.tokens import TokenSet, open_tokens
from curate.train.model import IGNORE_INDEX


@dataclass(frozen=True)
class Batch:
    """One micro-batch: inputs ``x`` and targets ``y`` (B, T), ``n_targets`` = unmasked targets;
    ``pos`` (B, T): positions that restart at 0 where a document starts, for models that keep
    packed documents apart (None unless the loader was asked for them)."""

    x: torch.Tensor
    y: torch.Tensor
    n_targets: int
    pos: torch.Tensor | None = None


def document_positions(rows: np.ndarray, doc_starts: np.ndarray, seq_len: int) -> np.ndarray:
    """Position ids (len(rows), seq_len - 1) of the inputs of packed rows: 0 at every document
    start (``doc_starts``: sorted offsets in the flat stream of rows), counting up to the next one.
    A row that begins inside a document counts from 0 at its first token."""
    width = seq_len - 1
    flags = np.zeros((rows.size, width), dtype=bool)
    for i, r in enumerate(np.asarray(rows, dtype=np.int64)):
        lo, hi = np.searchsorted(doc_starts, [r * seq_len, r * seq_len + width])
        flags[i, (np.asarray(doc_starts[lo:hi], dtype=np.int64) - r * seq_len)] = True
    t = np.arange(width)
    last_start = np.maximum.accumulate(np.where(flags, t, 0), axis=1)
    return t - last_start


def row_documents(doc_starts: np.ndarray, num_rows: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the document it starts in and its place among that document's ``k`` rows as
    ``(j + 0.5) / k``: what ``document_times`` needs, fixed for a token set."""
    starts = np.asarray(doc_starts, dtype=np.int64)
    row_doc = np.searchsorted(starts, np.arange(num_rows, dtype=np.int64) * seq_len, side="right") - 1
    row_doc = np.maximum(row_doc, 0)  # rows before the first recorded start belong to document 0
    rows_of = np.bincount(row_doc, minlength=starts.size)
    first = np.cumsum(rows_of) - rows_of  # row_doc is sorted: a document's rows are contiguous
    place = (np.arange(num_rows) - first[row_doc] + 0.5) / rows_of[row_doc]
    return row_doc, place


def document_times(
    row_doc: np.ndarray, place: np.ndarray, num_docs: int, *, rng: np.random.Generator
) -> np.ndarray:
    """One epoch's row order, by documents: each row gets a time in [0, 1) from the document it
    starts in and its place there (``row_documents``), and rows are visited in time order.

    Document ``i`` gets a seeded random phase (``rng.random(num_docs)[i]``) and its ``k`` rows
    are spread evenly around the epoch from that phase: row ``j`` at ``phase + (j + 0.5) / k``
    (mod 1). So what decides when a piece of text is read is which document it is and how far
    into it, not where the packing put it: a dataset whose documents are the same but some are
    longer, shorter or replaced (a damaged copy, a re-cleaned source) reads every unchanged
    document's text at about the same point of the epoch under the same seed. Neighbouring rows
    in time come from unrelated documents, as in a random permutation of the rows.
    """
    time = (rng.random(num_docs)[row_doc] + place) % 1.0
    return np.argsort(time, kind="stable")


def rows_to_batch(
    tokens: np.ndarray,
    mask: np.ndarray,
    device: torch.device | str = "cpu",
    *,
    positions: np.ndarray | None = None,
) -> Batch:
    """Turn packed rows (B, seq_len) and their masks into model inputs and masked targets."""
    tokens = np.asarray(tokens, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    y = tokens[:, 1:].copy()  # (B, T)
    y[~mask[:, 1:]] = IGNORE_INDEX
    x = torch.from_numpy(np.ascontiguousarray(tokens[:, :-1]))  # (B, T)
    y_t = torch.from_numpy(y)
    device = torch.device(device)
    if device.type == "cuda":
        x, y_t = x.pin_memory().to(device, non_blocking=True), y_t.pin_memory().to(device, non_blocking=True)
    elif device.type != "cpu":
        x, y_t = x.to(device), y_t.to(device)
    pos = None if positions is None else torch.from_numpy(np.ascontiguousarray(positions)).to(device)
    return Batch(x=x, y=y_t, n_targets=int(mask[:, 1:].sum()), pos=pos)


class TokenLoader:
    """Seeded, shuffled, resumable batches of packed rows.

    >>> loader = TokenLoader("runs/x/tokens", batch_size=16, seed=0)  # doctest: +SKIP
    >>> batch = loader.next_batch()                                     # doctest: +SKIP
    """

    def __init__(
        self,
        source: str | os.PathLike | TokenSet,
        *,
        batch_size: int,
        seed: int = 0,
        split: str = "train",
        shuffle: bool = True,
        device: torch.device | str = "cpu",
        positions: bool = False,
        order: Literal["documents", "rows"] = "documents",
    ) -> None:
        self.positions = positions  # batches carry per-document position ids (see Batch.pos)
        self.data = source if isinstance(source, TokenSet) else open_tokens(source, split)
        if self.data.index.num_rows == 0:
            raise ValueError(f"no rows in the {split!r} token split: nothing to train on")
        if self.data.index.seq_len < 2:
            raise ValueError(
                f"seq_len {self.data.index.seq_len} is too short: a row needs an input and a target"
            )
        self.batch_size, self.seed, self.shuffle, self.device = batch_size, seed, shuffle, device
        self.order = order if self.data.index.num_docs > 1 else "rows"
        self._row_docs = (
            row_documents(self.data.doc_starts, self.num_rows, self.data.index.seq_len)
            if self.order == "documents" and shuffle
            else None
        )
        self.epoch, self.cursor = 0, 0
        self._order = self._permutation(0)

    @property
    def num_rows(self) -> int:
        return self.data.index.num_rows

    @property
    def context(self) -> int:
        """Tokens the model sees per row (``seq_len - 1``)."""
        return self.data.index.seq_len - 1

    def _permutation(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_rows)
        rng = np.random.default_rng([self.seed, epoch])
        if self.order == "rows":
            return rng.permutation(self.num_rows)
        assert self._row_docs is not None
        return document_times(*self._row_docs, self.data.doc_starts.size, rng=rng)

    def next_rows(self) -> np.ndarray:
        """Row numbers of the next batch, crossing into the next epoch when this one runs out."""
        picked: list[np.ndarray] = []
        need = self.batch_size
        while need:
            take = self._order[self.cursor : self.cursor + need]
            picked.append(take)
            need -= take.size
            self.cursor += take.size
            if self.cursor == self.num_rows:
                self.epoch, self.cursor = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
        return np.concatenate(picked)

    def next_batch(self) -> Batch:
        rows = self.next_rows()
        order = np.argsort(rows, kind="stable")  # read the memmap in file order, keep the shuffled order
        tokens = np.empty((rows.size, self.data.index.seq_len), dtype=np.int64)
        mask = np.empty((rows.size, self.data.index.seq_len), dtype=np.uint8)
        tokens[order] = self.data.tokens[rows[order]]
        mask[order] = self.data.mask[rows[order]]
        positions = (
            document_positions(rows, self.data.doc_starts, self.data.index.seq_len)
            if self.positions
            else None
        )
        return rows_to_batch(tokens, mask, self.device, positions=positions)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "cursor": self.cursor, "seed": self.seed, "num_rows": self.num_rows}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["num_rows"] != self.num_rows or state["seed"] != self.seed:
            raise ValueError(
                f"loader state is for {state['num_rows']} rows and seed {state['seed']}, "
                f"not {self.num_rows} rows and seed {self.seed}: the tokens changed since the checkpoint"
            )
        self.epoch, self.cursor = state["epoch"], state["cursor"]
        self._order = self._permutation(self.epoch)
