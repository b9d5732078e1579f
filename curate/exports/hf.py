"""``hf``: Parquet that Hugging Face ``datasets`` loads and TRL's trainers take as tokenized.

``exports/hf/train.parquet`` (``tokenize.hf_rows``):

- ``packed`` (default): one row per packed sequence of ``tokens/``: ``input_ids``, ``labels``
  (the id where the loss mask is 1, ``-100`` elsewhere: padding, prompts, user turns) and
  ``seq_lengths`` (the lengths of the pieces of the row, each document and the trailing padding,
  summing to ``seq_len``: TRL's collator builds per-document ``position_ids`` from it with
  ``padding_free``).
- ``records``: one row per record as it enters the packed rows (a conversation, a document):
  ``input_ids`` and ``labels``, no padding.

TRL's SFTTrainer recognises the ``input_ids`` column as already tokenized: it neither applies
its tokenizer nor a chat template and uses ``labels`` as they are (it only truncates to its
``max_length``; set ``max_length`` to ``seq_len`` or more, or ``None``). Labels follow
transformers' convention (unshifted: the model shifts them), the same targets as ``tokens/``.

Preference runs also write ``exports/hf/preference.parquet``: ``id``, ``source``, ``prompt_ids``
(the prompt and the assistant header), ``chosen_ids`` and ``rejected_ids`` (the response up to
and including its end-of-turn token), the columns TRL's DPO collator and DPOTrainer's signature
columns use. Pairs are fitted to ``seq_len`` as in ``tokens/preference.parquet``.

The ids are the run's own tokenizer's (``tokenizer/``): a model trained on them must use it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.exports.base import Export, ExportInfo, Pair, export_dir, temporary

IGNORE_INDEX = -100
ROWS_FILE, PAIRS_FILE = "train.parquet", "preference.parquet"
RECORDS_PER_GROUP = 8192
IDS = pa.list_(pa.int32())


class _Parquet:
    """A Parquet file written in row groups under a temporary name, renamed on close."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema, self.rows = path, schema, 0
        self.writer = pq.ParquetWriter(temporary(path), schema, compression="zstd")

    def write(self, arrays: list[pa.Array]) -> None:
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self.writer.close()
        os.replace(temporary(self.path), self.path)

    def abort(self) -> None:
        self.writer.close()
        temporary(self.path).unlink(missing_ok=True)


def labels_of(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask.astype(bool), ids.astype(np.int64), IGNORE_INDEX).astype(np.int32)


def _lists(flat: np.ndarray, offsets: np.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat, type=pa.int32()))


def seq_lengths(
    num_rows: int, seq_len: int, first_row: int, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the lengths of its pieces cut at every document start (flat values, row offsets)."""
    rows = starts // seq_len - first_row
    within = starts % seq_len
    keep = within > 0  # a start at a row's beginning cuts nothing
    cut_rows = np.concatenate([np.arange(num_rows), rows[keep], np.arange(num_rows)])
    cut_at = np.concatenate(
        [np.zeros(num_rows, np.int64), within[keep], np.full(num_rows, seq_len, np.int64)]
    )
    order = np.lexsort((cut_at, cut_rows))
    cut_rows, cut_at = cut_rows[order], cut_at[order]
    same_row = cut_rows[1:] == cut_rows[:-1]
    lengths = np.diff(cut_at)[same_row]
    counts = np.bincount(cut_rows[1:][same_row], minlength=num_rows)
    offsets = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return lengths, offsets


class HFExport(Export):
    name = "hf"

    def __init__(self, info: ExportInfo) -> None:
        super().__init__(info)
        self.directory = export_dir(info, self.name)
        self.packed = info.hf_rows == "packed"
        fields = [("input_ids", IDS), ("labels", IDS)]
        if self.packed:
            fields.append(("seq_lengths", IDS))
        self.rows = _Parquet(self.directory / ROWS_FILE, pa.schema(fields))
        self.pairs: _Parquet | None = None
        self.rows_seen = 0
        self._pending = np.zeros(0, dtype=np.int64)
        self._records: list[tuple[np.ndarray, np.ndarray]] = []
        self._buffered = 0

    def add_rows(self, rows: np.ndarray, masks: np.ndarray, starts: np.ndarray) -> None:
        if not self.packed or not rows.shape[0]:
            self.rows_seen += rows.shape[0]
            return
        k, seq_len = rows.shape
        offsets = np.arange(k + 1, dtype=np.int64) * seq_len
        # concat packing announces the starts of documents whose rows come with the next call
        starts = np.concatenate([self._pending, np.asarray(starts, np.int64)])
        now = starts < (self.rows_seen + k) * seq_len
        starts, self._pending = starts[now], starts[~now]
        lengths, length_offsets = seq_lengths(k, seq_len, self.rows_seen, starts)
        self.rows.write(
            [
                _lists(rows.reshape(-1).astype(np.int32), offsets),
                _lists(labels_of(rows, masks).reshape(-1), offsets),
                _lists(lengths, length_offsets),
            ]
        )
        self.rows_seen += k

    def add_record(self, ids: np.ndarray, mask: np.ndarray) -> None:
        if self.packed:
            return
        self._records.append((ids, mask))
        self._buffered += 1
        if self._buffered >= RECORDS_PER_GROUP:
            self._flush_records()

    def _flush_records(self) -> None:
        if not self._records:
            return
        lengths = np.fromiter(
            (ids.size for ids, _ in self._records), dtype=np.int64, count=len(self._records)
        )
        offsets = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.concatenate([i for i, _ in self._records]).astype(np.int32)
        mask = np.concatenate([m for _, m in self._records])
        self.rows.write([_lists(ids, offsets), _lists(labels_of(ids, mask), offsets)])
        self._records, self._buffered = [], 0

    def add_pairs(self, pairs: Sequence[Pair]) -> None:
        if self.pairs is None:
            schema = pa.schema(
                [
                    ("id", pa.string()),
                    ("source", pa.string()),
                    ("prompt_ids", IDS),
                    ("chosen_ids", IDS),
                    ("rejected_ids", IDS),
                ]
            )
            self.pairs = _Parquet(self.directory / PAIRS_FILE, schema)
        columns: list[list[Any]] = [[], [], [], [], []]
        for record_id, source, chosen, rejected in pairs:
            prompt, chosen_ids, rejected_ids = split_pair(chosen, rejected)
            for column, value in zip(
                columns, (record_id, source, prompt, chosen_ids, rejected_ids), strict=True
            ):
                column.append(value)
        arrays = [pa.array(columns[0], pa.string()), pa.array(columns[1], pa.string())]
        arrays += [pa.array([c.astype(np.int32) for c in column], IDS) for column in columns[2:]]
        self.pairs.write(arrays)

    def close(self) -> dict[str, Any]:
        self._flush_records()
        self.rows.close()
        summary: dict[str, Any] = {
            "dir": f"exports/{self.name}",
            "rows": self.info.hf_rows,
            "files": {ROWS_FILE: self.rows.rows},
        }
        if self.pairs is not None:
            self.pairs.close()
            summary["files"][PAIRS_FILE] = self.pairs.rows
        return summary

    def abort(self) -> None:
        for writer in (self.rows, self.pairs):
            if writer is not None:
                writer.abort()


def split_pair(
    chosen: tuple[np.ndarray, np.ndarray], rejected: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prompt ids, chosen ids, rejected ids) of a tokenized pair: the prompt is everything before
    the first target token of either side (the sides share it); each response runs from there to
    its last target token (the end-of-turn), so no markup after the turn is trained on."""
    (c_ids, c_mask), (r_ids, r_mask) = chosen, rejected
    firsts = [int(np.argmax(m)) if m.any() else m.size for m in (c_mask, r_mask)]
    prompt_len = min(firsts)
    same = c_ids[:prompt_len] == r_ids[:prompt_len]
    if not same.all():  # the sides' prompts differ (cannot happen with one template): keep the common part
        prompt_len = int(np.argmin(same))
    ends = [m.size - int(np.argmax(m[::-1])) if m.any() else prompt_len for m in (c_mask, r_mask)]
    return c_ids[:prompt_len], c_ids[prompt_len : ends[0]], r_ids[prompt_len : ends[1]]
