"""Packing: rows of exactly seq_len, conversations never split, truncation and drops counted."""

from __future__ import annotations

import numpy as np
import pytest

from curate.tokenize.pack import Packer, best_fit_bins, greedy_bins

PAD = 0


class Rows:
    """A sink that keeps everything written, as a TokenWriter would."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        self.starts: list[int] = []

    def __call__(self, rows: np.ndarray, masks: np.ndarray, starts: np.ndarray) -> None:
        self.rows.append(rows.copy())
        self.masks.append(masks.copy())
        self.starts += starts.tolist()

    @property
    def tokens(self) -> np.ndarray:
        return np.concatenate(self.rows)

    @property
    def mask(self) -> np.ndarray:
        return np.concatenate(self.masks)


def record(n: int, first: int, target_from: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ids first..first+n-1 (distinct across records), targets from position ``target_from``."""
    ids = np.arange(first, first + n, dtype=np.uint32)
    mask = (np.arange(n) >= target_from).astype(np.uint8)
    return ids, mask


def test_best_fit_places_every_item_once_within_capacity():
    lengths = np.array([5, 9, 3, 7, 1, 4, 6, 2, 8, 10])
    bins = best_fit_bins(lengths, 10)
    assert sorted(i for b in bins for i in b) == list(range(lengths.size))
    assert all(lengths[b].sum() <= 10 for b in bins)
    assert len(bins) == 6  # sum 55 -> at least 6 rows of 10; best fit reaches it
    assert len(greedy_bins(lengths, 10)) > len(bins)


def test_greedy_keeps_order_and_opens_a_row_when_the_next_does_not_fit():
    assert greedy_bins(np.array([4, 4, 3, 6, 1]), 8) == [[0, 1], [2], [3, 4]]


@pytest.mark.parametrize("packing", ["best_fit", "greedy"])
def test_conversations_are_never_split(packing):
    sink = Rows()
    packer = Packer(sink, seq_len=16, packing=packing, truncation="truncate", pad_id=PAD, window_rows=3)
    lengths = [5, 12, 3, 16, 7, 9, 1, 11, 4, 6, 2, 14]
    first = 1
    expected = {}
    for n in lengths:
        ids, mask = record(n, first, target_from=n // 2)
        expected[first] = (ids, mask)
        packer.add("chat", ids, mask, splittable=False)
        first += n
    packer.close()
    tokens, masks = sink.tokens.reshape(-1), sink.mask.reshape(-1)
    assert sink.tokens.shape[1] == 16
    assert len(sink.starts) == len(lengths)
    for start in sink.starts:
        ids, mask = expected[int(tokens[start])]
        assert start // 16 == (start + ids.size - 1) // 16  # one row
        assert np.array_equal(tokens[start : start + ids.size], ids)
        assert np.array_equal(masks[start : start + ids.size], mask)
    assert packer.pad_tokens == tokens.size - sum(lengths)
    assert int((tokens == PAD).sum()) == packer.pad_tokens
    assert int(masks[tokens == PAD].sum()) == 0
    assert packer.counts["chat"].tokens == sum(lengths)
    assert packer.counts["chat"].truncated_records == 0


def test_long_conversations_are_truncated_or_dropped_and_counted():
    for truncation, kept in (("truncate", 2), ("drop", 1)):
        sink = Rows()
        packer = Packer(sink, seq_len=8, packing="best_fit", truncation=truncation, pad_id=PAD)
        packer.add("chat", *record(20, 1, target_from=2), splittable=False)  # 12 over
        packer.add("chat", *record(6, 100), splittable=False)
        packer.add("chat", *record(30, 200, target_from=25), splittable=False)  # no target in first 8
        packer.close()
        counts = packer.counts["chat"]
        assert counts.records == 3
        assert counts.tokens_in == 56
        assert len(sink.starts) == kept
        if truncation == "truncate":
            assert (counts.truncated_records, counts.truncated_tokens) == (1, 12)
            assert (counts.dropped_records, counts.dropped_tokens) == (1, 30)
            assert counts.tokens == 8 + 6
        else:
            assert (counts.truncated_records, counts.truncated_tokens) == (0, 0)
            assert (counts.dropped_records, counts.dropped_tokens) == (2, 50)
            assert counts.tokens == 6


def test_plain_documents_are_cut_into_rows_in_packed_modes():
    sink = Rows()
    packer = Packer(sink, seq_len=8, packing="best_fit", truncation="drop", pad_id=PAD)
    ids, mask = record(19, 1)
    packer.add("web", ids, mask, splittable=True)
    packer.close()
    assert packer.counts["web"].dropped_records == 0
    assert packer.counts["web"].tokens == 19
    tokens = sink.tokens.reshape(-1)
    assert sorted(tokens[tokens != PAD].tolist()) == ids.tolist()
    assert len(sink.starts) == 3


def test_concat_cuts_one_stream_and_pads_only_the_end():
    sink = Rows()
    packer = Packer(sink, seq_len=8, packing="concat", truncation="truncate", pad_id=PAD, window_rows=1)
    lengths, first, stream = [5, 12, 3, 9], 1, []
    for n in lengths:
        ids, mask = record(n, first)
        packer.add("web", ids, mask, splittable=True)
        stream.append(ids)
        first += n
    packer.close()
    flat = np.concatenate(stream)
    tokens = sink.tokens.reshape(-1)
    assert sink.tokens.shape == (4, 8)  # 29 tokens -> 4 rows, 3 pad
    assert np.array_equal(tokens[: flat.size], flat)
    assert tokens[flat.size :].tolist() == [PAD] * 3
    assert sink.mask.reshape(-1).tolist() == [1] * 29 + [0] * 3
    assert sink.starts == [0, 5, 17, 20]
    assert packer.pad_tokens == 3


def test_concat_of_nothing_writes_nothing():
    sink = Rows()
    Packer(sink, seq_len=8, packing="concat", truncation="truncate", pad_id=PAD).close()
    assert sink.rows == []
