"""Gopher's document quality rules (Rae et al. 2021, appendix A), vectorised with polars.

Rules, in the order they name a drop:

=========================  =====================================================================
gopher_short_doc           fewer than ``min_doc_words`` words
gopher_long_doc            more than ``max_doc_words`` words
gopher_mean_word_length    mean word length outside [min_avg_word_length, max_avg_word_length]
gopher_symbol_ratio        '#' per word, or ellipses per word, above ``max_symbol_word_ratio``
gopher_bullet_lines        share of lines starting with a bullet above ``max_bullet_lines_ratio``
gopher_ellipsis_lines      share of lines ending with an ellipsis above ``max_ellipsis_lines_ratio``
gopher_alpha_words         share of words with a letter below ``min_alpha_words_ratio``
gopher_stop_words          fewer than ``min_stop_words`` stop words
=========================  =====================================================================

Adaptations for scripts without spaces (documented in the config too): a CJK character is a word;
the mean word length is taken over non-CJK words and not applied to CJK-majority documents;
punctuation-only tokens count neither as words nor in the alphabetic share; zh and ja have
character stop-word lists. Word length counts letters, digits and marks, so punctuation stuck to
a word ("end.") does not lengthen it (datatrove's tokenizer splits it off).
"""

from __future__ import annotations

import polars as pl

from curate.stages.quality.config import GopherQualityConfig
from curate.stages.quality.stopwords import BUILTIN_STOP_WORDS, enough_stop_words
from curate.stages.quality.units import (
    ALPHA_WORD,
    CONTENT_WORD,
    ELLIPSIS,
    LANG_COL,
    LENGTH_CHARS,
    NON_BLANK_LINE,
    NON_PUNCT_WORD,
    TEXT_COL,
    alternation,
    first_reason,
    safe_ratio,
)
from curate.text import cjk_count_expr


def gopher_metrics(text: pl.Expr, cfg: GopherQualityConfig) -> dict[str, pl.Expr]:
    """Per-document counts the rules compare (vectorised regex counts), by column name."""
    return {
        "words": text.str.count_matches(CONTENT_WORD),
        "cjk": cjk_count_expr(text),
        "length_chars": text.str.len_chars() - text.str.replace_all(LENGTH_CHARS, "").str.len_chars(),
        "hashes": text.str.count_matches("#", literal=True),
        "ellipses": text.str.count_matches(ELLIPSIS),
        "lines": text.str.count_matches(NON_BLANK_LINE),
        "bullet_lines": text.str.count_matches(r"(?m)^[^\S\n]*" + alternation(cfg.bullets)),
        "ellipsis_lines": text.str.count_matches(r"(?m)(?:\.\.\.|…)[^\S\n]*$"),
        "alpha_words": text.str.count_matches(ALPHA_WORD),
        "non_punct_words": text.str.count_matches(NON_PUNCT_WORD),
    }


def _above(value: pl.Expr, threshold: float | None) -> pl.Expr | None:
    return None if threshold is None else value > threshold


def _below(value: pl.Expr, threshold: float | None) -> pl.Expr | None:
    return None if threshold is None else value < threshold


def gopher_rules(cfg: GopherQualityConfig, *, cjk_word_share: float) -> list[tuple[str, pl.Expr | None]]:
    """(reason, condition) pairs over the columns of :func:`gopher_metrics`, in order (stop words apart)."""
    words, cjk, lines = pl.col("words"), pl.col("cjk"), pl.col("lines")
    latin_words = words - cjk
    mean_length = pl.when((latin_words > 0) & (cjk < cjk_word_share * words)).then(
        pl.col("length_chars") / latin_words
    )
    hashes, ellipses = safe_ratio(pl.col("hashes"), words), safe_ratio(pl.col("ellipses"), words)
    return [
        ("gopher_short_doc", _below(words, cfg.min_doc_words)),
        ("gopher_long_doc", _above(words, cfg.max_doc_words)),
        (
            "gopher_mean_word_length",
            _either(
                _below(mean_length, cfg.min_avg_word_length), _above(mean_length, cfg.max_avg_word_length)
            ),
        ),
        (
            "gopher_symbol_ratio",
            _either(_above(hashes, cfg.max_symbol_word_ratio), _above(ellipses, cfg.max_symbol_word_ratio)),
        ),
        (
            "gopher_bullet_lines",
            _above(safe_ratio(pl.col("bullet_lines"), lines), cfg.max_bullet_lines_ratio),
        ),
        (
            "gopher_ellipsis_lines",
            _above(safe_ratio(pl.col("ellipsis_lines"), lines), cfg.max_ellipsis_lines_ratio),
        ),
        (
            "gopher_alpha_words",
            _below(safe_ratio(pl.col("alpha_words"), pl.col("non_punct_words")), cfg.min_alpha_words_ratio),
        ),
    ]


def _either(a: pl.Expr | None, b: pl.Expr | None) -> pl.Expr | None:
    if a is None or b is None:
        return a if b is None else b
    return (a | b).fill_null(False)


def gopher_quality_reasons(
    frame: pl.DataFrame, cfg: GopherQualityConfig, *, cjk_word_share: float
) -> pl.Series:
    """The first failing Gopher quality rule of every row of ``frame`` (``text``, optional ``lang``), or null."""
    if frame.height == 0:
        return pl.Series("reason", [], dtype=pl.String)
    text = pl.col(TEXT_COL).fill_null("")
    rules = gopher_rules(cfg, cjk_word_share=cjk_word_share)
    needed = {name for _, cond in rules if cond is not None for name in cond.meta.root_names()}
    metrics = [
        expr.cast(pl.Int64).alias(name) for name, expr in gopher_metrics(text, cfg).items() if name in needed
    ]
    if metrics:
        reasons = frame.select(metrics).select(first_reason(rules).alias("reason")).to_series()
    else:
        reasons = pl.Series("reason", [None] * frame.height, dtype=pl.String)
    if cfg.min_stop_words is None or cfg.min_stop_words == 0:
        return reasons
    todo = reasons.is_null()
    if not todo.any():
        return reasons
    lowered = frame[TEXT_COL].filter(todo).fill_null("").str.to_lowercase()
    lang = frame[LANG_COL].filter(todo) if LANG_COL in frame.columns else None
    enough = enough_stop_words(
        lowered, lang, lists=cfg.stop_words or BUILTIN_STOP_WORDS, min_count=cfg.min_stop_words
    )
    verdict = pl.Series([None] * len(enough), dtype=pl.String).zip_with(
        enough, pl.Series(["gopher_stop_words"] * len(enough))
    )
    return reasons.scatter(todo.arg_true(), verdict)
