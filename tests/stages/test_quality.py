"""The quality stage as the pipe loop calls it: config shape, partition, text views, CJK, rewrite."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from curate.records import BASE_SCHEMA, TextView
from curate.stages import REGISTRY
from curate.stages.quality import STAGE, QualityConfig, apply_quality
from tests.stages.quality_texts import DE_PAGE, EN_PAGE, JA_PAGE, ZH_PAGE, ZH_SPAM

CLEAN = {"en": EN_PAGE, "de": DE_PAGE, "zh": ZH_PAGE, "ja": JA_PAGE}


def text_batch(texts: list[str | None], **columns) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "source": ["web"] * n,
            "text": pl.Series(texts, dtype=pl.String),
            "meta": ["{}"] * n,
            **columns,
        },
        schema_overrides=BASE_SCHEMA["text"],
    )


def chat_batch(conversations: list[list[tuple[str, str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(len(conversations))],
            "source": ["sft"] * len(conversations),
            "messages": [[{"role": r, "content": c} for r, c in conv] for conv in conversations],
            "meta": ["{}"] * len(conversations),
        },
        schema=BASE_SCHEMA["chat"],
    )


def test_registered_as_a_batch_stage():
    assert REGISTRY["quality"] is STAGE
    assert STAGE.name == "quality" and STAGE.config is QualityConfig


def test_empty_config_runs_every_rule_set_with_published_defaults():
    cfg = QualityConfig.model_validate({})
    assert cfg.enabled() == ["gopher_quality", "gopher_repetition", "c4", "fineweb"]
    assert cfg == QualityConfig.model_validate({"gopher": {}, "c4": {}, "fineweb": {}})
    assert cfg.gopher.quality.min_doc_words == 50 and cfg.c4.min_num_sentences == 5


def test_named_rule_sets_run_alone():
    assert QualityConfig.model_validate({"gopher": {}}).enabled() == ["gopher_quality", "gopher_repetition"]
    assert QualityConfig.model_validate({"c4": {}, "view": {"roles": ["assistant"]}}).enabled() == ["c4"]
    assert QualityConfig.model_validate({"gopher": {"repetition": None}, "fineweb": {}}).enabled() == [
        "gopher_quality",
        "fineweb",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"gopher": None},
        {"gopher": {"quality": None, "repetition": None}},
        {"gopher": {"min_doc_word": 3}},
        {"c4": {"treshold": 1}},
        {"fineweb": {"line_punct_thr": 1.5}},
        {"cjk_word_share": 2},
        {"unknown": {}},
    ],
)
def test_bad_configs_are_rejected(bad):
    with pytest.raises(ValidationError):
        QualityConfig.model_validate(bad)


def test_config_round_trips_through_json():
    cfg = QualityConfig.model_validate(
        {"gopher": {"repetition": {"top_ngram_char_frac": {2: 0.3}}}, "c4": {}}
    )
    assert QualityConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_clean_pages_in_four_languages_pass_every_rule_set():
    result = apply_quality(text_batch(list(CLEAN.values())), QualityConfig())
    assert result.dropped.height == 0, result.dropped.select("id", "reason").rows()
    assert result.kept["text"].to_list() == list(CLEAN.values())


@pytest.mark.parametrize("rule_set", ["gopher", "c4", "fineweb"])
@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_cjk_pages_pass_each_rule_set_alone(rule_set, lang):
    result = apply_quality(text_batch([CLEAN[lang]]), QualityConfig.model_validate({rule_set: {}}))
    assert result.kept.height == 1


@pytest.mark.parametrize("name", sorted(ZH_SPAM))
def test_chinese_spam_fails(name):
    result = apply_quality(text_batch([ZH_SPAM[name]]), QualityConfig())
    assert result.kept.height == 0
    assert result.dropped["reason"][0].split("_")[0] in {"gopher", "c4", "fineweb"}


def test_kept_and_dropped_partition_the_batch_with_ids_and_columns():
    texts = [EN_PAGE, "spam " * 80, None, ZH_PAGE, "", EN_PAGE + "\nLorem ipsum dolor sit amet, all good."]
    batch = text_batch(texts, extra=list(range(len(texts))))
    result = apply_quality(batch, QualityConfig())
    assert sorted(result.kept["id"].to_list() + result.dropped["id"].to_list()) == sorted(
        batch["id"].to_list()
    )
    assert result.kept.columns == batch.columns
    assert result.dropped.columns == [*batch.columns, "reason"]
    assert result.kept["id"].to_list() == ["r0", "r3"]
    assert dict(result.dropped.select("id", "reason").iter_rows()) == {
        "r1": "gopher_stop_words",
        "r2": "gopher_short_doc",
        "r4": "gopher_short_doc",
        "r5": "c4_lorem_ipsum",
    }
    assert result.dropped.filter(pl.col("id") == "r2")["text"][0] is None


def test_c4_rewrites_kept_text_records_only():
    page = "Home | News | Contact\n" + EN_PAGE + "\nThis site uses cookies to improve your experience."
    short = "Home\n" + "\n".join(EN_PAGE.split("\n")[:3])  # 3 sentences left: dropped by C4
    result = apply_quality(text_batch([page, short]), QualityConfig.model_validate({"c4": {}}))
    assert result.kept["text"].to_list() == [EN_PAGE]
    assert result.dropped["text"].to_list() == [short]  # rejected records keep their original text
    assert result.counters["c4.lines_dropped.policy"] == 1
    unchanged = apply_quality(text_batch([page]), QualityConfig.model_validate({"c4": {"rewrite": False}}))
    assert unchanged.kept["text"].to_list() == [page]


TH_PAGE = (
    "ตลาดเช้าในหมู่บ้านของเราเปิดตั้งแต่ตีห้า แม่ค้าหลายคนนำผักสดและผลไม้จากสวนมาขาย\n"
    "ชาวบ้านมักจะมาซื้อของก่อนไปทำงาน เพราะราคาถูกและของสดใหม่ทุกวัน\n"
    "เมื่อปีที่แล้วเทศบาลได้ซ่อมหลังคาตลาดใหม่ หลังจากพายุพัดกระเบื้องหลุดไปหลายแผ่น"
)


def script_text(first: int, last: int, n: int = 300) -> str:
    """``n`` characters cycling through a Unicode block, broken by a space every 40 (a stand-in
    page of a script: the exemption looks at the script, not at the words)."""
    chars = [chr(first + i % (last - first + 1)) for i in range(n)]
    return " ".join("".join(chars[i : i + 40]) for i in range(0, n, 40))


def test_unsegmented_scripts_pass_unjudged_and_are_counted():
    pages = [TH_PAGE, script_text(0x0E81, 0x0EAE), script_text(0x1780, 0x17B3), script_text(0x1000, 0x102A)]
    batch = text_batch([*pages, "Too short an English page.", "Home\n" + TH_PAGE])
    result = apply_quality(batch, QualityConfig())
    assert result.kept["id"].to_list() == ["r0", "r1", "r2", "r3", "r5"]
    assert result.kept["text"][4] == "Home\n" + TH_PAGE  # unjudged: not rewritten by C4 either
    assert result.dropped["reason"].to_list() == ["gopher_short_doc"]
    assert result.counters["quality_unjudged"] == 5
    judged = apply_quality(batch, QualityConfig(unsegmented_share=None))
    assert judged.kept.height == 0 and "quality_unjudged" not in judged.counters


def test_a_page_quoting_some_thai_is_still_judged():
    mixed = EN_PAGE + "\n" + TH_PAGE.split("\n")[0]
    result = apply_quality(text_batch([mixed, TH_PAGE]), QualityConfig.model_validate({"gopher": {}}))
    assert result.kept["id"].to_list() == ["r0", "r1"] and result.counters["quality_unjudged"] == 1
    only_thai = apply_quality(text_batch([TH_PAGE, TH_PAGE]), QualityConfig())
    assert only_thai.kept.height == 2 and only_thai.counters["quality_unjudged"] == 2


def test_fineweb_judges_the_text_c4_leaves():
    # a menu of short lines fails FineWeb alone; after C4 drops it, what is left passes
    menu = [
        "Home",
        "News",
        "Sport",
        "Weather",
        "Travel",
        "Money",
        "Culture",
        "Food",
        "Music",
        "Film",
        "Books",
        "Contact",
        "Login",
    ]
    page = "\n".join(menu) + "\n" + EN_PAGE  # 13 short lines of 19: 0.68
    assert apply_quality(text_batch([page]), QualityConfig.model_validate({"fineweb": {}})).kept.height == 0
    both = apply_quality(text_batch([page]), QualityConfig.model_validate({"c4": {}, "fineweb": {}}))
    assert both.kept["text"].to_list() == [EN_PAGE]


def test_lang_column_picks_the_stop_word_list():
    batch = text_batch([DE_PAGE, DE_PAGE], lang=["de", "en"])
    result = apply_quality(batch, QualityConfig.model_validate({"gopher": {}}))
    assert result.kept["id"].to_list() == ["r0"]
    assert result.dropped["reason"].to_list() == ["gopher_stop_words"]
    categorical = text_batch([DE_PAGE], lang=pl.Series(["de"], dtype=pl.Categorical))
    assert apply_quality(categorical, QualityConfig()).kept.height == 1


def test_chat_records_are_judged_on_the_chosen_roles():
    spam_answer = "Click here to win! " * 40
    good = [("user", "hi"), ("assistant", EN_PAGE)]
    bad = [("user", EN_PAGE), ("assistant", spam_answer)]
    batch = chat_batch([good, bad])
    assistant = QualityConfig.model_validate({"gopher": {}, "view": {"roles": ["assistant"]}})
    result = apply_quality(batch, assistant)
    assert result.kept["id"].to_list() == ["c0"]
    assert result.dropped["reason"].to_list() == ["gopher_top_2gram"]
    assert result.kept["messages"].to_list() == batch["messages"][:1].to_list()  # never rewritten
    users = QualityConfig(gopher=QualityConfig().gopher, view=TextView(roles=("user",)))
    assert apply_quality(batch, users).kept["id"].to_list() == ["c1"]


def test_chat_records_are_not_rewritten_by_c4():
    page = "Home | News\n" + EN_PAGE
    batch = chat_batch([[("user", "Tell me about the gardens."), ("assistant", page)]])
    result = apply_quality(batch, QualityConfig.model_validate({"c4": {}, "view": {"roles": ["assistant"]}}))
    assert result.kept["messages"].to_list() == batch["messages"].to_list()


def test_preference_records_are_judged_on_the_chosen_fields():
    def msgs(*turns):
        return [{"role": r, "content": c} for r, c in turns]

    batch = pl.DataFrame(
        {
            "id": ["p0", "p1"],
            "source": ["prefs", "prefs"],
            "prompt": [msgs(("user", "Tell me about the gardens.")), msgs(("user", "And the library?"))],
            "chosen": [msgs(("assistant", EN_PAGE)), msgs(("assistant", "win win win " * 40))],
            "rejected": [msgs(("assistant", "no")), msgs(("assistant", EN_PAGE))],
            "meta": ["{}", "{}"],
        },
        schema=BASE_SCHEMA["preference"],
    )
    chosen = QualityConfig.model_validate({"gopher": {}, "view": {"fields": ["chosen"]}})
    result = apply_quality(batch, chosen)
    assert result.kept["id"].to_list() == ["p0"]
    assert result.dropped["reason"].to_list() == ["gopher_stop_words"]
    rejected = QualityConfig.model_validate({"gopher": {}, "view": {"fields": ["rejected"]}})
    assert apply_quality(batch, rejected).kept["id"].to_list() == ["p1"]


def test_empty_batches():
    for batch in (text_batch([]), chat_batch([])):
        result = apply_quality(batch, QualityConfig())
        assert result.kept.height == 0 and result.dropped.height == 0
        assert result.dropped.columns == [*batch.columns, "reason"]


def test_every_batch_row_is_judged_even_when_all_fail_early():
    result = apply_quality(text_batch(["x"] * 5), QualityConfig())
    assert result.dropped["reason"].to_list() == ["gopher_short_doc"] * 5


alphabet = st.sampled_from(
    [
        *list("ab cdefg.,!?#…-•\n\n  的是了。！花園の「」{}0123456789"),
        "lorem ipsum",
        "javascript",
        "the ",
        "and ",
    ]
)
random_text = st.lists(alphabet, max_size=300).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), random_text, st.text(max_size=200)), max_size=12))
def test_random_texts_never_crash_and_partition_the_batch(texts):
    batch = text_batch(texts)
    result = apply_quality(batch, QualityConfig())
    kept, dropped = result.kept["id"].to_list(), result.dropped["id"].to_list()
    assert sorted(kept + dropped) == sorted(batch["id"].to_list())
    assert not set(kept) & set(dropped)
    assert result.dropped["reason"].null_count() == 0
    for reason in result.dropped["reason"]:
        assert reason.split("_")[0] in {"gopher", "c4", "fineweb"}
