"""Language identification with fastText: label every record, keep the languages asked for.

Every record gets ``lang`` (the model's top label) and ``lang_score`` (its probability). A record
is dropped with the first reason that applies:

- ``lang_empty``: its text view is empty or whitespace only (nothing to identify; not sent to the
  model).
- ``lang_low_score``: the top probability is below ``min_score``. This comes before the keep-list:
  below the threshold the predicted language is not trusted enough to say it is the wrong one.
  (Lowering ``min_score`` turns these into kept or ``lang_not_kept`` records.)
- ``lang_not_kept``: the language is confidently one that ``keep`` does not list.

Dropped records keep their ``lang``/``lang_score`` so they can be inspected.

**The model.** The bundled ``lid.176.ftz`` (fastText, 176 languages, ISO 639-1 labels where one
exists: ``__label__en``) unless ``model`` names another fastText classifier: ``lid.176.bin``,
GlotLID or NLLB's LID (``__label__eng_Latn``: ISO 639-3 plus a script). A model is loaded once per
process and reused by every batch (executor workers are separate processes).

**How keep-list codes match model labels.** A code is a language part, optionally followed by
``_`` or ``-`` and a four-letter script (``zh_Hant``). Language parts match when they name the
same language in ISO 639-1, 639-3 or 639-2/B (``en`` = ``eng``, ``de`` = ``deu`` = ``ger``), and
a two-letter macrolanguage code also matches the individual language that GlotLID and NLLB use
for it (``zh`` = ``zho`` = ``cmn``, ``ar`` = ``arb``, ``fa`` = ``pes``, ``ms`` = ``zsm``,
``no`` = ``nob``...). Case does not matter. A keep entry without a script matches every script
(``zh`` keeps ``zho_Hans`` and ``zho_Hant``); with a script it matches only labels that carry that
script. Any other label matches only itself. A keep entry that matches none of the model's labels
is an error (a typo would otherwise drop everything).

**Input to the model.** fastText reads one line: everything after the first newline would be
ignored, so newlines become spaces, and the line ends with a newline as fastText's own
``predict`` does (the model was trained with that end-of-line token). ``max_chars`` predicts on a
prefix: the cost of prediction grows with the text, so a prefix of a few thousand characters is
much faster on long documents and as accurate on documents in one language, but a document whose
opening (a header, a licence, code) is in another language than its body is judged by its
opening. On the benchmark corpus of man pages and fortunes (mean 4,000 characters; BENCHMARKS.md),
500 characters ran ~7x faster with accuracy 0.949 instead of 0.992, 2,000 characters ~3x faster
at 0.985: the default reads the whole text.

**NumPy 2.** fastText's own Python ``predict`` fails under NumPy 2; curate calls the binding
itself (see ``curate.classifiers.model``), so it works with NumPy 1 and 2 alike.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, ValidationInfo, field_validator

from curate.classifiers.model import FastTextModel, load_fasttext, model_lines
from curate.errors import RecipeError
from curate.io.memo import once_per_file_version
from curate.records import REASON, TextView, text_view
from curate.stages.base import BatchResult, BatchStage, Counters, StageConfig, partition

LANG, LANG_SCORE = "lang", "lang_score"
BUNDLED_MODEL = "lid.176.ftz"

REASON_EMPTY = "lang_empty"
REASON_LOW_SCORE = "lang_low_score"
REASON_NOT_KEPT = "lang_not_kept"

Codes = Literal["model", "iso639_1"]

_CODE_RE = re.compile(r"^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$")


class LanguageConfig(StageConfig):
    """Options of the ``language`` stage."""

    # before keep: keep's validator checks its codes against the labels of this model
    model: str | None = Field(
        default=None,
        description=(
            "Path to a fastText language-ID model (lid.176.bin, GlotLID's model.bin, ...). "
            "null uses the bundled lid.176.ftz (CC BY-SA 3.0, see curate/resources/NOTICE.md). "
            "A relative path is looked up in the working directory, then in the recipe file's directory."
        ),
    )
    keep: tuple[str, ...] | None = Field(
        default=None,
        description=(
            "Languages to keep, as ISO codes (en, de, zh; eng, deu; zh_Hant to keep one script). "
            "ISO 639-1, 639-3 and 639-2/B spellings of a language match each other and the "
            "model's labels (lid.176: en; GlotLID: eng_Latn). null keeps every language and only "
            "labels records (min_score still applies)."
        ),
    )
    min_score: float = Field(
        default=0.65,
        ge=0.0,
        le=1.0,
        description=(
            "Lowest probability of the top language for a record to be kept; lower ones are dropped "
            "as lang_low_score. 0.65 is datatrove's LanguageFilter default (language_threshold). "
            "0 only labels."
        ),
    )
    view: TextView = Field(
        default_factory=TextView,
        description="Which turns/fields of chat and preference records are identified (e.g. roles: [user]).",
    )
    max_chars: int | None = Field(
        default=None,
        gt=0,
        description=(
            "Identify the language on the first max_chars characters only (after leading "
            "whitespace). Faster on long documents; a document that opens in another language "
            "than its body is judged by its opening. null: the whole text."
        ),
    )
    codes: Codes = Field(
        default="model",
        description=(
            "How lang is written: model = the model's label without __label__ (lid.176: en, "
            "GlotLID: eng_Latn); iso639_1 = the two-letter ISO 639-1 code where one exists "
            "(eng_Latn -> en), else the model's label."
        ),
    )

    @field_validator("keep", mode="before")
    @classmethod
    def _one_code_is_a_list(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("keep")
    @classmethod
    def _codes_look_like_codes(
        cls, value: tuple[str, ...] | None, info: ValidationInfo
    ) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(
                "keep is an empty list, which would drop every record; use null to keep every language"
            )
        for code in value:
            if not _CODE_RE.match(code):
                raise ValueError(f"{code!r} is not a language code; write ISO codes like en, deu or zh_Hant")
        if "model" in info.data and info.data["model"] is None:
            # The bundled model loads in milliseconds: check the codes now, so that a typo is a recipe
            # error with its line. A user's model (maybe gigabytes) is checked before the run starts.
            try:
                kept_labels(load_model(None), value)
            except UnknownLanguageError as exc:
                raise ValueError(exc.entry_message) from None
        return value


# ----------------------------------------------------------------------------------------------
# Language codes


# ISO 639-1 code -> the ISO 639-3 code, the 639-2/B code where it differs, and for a
# macrolanguage the individual language GlotLID/NLLB label it with (first entry: the 639-3 code).
ISO639_1: dict[str, tuple[str, ...]] = {
    "aa": ("aar",), "ab": ("abk",), "ae": ("ave",), "af": ("afr",), "ak": ("aka",),
    "am": ("amh",), "an": ("arg",), "ar": ("ara", "arb"), "as": ("asm",), "av": ("ava",),
    "ay": ("aym", "ayr"), "az": ("aze", "azj"), "ba": ("bak",), "be": ("bel",), "bg": ("bul",),
    "bh": ("bih",), "bi": ("bis",), "bm": ("bam",), "bn": ("ben",), "bo": ("bod", "tib"),
    "br": ("bre",), "bs": ("bos",), "ca": ("cat",), "ce": ("che",), "ch": ("cha",),
    "co": ("cos",), "cr": ("cre",), "cs": ("ces", "cze"), "cu": ("chu",), "cv": ("chv",),
    "cy": ("cym", "wel"), "da": ("dan",), "de": ("deu", "ger"), "dv": ("div",), "dz": ("dzo",),
    "ee": ("ewe",), "el": ("ell", "gre"), "en": ("eng",), "eo": ("epo",), "es": ("spa",),
    "et": ("est", "ekk"), "eu": ("eus", "baq"), "fa": ("fas", "per", "pes"), "ff": ("ful",),
    "fi": ("fin",), "fj": ("fij",), "fo": ("fao",), "fr": ("fra", "fre"), "fy": ("fry",),
    "ga": ("gle",), "gd": ("gla",), "gl": ("glg",), "gn": ("grn", "gug"), "gu": ("guj",),
    "gv": ("glv",), "ha": ("hau",), "he": ("heb",), "hi": ("hin",), "ho": ("hmo",),
    "hr": ("hrv",), "ht": ("hat",), "hu": ("hun",), "hy": ("hye", "arm"), "hz": ("her",),
    "ia": ("ina",), "id": ("ind",), "ie": ("ile",), "ig": ("ibo",), "ii": ("iii",),
    "ik": ("ipk",), "io": ("ido",), "is": ("isl", "ice"), "it": ("ita",), "iu": ("iku",),
    "ja": ("jpn",), "jv": ("jav",), "ka": ("kat", "geo"), "kg": ("kon",), "ki": ("kik",),
    "kj": ("kua",), "kk": ("kaz",), "kl": ("kal",), "km": ("khm",), "kn": ("kan",),
    "ko": ("kor",), "kr": ("kau",), "ks": ("kas",), "ku": ("kur", "kmr"), "kv": ("kom",),
    "kw": ("cor",), "ky": ("kir",), "la": ("lat",), "lb": ("ltz",), "lg": ("lug",),
    "li": ("lim",), "ln": ("lin",), "lo": ("lao",), "lt": ("lit",), "lu": ("lub",),
    "lv": ("lav", "lvs"), "mg": ("mlg", "plt"), "mh": ("mah",), "mi": ("mri", "mao"),
    "mk": ("mkd", "mac"), "ml": ("mal",), "mn": ("mon", "khk"), "mr": ("mar",),
    "ms": ("msa", "may", "zsm"), "mt": ("mlt",), "my": ("mya", "bur"), "na": ("nau",),
    "nb": ("nob",), "nd": ("nde",), "ne": ("nep", "npi"), "ng": ("ndo",), "nl": ("nld", "dut"),
    "nn": ("nno",), "no": ("nor", "nob"), "nr": ("nbl",), "nv": ("nav",), "ny": ("nya",),
    "oc": ("oci",), "oj": ("oji",), "om": ("orm", "gaz"), "or": ("ori", "ory"), "os": ("oss",),
    "pa": ("pan",), "pi": ("pli",), "pl": ("pol",), "ps": ("pus", "pbt"), "pt": ("por",),
    "qu": ("que", "quy"), "rm": ("roh",), "rn": ("run",), "ro": ("ron", "rum"), "ru": ("rus",),
    "rw": ("kin",), "sa": ("san",), "sc": ("srd",), "sd": ("snd",), "se": ("sme",),
    "sg": ("sag",), "sh": ("hbs",), "si": ("sin",), "sk": ("slk", "slo"), "sl": ("slv",),
    "sm": ("smo",), "sn": ("sna",), "so": ("som",), "sq": ("sqi", "alb"), "sr": ("srp",),
    "ss": ("ssw",), "st": ("sot",), "su": ("sun",), "sv": ("swe",), "sw": ("swa", "swh"),
    "ta": ("tam",), "te": ("tel",), "tg": ("tgk",), "th": ("tha",), "ti": ("tir",),
    "tk": ("tuk",), "tl": ("tgl",), "tn": ("tsn",), "to": ("ton",), "tr": ("tur",),
    "ts": ("tso",), "tt": ("tat",), "tw": ("twi",), "ty": ("tah",), "ug": ("uig",),
    "uk": ("ukr",), "ur": ("urd",), "uz": ("uzb", "uzn"), "ve": ("ven",), "vi": ("vie",),
    "vo": ("vol",), "wa": ("wln",), "wo": ("wol",), "xh": ("xho",), "yi": ("yid", "ydd"),
    "yo": ("yor",), "za": ("zha",), "zh": ("zho", "chi", "cmn"), "zu": ("zul",),
}  # fmt: skip


def _two_letter_of() -> dict[str, str]:
    """Three-letter code -> ISO 639-1 code; a 639-3 code wins over an individual-language alias."""
    out: dict[str, str] = {}
    for two, threes in ISO639_1.items():
        out.setdefault(threes[0], two)
    for two, threes in ISO639_1.items():
        for three in threes[1:]:
            out.setdefault(three, two)
    return out


_TWO_LETTER_OF = _two_letter_of()


@dataclass(frozen=True)
class LanguageCode:
    """A language code read as the spellings of its language and an optional script."""

    names: frozenset[str]
    script: str | None

    @classmethod
    def parse(cls, code: str) -> LanguageCode:
        base, script = _split(code)
        return cls(_spellings(base), script)

    def accepts(self, label: LanguageCode) -> bool:
        """Whether this keep entry accepts a model label: same language, and same script if it names one."""
        return bool(self.names & label.names) and self.script in (None, label.script)


def _split(code: str) -> tuple[str, str | None]:
    """``eng_Latn`` -> (``eng``, ``Latn``); ``en`` -> (``en``, None)."""
    base, *rest = re.split(r"[_-]", code)
    script = next((part.title() for part in rest if len(part) == 4 and part.isalpha()), None)
    return base.lower(), script


def _spellings(base: str) -> frozenset[str]:
    """Every spelling of the language named by ``base`` (only itself if it is no ISO code we know)."""
    two = base if base in ISO639_1 else _TWO_LETTER_OF.get(base)
    if two is None:
        return frozenset({base})
    return frozenset({base, two, *ISO639_1[two]})


def iso639_1(label: str) -> str:
    """The ISO 639-1 code of a model label (``eng_Latn`` -> ``en``), or the label itself if none."""
    base, _ = _split(label)
    return base if base in ISO639_1 else _TWO_LETTER_OF.get(base, label)


# ----------------------------------------------------------------------------------------------
# The model


LanguageModel = FastTextModel


def load_model(path: str | None = None) -> LanguageModel:
    """The fastText model at ``path`` (the bundled lid.176.ftz if None), loaded once per process
    and version of the file."""
    return _cached_model(path)


@once_per_file_version(maxsize=4)
def _cached_model(path: str | None) -> LanguageModel:
    if path is None:
        resource = importlib.resources.files("curate") / "resources" / BUNDLED_MODEL
        with importlib.resources.as_file(resource) as file:
            return _load(file, shown="the bundled " + BUNDLED_MODEL)
    return _load(Path(path).expanduser(), shown=repr(path))


def _load(file: Path, *, shown: str) -> LanguageModel:
    fix = "set language.model to a fastText language-ID model (lid.176.bin, GlotLID's model.bin) or leave it out"
    return load_fasttext(file, shown=shown, stage="language", fix=fix)


@dataclass(frozen=True)
class LabelPlan:
    """What a config asks of a model's labels: which ones keep a record, how ``lang`` is written."""

    model: LanguageModel
    kept: frozenset[str] | None
    output_code: dict[str, str] | None


def resolve(cfg: LanguageConfig) -> LabelPlan:
    """Load the model and match the keep-list against its labels (cached per process).

    Raises StageError if the model cannot be loaded or a keep entry matches none of its labels;
    call it before any work starts to report those early.
    """
    return _resolve(cfg.model, cfg.keep, cfg.codes)


@once_per_file_version(maxsize=16)
def _resolve(model_path: str | None, keep: tuple[str, ...] | None, codes: Codes) -> LabelPlan:
    model = load_model(model_path)
    kept = None if keep is None else kept_labels(model, keep)
    output_code = {label: iso639_1(label) for label in model.labels} if codes == "iso639_1" else None
    return LabelPlan(model=model, kept=kept, output_code=output_code)


class UnknownLanguageError(RecipeError):
    """A keep entry that names none of the model's labels: the recipe is wrong (exit code 2)."""

    def __init__(self, message: str, entry_message: str | None = None) -> None:
        super().__init__(message)
        self.entry_message = entry_message or message


def kept_labels(model: LanguageModel, keep: Sequence[str]) -> frozenset[str]:
    """The model labels that the keep entries accept (see the module docs on code matching)."""
    parsed = [(label, LanguageCode.parse(label)) for label in model.labels]
    kept: set[str] = set()
    for entry in keep:
        wanted = LanguageCode.parse(entry)
        hits = {label for label, code in parsed if wanted.accepts(code)}
        if not hits:
            examples = ", ".join(model.labels[:8])
            message = (
                f"keep entry {entry!r} matches no label of the model {model.path} "
                f"({len(model.labels)} labels such as {examples}); write the language as one of them "
                "or its ISO 639-1/639-3 code"
            )
            raise UnknownLanguageError(f"language: {message}", message)
        kept |= hits
    return frozenset(kept)


# ----------------------------------------------------------------------------------------------
# The stage


def identify(texts: pl.Series, model: LanguageModel, *, max_chars: int | None = None) -> pl.DataFrame:
    """``lang`` (the model's top label) and ``lang_score`` for each text; null for blank texts."""
    lines = model_lines(texts, max_chars=max_chars)
    present = lines.is_not_null()
    labels, scores = model.predict(lines.drop_nulls().to_list())
    lang = pl.Series(LANG, labels, dtype=pl.String)
    score = pl.Series(LANG_SCORE, scores, dtype=pl.Float32)
    if lang.len() < texts.len():
        rows = present.arg_true()
        lang, score = _spread(lang, rows, texts.len()), _spread(score, rows, texts.len())
    return pl.DataFrame([lang, score])


def _spread(values: pl.Series, rows: pl.Series, height: int) -> pl.Series:
    """``values`` placed at ``rows`` of an all-null series of ``height``."""
    return pl.Series(values.name, dtype=values.dtype).extend_constant(None, height).scatter(rows, values)


def _reasons(labels: pl.DataFrame, *, kept: frozenset[str] | None, min_score: float) -> pl.Series:
    lang, score = pl.col(LANG), pl.col(LANG_SCORE)
    reason = (
        pl.when(lang.is_null() & score.is_null())
        .then(pl.lit(REASON_EMPTY))
        .when(lang.is_null() | (score < min_score))
        .then(pl.lit(REASON_LOW_SCORE))
    )
    if kept is not None:
        reason = reason.when(~lang.is_in(list(kept))).then(pl.lit(REASON_NOT_KEPT))
    return labels.select(reason.otherwise(pl.lit(None, dtype=pl.String)).alias(REASON)).to_series()


def _counters(lang: pl.Series, reasons: pl.Series) -> Counters:
    """``lang.<code>``: records identified as the language; ``lang_kept.<code>``: those kept."""
    counts = (
        pl.DataFrame({LANG: lang, "kept": reasons.is_null()})
        .drop_nulls(LANG)
        .group_by(LANG)
        .agg(pl.len().alias("n"), pl.col("kept").sum().alias("n_kept"))
        .sort(LANG)
    )
    counters: Counters = {}
    for code, n, n_kept in counts.iter_rows():
        counters[f"lang.{code}"] = n
        if n_kept:
            counters[f"lang_kept.{code}"] = n_kept
    return counters


def apply(batch: pl.DataFrame, cfg: LanguageConfig) -> BatchResult:
    """Label every record of ``batch`` with ``lang``/``lang_score``, drop those ``cfg`` does not keep."""
    plan = resolve(cfg)
    labels = identify(text_view(batch, cfg.view), plan.model, max_chars=cfg.max_chars)
    reasons = _reasons(labels, kept=plan.kept, min_score=cfg.min_score)
    if plan.output_code is not None:
        labels = labels.with_columns(pl.col(LANG).replace_strict(plan.output_code, return_dtype=pl.String))
    counters = _counters(labels.get_column(LANG), reasons)
    return partition(batch.with_columns(labels), reasons, counters)


def check(cfg: LanguageConfig) -> None:
    """Preflight: the model loads and every keep entry names one of its labels."""
    resolve(cfg)


def inputs(cfg: LanguageConfig) -> list[str]:
    """A user model file is an input of the stage's cache key (the bundled one comes with curate)."""
    return [cfg.model] if cfg.model else []


STAGE = BatchStage(name="language", config=LanguageConfig, apply=apply, check=check, inputs=inputs)
