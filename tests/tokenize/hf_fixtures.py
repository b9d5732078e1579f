"""Hugging Face tokenizer directories built offline, as pytest fixtures other test folders can use.

Import the fixtures into a conftest.py (``from tests.tokenize.hf_fixtures import hf_qwen, ...``).
Each is built once per session with :mod:`curate.tokenize.testing` and saved by ``transformers``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.tokenize.testing import CHAT_TEMPLATES, build_hf_tokenizer, build_wide_tokenizer, sample_texts
from tests.tokenize.corpus import corpus

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_TOKENIZER = SAMPLE / "hf-tokenizer"


def training_texts() -> list[str]:
    """Some sample_data pages and chats, plus the multilingual test lines (CJK, emoji, code)."""
    return sample_texts(SAMPLE, limit=800) + corpus(3)


@pytest.fixture(scope="session")
def hf_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Byte-level BPE shaped like Qwen 2.5's tokenizer: ChatML specials, eos <|endoftext|>, no BOS."""
    return build_hf_tokenizer(tmp_path_factory.mktemp("hf") / "qwen", training_texts(), vocab_size=1200)


@pytest.fixture(scope="session")
def hf_llama3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Byte-level BPE shaped like Llama 3's: BOS <|begin_of_text|> added by its post-processor."""
    return build_hf_tokenizer(
        tmp_path_factory.mktemp("hf") / "llama3", training_texts(), family="llama3", vocab_size=1200
    )


@pytest.fixture(scope="session")
def hf_wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level tokenizer whose ids are all above 65,535 (uint32 token files)."""
    return build_wide_tokenizer(tmp_path_factory.mktemp("hf") / "wide")


@pytest.fixture(scope="session")
def hf_families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tokenizer per template family (qwen, llama3, mistral, gemma), each with its family's chat
    template (:data:`curate.tokenize.testing.CHAT_TEMPLATES`) in its tokenizer_config.json."""
    root = tmp_path_factory.mktemp("hf-chat")
    texts = training_texts()
    return {
        family: build_hf_tokenizer(root / family, texts, family=family, vocab_size=900, chat_template=True)
        for family in CHAT_TEMPLATES
    }
