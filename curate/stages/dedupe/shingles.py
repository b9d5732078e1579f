"""Shingles of a whole batch at once: every n-gram of every record hashed to 64 bits, no per-shingle loop.

Words come from one regex pass over the batch (polars ``str.extract_all``) and are hashed by
polars' ``Series.hash`` (~2 ns per token, measured 150-200x faster than any stable alternative
tried: Arrow dictionary encoding + xxh3 per distinct word, or a numpy hash over the UTF-8 bytes).
polars documents that this hash may change between polars versions, so signatures are
reproducible for one installed polars (any process, any number of workers), not across
versions: ``token_hash_fingerprint`` identifies the hash function, partials carry it, and
``fit`` refuses to mix partials made with different ones. The n-gram hashes are then built with
``n`` vectorised passes over the token array of the whole batch. Output is in CSR form: one flat
``uint64`` array plus one offset per record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import xxhash

from curate.text import WORD_PATTERN

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_MIX1 = U64(0xBF58476D1CE4E5B9)
_MIX2 = U64(0x94D049BB133111EB)
_NGRAM_MUL = U64(0x9FB21C651E98DF25)  # odd: multiplying by it is a bijection mod 2^64
_TOKEN_SEED = 0x7E57


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise (a bijection of uint64 with full avalanche); returns a new array."""
    x = x + _GOLDEN
    x ^= x >> U64(30)
    x *= _MIX1
    x ^= x >> U64(27)
    x *= _MIX2
    x ^= x >> U64(31)
    return x


@dataclass(frozen=True)
class Shingles:
    """Shingle hashes of a batch: record ``i`` owns ``hashes[offsets[i]:offsets[i + 1]]``."""

    hashes: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def record(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    def select(self, records: np.ndarray) -> Shingles:
        """The shingles of ``records`` only, in that order."""
        return Shingles(self.hashes[ranges(self.offsets, records)], _offsets(self.counts[records]))


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def ranges(offsets: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Indices of the concatenated CSR ranges ``offsets[i]:offsets[i + 1]`` for ``i`` in ``which``."""
    which = np.asarray(which, dtype=np.int64)
    lengths = offsets[which + 1] - offsets[which]
    starts = np.repeat(offsets[which] - _offsets(lengths)[:-1], lengths)
    return starts + np.arange(int(lengths.sum()), dtype=np.int64)


def word_token_hashes(texts: pl.Series, *, pattern: str = WORD_PATTERN) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the words (matches of ``pattern``, by default ``curate.text`` words: CJK characters
    count alone) of every text, flat, and the number of words per text."""
    tokens = texts.fill_null("").str.extract_all(pattern)
    counts = tokens.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = tokens.explode().drop_nulls()
    return flat.hash(_TOKEN_SEED).to_numpy().astype(U64, copy=False), counts


@functools.cache
def token_hash_fingerprint() -> int:
    """Identifies the word hash function of the installed polars (equal fingerprints, equal hashes)."""
    probe = pl.Series(["curate", "dedupe", "Straße", "中文", "", "a" * 40])
    return xxhash.xxh3_64_intdigest(probe.hash(_TOKEN_SEED).to_numpy().astype("<u8").tobytes())


def char_token_hashes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the characters of every text, flat, and the number of characters per text."""
    texts = texts.fill_null("")
    counts = texts.str.len_chars().to_numpy().astype(np.int64)
    codepoints = np.frombuffer("".join(texts.to_list()).encode("utf-32-le"), dtype=np.uint32)
    return splitmix64(codepoints.astype(U64) ^ U64(_TOKEN_SEED)), counts


def sequence_hashes(tokens: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One hash per record of its whole token sequence (order-sensitive), vectorised over the batch."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = _offsets(counts)
    position = np.arange(len(tokens), dtype=U64) - np.repeat(offsets[:-1], counts).astype(U64)
    mixed = splitmix64(tokens + position * _GOLDEN)
    out = splitmix64(counts.astype(U64))
    filled = np.flatnonzero(counts > 0)
    if len(filled):
        out[filled] += np.add.reduceat(mixed, offsets[filled])
    return out


def _short_ngram_hashes(tokens: np.ndarray, starts: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """One hash per record of all its tokens, for records with fewer than ``n`` tokens."""
    h = tokens[starts]
    last = len(tokens) - 1
    for k in range(1, n):
        h = np.where(counts > k, h * _NGRAM_MUL + tokens[np.minimum(starts + k, last)], h)
    return h


def ngram_hashes(tokens: np.ndarray, counts: np.ndarray, n: int) -> Shingles:
    """Hashes of every n-gram of consecutive tokens inside each record.

    The n-grams at every position of the batch's flat token array are hashed with ``n`` in-place
    passes over contiguous slices; those that cross a record boundary are then masked out. A
    record with fewer than ``n`` tokens (but at least one) gets one shingle of all its tokens; a
    record without tokens gets none.
    """
    counts = np.asarray(counts, dtype=np.int64)
    long = counts >= n
    per_record = np.where(long, counts - n + 1, np.minimum(counts, 1))
    offsets = _offsets(per_record)
    out = np.empty(int(offsets[-1]), dtype=U64)
    if len(out) == 0:
        return Shingles(out, offsets)
    token_starts = _offsets(counts)[:-1]
    span = len(tokens) - n + 1
    if long.any():
        h = tokens[:span].copy()
        for k in range(1, n):
            h *= _NGRAM_MUL
            h += tokens[k : k + span]
        inside = np.zeros(span + 1, dtype=np.int64)
        np.add.at(inside, token_starts[long], 1)
        np.add.at(inside, token_starts[long] + per_record[long], -1)
        out[np.repeat(long, per_record)] = h[np.cumsum(inside[:-1]) > 0]
    short = ~long & (counts > 0)
    if short.any():
        out[np.repeat(short, per_record)] = _short_ngram_hashes(tokens, token_starts[short], counts[short], n)
    return Shingles(splitmix64(out ^ U64(n)), offsets)


def shingle_texts(
    texts: pl.Series, *, kind: Literal["words", "chars"], n: int, pattern: str = WORD_PATTERN
) -> Shingles:
    """Word or character n-gram shingles of ``texts``, hashed to uint64 (words: matches of ``pattern``)."""
    if kind == "words":
        tokens, counts = word_token_hashes(texts, pattern=pattern)
    else:
        tokens, counts = char_token_hashes(texts)
    return ngram_hashes(tokens, counts, n)
