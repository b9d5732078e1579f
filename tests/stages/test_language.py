"""The language stage, with the real bundled lid.176 model (and a real tiny GlotLID-style model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import fasttext
import numpy as np
import polars as pl
import pytest
from fasttext.FastText import _FastText
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from curate.errors import CurateError, RecipeError, StageError
from curate.records import MESSAGES_DTYPE, TextView
from curate.stages import REGISTRY
from curate.stages.language import (
    REASON_EMPTY,
    REASON_LOW_SCORE,
    REASON_NOT_KEPT,
    LanguageCode,
    LanguageConfig,
    _cached_model,
    apply,
    iso639_1,
    load_model,
    resolve,
)

# Written for these tests: the same everyday scene in twelve languages.
PARAGRAPHS = {
    "en": "The library opens at nine in the morning and closes late on weekdays. Students often come early "
    "to find a quiet table near the windows, where the light is good for reading.",
    "de": "Die Bibliothek öffnet morgens um neun Uhr und schließt an Werktagen erst spät. Viele Studenten "
    "kommen früh, um einen ruhigen Tisch am Fenster zu finden, wo das Licht zum Lesen gut ist.",
    "fr": "La bibliothèque ouvre à neuf heures du matin et ferme tard en semaine. Les étudiants arrivent "
    "souvent tôt pour trouver une table tranquille près des fenêtres, où la lumière est bonne pour lire.",
    "es": "La biblioteca abre a las nueve de la mañana y cierra tarde entre semana. Los estudiantes suelen "
    "llegar temprano para encontrar una mesa tranquila cerca de las ventanas, donde la luz es buena para leer.",
    "it": "La biblioteca apre alle nove del mattino e chiude tardi nei giorni feriali. Gli studenti arrivano "
    "spesso presto per trovare un tavolo tranquillo vicino alle finestre, dove la luce è buona per leggere.",
    "pt": "A biblioteca abre às nove horas da manhã e fecha tarde durante a semana. Os estudantes costumam "
    "chegar cedo para encontrar uma mesa tranquila perto das janelas, onde a luz é boa para ler.",
    "pl": "Biblioteka jest otwarta od dziewiątej rano i w dni powszednie zamyka się późno. Studenci często "
    "przychodzą wcześnie, żeby znaleźć cichy stolik przy oknie, gdzie jest dobre światło do czytania.",
    "ru": "Библиотека открывается в девять утра и в будние дни закрывается поздно. Студенты часто приходят "
    "рано, чтобы найти тихий стол у окна, где хорошее освещение для чтения.",
    "ar": "تفتح المكتبة في التاسعة صباحا وتغلق في وقت متأخر خلال أيام الأسبوع. يأتي الطلاب مبكرا في كثير "
    "من الأحيان ليجدوا طاولة هادئة بجانب النوافذ حيث الضوء مناسب للقراءة.",
    "zh": "图书馆早上九点开门，工作日很晚才关门。学生们常常早早就来，想在窗边找一张安静的桌子，那里的光线很适合看书。",
    "ja": "図書館は朝九時に開き、平日は遅くまで開いています。学生たちはよく早めに来て、窓の近くの静かな机を探します。"
    "そこは本を読むのに光がちょうどいいのです。",
    "ko": "도서관은 아침 아홉 시에 문을 열고 평일에는 늦게까지 운영합니다. 학생들은 책을 읽기에 빛이 좋은 창가의 "
    "조용한 자리를 찾으려고 일찍 오곤 합니다.",
}

# No language to speak of: digits, symbols, one sentence in each of five languages.
UNSURE = {
    "digits": "123 456 789",
    "symbols": "§§ ## %% && @@",
    "mixed": "The cat sleeps. Der Hund bellt. Le chat dort. El perro ladra. Il gatto dorme.",
}


def text_batch(texts: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": list(texts), "source": "web", "text": list(texts.values()), "meta": "{}"},
        schema={"id": pl.String, "source": pl.String, "text": pl.String, "meta": pl.String},
    )


def by_id(frame: pl.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(frame["id"], frame[column], strict=True))


# --- labelling ---------------------------------------------------------------------------------


def test_paragraphs_in_twelve_languages_are_labelled_confidently():
    result = apply(text_batch(PARAGRAPHS), LanguageConfig())

    assert by_id(result.kept, "lang") == {code: code for code in PARAGRAPHS}
    assert result.dropped.height == 0
    scores = by_id(result.kept, "lang_score")
    assert all(0.9 <= score <= 1.0 for score in scores.values()), scores
    assert result.kept.schema["lang"] == pl.String
    assert result.kept.schema["lang_score"] == pl.Float32


def test_batch_prediction_agrees_with_single_line_prediction():
    """The multiline binding's top label and probability equal fastText's one-line predict."""
    model = load_model()
    result = apply(text_batch(PARAGRAPHS | UNSURE), LanguageConfig(min_score=0.0))
    for row in result.kept.iter_rows(named=True):
        [(probability, label)] = model.binding.predict(row["text"] + "\n", 1, 0.0, "strict")
        assert row["lang"] == label.removeprefix("__label__")
        assert row["lang_score"] == pytest.approx(min(probability, 1.0), abs=1e-6)


def test_every_line_of_a_text_is_read():
    """fastText stops at the first newline; the stage must show it the whole text."""
    text = "OK\n" + PARAGRAPHS["de"].replace(". ", ".\n")
    result = apply(text_batch({"a": text}), LanguageConfig())
    assert by_id(result.kept, "lang") == {"a": "de"}


@pytest.mark.skipif(int(np.__version__.split(".")[0]) < 2, reason="fastText's own predict works on NumPy 1")
def test_works_on_numpy_2_where_fasttexts_own_predict_fails():
    stock = _FastText(model_path=load_model().path)
    with pytest.raises(ValueError, match="copy"):
        stock.predict(PARAGRAPHS["en"])
    result = apply(text_batch({"a": PARAGRAPHS["en"]}), LanguageConfig())
    assert by_id(result.kept, "lang") == {"a": "en"}


# --- keep-list and min_score -------------------------------------------------------------------


def test_keep_list_keeps_listed_languages_and_labels_the_others():
    result = apply(text_batch(PARAGRAPHS), LanguageConfig(keep=["en", "de"]))

    assert sorted(result.kept["id"]) == ["de", "en"]
    dropped = result.dropped
    assert set(dropped["reason"]) == {REASON_NOT_KEPT}
    # dropped records keep their prediction so they can be inspected
    assert by_id(dropped, "lang") == {code: code for code in PARAGRAPHS if code not in ("en", "de")}
    assert dropped["lang_score"].min() > 0.9


def test_keep_accepts_three_letter_and_bibliographic_codes():
    result = apply(text_batch(PARAGRAPHS), LanguageConfig(keep=["eng", "ger", "ZH"]))
    assert sorted(result.kept["id"]) == ["de", "en", "zh"]


def test_a_single_code_is_a_keep_list_of_one():
    assert LanguageConfig.model_validate({"keep": "en"}).keep == ("en",)


def test_min_score_drops_records_below_it_and_only_those():
    # lid.176.ftz gives en 0.967 and fr 0.995 on these paragraphs
    texts = {"en": PARAGRAPHS["en"], "fr": PARAGRAPHS["fr"]}
    strict = apply(text_batch(texts), LanguageConfig(min_score=0.99))
    assert list(strict.kept["id"]) == ["fr"]
    assert by_id(strict.dropped, "reason") == {"en": REASON_LOW_SCORE}
    assert by_id(strict.dropped, "lang") == {"en": "en"}

    lenient = apply(text_batch(texts), LanguageConfig(min_score=0.95))
    assert sorted(lenient.kept["id"]) == ["en", "fr"]


@pytest.mark.parametrize("name", sorted(UNSURE))
def test_text_without_a_clear_language_is_dropped_as_low_score(name):
    result = apply(text_batch({name: UNSURE[name]}), LanguageConfig())
    assert by_id(result.dropped, "reason") == {name: REASON_LOW_SCORE}
    assert result.dropped["lang_score"][0] < 0.65
    assert result.dropped["lang"][0] is not None


def test_low_score_comes_before_not_kept():
    """Below the threshold the language is not trusted enough to call it the wrong one."""
    result = apply(
        text_batch({"mixed": UNSURE["mixed"], "de": PARAGRAPHS["de"]}), LanguageConfig(keep=["ja"])
    )
    assert by_id(result.dropped, "reason") == {"mixed": REASON_LOW_SCORE, "de": REASON_NOT_KEPT}


def test_min_score_zero_with_no_keep_list_only_labels():
    texts = PARAGRAPHS | UNSURE
    result = apply(text_batch(texts), LanguageConfig(min_score=0.0))
    assert result.dropped.height == 0
    assert result.kept["lang"].null_count() == 0


# --- empty text --------------------------------------------------------------------------------


def test_empty_and_blank_texts_are_dropped_as_empty_without_a_label():
    texts = {
        "empty": "",
        "blank": " \n\t\r\n ",
        "ideographic": "\u3000\u3000",
        "null": None,
        "en": PARAGRAPHS["en"],
    }
    result = apply(text_batch(texts), LanguageConfig())

    assert list(result.kept["id"]) == ["en"]
    assert by_id(result.dropped, "reason") == dict.fromkeys(
        ["empty", "blank", "ideographic", "null"], REASON_EMPTY
    )
    assert result.dropped["lang"].null_count() == 4
    assert result.dropped["lang_score"].null_count() == 4


@pytest.mark.parametrize("texts", [{}, {"a": "", "b": "  "}])
def test_batches_with_nothing_to_identify_keep_the_schema(texts):
    result = apply(text_batch(texts), LanguageConfig())
    assert result.kept.height == 0
    assert result.kept.schema["lang"] == pl.String
    assert result.kept.schema["lang_score"] == pl.Float32
    assert result.dropped.height == len(texts)


# --- conservation ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=80), st.sampled_from(list(PARAGRAPHS.values()))),
        max_size=25,
    ),
    st.sampled_from([None, ("en",), ("zh", "ja", "ru")]),
    st.floats(0.0, 1.0),
)
def test_kept_plus_dropped_is_the_input(texts, keep, min_score):
    batch = text_batch({f"r{i}": text for i, text in enumerate(texts)})
    result = apply(batch, LanguageConfig(keep=keep, min_score=min_score))

    assert result.kept.height + result.dropped.height == batch.height
    assert sorted([*result.kept["id"], *result.dropped["id"]]) == sorted(batch["id"])
    assert set(result.dropped["reason"]) <= {REASON_EMPTY, REASON_LOW_SCORE, REASON_NOT_KEPT}
    kept_ids = list(result.kept["id"])
    assert kept_ids == [i for i in batch["id"] if i in set(kept_ids)]  # order kept
    assert result.kept.drop("lang", "lang_score").equals(batch.filter(pl.col("id").is_in(kept_ids)))
    identified = sum(n for name, n in result.counters.items() if name.startswith("lang."))
    assert identified == batch.height - (result.dropped["reason"] == REASON_EMPTY).sum()


def test_counters_count_languages_of_all_and_of_kept_records():
    texts = {"en1": PARAGRAPHS["en"], "en2": PARAGRAPHS["en"], "de": PARAGRAPHS["de"], "blank": " "}
    result = apply(text_batch(texts), LanguageConfig(keep=["en"]))
    assert result.counters == {"lang.de": 1, "lang.en": 2, "lang_kept.en": 2}


# --- max_chars and text views ------------------------------------------------------------------


def test_max_chars_identifies_on_the_opening():
    text = "\n\n  " + PARAGRAPHS["en"] + "\n" + " ".join([PARAGRAPHS["de"]] * 6)
    whole = apply(text_batch({"a": text}), LanguageConfig())
    prefix = apply(text_batch({"a": text}), LanguageConfig(max_chars=150))
    assert by_id(whole.kept, "lang") == {"a": "de"}
    assert by_id(prefix.kept, "lang") == {"a": "en"}
    assert prefix.kept["text"][0] == text  # the record itself is not cut


def chat_batch(conversations: dict[str, list[dict[str, str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": list(conversations), "source": "chat", "messages": list(conversations.values()), "meta": "{}"},
        schema={"id": pl.String, "source": pl.String, "messages": MESSAGES_DTYPE, "meta": pl.String},
    )


def test_chat_view_identifies_the_chosen_roles():
    conversations = {
        "c1": [
            {"role": "user", "content": PARAGRAPHS["fr"]},
            {"role": "assistant", "content": PARAGRAPHS["en"] + " " + PARAGRAPHS["en"]},
        ],
        "c2": [
            {"role": "system", "content": PARAGRAPHS["en"]},
            {"role": "assistant", "content": PARAGRAPHS["en"]},
        ],
    }
    users = LanguageConfig(keep=["fr"], view=TextView(roles=("user",)))
    result = apply(chat_batch(conversations), users)
    assert by_id(result.kept, "lang") == {"c1": "fr"}
    assert by_id(result.dropped, "reason") == {"c2": REASON_EMPTY}  # no user turn
    assert result.kept["messages"].equals(chat_batch(conversations)["messages"].head(1))

    assistants = apply(chat_batch(conversations), LanguageConfig(view=TextView(roles=("assistant",))))
    assert by_id(assistants.kept, "lang") == {"c1": "en", "c2": "en"}


def test_preference_view_identifies_the_chosen_fields():
    def turn(role: str, content: str) -> list[dict[str, str]]:
        return [{"role": role, "content": content}]

    batch = pl.DataFrame(
        {
            "id": ["p1"],
            "source": "prefs",
            "prompt": [turn("user", PARAGRAPHS["es"])],
            "chosen": [turn("assistant", PARAGRAPHS["en"])],
            "rejected": [turn("assistant", PARAGRAPHS["en"])],
            "meta": "{}",
        },
        schema={
            "id": pl.String,
            "source": pl.String,
            "prompt": MESSAGES_DTYPE,
            "chosen": MESSAGES_DTYPE,
            "rejected": MESSAGES_DTYPE,
            "meta": pl.String,
        },
    )
    prompts = apply(batch, LanguageConfig(view=TextView(fields=("prompt",))))
    responses = apply(batch, LanguageConfig(view=TextView(fields=("chosen", "rejected"))))
    assert by_id(prompts.kept, "lang") == {"p1": "es"}
    assert by_id(responses.kept, "lang") == {"p1": "en"}


# --- models ------------------------------------------------------------------------------------


def test_a_model_is_loaded_once_per_process():
    assert load_model() is load_model()
    apply(text_batch({"a": PARAGRAPHS["en"]}), LanguageConfig())
    misses = _cached_model.cache_info().misses
    for _ in range(3):
        apply(text_batch({"a": PARAGRAPHS["de"]}), LanguageConfig())
    assert _cached_model.cache_info().misses == misses


def test_a_model_given_by_path_is_used(tmp_path):
    path = tmp_path / "my-lid.ftz"
    shutil.copy(load_model().path, path)
    result = apply(text_batch(PARAGRAPHS), LanguageConfig(model=str(path), keep=["ja"]))
    assert list(result.kept["id"]) == ["ja"]
    assert load_model(str(path)).path == str(path)


def test_a_missing_model_is_a_clear_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "lid.218.bin"
    with pytest.raises(StageError, match=r"lid\.218\.bin") as raised:
        apply(text_batch({"a": "hello"}), LanguageConfig(model=str(missing)))
    assert "not found" in str(raised.value)
    assert isinstance(raised.value, CurateError)


def test_a_file_that_is_no_model_is_a_clear_error_naming_the_path(tmp_path):
    bogus = tmp_path / "notes.bin"
    bogus.write_text("these are not model weights\n")
    with pytest.raises(StageError, match=r"notes\.bin.*not a fastText model"):
        apply(text_batch({"a": "hello"}), LanguageConfig(model=str(bogus)))


@pytest.mark.parametrize("entry", ["xx", "zh_Hant", "english"])
def test_a_keep_entry_no_label_matches_is_an_error(entry, tmp_path):
    # the bundled model: when the config is read (a recipe error with its line)
    with pytest.raises(ValidationError, match=f"keep entry '{entry}' matches no label") as raised:
        LanguageConfig(keep=["en", entry])
    assert raised.value.errors()[0]["loc"] == ("keep",)
    # a model of the user's: before any work starts, still a recipe error (exit code 2)
    path = tmp_path / "my-lid.ftz"
    shutil.copy(load_model().path, path)
    cfg = LanguageConfig(keep=["en", entry], model=str(path))
    with pytest.raises(RecipeError, match=f"keep entry '{entry}' matches no label"):
        resolve(cfg)  # what a run can call before any work starts
    with pytest.raises(RecipeError, match=f"keep entry '{entry}' matches no label"):
        apply(text_batch({"a": PARAGRAPHS["en"]}), cfg)


# Written for these tests, in the label style of GlotLID / NLLB (ISO 639-3 + script).
GLOT_STYLE_LINES = {
    "eng_Latn": ["the cat sleeps on the mat", "we read books in the library", "it is raining again today"],
    "deu_Latn": [
        "die katze schläft auf der matte",
        "wir lesen bücher in der bibliothek",
        "es regnet heute wieder",
    ],
    "zho_Hans": ["猫在垫子上睡觉", "我们在图书馆里看书", "今天又下雨了"],
    "zho_Hant": ["貓在墊子上睡覺", "我們在圖書館裡看書", "今天又下雨了嗎"],
}


@pytest.fixture(scope="module")
def glot_style_model(tmp_path_factory) -> Path:
    """A real (tiny) fastText classifier with GlotLID-style labels, trained here in a tenth of a second."""
    folder = tmp_path_factory.mktemp("glot")
    train = folder / "train.txt"
    lines = [f"__label__{label} {line}" for label, group in GLOT_STYLE_LINES.items() for line in group]
    train.write_text("\n".join(lines * 5) + "\n", encoding="utf-8")
    model = fasttext.train_supervised(
        input=str(train), dim=8, epoch=100, lr=1.0, minn=1, maxn=2, bucket=1000, thread=1, seed=1, verbose=0
    )
    path = folder / "glot-style.bin"
    model.save_model(str(path))
    return path


GLOT_STYLE_TEXTS = {
    "en": "we read books",
    "de": "wir lesen bücher",
    "hans": "我们在图书馆里看书",
    "hant": "我們在圖書館裡看書",
}


def test_iso_639_1_keep_list_matches_glotlid_style_labels(glot_style_model):
    cfg = LanguageConfig(model=str(glot_style_model), keep=["en", "zh"], min_score=0.5)
    result = apply(text_batch(GLOT_STYLE_TEXTS), cfg)
    assert by_id(result.kept, "lang") == {"en": "eng_Latn", "hans": "zho_Hans", "hant": "zho_Hant"}
    assert by_id(result.dropped, "lang") == {"de": "deu_Latn"}


def test_a_script_in_the_keep_list_keeps_only_that_script(glot_style_model):
    cfg = LanguageConfig(model=str(glot_style_model), keep=["zh-Hant"], min_score=0.5)
    result = apply(text_batch(GLOT_STYLE_TEXTS), cfg)
    assert list(result.kept["id"]) == ["hant"]


def test_codes_iso639_1_writes_two_letter_codes(glot_style_model):
    cfg = LanguageConfig(model=str(glot_style_model), min_score=0.5, codes="iso639_1")
    result = apply(text_batch(GLOT_STYLE_TEXTS), cfg)
    assert by_id(result.kept, "lang") == {"en": "en", "de": "de", "hans": "zh", "hant": "zh"}
    assert result.counters == {
        "lang.de": 1,
        "lang.en": 1,
        "lang.zh": 2,
        "lang_kept.de": 1,
        "lang_kept.en": 1,
        "lang_kept.zh": 2,
    }


# --- codes and config --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "label", "accepted"),
    [
        ("en", "en", True),
        ("en", "eng_Latn", True),
        ("eng", "en", True),
        ("ger", "deu_Latn", True),
        ("DE", "de", True),
        ("zh", "cmn_Hani", True),
        ("zh", "zho_Hant", True),
        ("zh_Hant", "zho_Hant", True),
        ("zh_Hant", "zho_Hans", False),
        ("zh_Hant", "zh", False),
        ("nb", "no", True),
        ("fa", "pes_Arab", True),
        ("sr", "hr", False),
        ("en", "enm_Latn", False),
        ("zh", "yue", False),
        ("sq", "als", False),  # lid.176's als is Alemannic, not Albanian
    ],
)
def test_keep_entries_match_labels_by_language_and_script(entry, label, accepted):
    assert LanguageCode.parse(entry).accepts(LanguageCode.parse(label)) is accepted


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("en", "en"),
        ("eng_Latn", "en"),
        ("zho_Hant", "zh"),
        ("cmn_Hani", "zh"),
        ("nob_Latn", "nb"),
        ("yue", "yue"),
    ],
)
def test_iso639_1_of_labels(label, code):
    assert iso639_1(label) == code


@pytest.mark.parametrize(
    "options",
    [
        {"keep": []},
        {"keep": ["en us"]},
        {"keep": [""]},
        {"min_score": 1.5},
        {"max_chars": 0},
        {"treshold": 0.5},
    ],
)
def test_bad_options_are_rejected(options):
    with pytest.raises(ValidationError):
        LanguageConfig.model_validate(options)


def test_defaults_and_registry():
    cfg = LanguageConfig.model_validate({})
    assert (cfg.keep, cfg.min_score, cfg.model, cfg.max_chars, cfg.codes) == (None, 0.65, None, None, "model")
    stage = REGISTRY["language"]
    assert stage.config is LanguageConfig
    assert stage.apply is apply
