"""A small multilingual corpus written for these tests (no downloads), and a tokenizer trained on it."""

from __future__ import annotations

from functools import cache

from curate.formats.templates import all_special_tokens
from curate.tokenize.spm import train_sentencepiece

LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "A tokenizer splits text into pieces that a language model can read.",
    "Packing puts several short documents into one training row.",
    "Grüße aus München! Die Straße ist heute nass, aber schön.",
    "Le petit déjeuner est servi à huit heures précises.",
    "Привет, мир! Сегодня хорошая погода для прогулки.",
    "日本語の文章をトークン化します。漢字とひらがなとカタカナ。",
    "今天天气很好，我们去公园散步吧。",
    "Emoji work too 😀🎉👍 and so do symbols: ±×÷ €£¥.",
    "def add(x, y):\n    return x + y\n",
    "Numbers like 3.14159 and 2024-05-17 are split into digits.",
]


def corpus(repeat: int = 30) -> list[str]:
    """Every line, numbered so that repeats differ a little."""
    return [f"{line} ({i})" for i in range(repeat) for line in LINES]


@cache
def model_bytes(vocab_size: int = 600, with_specials: bool = True) -> bytes:
    """A BPE model on :func:`corpus` (cached: trained once per test session)."""
    symbols = all_special_tokens() if with_specials else ()
    return train_sentencepiece(corpus(), vocab_size=vocab_size, user_defined_symbols=symbols)
