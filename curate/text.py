"""Text units shared by clean, quality and dedupe: words that also work for unspaced scripts.

Chinese and Japanese put no spaces between words, so "split on whitespace" turns a whole
paragraph into one word and wipes such pages out of any word-count rule. curate counts each
Han/Hiragana/Katakana character as a word of its own (about what a word segmenter yields per
token on average for these scripts, within a factor of ~1.5) and splits everything else on
whitespace. The same definition is available as a polars expression (vectorised, Rust regex) and
as a Python function.
"""

from __future__ import annotations

import re

import polars as pl

# Han (CJK Unified Ideographs and extensions, compatibility ideographs), Hiragana, Katakana.
_CJK_RANGES = (
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
CJK_CHAR = f"[{_CJK_RANGES}]"
WORD_PATTERN = f"{CJK_CHAR}|[^\\s{_CJK_RANGES}]+"

_WORD_RE = re.compile(WORD_PATTERN)
_CJK_RE = re.compile(CJK_CHAR)


# Scripts also written without spaces between words, for which curate has no word units (a word
# segmenter per language would be needed): Thai, Lao, Tibetan, Myanmar, Khmer.
_UNSEGMENTED_RANGES = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u19e0-\u19ff"  # Khmer symbols
)
UNSEGMENTED_CHAR = f"[{_UNSEGMENTED_RANGES}]"


def unsegmented_share_expr(text: pl.Expr) -> pl.Expr:
    """Share of non-space characters in Thai, Lao, Tibetan, Myanmar or Khmer script per row."""
    visible = text.str.len_chars() - text.str.count_matches(r"\s")
    return pl.when(visible > 0).then(text.str.count_matches(UNSEGMENTED_CHAR) / visible).otherwise(0.0)


def words(text: str) -> list[str]:
    """Words of ``text``: whitespace-separated tokens, with every CJK character a word of its own."""
    return _WORD_RE.findall(text)


def cjk_fraction(text: str) -> float:
    """Share of non-space characters that are Han, Hiragana or Katakana."""
    visible = len(text) - sum(c.isspace() for c in text)
    return len(_CJK_RE.findall(text)) / visible if visible else 0.0


def word_count_expr(text: pl.Expr) -> pl.Expr:
    """Number of words per row, as :func:`words` counts them (vectorised)."""
    return text.str.count_matches(WORD_PATTERN).fill_null(0)


def cjk_count_expr(text: pl.Expr) -> pl.Expr:
    """Number of CJK characters per row (vectorised)."""
    return text.str.count_matches(CJK_CHAR).fill_null(0)
