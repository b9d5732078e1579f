"""FineWeb's own rules (Penedo et al. 2024, section 3), vectorised with polars.

Rules, in the order they name a drop:

===========================  ====================================================================
fineweb_line_punct_ratio     share of lines ending in a stop character <= ``line_punct_thr``
fineweb_short_line_ratio     share of lines at most ``short_line_length`` wide >= ``short_line_thr``
fineweb_dup_line_char_ratio  characters in repeats of earlier lines / characters >= ``char_duplicates_ratio``
fineweb_list_ratio           line breaks per word > ``new_line_ratio``
===========================  ====================================================================

Lines are non-blank and stripped: datatrove counts blank lines too, which halves every line share
of a text that separates paragraphs by blank lines (FineWeb's own texts have none). For unspaced
scripts: stop characters include 。！？ and CJK closing quotes, width counts a CJK character twice,
and words are curate.text words.
"""

from __future__ import annotations

import polars as pl

from curate.stages.quality.config import FineWebConfig
from curate.stages.quality.units import (
    DOC_COL,
    LINE_COL,
    TEXT_COL,
    duplicate_stats,
    ends_with_any,
    first_reason,
    line_table,
    per_doc_frame,
    safe_ratio,
    width_expr,
)
from curate.text import word_count_expr


def fineweb_metrics(text: pl.Series, cfg: FineWebConfig) -> pl.DataFrame:
    """Per document: lines, punctuated lines, short lines, repeated-line characters, characters, words."""
    n = len(text)
    lines = line_table(text)
    line = pl.col(LINE_COL)
    per_doc = lines.group_by(DOC_COL).agg(
        pl.len().alias("lines"),
        ends_with_any(line, cfg.stop_chars).sum().alias("punct_lines"),
        (width_expr(line) <= cfg.short_line_length).sum().alias("short_lines"),
    )
    counts = per_doc_frame(per_doc, n, {"lines": 0, "punct_lines": 0, "short_lines": 0})
    dups = duplicate_stats(lines, n)
    whole = pl.DataFrame({TEXT_COL: text.fill_null("")}).select(
        (pl.col(TEXT_COL).str.len_chars() - pl.col(TEXT_COL).str.count_matches("\n", literal=True)).alias(
            "chars"
        ),
        word_count_expr(pl.col(TEXT_COL)).alias("words"),
    )
    return pl.concat([counts, whole, dups.select("dup_chars")], how="horizontal")


def fineweb_rules(cfg: FineWebConfig) -> list[tuple[str, pl.Expr | None]]:
    """(reason, condition) pairs over the columns of :func:`fineweb_metrics`, in order."""
    lines = pl.col("lines").cast(pl.Int64)
    punct = safe_ratio(pl.col("punct_lines"), lines)
    line_punct = None
    if cfg.line_punct_thr is not None:
        line_punct = punct <= cfg.line_punct_thr
        if cfg.line_punct_exclude_zero:
            line_punct = line_punct & (punct > 0)
    breaks = pl.max_horizontal(lines - 1, pl.lit(0))
    return [
        ("fineweb_line_punct_ratio", line_punct),
        (
            "fineweb_short_line_ratio",
            None
            if cfg.short_line_thr is None
            else safe_ratio(pl.col("short_lines"), lines) >= cfg.short_line_thr,
        ),
        (
            "fineweb_dup_line_char_ratio",
            None
            if cfg.char_duplicates_ratio is None
            else (pl.col("dup_chars") > 0)
            & (safe_ratio(pl.col("dup_chars"), pl.col("chars")) >= cfg.char_duplicates_ratio),
        ),
        (
            "fineweb_list_ratio",
            None if cfg.new_line_ratio is None else safe_ratio(breaks, pl.col("words")) > cfg.new_line_ratio,
        ),
    ]


def fineweb_reasons(frame: pl.DataFrame, cfg: FineWebConfig) -> pl.Series:
    """The first failing FineWeb rule of every row of ``frame`` (column ``text``), or null."""
    if frame.height == 0:
        return pl.Series("reason", [], dtype=pl.String)
    return (
        fineweb_metrics(frame[TEXT_COL], cfg)
        .select(first_reason(fineweb_rules(cfg)).alias("reason"))
        .to_series()
    )
