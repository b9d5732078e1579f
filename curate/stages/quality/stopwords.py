"""Stop words for Gopher's "does this read like language" rule, and how they are counted.

English is Gopher's own list (Rae et al. 2021, appendix A). The other lists are curate's: very
frequent function words of each language, written for this project. Single-letter Latin words
(Polish 'i'/'w', Portuguese 'a'/'e'/'o'...) are left out on purpose: they are English letters or
words too, and would let any English text pass on another language's list. zh and ja lists are
single characters, matched wherever they occur (each CJK character is a word in curate).
"""

from __future__ import annotations

import re

import polars as pl

from curate.stages.quality.config import GOPHER_STOP_WORDS
from curate.stages.quality.units import alternation
from curate.text import CJK_CHAR

BUILTIN_STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": GOPHER_STOP_WORDS,
    "de": (
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "zu",
        "den",
        "mit",
        "von",
        "sich",
        "des",
        "auf",
        "für",
        "im",
        "dem",
        "es",
        "auch",
    ),
    "fr": (
        "le",
        "la",
        "les",
        "de",
        "des",
        "et",
        "est",
        "un",
        "une",
        "du",
        "que",
        "qui",
        "dans",
        "pour",
        "pas",
        "sur",
        "au",
        "avec",
        "il",
        "ce",
    ),
    "es": (
        "el",
        "la",
        "los",
        "las",
        "de",
        "que",
        "en",
        "un",
        "una",
        "es",
        "por",
        "con",
        "para",
        "del",
        "se",
        "no",
        "lo",
        "al",
        "como",
        "más",
    ),
    "it": (
        "il",
        "la",
        "di",
        "che",
        "è",
        "un",
        "una",
        "per",
        "non",
        "in",
        "del",
        "della",
        "con",
        "sono",
        "gli",
        "le",
        "si",
        "da",
        "come",
        "anche",
    ),
    "pt": (
        "os",
        "as",
        "de",
        "que",
        "do",
        "da",
        "em",
        "um",
        "uma",
        "para",
        "com",
        "não",
        "no",
        "na",
        "se",
        "por",
        "dos",
        "das",
        "ao",
        "mais",
    ),
    "nl": (
        "de",
        "het",
        "een",
        "en",
        "van",
        "is",
        "dat",
        "niet",
        "op",
        "te",
        "in",
        "zijn",
        "met",
        "voor",
        "er",
        "die",
        "ook",
        "aan",
        "als",
        "om",
    ),
    "pl": (
        "nie",
        "na",
        "się",
        "to",
        "że",
        "jest",
        "do",
        "jak",
        "ale",
        "co",
        "od",
        "po",
        "dla",
        "tak",
        "są",
        "czy",
        "przez",
        "jego",
        "już",
        "tylko",
    ),
    "ru": (
        "и",
        "в",
        "не",
        "на",
        "что",
        "с",
        "по",
        "это",
        "как",
        "он",
        "к",
        "но",
        "из",
        "у",
        "за",
        "от",
        "то",
        "же",
        "для",
        "так",
    ),
    "zh": (
        "的",
        "了",
        "是",
        "在",
        "和",
        "有",
        "不",
        "这",
        "也",
        "就",
        "都",
        "我",
        "他",
        "们",
        "个",
        "上",
        "说",
        "要",
        "会",
        "对",
    ),
    "ja": ("の", "に", "は", "を", "が", "で", "と", "も", "へ", "や", "か", "た", "て", "だ", "な", "し"),
}

_CJK = re.compile(CJK_CHAR)


def stop_word_pattern(words: tuple[str, ...]) -> str:
    """A regex counting ``words`` in lower-cased text: whole words, CJK entries anywhere."""
    lowered = {w.strip().lower() for w in words}
    cjk = sorted(w for w in lowered if _CJK.search(w))
    spaced = sorted(lowered - set(cjk))
    parts = []
    if spaced:
        parts.append(r"\b" + alternation(spaced) + r"\b")
    if cjk:
        parts.append(alternation(cjk))
    return "|".join(parts)


def language_code(lang: pl.Expr) -> pl.Expr:
    """The base ISO code of a language label: 'zh-Hans' -> 'zh', '__label__en' -> 'en', 'EN' -> 'en'."""
    return lang.str.to_lowercase().str.replace(r"^__label__", "").str.replace(r"[-_].*$", "")


def enough_stop_words(
    lowered: pl.Series,
    lang: pl.Series | None,
    *,
    lists: dict[str, tuple[str, ...]],
    min_count: int,
) -> pl.Series:
    """True where a document holds at least ``min_count`` stop words.

    A document whose language (from ``lang``) has a list is judged on that list alone; any other
    document passes if one of the lists reaches the count. Each list's regex only runs on the
    documents still undecided, so a corpus needs about one pass per document.
    """
    n = len(lowered)
    if lang is None:
        codes = pl.Series([None] * n, dtype=pl.String)
    else:
        codes = lang.cast(pl.String).to_frame("l").select(language_code(pl.col("l"))).to_series()
    has_list = codes.is_in(list(lists)).fill_null(False)
    passed = pl.Series([False] * n, dtype=pl.Boolean)
    for code, words in lists.items():
        pattern = stop_word_pattern(words)
        own = has_list & (codes == code).fill_null(False)
        todo = own | (~has_list & ~passed)
        if not todo.any():
            continue
        counts = lowered.filter(todo).str.count_matches(pattern)
        hit = pl.Series([False] * n, dtype=pl.Boolean).scatter(todo.arg_true(), counts >= min_count)
        passed = passed | hit
    return passed
