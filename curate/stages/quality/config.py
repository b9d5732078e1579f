"""Options of the quality stage: one model per published rule set, every threshold configurable.

Defaults are the published ones. Sources, cited in the field descriptions:

- Gopher: Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from Training
  Gopher", appendix A (quality filters, and Table A1 for the repetition thresholds).
- C4: Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
  Transformer", section 2.2, as implemented in TensorFlow Datasets' ``c4_utils``.
- FineWeb: Penedo et al. 2024, "The FineWeb Datasets: Decanting the Web for the Finest Text Data
  at Scale", section 3.

datatrove's GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and FineWebQualityFilter
are the reference implementation for option names and defaults; where curate differs (blank
lines, unspaced scripts), the description says so.

A threshold set to ``null`` disables its rule.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from curate.records import TextView
from curate.stages.base import Options, StageConfig

RULE_SETS = ("gopher", "c4", "fineweb")

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
GOPHER_BULLETS = ("•", "‣", "◦", "▪", "●", "・", "-", "*")
C4_END_PUNCTUATION = (".", "?", "!", '"', "'", "。", "！", "？", "｡", "．", "”", "’", "」", "』")
C4_POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
FINEWEB_STOP_CHARS = (".", "'", '"', "!", "?", "。", "！", "？", "｡", "．", "”", "’", "」", "』")
TOP_NGRAMS = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAMS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}

_GOPHER = "Gopher (Rae et al. 2021, appendix A)"
_TABLE_A1 = "Gopher (Rae et al. 2021, appendix A, Table A1)"
_C4 = "C4 (Raffel et al. 2020, section 2.2; datatrove C4QualityFilter)"
_FINEWEB = "FineWeb (Penedo et al. 2024, section 3; datatrove FineWebQualityFilter)"


def _fraction(value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a fraction between 0 and 1, got {value}")
    return value


def _ngram_table(table: dict[int, float]) -> dict[int, float]:
    for n, frac in table.items():
        if not 1 <= n <= 32:
            raise ValueError(f"n-gram size must be between 1 and 32, got {n}")
        _fraction(frac)
    return dict(sorted(table.items()))


def _strings(values: tuple[str, ...]) -> tuple[str, ...]:
    if any(not v for v in values):
        raise ValueError("empty strings are not allowed here: they would match every line")
    return values


def _marks(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("give at least one mark: with none, no line could ever count as punctuated")
    return _strings(values)


class GopherQualityConfig(Options):
    """Gopher's document quality rules. Words are curate.text words: a CJK character is a word."""

    min_doc_words: int | None = Field(
        default=50,
        ge=0,
        description=f"Drop documents with fewer words (letters or digits; punctuation-only tokens do not count). {_GOPHER}: 50.",
    )
    max_doc_words: int | None = Field(
        default=100_000, ge=1, description=f"Drop documents with more words. {_GOPHER}: 100,000."
    )
    min_avg_word_length: float | None = Field(
        default=3,
        ge=0,
        description=f"Drop documents whose mean word length (letters, digits and marks per word) is below this. {_GOPHER}: 3. "
        "Computed over non-CJK words; documents where CJK characters are at least `cjk_word_share` of the words "
        "are exempt (a CJK character is a one-character word by construction).",
    )
    max_avg_word_length: float | None = Field(
        default=10,
        ge=0,
        description=f"Drop documents whose mean word length is above this (same units as the minimum). {_GOPHER}: 10.",
    )
    max_symbol_word_ratio: float | None = Field(
        default=0.1,
        ge=0,
        description=f"Drop documents where '#' symbols, or ellipses ('...', '…', and '……' counted once), per word exceed this. {_GOPHER}: 0.1.",
    )
    max_bullet_lines_ratio: float | None = Field(
        default=0.9,
        description=f"Drop documents where more than this share of non-blank lines starts with a bullet. {_GOPHER}: 0.9.",
    )
    max_ellipsis_lines_ratio: float | None = Field(
        default=0.3,
        description=f"Drop documents where more than this share of non-blank lines ends with an ellipsis. {_GOPHER}: 0.3.",
    )
    min_alpha_words_ratio: float | None = Field(
        default=0.8,
        description=f"Drop documents where fewer than this share of words contain an alphabetic character. {_GOPHER}: 0.8 "
        "(datatrove: max_non_alpha_words_ratio). Punctuation-only tokens are left out of the count: CJK "
        "punctuation is a token of its own, where in spaced scripts it sticks to a word.",
    )
    min_stop_words: int | None = Field(
        default=2,
        ge=0,
        description=f"Drop documents with fewer occurrences of stop words. {_GOPHER}: 2, of the words "
        f"{', '.join(GOPHER_STOP_WORDS)}. curate adds short lists for de fr es it pt nl pl ru zh ja: the list of the "
        "record's `lang` when the batch has that column and a list for the language, else the best of all lists.",
    )
    stop_words: dict[str, tuple[str, ...]] | None = Field(
        default=None,
        description="Stop-word lists by language code, replacing the built-in ones (null: Gopher's English list "
        "plus curate's lists). Words are matched lower-cased and whole; entries of zh/ja (or any entry made of CJK "
        "characters) are matched as characters.",
    )
    bullets: tuple[str, ...] = Field(
        default=GOPHER_BULLETS,
        description="Line prefixes that count as bullets (datatrove: '•' and '-'; curate adds other bullet glyphs, "
        "'*' and the Japanese '・').",
    )

    _fractions = field_validator(
        "max_bullet_lines_ratio", "max_ellipsis_lines_ratio", "min_alpha_words_ratio"
    )(_fraction)
    _bullets = field_validator("bullets")(_strings)

    @field_validator("stop_words")
    @classmethod
    def _nonempty_lists(cls, value: dict[str, tuple[str, ...]] | None) -> dict[str, tuple[str, ...]] | None:
        if value is not None:
            if not value:
                raise ValueError("give at least one language's list, or null for the built-in lists")
            for lang, words in value.items():
                if not words or any(not w.strip() for w in words):
                    raise ValueError(f"the stop-word list of {lang!r} is empty or has an empty word")
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> GopherQualityConfig:
        if (
            self.min_doc_words is not None
            and self.max_doc_words is not None
            and self.min_doc_words > self.max_doc_words
        ):
            raise ValueError(
                f"min_doc_words ({self.min_doc_words}) is above max_doc_words ({self.max_doc_words})"
            )
        lo, hi = self.min_avg_word_length, self.max_avg_word_length
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_avg_word_length ({lo}) is above max_avg_word_length ({hi})")
        return self


class GopherRepetitionConfig(Options):
    """Gopher's repetition rules: repeated lines, paragraphs and word n-grams (CJK: character n-grams)."""

    dup_line_frac: float | None = Field(
        default=0.30,
        description=f"Drop documents where more than this share of non-blank lines repeats an earlier line. {_TABLE_A1}: 0.30.",
    )
    dup_para_frac: float | None = Field(
        default=0.30,
        description=f"Drop documents where more than this share of paragraphs repeats an earlier one. {_TABLE_A1}: 0.30.",
    )
    dup_line_char_frac: float | None = Field(
        default=0.20,
        description=f"Drop documents where repeated lines hold more than this share of the characters. {_TABLE_A1}: 0.20.",
    )
    dup_para_char_frac: float | None = Field(
        default=0.20,
        description=f"Drop documents where repeated paragraphs hold more than this share of the characters. {_TABLE_A1}: 0.20.",
    )
    top_ngram_char_frac: dict[int, float] = Field(
        default_factory=lambda: dict(TOP_NGRAMS),
        description=f"n -> maximum share of characters in the most frequent word n-gram (counted only when it occurs "
        f"at least twice). {_TABLE_A1}: 2: 0.20, 3: 0.18, 4: 0.16. The mapping replaces the default: list every n "
        "to check; {} disables the rule.",
    )
    dup_ngram_char_frac: dict[int, float] = Field(
        default_factory=lambda: dict(DUP_NGRAMS),
        description=f"n -> maximum share of characters covered by repeats of earlier word n-grams (each character "
        f"counted once). {_TABLE_A1}: 5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10. Replaces the default; "
        "{} disables the rule.",
    )
    cjk_ngram_scale: float = Field(
        default=2.0,
        ge=1.0,
        description="Documents that are mostly CJK (see `cjk_word_share`) are checked on character n-grams this "
        "many times longer (n=5 -> 10 characters): a CJK character carries about half a word, and unscaled "
        "character 5-grams repeat in a quarter of clean Japanese pages. 1 disables the adaptation.",
    )

    _fractions = field_validator(
        "dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac"
    )(_fraction)
    _tables = field_validator("top_ngram_char_frac", "dup_ngram_char_frac")(_ngram_table)


class GopherConfig(Options):
    """Both halves of Gopher's filters; set one to null to skip it."""

    quality: GopherQualityConfig | None = Field(
        default_factory=GopherQualityConfig, description="Document quality rules (null: skip)."
    )
    repetition: GopherRepetitionConfig | None = Field(
        default_factory=GopherRepetitionConfig, description="Repetition rules (null: skip)."
    )


class C4Config(Options):
    """C4's rules: a line filter (lines are dropped) and page rules (documents are dropped)."""

    filter_no_terminal_punct: bool = Field(
        default=True,
        description=f"Drop lines that do not end in terminal punctuation, or that end in '...'. {_C4}: on. "
        "The marks are `end_punctuation`.",
    )
    end_punctuation: tuple[str, ...] = Field(
        default=C4_END_PUNCTUATION,
        description="Line endings that count as terminal punctuation. C4: . ? ! \" ' ; curate adds the CJK "
        "marks 。！？｡． and closing quotes ” ’ 」 』.",
    )
    min_words_per_line: int | None = Field(
        default=3, ge=0, description=f"Drop lines with fewer words (a CJK character is a word). {_C4}: 3."
    )
    max_word_length: int | None = Field(
        default=1000,
        ge=1,
        description=f"Drop lines holding a word longer than this many characters. {_C4}: 1000.",
    )
    remove_citations: bool = Field(
        default=True,
        description=f"Remove Wikipedia-style citation marks ([1], [edit], [citation needed]) from lines. {_C4}: on.",
    )
    filter_lorem_ipsum: bool = Field(
        default=True, description=f"Drop documents containing 'lorem ipsum'. {_C4}: on."
    )
    filter_javascript: bool = Field(
        default=True, description=f"Drop lines mentioning 'javascript'. {_C4}: on."
    )
    filter_curly_bracket: bool = Field(
        default=True,
        description=f"Drop documents containing '{{' in a line that passed the line rules before it (as C4's code "
        f"does, so code lines without terminal punctuation do not drop the page). {_C4}: on.",
    )
    filter_policy: bool = Field(
        default=True,
        description=f"Drop lines containing one of `policy_substrings` (lower-cased). {_C4}: on.",
    )
    policy_substrings: tuple[str, ...] = Field(
        default=C4_POLICY_SUBSTRINGS, description=f"Phrases that mark a policy/cookie line. {_C4} list."
    )
    min_num_sentences: int | None = Field(
        default=5,
        ge=0,
        description=f"Drop documents with fewer sentences in their kept lines. {_C4}: 5. Sentences are counted by "
        "terminal marks (. ! ? followed by a space or the line end; 。！？ anywhere), at least one per kept line.",
    )
    rewrite: bool = Field(
        default=True,
        description="Replace the text of kept text records by their kept lines, as C4 does. False: lines only "
        "decide (sentences are counted over kept lines) and texts stay unchanged. Chat and preference records are "
        "never rewritten. Rule sets after C4 (FineWeb) read the text as it will be written.",
    )

    _end = field_validator("end_punctuation")(_marks)
    _policy = field_validator("policy_substrings")(_strings)


class FineWebConfig(Options):
    """FineWeb's own rules. Blank lines are not lines here (datatrove counts them)."""

    line_punct_thr: float | None = Field(
        default=0.12,
        description=f"Drop documents where at most this share of non-blank lines ends with a stop character. {_FINEWEB}: 0.12.",
    )
    line_punct_exclude_zero: bool = Field(
        default=False,
        description=f"Do not drop documents where no line at all ends with a stop character. {_FINEWEB}: off.",
    )
    stop_chars: tuple[str, ...] = Field(
        default=FINEWEB_STOP_CHARS,
        description="Line endings that count as punctuation. FineWeb: . ' \" ! ? ; curate adds 。！？｡． ” ’ 」 』.",
    )
    short_line_thr: float | None = Field(
        default=0.67,
        description=f"Drop documents where at least this share of non-blank lines is short. {_FINEWEB}: 0.67.",
    )
    short_line_length: int = Field(
        default=30,
        ge=0,
        description=f"A line at most this wide is short. {_FINEWEB}: 30 characters. Width counts a CJK character "
        "as 2 (East Asian wide characters carry more per character).",
    )
    char_duplicates_ratio: float | None = Field(
        default=0.01,
        description=f"Drop documents where repeats of earlier lines hold at least this share of the characters "
        f"(newlines excluded). {_FINEWEB}: 0.01.",
    )
    new_line_ratio: float | None = Field(
        default=0.3,
        ge=0,
        description=f"Drop list-like documents: line breaks per word above this. {_FINEWEB}: 0.3. A run of "
        "blank lines counts as one break.",
    )

    _fractions = field_validator("line_punct_thr", "short_line_thr", "char_duplicates_ratio")(_fraction)
    _chars = field_validator("stop_chars")(_marks)


class QualityConfig(StageConfig):
    """Heuristic quality filters. Rule sets named in the recipe run; `quality: {}` runs all of them
    with published defaults. Order (the first failing rule names the drop): Gopher quality, Gopher
    repetition, C4, FineWeb; within a set, the order of its fields."""

    gopher: GopherConfig | None = Field(
        default=None,
        description="Gopher rules, in two parts: `gopher: {quality: {min_doc_words: 50, ...}, repetition: "
        "{dup_line_frac: 0.3, ...}}`; `gopher: {}` runs both with published defaults.",
    )
    c4: C4Config | None = Field(default=None, description="C4 line and page rules.")
    fineweb: FineWebConfig | None = Field(default=None, description="FineWeb rules.")
    view: TextView = Field(
        default_factory=TextView, description="Which turns/fields of chat and preference records are read."
    )
    lang_column: str = Field(
        default="lang",
        description="Column with each record's language code (the language stage writes it). When present, "
        "Gopher's stop words of that language are used.",
    )
    cjk_word_share: float = Field(
        default=0.5,
        description="A document where at least this share of words are CJK characters is treated as unspaced "
        "(Chinese/Japanese) by rules that assume spaces: it is exempt from Gopher's mean-word-length rule and gets "
        "longer character n-grams in the repetition rules (`gopher.repetition.cjk_ngram_scale`).",
    )

    unsegmented_share: float | None = Field(
        default=0.5,
        description="Records whose text is at least this share (of non-space characters) Thai, Lao, Tibetan, "
        "Myanmar or Khmer script pass through unjudged, counted as `quality_unjudged`: these scripts put no "
        "spaces between words and curate has no word units for them, so the word, stop-word and punctuation "
        "rules would drop every such page. null judges them like any text.",
    )

    _share = field_validator("cjk_word_share")(_fraction)

    @field_validator("unsegmented_share")
    @classmethod
    def _optional_share(cls, value: float | None) -> float | None:
        return None if value is None else _fraction(value)

    @model_validator(mode="before")
    @classmethod
    def _all_rule_sets_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and not any(name in data for name in RULE_SETS):
            return {**data, **{name: {} for name in RULE_SETS}}
        return data

    @model_validator(mode="after")
    def _something_enabled(self) -> QualityConfig:
        if not self.enabled():
            raise ValueError(
                "every rule set is disabled: enable at least one of gopher, c4, fineweb (or remove the quality stage)"
            )
        return self

    def enabled(self) -> list[str]:
        """Names of the rule sets that run, in their fixed order."""
        names = []
        if self.gopher is not None and self.gopher.quality is not None:
            names.append("gopher_quality")
        if self.gopher is not None and self.gopher.repetition is not None:
            names.append("gopher_repetition")
        if self.c4 is not None:
            names.append("c4")
        if self.fineweb is not None:
            names.append("fineweb")
        return names
