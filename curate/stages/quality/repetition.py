"""Gopher's repetition rules (Rae et al. 2021, appendix A, Table A1), vectorised over a whole batch.

Rules, in the order they name a drop:

===========================  ===================================================================
gopher_dup_line_frac         share of non-blank lines that repeat an earlier line
gopher_dup_para_frac         share of paragraphs that repeat an earlier paragraph
gopher_dup_line_char_frac    characters in repeated lines / characters of the document
gopher_dup_para_char_frac    characters in repeated paragraphs / characters of the document
gopher_top_{n}gram           characters in the most frequent n-gram (n = 2, 3, 4) / characters
gopher_dup_{n}gram           characters covered by repeats of earlier n-grams (n = 5..10) / characters
===========================  ===================================================================

N-grams are over curate.text words, so Chinese and Japanese get character n-grams; as a CJK
character carries about half a word, documents that are mostly CJK are checked on n-grams
``cjk_ngram_scale`` (2) times longer: n = 5 means 10 characters there. On real man pages the
unscaled rules dropped 25% of Japanese and 2.6% of Chinese pages against 1.5% of English ones;
scaled, 0.9% and 0%. An n-gram's
characters are its words' characters (no separators: a CJK n-gram has none, and counting spaces
would inflate spaced scripts only). The most frequent n-gram counts only when it occurs twice or
more; ties go to the longest. Repeated n-grams cover word positions, and each covered character
counts once (datatrove's greedy scan counts the same repeats, skipping over some overlaps).

No Python loop per document: all words of the batch are hashed at once (polars), n-gram hashes
are built by a rolling polynomial over the word hashes (numpy, uint64), and repeats are found by
one sort per n of the n-gram keys (document, hash) of the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import polars as pl

from curate.stages.quality.config import GopherRepetitionConfig
from curate.stages.quality.units import (
    DOC_COL,
    TEXT_COL,
    duplicate_stats,
    first_reason,
    line_table,
    paragraph_table,
    safe_ratio,
)
from curate.text import WORD_PATTERN, cjk_count_expr, word_count_expr

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio), the rolling base
_DOC_BITS, _HASH_BITS = np.uint64(24), np.uint64(40)  # an n-gram key: document number, then hash
_MAX_DOCS = 1 << 24  # documents per key space; larger batches are cut into parts
_HASH_SEED = 0x5EED


def line_rules(cfg: GopherRepetitionConfig) -> pl.Expr:
    """Reasons of the line and paragraph rules, as an expression over the frame from :func:`line_metrics`."""
    chars = pl.col("chars")

    def rule(threshold: float | None, value: pl.Expr) -> pl.Expr | None:
        return None if threshold is None else value > threshold

    return first_reason(
        [
            (
                "gopher_dup_line_frac",
                rule(cfg.dup_line_frac, safe_ratio(pl.col("dup_lines"), pl.col("lines"))),
            ),
            (
                "gopher_dup_para_frac",
                rule(cfg.dup_para_frac, safe_ratio(pl.col("dup_paras"), pl.col("paras"))),
            ),
            (
                "gopher_dup_line_char_frac",
                rule(cfg.dup_line_char_frac, safe_ratio(pl.col("dup_line_chars"), chars)),
            ),
            (
                "gopher_dup_para_char_frac",
                rule(cfg.dup_para_char_frac, safe_ratio(pl.col("dup_para_chars"), chars)),
            ),
        ]
    )


def line_metrics(text: pl.Series) -> pl.DataFrame:
    """Per document: lines, repeated lines and their characters; the same for paragraphs; characters."""
    n = len(text)
    lines = duplicate_stats(line_table(text), n)
    paras = duplicate_stats(paragraph_table(text), n)
    return pl.DataFrame(
        {
            "lines": lines["items"],
            "dup_lines": lines["dup_items"],
            "dup_line_chars": lines["dup_chars"],
            "paras": paras["items"],
            "dup_paras": paras["dup_items"],
            "dup_para_chars": paras["dup_chars"],
            "chars": text.fill_null("").str.len_chars(),
        }
    )


class BatchWords:
    """All words of a batch as parallel arrays: document number, word hash, word length."""

    def __init__(self, text: pl.Series) -> None:
        words = (
            pl.DataFrame({"w": text.fill_null("")})
            .with_row_index(DOC_COL)
            .select(DOC_COL, pl.col("w").str.extract_all(WORD_PATTERN))
            .explode("w")
            .drop_nulls("w")
        )
        self.n_docs = len(text)
        self.doc = words[DOC_COL].to_numpy().astype(np.int64)
        self.hash = words["w"].hash(seed=_HASH_SEED).to_numpy()
        self.length = words["w"].str.len_chars().to_numpy().astype(np.int64)
        self.cum_length = np.concatenate([[0], np.cumsum(self.length)])

    def __len__(self) -> int:
        return len(self.doc)

    def ngrams(self, sizes: set[int]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (n, start positions, keys) for each n in ``sizes``, ascending.

        A key is the document number (high 24 bits) over 40 bits of the n-gram's hash: equal
        n-grams of different documents never share a key, and within a document of a few
        thousand words a false match has a chance of about 1e-5.
        """
        rolling = self.hash
        doc_bits = self.doc.astype(np.uint64) << _HASH_BITS
        for n in range(1, max(sizes) + 1):
            count = len(self) - n + 1
            if count <= 0:
                return
            if n > 1:
                rolling = rolling[:count] * _MULTIPLIER + self.hash[n - 1 :]
            if n in sizes:
                starts = np.flatnonzero(self.doc[:count] == self.doc[n - 1 :])
                yield n, starts, doc_bits[starts] | (rolling[starts] >> _DOC_BITS)

    def ngram_chars(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Characters of the n-grams starting at ``starts``."""
        return self.cum_length[starts + n] - self.cum_length[starts]


class Repeats:
    """The n-grams whose key occurs more than once, grouped by key.

    ``members`` are indices into the key array, run by run (runs begin at ``start`` and hold
    ``size`` members); ``first`` flags each run's earliest occurrence in the text.
    """

    def __init__(self, keys: np.ndarray) -> None:
        order = np.argsort(keys)
        ordered = keys[order]
        boundary = np.ones(len(ordered), dtype=bool)
        boundary[1:] = ordered[1:] != ordered[:-1]
        sizes = np.diff(np.append(np.flatnonzero(boundary), len(ordered)))
        repeated = sizes >= 2
        self.members = order[np.repeat(repeated, sizes)]
        self.size = sizes[repeated]
        self.start = np.cumsum(self.size) - self.size
        self.first = np.zeros(len(self.members), dtype=bool)
        if len(self.members):
            earliest = np.minimum.reduceat(self.members, self.start)
            self.first = self.members == np.repeat(earliest, self.size)


def top_ngram_chars(words: BatchWords, starts: np.ndarray, repeats: Repeats, n: int) -> np.ndarray:
    """Per document: count x characters of its most frequent n-gram (ties: longest), 0 if none repeats."""
    out = np.zeros(words.n_docs, dtype=np.int64)
    if not len(repeats.start):
        return out
    first = starts[repeats.members[repeats.start]]
    count, chars, doc = repeats.size, words.ngram_chars(first, n), words.doc[first]
    best = np.lexsort((chars, count, doc))  # ascending by doc, then count, then chars
    last_of_doc = best[np.append(doc[best][1:] != doc[best][:-1], True)]
    out[doc[last_of_doc]] = count[last_of_doc] * chars[last_of_doc]
    return out


def dup_ngram_chars(words: BatchWords, starts: np.ndarray, repeats: Repeats, n: int) -> np.ndarray:
    """Per document: characters of the words covered by n-grams that repeat an earlier n-gram."""
    repeat_starts = starts[repeats.members[~repeats.first]]
    if not len(repeat_starts):
        return np.zeros(words.n_docs, dtype=np.int64)
    size = len(words) + 1
    depth = np.cumsum(
        np.bincount(repeat_starts, minlength=size) - np.bincount(repeat_starts + n, minlength=size)
    )
    covered = depth[: len(words)] > 0
    return np.bincount(words.doc[covered], weights=words.length[covered], minlength=words.n_docs).astype(
        np.int64
    )


def ngram_fractions(text: pl.Series, *, top: Iterable[int], dup: Iterable[int]) -> dict[str, np.ndarray]:
    """Per document, as shares of its characters: ``top_{n}`` (most frequent n-gram) for n in
    ``top`` and ``dup_{n}`` (covered by repeated n-grams) for n in ``dup``."""
    top, dup = set(top), set(dup)
    chars = np.maximum(text.fill_null("").str.len_chars().to_numpy(), 1)
    fractions = {f"top_{n}": np.zeros(len(text)) for n in top} | {
        f"dup_{n}": np.zeros(len(text)) for n in dup
    }
    if not top | dup:
        return fractions
    for lo in range(0, len(text), _MAX_DOCS):
        part = slice(lo, lo + _MAX_DOCS)
        words = BatchWords(text[part])
        for n, starts, keys in words.ngrams(top | dup):
            repeats = Repeats(keys)
            if n in top:
                fractions[f"top_{n}"][part] = top_ngram_chars(words, starts, repeats, n) / chars[part]
            if n in dup:
                fractions[f"dup_{n}"][part] = dup_ngram_chars(words, starts, repeats, n) / chars[part]
    return fractions


def scaled_sizes(table: dict[int, float], scale: float) -> dict[int, tuple[int, float]]:
    """n -> (n-gram size actually checked, threshold) when sizes are multiplied by ``scale``."""
    return {n: (max(1, round(n * scale)), frac) for n, frac in table.items()}


def ngram_reasons(text: pl.Series, cfg: GopherRepetitionConfig, *, cjk_docs: np.ndarray) -> pl.Series:
    """The first failing n-gram rule of every document, or null. Documents flagged in
    ``cjk_docs`` are checked on n-grams ``cfg.cjk_ngram_scale`` times longer (reasons keep n)."""
    reasons = pl.Series("reason", [None] * len(text), dtype=pl.String)
    if not cfg.top_ngram_char_frac and not cfg.dup_ngram_char_frac:
        return reasons
    for rows, scale in ((np.flatnonzero(~cjk_docs), 1.0), (np.flatnonzero(cjk_docs), cfg.cjk_ngram_scale)):
        if not len(rows):
            continue
        top = scaled_sizes(cfg.top_ngram_char_frac, scale)
        dup = scaled_sizes(cfg.dup_ngram_char_frac, scale)
        part = text.gather(rows)
        fractions = ngram_fractions(part, top=[m for m, _ in top.values()], dup=[m for m, _ in dup.values()])
        rules = [(f"gopher_top_{n}gram", pl.col(f"top_{m}") > f) for n, (m, f) in top.items()]
        rules += [(f"gopher_dup_{n}gram", pl.col(f"dup_{m}") > f) for n, (m, f) in dup.items()]
        found = pl.DataFrame(fractions).select(first_reason(rules).alias("reason")).to_series()
        reasons = reasons.scatter(rows, found)
    return reasons


def gopher_repetition_reasons(
    frame: pl.DataFrame, cfg: GopherRepetitionConfig, *, cjk_word_share: float = 0.5
) -> pl.Series:
    """The first failing Gopher repetition rule of every row of ``frame`` (column ``text``), or
    null. Documents where CJK characters are at least ``cjk_word_share`` of the words get longer
    character n-grams (``cfg.cjk_ngram_scale``)."""
    text = frame[TEXT_COL]
    if frame.height == 0:
        return pl.Series("reason", [], dtype=pl.String)
    reasons = line_metrics(text).select(line_rules(cfg).alias("reason")).to_series()
    todo = reasons.is_null()
    if todo.any():
        left = text.filter(todo)
        counts = (
            left.fill_null("")
            .to_frame(TEXT_COL)
            .select(
                cjk_count_expr(pl.col(TEXT_COL)).alias("cjk"),
                word_count_expr(pl.col(TEXT_COL)).alias("words"),
            )
        )
        cjk_docs = ((counts["cjk"] > 0) & (counts["cjk"] >= cjk_word_share * counts["words"])).to_numpy()
        reasons = reasons.scatter(todo.arg_true(), ngram_reasons(left, cfg, cjk_docs=cjk_docs))
    return reasons
