"""C4's rules (Raffel et al. 2020, section 2.2): a line filter, and page rules that drop documents.

Line by line, as C4's reference code (TensorFlow Datasets ``c4_utils``, datatrove's
C4QualityFilter) does, a line is stripped and then, in order:

1. dropped if it holds a word longer than ``max_word_length``;
2. cleaned of citation marks ([1], [edit], [citation needed]);
3. dropped if it does not end in terminal punctuation, or ends in '...';
4. dropped if it has fewer than ``min_words_per_line`` words;
5. 'lorem ipsum' in it drops the document;
6. dropped if it mentions 'javascript';
7. '{' in it drops the document;
8. dropped if it holds a policy phrase (terms of use, cookies...);
9. kept, and its sentences counted.

Document reasons, in this fixed order: ``c4_lorem_ipsum``, ``c4_curly_bracket`` (step 5 or 7 hit
on any line), ``c4_too_few_sentences`` (fewer than ``min_num_sentences`` in kept lines),
``c4_no_lines_left`` (every line dropped, when the sentence rule is off). C4's code stops at the
first line hitting step 5 or 7, so on a page with both the reported reason may differ; the drop
does not.

Lines are modified, not only judged: a kept text record gets its kept lines as its text (option
``rewrite``). Line counts go to the stage's counters (``c4.lines_*``).

For scripts without spaces: words are curate.text words (a CJK character is one, so a Chinese
line is not "one word" nor one "1000-character word"); terminal punctuation includes 。！？ and
CJK closing quotes; 。！？ end sentences wherever they stand.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from curate.stages.quality.config import C4Config
from curate.stages.quality.units import (
    DOC_COL,
    LINE_COL,
    TEXT_COL,
    alternation,
    ends_with_any,
    first_reason,
    line_table,
    per_doc_frame,
)
from curate.text import word_count_expr, words

CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
# A sentence ends at . ! ? (with closing quotes/brackets) before a space or the line end, or at 。！？ anywhere.
SENTENCE_END = r"""[.!?]+["'”’)\]]*(?:\s|\z)|[。！？｡]+"""

LINE_REASONS = ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


@dataclass(frozen=True)
class C4Result:
    reasons: pl.Series
    text: pl.Series
    counters: dict[str, float]


def _long_word_lines(lines: pl.Series, max_word_length: int) -> pl.Series:
    """True for lines holding a word longer than ``max_word_length`` (only long lines are inspected)."""
    flags = pl.Series([False] * len(lines), dtype=pl.Boolean)
    candidates = (lines.str.len_chars() > max_word_length).arg_true()
    if len(candidates):
        hits = [max(map(len, words(line)), default=0) > max_word_length for line in lines.gather(candidates)]
        flags = flags.scatter(candidates, pl.Series(hits, dtype=pl.Boolean))
    return flags


def judge_lines(table: pl.DataFrame, cfg: C4Config) -> pl.DataFrame:
    """Add to a line table: the cleaned ``line``, ``drop`` (the line reason or null), ``lorem``,
    ``curly`` (page hits) and ``sentences`` (of kept lines)."""
    line = pl.col(LINE_COL)
    if cfg.max_word_length is not None:
        table = table.with_columns(
            _long_word_lines(table[LINE_COL], cfg.max_word_length).alias("too_long_word")
        )
    else:
        table = table.with_columns(pl.lit(False).alias("too_long_word"))
    if cfg.remove_citations:
        table = table.with_columns(line.str.replace_all(CITATION, "").str.strip_chars())
    lower = line.str.to_lowercase()
    no_punct = (
        (~ends_with_any(line, cfg.end_punctuation) | line.str.ends_with("..."))
        if cfg.filter_no_terminal_punct
        else None
    )
    few_words = word_count_expr(line) < cfg.min_words_per_line if cfg.min_words_per_line else None
    earlier = first_reason(
        [
            ("too_long_word", pl.col("too_long_word")),
            ("no_terminal_punct", no_punct),
            ("too_few_words", few_words),
        ]
    )
    has_lorem = lower.str.contains("lorem ipsum", literal=True) if cfg.filter_lorem_ipsum else None
    has_javascript = lower.str.contains("javascript", literal=True) if cfg.filter_javascript else None
    has_curly = line.str.contains("{", literal=True) if cfg.filter_curly_bracket else None
    policy_on = cfg.filter_policy and cfg.policy_substrings
    has_policy = lower.str.contains(alternation(cfg.policy_substrings)) if policy_on else None
    page_rule = first_reason(
        [("lorem", has_lorem), ("javascript", has_javascript), ("curly", has_curly), ("policy", has_policy)]
    )
    passed = pl.col("_earlier").is_null()
    hit = pl.col("_hit")
    kept = passed & hit.is_null()
    sentences = pl.max_horizontal(line.str.count_matches(SENTENCE_END), pl.lit(1))
    return (
        table.with_columns(earlier.alias("_earlier"), page_rule.alias("_hit"))
        .with_columns(
            pl.coalesce(
                pl.col("_earlier"), pl.when(passed & hit.is_in(["javascript", "policy"])).then(hit)
            ).alias("drop"),
            (passed & (hit == "lorem")).fill_null(False).alias("lorem"),
            (passed & (hit == "curly")).fill_null(False).alias("curly"),
            kept.alias("kept"),
            pl.when(kept).then(sentences).otherwise(0).alias("sentences"),
        )
        .drop("_earlier", "_hit", "too_long_word")
    )


def c4_reasons(frame: pl.DataFrame, cfg: C4Config) -> C4Result:
    """C4's verdict on every row of ``frame`` (column ``text``): reasons, the text made of kept
    lines (for every row; the caller decides whether to use it), and line counters."""
    text = frame[TEXT_COL] if frame.height else pl.Series(TEXT_COL, [], dtype=pl.String)
    n = len(text)
    lines = judge_lines(line_table(text, keep_blank=True), cfg)
    per_doc = lines.group_by(DOC_COL).agg(
        pl.col("lorem").any(),
        pl.col("curly").any(),
        pl.col("sentences").sum(),
        pl.col("kept").sum().alias("kept_lines"),
        pl.col(LINE_COL).filter(pl.col("kept")).str.join("\n").alias("kept_text"),
    )
    docs = per_doc_frame(
        per_doc, n, {"lorem": False, "curly": False, "sentences": 0, "kept_lines": 0, "kept_text": ""}
    )
    min_sentences = cfg.min_num_sentences or 0
    reasons = docs.select(
        first_reason(
            [
                ("c4_lorem_ipsum", pl.col("lorem")),
                ("c4_curly_bracket", pl.col("curly")),
                ("c4_too_few_sentences", pl.col("sentences") < min_sentences if min_sentences else None),
                ("c4_no_lines_left", pl.col("kept_lines") == 0),
            ]
        ).alias("reason")
    ).to_series()
    counts = lines["drop"].value_counts()
    counters = {"c4.lines_in": float(lines.height), "c4.lines_kept": float(lines["kept"].sum())}
    for reason, count in zip(counts["drop"].to_list(), counts["count"].to_list(), strict=True):
        if reason is not None:
            counters[f"c4.lines_dropped.{reason}"] = float(count)
    return C4Result(reasons=reasons, text=docs["kept_text"], counters=counters)
