"""Gopher quality rules: each one triggers at its threshold and not below it."""

from __future__ import annotations

import polars as pl
import pytest

from curate.stages.quality import GopherQualityConfig, gopher_quality_reasons
from curate.stages.quality.stopwords import BUILTIN_STOP_WORDS
from tests.stages.quality_texts import DE_PAGE, EN_PAGE, JA_PAGE, ZH_PAGE

THRESHOLDS = (
    "min_doc_words",
    "max_doc_words",
    "min_avg_word_length",
    "max_avg_word_length",
    "max_symbol_word_ratio",
    "max_bullet_lines_ratio",
    "max_ellipsis_lines_ratio",
    "min_alpha_words_ratio",
    "min_stop_words",
)


def only(*keep: str, **overrides) -> GopherQualityConfig:
    """A config where only the named thresholds are on (at their defaults unless overridden)."""
    off = {name: None for name in THRESHOLDS if name not in keep}
    return GopherQualityConfig(**{**off, **overrides})


def reasons(
    texts: list[str | None], cfg: GopherQualityConfig, lang: list[str | None] | None = None
) -> list[str | None]:
    frame = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)})
    if lang is not None:
        frame = frame.with_columns(pl.Series("lang", lang, dtype=pl.String))
    return gopher_quality_reasons(frame, cfg, cjk_word_share=0.5).to_list()


def reason(text: str, cfg: GopherQualityConfig) -> str | None:
    return reasons([text], cfg)[0]


def test_defaults_are_the_published_ones():
    cfg = GopherQualityConfig()
    assert (cfg.min_doc_words, cfg.max_doc_words) == (50, 100_000)
    assert (cfg.min_avg_word_length, cfg.max_avg_word_length) == (3, 10)
    assert cfg.max_symbol_word_ratio == 0.1
    assert cfg.max_bullet_lines_ratio == 0.9
    assert cfg.max_ellipsis_lines_ratio == 0.3
    assert cfg.min_alpha_words_ratio == 0.8
    assert cfg.min_stop_words == 2
    assert BUILTIN_STOP_WORDS["en"] == ("the", "be", "to", "of", "and", "that", "have", "with")


def words(n: int, word: str = "garden") -> str:
    return " ".join([word] * n)


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        # word count: punctuation-only tokens do not count, CJK characters do
        ("min_doc_words", words(49), "gopher_short_doc"),
        ("min_doc_words", words(50), None),
        ("min_doc_words", words(49) + " -- | ... ——", "gopher_short_doc"),
        ("min_doc_words", "花" * 49, "gopher_short_doc"),
        ("min_doc_words", "花" * 50, None),
        ("max_doc_words", words(100_001), "gopher_long_doc"),
        ("max_doc_words", words(100_000), None),
        # mean word length in letters: punctuation stuck to a word does not count
        ("min_avg_word_length", words(60, "ab") + " abcdefg", "gopher_mean_word_length"),
        ("min_avg_word_length", words(60, "abc"), None),
        ("min_avg_word_length", words(60, "ab.,"), "gopher_mean_word_length"),
        ("max_avg_word_length", words(60, "abcdefghijk"), "gopher_mean_word_length"),
        ("max_avg_word_length", words(60, "abcdefghij"), None),
        # CJK-majority documents are exempt (each character is a one-letter word) ...
        ("min_avg_word_length", ZH_PAGE, None),
        ("min_avg_word_length", JA_PAGE, None),
        ("min_avg_word_length", ZH_PAGE + " 1 2 3 4 5 6 7", None),
        # ... but CJK characters sprinkled in an English text do not exempt it
        ("min_avg_word_length", words(60, "ab") + "花" * 10, "gopher_mean_word_length"),
        # '#' and ellipses per word
        ("max_symbol_word_ratio", words(100) + " #" * 11, "gopher_symbol_ratio"),
        ("max_symbol_word_ratio", words(100) + " #" * 10, None),
        ("max_symbol_word_ratio", words(100) + " ..." * 11, "gopher_symbol_ratio"),
        ("max_symbol_word_ratio", words(100) + " …" * 11, "gopher_symbol_ratio"),
        ("max_symbol_word_ratio", words(100) + " ……" * 10, None),
        # bullets: share of non-blank lines
        ("max_bullet_lines_ratio", "\n".join(["• item one here"] * 10), "gopher_bullet_lines"),
        ("max_bullet_lines_ratio", "\n\n".join(["- item one here"] * 10), "gopher_bullet_lines"),
        ("max_bullet_lines_ratio", "\n".join(["• item"] * 9 + ["plain line"]), None),
        ("max_bullet_lines_ratio", "\n".join(["  ・ 項目"] * 10), "gopher_bullet_lines"),
        # lines ending with an ellipsis
        (
            "max_ellipsis_lines_ratio",
            "\n".join(["read more..."] * 4 + ["a full line."] * 6),
            "gopher_ellipsis_lines",
        ),
        (
            "max_ellipsis_lines_ratio",
            "\n".join(["read more …  "] * 4 + ["a full line."] * 6),
            "gopher_ellipsis_lines",
        ),
        ("max_ellipsis_lines_ratio", "\n".join(["read more..."] * 3 + ["a full line."] * 7), None),
        # share of words with a letter (punctuation-only tokens left out)
        ("min_alpha_words_ratio", words(79) + " 12" * 21, "gopher_alpha_words"),
        ("min_alpha_words_ratio", words(80) + " 12" * 20, None),
        ("min_alpha_words_ratio", words(80) + " 12" * 20 + " — |" * 0 + " ——" * 50, None),
        ("min_alpha_words_ratio", words(80) + " $$" * 21, "gopher_alpha_words"),
        ("min_alpha_words_ratio", ZH_PAGE, None),
        # stop words: occurrences of whole words, case-insensitive
        ("min_stop_words", words(60), "gopher_stop_words"),
        ("min_stop_words", words(60) + " The", "gopher_stop_words"),
        ("min_stop_words", words(60) + " The and", None),
        ("min_stop_words", words(60) + " theory other withdrawn", "gopher_stop_words"),
        ("min_stop_words", words(60) + " to, be.", None),
    ],
)
def test_rule(rule, text, expected):
    assert reason(text, only(rule)) == expected


def test_rules_report_the_first_failure_in_order():
    bad_everything = " ".join(["#x1"] * 40)
    assert reason(bad_everything, GopherQualityConfig()) == "gopher_short_doc"
    hashes = " ".join(["#tag"] * 60)
    assert reason(hashes, GopherQualityConfig()) == "gopher_symbol_ratio"


@pytest.mark.parametrize("page", [EN_PAGE, DE_PAGE, ZH_PAGE, JA_PAGE])
def test_clean_pages_pass_every_rule(page):
    assert reason(page, GopherQualityConfig()) is None


def test_stop_words_follow_the_lang_column():
    cfg = only("min_stop_words")
    # German passes on the German list, with lang=de or without a lang at all ...
    assert reasons([DE_PAGE, DE_PAGE], cfg, lang=["de", None]) == [None, None]
    # ... but not when labelled English: then Gopher's English list alone is used
    assert reasons([DE_PAGE], cfg, lang=["en"]) == ["gopher_stop_words"]
    # a language without a list falls back to any list; labels are normalised
    assert reasons([DE_PAGE, ZH_PAGE, JA_PAGE], cfg, lang=["sv", "zh-Hans", "__label__ja"]) == [
        None,
        None,
        None,
    ]
    assert reasons([ZH_PAGE], cfg, lang=["en"]) == ["gopher_stop_words"]


def test_english_letters_do_not_pass_on_other_lists():
    # single-letter words (Portuguese 'a', Polish 'i') are not in the built-in lists
    text = words(60) + " a i o e y a i o e y"
    assert reason(text, only("min_stop_words")) == "gopher_stop_words"


def test_custom_stop_words_replace_the_builtin_lists():
    cfg = only("min_stop_words", stop_words={"en": ("garden",)})
    assert reason(words(60), cfg) is None
    assert reason(EN_PAGE, cfg) == "gopher_stop_words"
    cjk = only("min_stop_words", stop_words={"zh": ("花园",)})
    assert reason(ZH_PAGE, cjk) is None


def test_null_and_empty_texts_are_short():
    assert reasons([None, "", "   \n "], GopherQualityConfig()) == ["gopher_short_doc"] * 3


def test_empty_frame():
    assert reasons([], GopherQualityConfig()) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"min_doc_words": 100, "max_doc_words": 10},
        {"min_avg_word_length": 11},
        {"max_bullet_lines_ratio": 1.5},
        {"min_alpha_words_ratio": -0.1},
        {"stop_words": {}},
        {"stop_words": {"en": []}},
        {"bullets": [""]},
    ],
)
def test_invalid_options_are_rejected(bad):
    with pytest.raises(ValueError):
        GopherQualityConfig(**bad)
