"""C4 rules: the line filter (which lines survive) and the page rules (which documents drop)."""

from __future__ import annotations

import polars as pl
import pytest

from curate.stages.quality import C4Config, c4_reasons
from tests.stages.quality_texts import DE_PAGE, EN_PAGE, JA_PAGE, ZH_PAGE

GOOD = "This line is a plain sentence that ends well."


def run(texts: list[str | None], cfg: C4Config):
    return c4_reasons(pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}), cfg)


def kept_lines(text: str, **options) -> list[str]:
    """Lines C4 keeps of ``text`` with the sentence rule off (line rules only)."""
    result = run([text], C4Config(min_num_sentences=None, **options))
    return [line for line in result.text[0].split("\n") if line] if result.reasons[0] is None else []


def test_defaults_match_c4_and_datatrove():
    cfg = C4Config()
    assert cfg.filter_no_terminal_punct and cfg.remove_citations
    assert cfg.min_num_sentences == 5
    assert cfg.min_words_per_line == 3
    assert cfg.max_word_length == 1000
    assert cfg.filter_lorem_ipsum and cfg.filter_javascript and cfg.filter_curly_bracket and cfg.filter_policy
    assert set(cfg.end_punctuation) >= {".", "?", "!", '"', "'"}
    assert cfg.policy_substrings == (
        "terms of use",
        "privacy policy",
        "cookie policy",
        "uses cookies",
        "use of cookies",
        "use cookies",
    )


@pytest.mark.parametrize(
    ("line", "options", "kept"),
    [
        # terminal punctuation (after stripping), not an ellipsis
        ("A line without an ending", {}, False),
        ("A line without an ending", {"filter_no_terminal_punct": False}, True),
        ("A line that trails off...", {}, False),
        ("Does it ask a question?", {}, True),
        ('He said "it is fine."', {}, True),
        ("A line with trailing spaces.   ", {}, True),
        ("今天天气很好，我们去公园散步。", {}, True),
        ("今天天气很好，我们去公园散步", {}, False),
        ("「本当にそうですか」", {}, True),
        # words per line (a CJK character is a word)
        ("Two words.", {}, False),
        ("Three words here.", {}, True),
        ("好吗？", {}, True),
        ("好？", {}, False),
        ("Two words.", {"min_words_per_line": None}, True),
        # word length: a long token drops the line, a long Chinese line is many words
        ("See " + "x" * 1001 + " for more.", {}, False),
        ("See " + "x" * 1000 + " for more.", {}, True),
        ("长" * 1200 + "。", {}, True),
        ("See " + "x" * 1001 + " for more.", {"max_word_length": None}, True),
        # javascript and policy lines
        ("Please enable JavaScript to see the comments.", {}, False),
        ("Please enable JavaScript to see the comments.", {"filter_javascript": False}, True),
        ("By using this site you agree to our Terms of Use.", {}, False),
        ("This website uses cookies to improve your visit.", {}, False),
        ("Read our privacy policy before you sign up.", {"filter_policy": False}, True),
        ("We reviewed the policy for cookies and cakes.", {}, True),
    ],
)
def test_line_rules(line, options, kept):
    assert (kept_lines(f"{GOOD}\n{line}\n{GOOD}", **options) == [GOOD, line.strip(), GOOD]) == kept


def test_citations_are_removed_before_the_punctuation_check():
    assert kept_lines("Paris is the capital of France.[1]\nIt is large.[citation needed]") == [
        "Paris is the capital of France.",
        "It is large.",
    ]
    assert kept_lines("Paris is the capital of France.[1]", remove_citations=False) == []


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        (f"{GOOD}\nLorem ipsum dolor sit amet, consectetur.", {}, "c4_lorem_ipsum"),
        (f"{GOOD}\nLorem ipsum dolor sit amet, consectetur.", {"filter_lorem_ipsum": False}, None),
        # lorem ipsum in a line already dropped (no terminal punctuation) does not count, as in C4's code
        (f"{GOOD}\nLorem ipsum dolor sit amet", {}, None),
        (f"{GOOD}\nThe object looks like {{a: 1}} in the docs.", {}, "c4_curly_bracket"),
        (f"{GOOD}\nThe object looks like {{a: 1}} in the docs.", {"filter_curly_bracket": False}, None),
        (f"{GOOD}\nfunction main() {{", {}, None),
        # a javascript line is dropped before its curly bracket is looked at
        (f"{GOOD}\nThe javascript object {{a: 1}} is here.", {}, None),
        # lorem ipsum comes first in the fixed order
        ("The object {a: 1} is here.\nLorem ipsum dolor sit amet, consectetur.", {}, "c4_lorem_ipsum"),
    ],
)
def test_page_rules(text, options, expected):
    assert run([text], C4Config(min_num_sentences=None, **options)).reasons[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\n".join([GOOD] * 4), "c4_too_few_sentences"),
        ("\n".join([GOOD] * 5), None),
        ("One sentence here. Two sentences here! Three here?\nFour is here. Five is here.", None),
        ("One sentence here. Two sentences here! Three here?\nFour is here.", "c4_too_few_sentences"),
        # lines without terminal punctuation do not count
        ("\n".join([GOOD] * 4 + ["And a fifth line without an end"]), "c4_too_few_sentences"),
        ("今天很好。我们去了公园。孩子们在玩。\n老人们在散步。大家都很开心。", None),
        ("今天很好。我们去了公园。孩子们在玩。\n老人们在散步。", "c4_too_few_sentences"),
    ],
)
def test_min_sentences(text, expected):
    assert run([text], C4Config()).reasons[0] == expected


def test_no_lines_left_when_the_sentence_rule_is_off():
    assert run(["menu\nhome\nabout us"], C4Config(min_num_sentences=None)).reasons[0] == "c4_no_lines_left"


@pytest.mark.parametrize("page", [EN_PAGE, DE_PAGE, ZH_PAGE, JA_PAGE])
def test_clean_pages_pass_unchanged(page):
    result = run([page], C4Config())
    assert result.reasons[0] is None
    assert result.text[0] == page


def test_boilerplate_lines_are_removed_from_the_text():
    page = (
        "Home | News | Contact\n" + EN_PAGE + "\nThis site uses cookies to improve your experience.\n© 2024"
    )
    result = run([page], C4Config())
    assert result.reasons[0] is None
    assert result.text[0] == EN_PAGE
    assert result.counters["c4.lines_in"] == 9
    assert result.counters["c4.lines_kept"] == 6
    assert result.counters["c4.lines_dropped.no_terminal_punct"] == 2
    assert result.counters["c4.lines_dropped.policy"] == 1


def test_empty_null_and_no_rows():
    result = run(["", None], C4Config())
    assert result.reasons.to_list() == ["c4_too_few_sentences"] * 2
    assert run([], C4Config()).reasons.to_list() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"end_punctuation": [""]},
        {"end_punctuation": []},
        {"policy_substrings": ["ok", ""]},
        {"min_words_per_line": -1},
    ],
)
def test_invalid_options_are_rejected(bad):
    with pytest.raises(ValueError):
        C4Config(**bad)
