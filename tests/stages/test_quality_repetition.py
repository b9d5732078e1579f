"""Gopher repetition rules: thresholds, CJK n-grams, and the batch-vectorised n-gram counts
checked against a plain per-document implementation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.quality import GopherRepetitionConfig, gopher_repetition_reasons
from curate.stages.quality.repetition import ngram_fractions
from curate.text import words
from tests.stages.quality_texts import DE_PAGE, EN_PAGE, JA_PAGE, ZH_PAGE, ZH_SPAM

LINE_RULES = ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac")


def only(*keep: str, **overrides) -> GopherRepetitionConfig:
    """A config with only the named rules on (at their defaults unless overridden)."""
    off: dict = {name: None for name in LINE_RULES if name not in keep}
    for table in ("top_ngram_char_frac", "dup_ngram_char_frac"):
        if table not in keep:
            off[table] = {}
    return GopherRepetitionConfig(**{**off, **overrides})


def reasons(texts: list[str | None], cfg: GopherRepetitionConfig) -> list[str | None]:
    return gopher_repetition_reasons(pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}), cfg).to_list()


def reason(text: str, cfg: GopherRepetitionConfig) -> str | None:
    return reasons([text], cfg)[0]


def test_defaults_are_the_published_ones():
    cfg = GopherRepetitionConfig()
    assert (cfg.dup_line_frac, cfg.dup_para_frac) == (0.30, 0.30)
    assert (cfg.dup_line_char_frac, cfg.dup_para_char_frac) == (0.20, 0.20)
    assert cfg.top_ngram_char_frac == {2: 0.20, 3: 0.18, 4: 0.16}
    assert cfg.dup_ngram_char_frac == {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def distinct_lines(n: int, start: int = 0) -> list[str]:
    return [f"line number {i} says something else" for i in range(start, start + n)]


def distinct_words(n: int, start: int = 0) -> list[str]:
    return [f"w{i:05d}" for i in range(start, start + n)]


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        # 4 of 11 lines repeat an earlier one (0.36 > 0.3); 3 of 10 (0.3) do not trigger
        ("dup_line_frac", "\n".join(distinct_lines(6) + ["same line"] * 5), "gopher_dup_line_frac"),
        ("dup_line_frac", "\n".join(distinct_lines(6) + ["same line"] * 4), None),
        # blank lines and surrounding spaces do not make lines differ or count
        (
            "dup_line_frac",
            "\n\n\n".join(distinct_lines(6) + ["same line  ", "  same line"] * 3),
            "gopher_dup_line_frac",
        ),
        (
            "dup_para_frac",
            "\n\n".join(distinct_lines(6) + ["a para\nof two lines"] * 5),
            "gopher_dup_para_frac",
        ),
        ("dup_para_frac", "\n\n".join(distinct_lines(6) + ["a para\nof two lines"] * 4), None),
        # one long line repeated once: 1 of 5 lines, but most of the characters
        ("dup_line_char_frac", "\n".join(["x" * 100, "x" * 100, "a", "b", "c"]), "gopher_dup_line_char_frac"),
        ("dup_line_char_frac", "\n".join(["x" * 10, "x" * 10, "y" * 100]), None),
        (
            "dup_para_char_frac",
            "\n\n".join(["x" * 100, "x" * 100, "a", "b", "c"]),
            "gopher_dup_para_char_frac",
        ),
        ("dup_para_char_frac", "\n\n".join(["x" * 10, "x" * 10, "y" * 100]), None),
    ],
)
def test_line_and_paragraph_rules(rule, text, expected):
    assert reason(text, only(rule)) == expected


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram_rules(n):
    gram = distinct_words(n, start=900)
    text = " ".join(gram * 10 + distinct_words(99))
    share = 10 * n * 6 / len(text)  # the n-gram (n words of 6 chars, no separators) occurs 10 times
    assert (
        reason(text, only("top_ngram_char_frac", top_ngram_char_frac={n: share - 0.001}))
        == f"gopher_top_{n}gram"
    )
    assert reason(text, only("top_ngram_char_frac", top_ngram_char_frac={n: share})) is None


def test_an_ngram_seen_once_is_no_repetition():
    assert reason("alpha beta gamma", only("top_ngram_char_frac", top_ngram_char_frac={3: 0.0})) is None
    assert reason("alpha beta gamma alpha beta gamma", only("top_ngram_char_frac")) == "gopher_top_2gram"


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_dup_ngram_rules(n):
    block = distinct_words(n)
    # the block once and then again: its second copy (n words x 6 chars) repeats an earlier n-gram
    text = " ".join(block + distinct_words(30, start=100) + block)
    share = n * 6 / len(text)
    assert (
        reason(text, only("dup_ngram_char_frac", dup_ngram_char_frac={n: share - 0.001}))
        == f"gopher_dup_{n}gram"
    )
    assert reason(text, only("dup_ngram_char_frac", dup_ngram_char_frac={n: share})) is None
    # a repeat one word shorter than n is no repeated n-gram at all
    shorter = " ".join(block[:-1] + distinct_words(30, start=100) + block[:-1])
    assert reason(shorter, only("dup_ngram_char_frac", dup_ngram_char_frac={n: 0.0})) is None


def test_published_defaults_on_pages_and_spam():
    cfg = GopherRepetitionConfig()
    assert reasons([EN_PAGE, DE_PAGE, ZH_PAGE, JA_PAGE], cfg) == [None] * 4
    spam = reasons(list(ZH_SPAM.values()), cfg)
    assert spam[:3] == ["gopher_top_2gram", "gopher_top_2gram", "gopher_dup_line_frac"]
    doubled = EN_PAGE + "\n" + EN_PAGE.replace("\n", " ")
    assert reason(doubled, cfg) == "gopher_dup_5gram"


def test_cjk_repetition_uses_character_ngrams():
    # a Chinese slogan repeated without spaces is one whitespace "word": only character n-grams see it
    slogan = "限时抢购全场五折优惠" * 8
    # unscaled: each character 2-gram is 8 x 2 of 80 chars (0.2, not above); 3-grams 8 x 3 of 80
    assert reason(slogan, only("top_ngram_char_frac", cjk_ngram_scale=1)) == "gopher_top_3gram"
    # scaled (default 2): the "2-gram" rule looks at 4-character n-grams, 8 x 4 of 80
    assert reason(slogan, only("top_ngram_char_frac")) == "gopher_top_2gram"


def test_cjk_documents_get_longer_ngrams():
    # a clean Japanese text that names the same long katakana term again and again
    text = (
        "ファイルシステムを調べるときは、まずファイルシステムの種類を確認します。"
        "次に、ファイルシステムのブロックサイズとスーパーブロックの位置を表示させます。"
        "壊れたファイルシステムでは、予備のスーパーブロックを指定して読み込むこともできます。"
        "作業の前には、必ずファイルシステムをアンマウントしてください。"
        "ファイルシステムの情報は、管理者が障害を調べるときに役立ちます。"
    )
    assert reason(text, only("dup_ngram_char_frac")) is None
    assert reason(text, only("dup_ngram_char_frac", cjk_ngram_scale=1)) == "gopher_dup_5gram"
    assert reason(ZH_PAGE, only("top_ngram_char_frac", "dup_ngram_char_frac")) is None


def test_empty_and_null_texts():
    assert reasons([], GopherRepetitionConfig()) == []
    assert reasons(["", None, " \n\n "], GopherRepetitionConfig()) == [None, None, None]


# --- the vectorised n-gram counts against a plain per-document implementation -----------------


def plain_top(tokens: list[str], n: int) -> int:
    grams = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    if not grams or max(grams.values()) < 2:
        return 0
    top = max(grams.values())
    return max(top * sum(map(len, g)) for g, c in grams.items() if c == top)


def plain_dup(tokens: list[str], n: int) -> int:
    seen, covered = set(), [False] * len(tokens)
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        if gram in seen:
            covered[i : i + n] = [True] * n
        seen.add(gram)
    return sum(len(t) for t, c in zip(tokens, covered, strict=True) if c)


token = st.sampled_from(["a", "bb", "ccc", "的", "花", "x1", "--"])
document = st.lists(token, max_size=40).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(document, min_size=1, max_size=6))
def test_vectorised_counts_match_plain_python(docs):
    sizes = (2, 3, 5)
    fractions = ngram_fractions(pl.Series(docs, dtype=pl.String), top=sizes, dup=sizes)
    for i, doc in enumerate(docs):
        tokens, chars = words(doc), max(len(doc), 1)
        for n in sizes:
            assert fractions[f"top_{n}"][i] == pytest.approx(plain_top(tokens, n) / chars)
            assert fractions[f"dup_{n}"][i] == pytest.approx(plain_dup(tokens, n) / chars)


def test_equal_ngrams_in_different_documents_are_not_repeats():
    page = " ".join(distinct_words(40))
    fractions = ngram_fractions(pl.Series([page, page, page]), top=[2], dup=[5])
    assert np.all(fractions["top_2"] == 0) and np.all(fractions["dup_5"] == 0)


@pytest.mark.parametrize(
    "bad", [{"dup_line_frac": 1.2}, {"top_ngram_char_frac": {0: 0.1}}, {"dup_ngram_char_frac": {5: -1}}]
)
def test_invalid_options_are_rejected(bad):
    with pytest.raises(ValueError):
        GopherRepetitionConfig(**bad)
