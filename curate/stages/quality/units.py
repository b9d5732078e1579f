"""Text units the rules count, as Rust-regex patterns for polars, built on curate.text's words.

curate.text makes every CJK character a word and splits everything else on whitespace. The rules
need finer counts over those same words (which have a letter, which are only punctuation...).
Each pattern below matches whole curate.text words, never parts of them, so counts stay
comparable: a non-CJK word is a maximal run of characters that are neither whitespace nor CJK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from curate.text import CJK_CHAR

TEXT_COL, LANG_COL, DOC_COL, LINE_COL = "text", "lang", "doc", "line"

# A character of a non-CJK word (CJK_CHAR is a bracketed class, nested here).
_RUN_CHAR = rf"[^\s{CJK_CHAR}]"


def _run_with(required_class: str) -> str:
    """A non-CJK word holding at least one character of ``required_class`` (the whole word matches)."""
    return rf"{_RUN_CHAR}*{required_class}{_RUN_CHAR}*"


_LETTER_OR_DIGIT = rf"[[\p{{L}}\p{{N}}]--{CJK_CHAR}]"
_LETTER = rf"[\p{{L}}--{CJK_CHAR}]"
_NOT_PUNCT = rf"[^\s\p{{P}}{CJK_CHAR}]"

# Words with a letter or digit: the words that count as words (punctuation-only tokens do not).
CONTENT_WORD = f"{CJK_CHAR}|{_run_with(_LETTER_OR_DIGIT)}"
# Words with an alphabetic character (CJK characters are alphabetic).
ALPHA_WORD = f"{CJK_CHAR}|{_run_with(_LETTER)}"
# Words with anything besides punctuation (symbols and digits count; '--' or '。' do not).
NON_PUNCT_WORD = f"{CJK_CHAR}|{_run_with(_NOT_PUNCT)}"
# Maximal runs of the characters that make a word's length (letters, digits, marks), non-CJK.
LENGTH_CHARS = rf"[[\p{{L}}\p{{N}}\p{{M}}]--{CJK_CHAR}]+"
# Ellipses: three dots, or the ellipsis character (the CJK double ellipsis '……' counts once).
ELLIPSIS = r"\.\.\.|……?"
NON_BLANK_LINE = r"(?m)^[^\S\n]*\S"
BLANK_LINES = r"\n[^\S\n]*\n"


def literal(text: str) -> str:
    """``text`` as a Rust regex matching it literally (non-alphanumerics as \\x{..} escapes)."""
    return "".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


def alternation(texts: Iterable[str]) -> str:
    """A non-capturing group matching any of ``texts`` literally, longest first."""
    return "(?:" + "|".join(literal(t) for t in sorted(set(texts), key=len, reverse=True)) + ")"


def ends_with_any(expr: pl.Expr, endings: Sequence[str]) -> pl.Expr:
    """True where the string ends with one of ``endings``."""
    return expr.str.contains(alternation(endings) + r"\z")


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, with a zero denominator read as 1 (so 0/0 is 0, x/0 is x)."""
    return numerator / pl.max_horizontal(denominator, pl.lit(1))


def width_expr(text: pl.Expr) -> pl.Expr:
    """Display width: characters, with each CJK character counted twice."""
    return text.str.len_chars() + text.str.count_matches(CJK_CHAR)


def first_reason(rules: Sequence[tuple[str, pl.Expr | None]]) -> pl.Expr:
    """The name of the first rule whose condition is true, else null. ``None`` conditions are skipped."""
    branches = [pl.when(cond).then(pl.lit(name)) for name, cond in rules if cond is not None]
    if not branches:
        return pl.repeat(None, pl.len(), dtype=pl.String)
    return pl.coalesce(*branches, pl.lit(None, dtype=pl.String))


def line_table(text: pl.Series, *, keep_blank: bool = False) -> pl.DataFrame:
    """One row per line of every document: ``doc`` (row index in ``text``), ``line`` (stripped).

    Lines are split on '\\n' (a '\\r' before it is stripped with the other whitespace). Blank lines
    are left out unless ``keep_blank``; lines keep their document order.
    """
    table = (
        pl.DataFrame({LINE_COL: text.fill_null("")})
        .with_row_index(DOC_COL)
        .with_columns(pl.col(LINE_COL).str.split("\n"))
        .explode(LINE_COL)
        .with_columns(pl.col(LINE_COL).str.strip_chars())
    )
    if not keep_blank:
        table = table.filter(pl.col(LINE_COL).str.len_bytes() > 0)
    return table


def paragraph_table(text: pl.Series) -> pl.DataFrame:
    """One row per paragraph (text between blank lines), stripped, blank ones left out."""
    return (
        pl.DataFrame({LINE_COL: text.fill_null("").str.replace_all(BLANK_LINES + r"(?:[^\S\n]*\n)*", "\x00")})
        .with_row_index(DOC_COL)
        .with_columns(pl.col(LINE_COL).str.split("\x00"))
        .explode(LINE_COL)
        .with_columns(pl.col(LINE_COL).str.strip_chars())
        .filter(pl.col(LINE_COL).str.len_bytes() > 0)
    )


def duplicate_stats(table: pl.DataFrame, n_docs: int) -> pl.DataFrame:
    """Per document of a line/paragraph table: ``items``, ``dup_items`` (repeats of an earlier
    item) and ``dup_chars`` (characters in those repeats), one row per document 0..n_docs-1."""
    per_item = table.group_by(DOC_COL, LINE_COL).agg(
        pl.len().cast(pl.Int64).alias("count"),
        pl.col(LINE_COL).first().str.len_chars().cast(pl.Int64).alias("chars"),
    )
    per_doc = per_item.group_by(DOC_COL).agg(
        pl.col("count").sum().alias("items"),
        (pl.col("count") - 1).sum().alias("dup_items"),
        ((pl.col("count") - 1) * pl.col("chars")).sum().alias("dup_chars"),
    )
    return per_doc_frame(per_doc, n_docs, {"items": 0, "dup_items": 0, "dup_chars": 0})


def per_doc_frame(per_doc: pl.DataFrame, n_docs: int, fill: dict[str, object]) -> pl.DataFrame:
    """``per_doc`` (keyed by ``doc``) aligned on documents 0..n_docs-1, missing ones filled."""
    index = pl.DataFrame({DOC_COL: pl.arange(0, n_docs, eager=True, dtype=pl.UInt32)})
    joined = index.join(per_doc.with_columns(pl.col(DOC_COL).cast(pl.UInt32)), on=DOC_COL, how="left")
    return joined.with_columns(pl.col(name).fill_null(value) for name, value in fill.items()).sort(DOC_COL)
