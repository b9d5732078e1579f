"""Text normalisation before hashing, the tokens dedupe compares, and the exact-duplicate hash.

Two levels: ``normalize_texts`` changes characters (Unicode form, case, accents, digits);
punctuation and whitespace are handled by the tokeniser (word shingles: a token never holds
punctuation when it is stripped, and spacing never matters) or by ``flatten`` (character
shingles, and exact hashes when whitespace is kept as it is).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl
import xxhash

from curate.stages.dedupe.config import Normalization
from curate.text import CJK_CHAR, WORD_PATTERN

PUNCT = r"[\p{P}\p{S}]"
# curate.text words of the text with punctuation turned into spaces, in one regex pass: a CJK
# character that is not punctuation, or a run of characters that are neither space,
# punctuation nor CJK.
WORD_NO_PUNCT_PATTERN = rf"[{CJK_CHAR}--{PUNCT}]|[[^\s\p{{P}}\p{{S}}]--{CJK_CHAR}]+"
# Whitespace other than a single ASCII space, or a run of two or more: what collapsing changes.
_MESSY_WHITESPACE = r"\s{2,}|[\s&&[^ ]]"
# The same for runs of punctuation and whitespace: what punctuation to spaces, then collapsing,
# changes (every maximal run becomes one space), in one pass.
_MESSY_PUNCT_SPACE = r"[\p{P}\p{S}\s]{2,}|[\p{P}\p{S}\s&&[^ ]]"


def normalize_texts(texts: pl.Series, norm: Normalization) -> pl.Series:
    """Character-level normalisation of ``texts`` (nulls become empty strings).

    Unicode normalisation goes through Python's ``unicodedata`` per text (it skips text that is
    already normalised; measured ~1.4-3x faster than polars' ``str.normalize``); the rest are
    polars expressions over the whole batch.
    """
    texts = texts.fill_null("").rename("text")
    if norm.unicode != "none":  # ASCII text is in every form already: only the rest goes to Python
        form = norm.unicode
        rest = np.flatnonzero((texts.str.len_bytes() != texts.str.len_chars()).to_numpy())
        if len(rest):
            done = [unicodedata.normalize(form, t) for t in texts.gather(rest).to_list()]
            texts = texts.scatter(rest, pl.Series(done, dtype=pl.String))
    expr = pl.col("text")
    if norm.lowercase:
        expr = expr.str.to_lowercase()
    if norm.accents:
        expr = expr.str.normalize("NFD").str.replace_all(r"\p{Mn}+", "").str.normalize("NFC")
    if norm.digits:
        expr = expr.str.replace_all(r"\d+", "0")
    return texts.to_frame().select(expr).to_series()


def word_pattern(norm: Normalization) -> str:
    """The regex whose matches are the words of a normalised text (``curate.text`` words)."""
    return WORD_NO_PUNCT_PATTERN if norm.punctuation else WORD_PATTERN


def flatten(texts: pl.Series, norm: Normalization) -> pl.Series:
    """Punctuation to spaces and whitespace collapsed, as ``norm`` says (for character-level uses)."""
    expr = pl.col(texts.name)
    if norm.punctuation:
        expr = expr.str.replace_all(PUNCT + "+", " ")
    if norm.whitespace:
        expr = expr.str.replace_all(_MESSY_WHITESPACE, " ").str.strip_chars()
    return texts.to_frame().select(expr).to_series()


def collapse_whitespace(texts: pl.Series) -> pl.Series:
    """``flatten``'s whitespace step: runs of whitespace to one space, both ends trimmed."""
    return texts.str.replace_all(_MESSY_WHITESPACE, " ").str.strip_chars()


def punct_and_space(texts: pl.Series) -> pl.Series:
    """``flatten`` with both punctuation and whitespace folded, in one regex pass."""
    return texts.str.replace_all(_MESSY_PUNCT_SPACE, " ").str.strip_chars()


def text_hashes(texts: pl.Series, *, seed: int = 0) -> np.ndarray:
    """64-bit xxh3 hash of each text's UTF-8 bytes (uint64, one per text).

    A per-record Python call: xxh3 runs at memory speed, so the loop costs well under 1 us per
    record. Stable across versions and platforms, unlike polars' ``Series.hash``.
    """
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter(
        (digest(t.encode("utf-8"), seed) for t in texts.fill_null("").to_list()), np.uint64, len(texts)
    )
