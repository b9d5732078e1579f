"""Tests of the clean stage: each step triggers where it should and not where it shouldn't."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from curate.records import MESSAGES_DTYPE, TextView
from curate.stages import REGISTRY
from curate.stages import clean as clean_module
from curate.stages.clean import (
    CLEAN,
    DEFAULT_BOILERPLATE,
    CleanConfig,
    apply_clean,
    clean_text,
    clean_texts,
    drop_surrogates,
    is_card_number,
)

HTML = CleanConfig(strip_html=True)
NO_PII = CleanConfig(pii=())


def text_batch(texts: list[str | None], **extra: list) -> pl.DataFrame:
    ids = [f"r{i}" for i in range(len(texts))]
    columns = {"id": ids, "source": ["web"] * len(texts), "text": texts, "meta": ["{}"] * len(texts), **extra}
    return pl.DataFrame(columns, schema_overrides={"text": pl.String})


def chat_batch(conversations: list[list[dict[str, str]] | None]) -> pl.DataFrame:
    n = len(conversations)
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "source": ["sft"] * n,
            "messages": conversations,
            "meta": ["{}"] * n,
        },
        schema={"id": pl.String, "source": pl.String, "messages": MESSAGES_DTYPE, "meta": pl.String},
    )


# ---- config --------------------------------------------------------------------------------


def test_registered_and_empty_config_is_valid() -> None:
    assert REGISTRY["clean"] is CLEAN
    assert CLEAN.config is CleanConfig
    cfg = CleanConfig.model_validate({})
    assert cfg.normalize == "NFC" and cfg.pii == ("email", "ip", "phone", "card") and cfg.strip_html is False


def test_recipe_example_config() -> None:
    cfg = CleanConfig.model_validate({"normalize": "NFKC", "strip_html": True, "min_chars": 200})
    assert (cfg.normalize, cfg.strip_html, cfg.min_chars) == ("NFKC", True, 200)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"normalise": "NFC"}, "normalise"),
        ({"normalize": "NFD"}, "normalize"),
        ({"pii": ["email", "ssn"]}, "pii"),
        ({"boilerplate_patterns": ["(unclosed"]}, "boilerplate_patterns"),
        ({"min_chars": -1}, "min_chars"),
        ({"min_chars": 10, "max_chars": 5}, "max_chars"),
        ({"min_words": 10, "max_words": 5}, "max_words"),
    ],
)
def test_bad_options_name_the_field(options: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        CleanConfig.model_validate(options)


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        CleanConfig().min_chars = 3  # type: ignore[misc]


def test_every_option_has_a_description() -> None:
    assert all(f.description for f in CleanConfig.model_fields.values())


# ---- characters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b\x07c", "abc"),
        ("a\u200bb", "ab"),
        ("\ufeffhello", "hello"),
        ("Silben\u00adtrennung", "Silbentrennung"),
        ("a\x85b", "a\nb"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("a\u2028b", "a\nb"),
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC composes
        ("e\x00\u0301", "\u00e9"),  # control removed before normalising
    ],
)
def test_control_and_invisible_characters(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # ZWJ emoji sequence
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian needs ZWNJ
        "tab\tseparated",  # with whitespace normalisation off, tabs stay
    ],
)
def test_meaningful_invisible_characters_stay(kept: str) -> None:
    assert clean_text(kept, CleanConfig(normalize_whitespace=False)) == kept


def test_control_removal_can_be_turned_off() -> None:
    assert clean_text("a\x07b", CleanConfig(remove_control=False)) == "a\x07b"


@pytest.mark.parametrize(
    ("form", "raw", "expected"),
    [
        ("NFC", "\uff21\uff22\uff23 \ufb01 x\u00b2", "\uff21\uff22\uff23 \ufb01 x\u00b2"),
        ("NFKC", "\uff21\uff22\uff23 \ufb01 x\u00b2", "ABC fi x2"),
        ("NFKC", "\u3000indented", "indented"),
        ("none", "e\u0301", "e\u0301"),
    ],
)
def test_unicode_normalisation(form: str, raw: str, expected: str) -> None:
    assert clean_text(raw, CleanConfig(normalize=form)) == expected


# ---- whitespace ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a  b", "a b"),
        ("a\t\tb\tc", "a b c"),
        ("a\u00a0\u00a0b", "a b"),
        ("a   \nb\t\n", "a\nb"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("a\n \n\t\n \nb", "a\n\nb"),
        ("   padded   ", "padded"),
        ("  indented line\nnext", "indented line\nnext"),
        ("a\n\nb", "a\n\nb"),  # one blank line stays
        ("single spaces stay", "single spaces stay"),
    ],
)
def test_whitespace(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_keep_indentation() -> None:
    code = "def f():\n    return  1   \n\n\n\n\tpass"
    assert clean_text(code, CleanConfig(keep_indentation=True)) == "def f():\n    return 1\n\n\tpass"
    assert clean_text(code) == "def f():\nreturn 1\n\npass"


def test_whitespace_can_be_left_alone() -> None:
    assert clean_text("a  b\n\n\n\nc  ", CleanConfig(normalize_whitespace=False)) == "a  b\n\n\n\nc  "


# ---- HTML ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Hello</p><p>World</p>", "Hello\n\nWorld"),
        ("first<br>second<br/>third", "first\nsecond\nthird"),
        ("<h1>Title</h1>Text", "Title\nText"),
        ("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ('<a href="/x">link</a> and <b>bold</b>', "link and bold"),
        ("<script>var a = 1 < 2;</script><p>Text</p>", "Text"),
        ("<style>p { color: red }</style><div>Body</div>", "Body"),
        ("<noscript>Enable JS</noscript><div>Hi</div>", "Hi"),
        ("<!-- a comment --><p>Shown</p>", "Shown"),
        ("<!DOCTYPE html><html><body><p>x</p></body></html>", "x"),
        ("<img src='a.png' alt=\"x > y\"/><p>ok</p>", "ok"),
        ("<p>Fish &amp; chips &eacute;t&eacute; &#233; &#x4e2d;&#x6587;</p>", "Fish & chips été é 中文"),
        ("<p>write to <EMAIL></p>", "write to <EMAIL>"),
        ("Fish &amp; chips", "Fish & chips"),  # entities are decoded in plain text too
        ("a &amp;lt; b", "a < b"),  # double-escaped
        ("<P CLASS='x'>Upper</P>", "Upper"),
        ("<p>Word<o:p></o:p></p>", "Word"),
        ("<p>see <info:gcc></p>", "see <info:gcc>"),  # a URI, not a namespaced tag
    ],
)
def test_html_is_stripped(raw: str, expected: str) -> None:
    assert clean_text(raw, HTML) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "a < b and c > d",
        "if x<y and y>z then",
        "List<String> names = new ArrayList<>();",
        "usage: cp <source> <dest>",  # no HTML markers: the document is plain text
        "AT&T and Q&A and R&D",
        "1 <= 2 >= 0",
        "<EMAIL> and <PHONE>",
        "x</y>z",  # not an HTML tag name
        "Close bold with </b> when done.",  # one tag quoted in plain text is not a web page
        "<br> alice: hi\n<bob> hello",  # IRC nicks
        "memcpy(&param, &para_x, n); &copy",  # entities without ';' are code, not HTML
    ],
)
def test_text_that_merely_contains_angle_brackets_stays(kept: str) -> None:
    assert clean_text(kept, HTML) == kept


def test_html_is_left_alone_when_off() -> None:
    raw = "<p>Hello &amp; bye</p>"
    assert clean_text(raw, CleanConfig()) == raw


def test_html_counter() -> None:
    result = clean_texts(pl.Series(["<p>a</p>", "plain", "x &amp; y"]), HTML)
    assert result.counters["html.texts_changed"] == 2


# ---- PII -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail john.doe@example.com now", "mail <EMAIL> now"),
        ("a.b+tag@sub.example.co.uk.", "<EMAIL>."),
        ("escribe a josé.garcía@correo.es hoy", "escribe a <EMAIL> hoy"),
        ("иван@почта.рф", "<EMAIL>"),
        ("请联系support@example.com请回复", "请联系<EMAIL>请回复"),
        ("server 192.168.0.1 is down", "server <IP_ADDRESS> is down"),
        ("dns 8.8.8.8.", "dns <IP_ADDRESS>."),
        ("http://10.0.0.1:8080/x", "http://<IP_ADDRESS>:8080/x"),
        ("host 2001:db8:85a3::8a2e:370:7334 up", "host <IP_ADDRESS> up"),
        ("link-local fe80::1ff:fe23:4567:890a", "link-local <IP_ADDRESS>"),
        ("released 1.2.3.4", "released <IP_ADDRESS>"),  # the documented ambiguity: masked
        ("call +49 30 1234567", "call <PHONE>"),
        ("call +1 (555) 234-5678", "call <PHONE>"),
        ("call +33612345678", "call <PHONE>"),
        ("call (555) 234-5678", "call <PHONE>"),
        ("call 555-234-5678 or 555.234.5678", "call <PHONE> or <PHONE>"),
        ("call 1-800-555-0199", "call <PHONE>"),
        ("Tel. 030 1234 5678", "Tel. <PHONE>"),
        ("appelez le 06 12 34 56 78", "appelez le <PHONE>"),
        ("ring 020 7946 0958", "ring <PHONE>"),
        ("card 4111 1111 1111 1111", "card <CARD>"),
        ("card 4111-1111-1111-1111", "card <CARD>"),
        ("card 4111111111111111 exp 12/25", "card <CARD> exp 12/25"),
        ("card 4111 1111 1111 1111 2024", "card <CARD> 2024"),
        ("amex 3782 822463 10005", "amex <CARD>"),
        ("mc 5555555555554444", "mc <CARD>"),
        ("disc 6011111111111117", "disc <CARD>"),
    ],
)
def test_pii_is_masked(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "user@localhost and @handle and a@b",
        "version 1.2.3.4 and v1.2.3.4 and Version: 10.0.0.1",
        "section 2.1.3.4 and § 1.2.3.4",
        "1.2.3.4.5 and 999.1.1.1 and 10.0.0 and 01.02.03.04",
        "::1 and std::vector and a::b",
        "at 12:30:45 and Matthew 3:16 and 00:1A:2B:3C:4D:5E",
        "born 2023-01-15, due 15.01.2024, seen 01/02/2023 14:30",
        "from 1999-2005 and 2010-2020",
        "(2019) 123 4567",
        "in 2024 and 2025 there were 1 234 567 people",
        "price 1,234,567.89 and 12345 and 0.5",
        "ISBN 978-3-16-148410-0 and 0-306-40615-2",
        "id 1234567890123456",  # starts with 1: no card issuer
        "bad 4111111111111112",  # fails Luhn
        "grouped 4111 1111 1111 1112",
        "zeros 0000 0000 0000 0000",
        "ts 1700000000000 and 9781234567897",
        "pi 3.14159265358979323846",
        "+12",
    ],
)
def test_pii_false_positives_stay(kept: str) -> None:
    assert clean_text(kept) == kept


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ((), "a@b.com 10.0.0.1 +49 30 1234567 4111111111111111"),
        (("email",), "<EMAIL> 10.0.0.1 +49 30 1234567 4111111111111111"),
        (("ip",), "a@b.com <IP_ADDRESS> +49 30 1234567 4111111111111111"),
        (("phone",), "a@b.com 10.0.0.1 <PHONE> 4111111111111111"),
        (("card",), "a@b.com 10.0.0.1 +49 30 1234567 <CARD>"),
    ],
)
def test_pii_kinds_are_toggled(kinds: tuple, expected: str) -> None:
    raw = "a@b.com 10.0.0.1 +49 30 1234567 4111111111111111"
    assert clean_text(raw, CleanConfig(pii=kinds)) == expected


def test_pii_counters() -> None:
    texts = pl.Series(["a@b.com c@d.org", "10.0.0.1 and fe80::1ff:fe23:4567:890a", "+49 30 1234567", "none"])
    counters = clean_texts(texts).counters
    assert (counters["pii.email"], counters["pii.ip"], counters["pii.phone"], counters["pii.card"]) == (
        2,
        2,
        1,
        0,
    )


@pytest.mark.parametrize(
    ("number", "card"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("3782 822463 10005", True),
        ("4111 11111 111 1111", False),  # not card grouping
        ("4111-1111 1111-1111", False),  # mixed separators
        ("9111111111111111", False),
        ("411111111111", False),  # 12 digits
    ],
)
def test_is_card_number(number: str, card: bool) -> None:
    assert is_card_number(number) is card


def test_pii_masking_work_is_linear_on_long_runs(monkeypatch) -> None:
    """Long runs of digits and separators: Rust's regexes (linear by construction, no backtracking)
    mark candidate spans, and the Python check (quadratic in a span's pieces) only ever sees short
    spans, so doubling the runs at most doubles its work. Work counted, not timed: a wall-clock
    bound fails on a busy machine for reasons that are not bugs (bench/bench_clean.py times it)."""
    checked: list[int] = []
    mask_span = clean_module._mask_span

    def counted(span: str, *args):
        checked.append(len(span))
        return mask_span(span, *args)

    monkeypatch.setattr(clean_module, "_mask_span", counted)
    work = []
    for n in (1, 2):
        checked.clear()
        nasty = ["1" * 50_000, "+1 " * 5_000, "ab:" * 10_000, "1." * 20_000, "(12) " * 5_000, "0 12 " * 5_000]
        out = clean_texts(pl.Series([text * n for text in nasty])).texts.to_list()
        assert out[0] == "1" * 50_000 * n
        assert max(checked, default=0) <= 67  # the longest span a candidate pattern matches (a phone)
        work.append(sum(checked))
    assert work[1] <= 2 * work[0]


# ---- boilerplate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "group"),
    [
        ("We use cookies to improve your experience.", "cookies"),
        ("By continuing to browse this site, you agree to our use of cookies.", "cookies"),
        ("Accept all cookies", "cookies"),
        ("Diese Website verwendet Cookies.", "cookies"),
        ("Ce site utilise des cookies.", "cookies"),
        ("Este sitio web utiliza cookies para mejorar su experiencia.", "cookies"),
        ("本网站使用cookie以改善体验", "cookies"),
        ("© 2024 Acme Corp. All rights reserved.", "rights_reserved"),
        ("Alle Rechte vorbehalten.", "rights_reserved"),
        ("Tous droits réservés", "rights_reserved"),
        ("Todos los derechos reservados.", "rights_reserved"),
        ("版权所有 © 2024", "rights_reserved"),
        ("Subscribe to our newsletter", "newsletter"),
        ("Jetzt Newsletter abonnieren!", "newsletter"),
        ("Abonnez-vous à notre newsletter", "newsletter"),
        ("Suscríbete a nuestro boletín", "newsletter"),
        ("订阅我们的新闻通讯", "newsletter"),
        ("Click here to download the brochure.", "click_here"),
        ("Klicken Sie hier für mehr.", "click_here"),
        ("Cliquez ici pour continuer", "click_here"),
        ("Haz clic aquí para ver más", "click_here"),
        ("点击这里查看详情", "click_here"),
        ("Share on Facebook", "share"),
        ("Facebook Twitter LinkedIn Email", "share"),
        ("Auf Facebook teilen", "share"),
        ("Partager sur Twitter", "share"),
        ("Compartir en WhatsApp", "share"),
        ("分享到微信", "share"),
        ("Skip to main content", "skip_links"),
        ("Zum Inhalt springen", "skip_links"),
        ("Aller au contenu", "skip_links"),
        ("Saltar al contenido", "skip_links"),
        ("跳转到主要内容", "skip_links"),
        ("Log in / Sign up", "login"),
        ("Sign in", "login"),
        ("Anmelden | Registrieren", "login"),
        ("Connexion", "login"),
        ("Iniciar sesión o Regístrate", "login"),
        ("登录 / 注册", "login"),
        ("Please enable JavaScript to view the comments.", "javascript"),
        ("Read more »", "read_more"),
        ("Back to top ↑", "skip_links"),
        ("• Login", "login"),
        ("[Sign in]", "login"),
        ("Weiterlesen", "read_more"),
    ],
)
def test_boilerplate_lines_are_removed(line: str, group: str) -> None:
    result = clean_texts(pl.Series([f"First real line.\n{line}\nLast real line."]), NO_PII)
    assert result.texts[0] == "First real line.\nLast real line."
    assert result.counters["lines_removed.boilerplate"] == 1
    assert result.counters[f"lines_removed.boilerplate.{group}"] == 1


@pytest.mark.parametrize(
    "kept",
    [
        "I baked chocolate chip cookies for the kids.",
        "Log in to the server with ssh before you start.",
        "Share your thoughts in the comments below.",
        "The cookie jar was empty, as were all the rights we had reserved for ourselves.",
        "Sign up sheets for the marathon are at the front desk.",
        "Read more books.",
        "--login",  # a command-line option in a man page
        "If you have no account yet, you will have to\nregister.",  # hard-wrapped sentence
        "Der Wert wird nach\noben.",
        # a long paragraph that mentions a pattern in passing is not boilerplate
        "In 2018 regulators found that the site uses cookies to track visitors across pages, " * 5,
    ],
)
def test_prose_is_not_boilerplate(kept: str) -> None:
    assert clean_text(kept, NO_PII) == kept.strip()


def test_user_patterns_and_switching_builtins_off() -> None:
    text = "Keep me.\nSponsored by ACME\nAll rights reserved."
    assert clean_text(text, CleanConfig(boilerplate_patterns=(r"^sponsored by",))) == "Keep me."
    assert clean_text(text, CleanConfig(boilerplate=False)) == text
    only_user = CleanConfig(boilerplate=False, boilerplate_patterns=(r"^sponsored by",))
    assert clean_text(text, only_user) == "Keep me.\nAll rights reserved."


def test_boilerplate_removal_leaves_tidy_whitespace() -> None:
    text = "Skip to content\n\nPara one.\n\nAll rights reserved.\n\nPara two.\n\nShare on Facebook"
    assert clean_text(text) == "Para one.\n\nPara two."


def test_builtin_word_boundaries_touch_only_ascii_letters() -> None:
    # Built-in \b becomes an ASCII boundary for speed; next to a non-ASCII letter it would never match.
    for patterns in DEFAULT_BOILERPLATE.values():
        for pattern in patterns:
            for match in re.finditer(r"\\b", pattern):
                before, after = (
                    pattern[match.start() - 1 : match.start()],
                    pattern[match.end() : match.end() + 1],
                )
                assert before.isascii() and after.isascii(), pattern


# ---- length bounds and records -------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "text", "reason"),
    [
        ({}, "", "clean_empty_after_clean"),
        ({}, " \n\t ", "clean_empty_after_clean"),
        ({"strip_html": True}, "<script>x()</script>", "clean_empty_after_clean"),
        ({"min_chars": 10}, "too short", "clean_too_short"),
        ({"min_chars": 9}, "too short", None),
        ({"max_chars": 5}, "too long", "clean_too_long"),
        ({"min_words": 3}, "two words", "clean_too_few_words"),
        ({"max_words": 1}, "two words", "clean_too_many_words"),
        ({"min_words": 2, "max_words": 2}, "two words", None),
        ({"min_chars": 10}, "short   \n\n\n   ", "clean_too_short"),  # bounds apply after cleaning
    ],
)
def test_length_bounds(options: dict, text: str, reason: str | None) -> None:
    result = apply_clean(text_batch([text]), CleanConfig.model_validate(options))
    if reason is None:
        assert result.kept.height == 1 and result.dropped.height == 0
    else:
        assert result.dropped["reason"].to_list() == [reason]


def test_cjk_text_is_not_destroyed_by_word_bounds() -> None:
    chinese = "数据清洗是训练语言模型之前的重要步骤它可以去除噪声并提高质量" * 2  # 60 characters, no spaces
    japanese = "データの品質は言語モデルの性能を大きく左右します" * 3
    result = apply_clean(text_batch([chinese, japanese]), CleanConfig(min_words=20, max_words=200))
    assert result.kept["text"].to_list() == [chinese, japanese]


def test_text_batch_keeps_ids_columns_and_order() -> None:
    texts = ["Hello  world", "", "x", "A fine sentence.", None]
    batch = text_batch(texts, lang=["en"] * 5)
    result = apply_clean(batch, CleanConfig(min_chars=2))
    assert result.kept["id"].to_list() == ["r0", "r3"]
    assert result.kept["text"].to_list() == ["Hello world", "A fine sentence."]
    assert result.kept.columns == batch.columns
    assert result.dropped.columns == [*batch.columns, "reason"]
    assert dict(zip(result.dropped["id"], result.dropped["reason"], strict=True)) == {
        "r1": "clean_empty_after_clean",
        "r2": "clean_too_short",
        "r4": "clean_empty_after_clean",
    }
    assert result.counters["texts"] == 5 and result.counters["texts_changed"] >= 1


def test_dropped_records_carry_cleaned_text_without_pii() -> None:
    result = apply_clean(text_batch(["mail a@b.com"]), CleanConfig(min_chars=50))
    assert result.dropped["text"].to_list() == ["mail <EMAIL>"]


def test_chat_records_are_cleaned_per_message() -> None:
    batch = chat_batch(
        [
            [
                {"role": "system", "content": "Be  helpful.\x00"},
                {"role": "user", "content": "My mail is a@b.com  <b>thanks</b></p>"},
                {"role": "assistant", "content": "Noted.\n\n\n\nAll rights reserved."},
            ],
            [],
            None,
            [{"role": "user", "content": "  \u200b "}],
        ]
    )
    result = apply_clean(batch, HTML)
    assert result.kept["id"].to_list() == ["c0"]
    assert result.kept["messages"].to_list()[0] == [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "My mail is <EMAIL> thanks"},
        {"role": "assistant", "content": "Noted."},
    ]
    assert result.dropped["reason"].to_list() == ["clean_empty_after_clean"] * 3
    assert result.dropped["messages"].to_list()[:2] == [[], None]
    assert result.kept.schema == batch.schema


def test_chat_length_bounds_use_the_text_view() -> None:
    batch = chat_batch(
        [
            [{"role": "user", "content": "a long question " * 5}, {"role": "assistant", "content": "ok"}],
            [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a long answer " * 5}],
        ]
    )
    assistant_only = CleanConfig(min_chars=20, view=TextView(roles=("assistant",)))
    result = apply_clean(batch, assistant_only)
    assert result.kept["id"].to_list() == ["c1"]
    assert result.dropped["reason"].to_list() == ["clean_too_short"]
    assert apply_clean(batch, CleanConfig(min_chars=20)).kept.height == 2


def test_preference_records_clean_every_field() -> None:
    def turn(role: str, content: str) -> list[dict[str, str]]:
        return [{"role": role, "content": content}]

    batch = pl.DataFrame(
        {
            "id": ["p0"],
            "source": ["pref"],
            "prompt": [turn("user", "Q  from a@b.com")],
            "chosen": [turn("assistant", "Good\x07 answer")],
            "rejected": [turn("assistant", "Bad   answer\n\n\n\n")],
            "meta": ["{}"],
        },
        schema_overrides={"prompt": MESSAGES_DTYPE, "chosen": MESSAGES_DTYPE, "rejected": MESSAGES_DTYPE},
    )
    kept = apply_clean(batch, CleanConfig()).kept
    assert kept["prompt"].to_list() == [turn("user", "Q from <EMAIL>")]
    assert kept["chosen"].to_list() == [turn("assistant", "Good answer")]
    assert kept["rejected"].to_list() == [turn("assistant", "Bad answer")]


@pytest.mark.parametrize("batch", [text_batch([]), chat_batch([])])
def test_empty_batch(batch: pl.DataFrame) -> None:
    result = apply_clean(batch, CleanConfig())
    assert result.kept.height == 0 and result.dropped.height == 0
    assert result.dropped.columns == [*batch.columns, "reason"]


@pytest.mark.parametrize(
    "column",
    [
        pl.Series("text", [None, None], dtype=pl.Null),
        pl.Series("text", [None, "ok text"], dtype=pl.String),
        pl.Series("text", [1, 22], dtype=pl.Int64),
        pl.Series("text", ["\x00\x01", "\ufeff\u200b"], dtype=pl.String),
        pl.Series("text", ["x" * 200_000, "\n" * 10_000], dtype=pl.String),
    ],
)
def test_odd_text_never_crashes(column: pl.Series) -> None:
    batch = pl.DataFrame({"id": ["a", "b"], "source": ["s", "s"], "meta": ["{}", "{}"]}).with_columns(column)
    result = apply_clean(batch, HTML)
    assert result.kept.height + result.dropped.height == 2


def test_drop_surrogates() -> None:
    assert drop_surrogates("a\ud800b") == "ab"
    assert drop_surrogates("\ud83d\ude00") == "\U0001f600"
    assert drop_surrogates("plain") == "plain"


# ---- properties ----------------------------------------------------------------------------

FRAGMENTS = [
    " ", "  ", "\t", "\n", "\n\n\n", "\r\n", "\x00", "\u200b", "\ufeff", "\u00a0", "\u3000", "\u0301", "e",
    "<p>", "</p>", "<br>", "<b>", "</b>", "<script>x</script>", "<!--", "-->", "<", ">", "&", ";", "&amp;",
    "&lt;", "&gt;", "&#233;", "&#x3c;", "&amp;lt;b&amp;gt;", "\uff1c", "\uff06", "\uff20", "a < b", "List<T>",
    "john@example.com", "@", ".", ":", "::", "-", "+", "(", ")", "192.168.1.1", "1.2.3.4.5", "fe80::1:2:3",
    "+49 30 1234567", "(555) 234-5678", "555-234-5678", "06 12 34 56 78", "4111 1111 1111 1111", "4111",
    "2024-01-15", "0", "1", "7", "version ", "<EMAIL>", "We use cookies.", "All rights reserved", "Log in",
    "Share on Facebook", "Skip to content", "版权所有", "数据清洗", "\ufb01", "x\u00b2", "Hello world.",
]  # fmt: skip

documents = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map("".join)
CONFIGS = [
    CleanConfig(),
    CleanConfig(strip_html=True, normalize="NFKC"),
    CleanConfig(strip_html=True, keep_indentation=True, boilerplate_patterns=(r"^\d+$",)),
    CleanConfig(normalize_whitespace=False, remove_control=False, normalize="none"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "html-nfkc", "indent", "minimal"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(documents, min_size=1, max_size=8))
def test_clean_is_idempotent(cfg: CleanConfig, texts: list[str]) -> None:
    once = clean_texts(pl.Series(texts, dtype=pl.String), cfg).texts
    twice = clean_texts(once, cfg).texts
    assert twice.to_list() == once.to_list()


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), documents), max_size=12),
    min_chars=st.integers(0, 20),
    min_words=st.integers(0, 4),
)
def test_kept_plus_dropped_is_the_input(texts: list[str | None], min_chars: int, min_words: int) -> None:
    batch = text_batch(texts)
    result = apply_clean(batch, CleanConfig(strip_html=True, min_chars=min_chars, min_words=min_words))
    assert result.kept.height + result.dropped.height == batch.height
    assert sorted(result.kept["id"].to_list() + result.dropped["id"].to_list()) == sorted(
        batch["id"].to_list()
    )
    assert result.dropped["reason"].null_count() == 0
    assert all(text.strip() for text in result.kept["text"].to_list())
