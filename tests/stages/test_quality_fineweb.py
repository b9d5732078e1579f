"""FineWeb rules: each triggers at its threshold and not on the other side of it."""

from __future__ import annotations

import polars as pl
import pytest

from curate.stages.quality import FineWebConfig, fineweb_reasons
from tests.stages.quality_texts import DE_PAGE, EN_PAGE, JA_PAGE, ZH_PAGE, ZH_SPAM

THRESHOLDS = ("line_punct_thr", "short_line_thr", "char_duplicates_ratio", "new_line_ratio")
LONG = "this is a long line of text that is well above thirty characters"


def only(*keep: str, **overrides) -> FineWebConfig:
    return FineWebConfig(**{**{name: None for name in THRESHOLDS if name not in keep}, **overrides})


def reasons(texts: list[str | None], cfg: FineWebConfig) -> list[str | None]:
    return fineweb_reasons(pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}), cfg).to_list()


def reason(text: str, cfg: FineWebConfig) -> str | None:
    return reasons([text], cfg)[0]


def lines(*parts: tuple[str, int]) -> str:
    """Lines made of (template, count) parts; '{i}' in a template numbers the lines."""
    out, i = [], 0
    for template, count in parts:
        for _ in range(count):
            out.append(template.format(i=i))
            i += 1
    return "\n".join(out)


def test_defaults_are_the_published_ones():
    cfg = FineWebConfig()
    assert cfg.line_punct_thr == 0.12 and cfg.line_punct_exclude_zero is False
    assert cfg.short_line_thr == 0.67 and cfg.short_line_length == 30
    assert cfg.char_duplicates_ratio == 0.01
    assert cfg.new_line_ratio == 0.3
    assert set(cfg.stop_chars) >= {".", "'", '"', "!", "?"}


@pytest.mark.parametrize(
    ("rule", "text", "options", "expected"),
    [
        # share of lines ending in a stop character: 3/25 = 0.12 drops (<=), 4/25 keeps
        ("line_punct_thr", lines((LONG + " {i}.", 3), (LONG + " {i}", 22)), {}, "fineweb_line_punct_ratio"),
        ("line_punct_thr", lines((LONG + " {i}.", 4), (LONG + " {i}", 21)), {}, None),
        ("line_punct_thr", lines((LONG + " {i}", 10)), {}, "fineweb_line_punct_ratio"),
        ("line_punct_thr", lines((LONG + " {i}", 10)), {"line_punct_exclude_zero": True}, None),
        # blank lines are not lines: paragraphs separated by blank lines do not halve the share
        ("line_punct_thr", "\n\n\n".join([LONG + " a.", LONG + " b"] + [LONG + " c"] * 6), {}, None),
        ("line_punct_thr", ZH_PAGE, {}, None),
        # short lines (<= 30 wide): 2 of 3 (0.67) drops, 1 of 2 keeps
        (
            "short_line_thr",
            lines(("short {i}.", 2), (LONG + ".", 1)),
            {"short_line_thr": 0.66},
            "fineweb_short_line_ratio",
        ),
        ("short_line_thr", lines(("short {i}.", 67), (LONG + " {i}.", 33)), {}, "fineweb_short_line_ratio"),
        ("short_line_thr", lines(("short {i}.", 66), (LONG + " {i}.", 34)), {}, None),
        ("short_line_thr", "\n\n".join(["short."] * 3 + [LONG] * 3), {}, None),
        # CJK characters are two wide: 15 of them make a short line, 16 do not
        ("short_line_thr", lines(("短" * 15, 10)), {}, "fineweb_short_line_ratio"),
        ("short_line_thr", lines(("短" * 16, 10)), {}, None),
        # repeated lines: any repeat above 1% of the characters
        ("char_duplicates_ratio", lines((LONG + " {i}.", 20), ("read more.", 2)), {}, None),
        (
            "char_duplicates_ratio",
            lines((LONG + " {i}.", 20), ("read more here today.", 2)),
            {},
            "fineweb_dup_line_char_ratio",
        ),
        ("char_duplicates_ratio", lines((LONG + " {i}.", 20)), {"char_duplicates_ratio": 0.0}, None),
        # line breaks per word: 0.3 keeps, above drops
        ("new_line_ratio", lines(("one two three {i}", 10)), {}, None),
        ("new_line_ratio", lines(("one {i}", 10)), {}, "fineweb_list_ratio"),
        ("new_line_ratio", "\n\n\n".join(["one two three"] * 10), {"char_duplicates_ratio": None}, None),
    ],
)
def test_rule(rule, text, options, expected):
    assert reason(text, only(rule, **options)) == expected


@pytest.mark.parametrize("page", [EN_PAGE, DE_PAGE, ZH_PAGE, JA_PAGE])
def test_clean_pages_pass(page):
    assert reason(page, FineWebConfig()) is None


def test_chinese_link_lists_fail():
    assert reason(ZH_SPAM["nav_menu"], FineWebConfig()) == "fineweb_line_punct_ratio"
    assert reason(ZH_SPAM["link_farm"], FineWebConfig()) == "fineweb_line_punct_ratio"


def test_first_failing_rule_in_order():
    menu = "\n".join(["Home", "About", "Contact", "Home"])
    assert reason(menu, FineWebConfig()) == "fineweb_line_punct_ratio"
    assert reason(menu, FineWebConfig(line_punct_thr=None)) == "fineweb_short_line_ratio"


def test_empty_and_null():
    assert reasons(["", None], FineWebConfig()) == ["fineweb_line_punct_ratio"] * 2
    assert reasons(["", None], FineWebConfig(line_punct_exclude_zero=True)) == [None, None]
    assert reasons([], FineWebConfig()) == []


@pytest.mark.parametrize(
    "bad", [{"line_punct_thr": 2}, {"short_line_length": -1}, {"stop_chars": []}, {"stop_chars": [""]}]
)
def test_invalid_options_are_rejected(bad):
    with pytest.raises(ValueError):
        FineWebConfig(**bad)
