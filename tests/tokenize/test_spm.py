"""sentencepiece training: reproducible bytes, lossless round trips, atomic saving, clear errors."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.errors import StageError
from curate.formats.templates import all_special_tokens
from curate.tokenize.spm import (
    MODEL_NAME,
    VOCAB_NAME,
    processor,
    read_model,
    save_tokenizer,
    train_sentencepiece,
)
from tests.tokenize.corpus import corpus, model_bytes

# Any Unicode text (CJK, emoji, combining marks, control characters), except U+2581, the
# sentencepiece space meta symbol, which decodes as a space: the one normalisation left.
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\u2581"), max_size=60)
CJK_AND_EMOJI = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
        st.sampled_from(" \n\t.,!?abcXYZ"),
    ),
    max_size=60,
)


def test_same_sentences_give_the_same_model_bytes():
    first = train_sentencepiece(corpus(), vocab_size=500, user_defined_symbols=all_special_tokens())
    second = train_sentencepiece(corpus(), vocab_size=500, user_defined_symbols=all_special_tokens())
    assert first == second
    other = train_sentencepiece(corpus(repeat=5), vocab_size=500, user_defined_symbols=all_special_tokens())
    assert other != first


def test_unigram_is_reproducible_too():
    first = train_sentencepiece(corpus(10), vocab_size=400, model_type="unigram", seed=3)
    assert first == train_sentencepiece(corpus(10), vocab_size=400, model_type="unigram", seed=3)


def test_special_tokens_are_single_pieces():
    sp = processor(model_bytes())
    for token in all_special_tokens():
        assert len(sp.encode(token)) == 1, token
        assert sp.decode(sp.encode(token)) == token
    assert sp.pad_id() == 3


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_decode_encode_is_lossless_on_any_text(text):
    sp = processor(model_bytes())
    assert sp.decode(sp.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(CJK_AND_EMOJI)
def test_decode_encode_is_lossless_on_cjk_and_emoji(text):
    sp = processor(model_bytes())
    assert sp.decode(sp.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_pieces_encoded_apart_decode_to_their_concatenation(a, b):
    """No dummy-prefix space: segment-by-segment encoding loses nothing at the joins."""
    sp = processor(model_bytes())
    assert sp.decode(sp.encode(a) + sp.encode(b)) == a + b


@pytest.mark.parametrize(
    "text", ["ﬁne ｆｕｌｌ－ｗｉｄｔｈ", "Ångström e\u0301", "①②③ ㍻", "漢字 😀 tab\tend"]
)
def test_nfkc_model_round_trips_nfkc_normalised_text(text):
    sp = processor(train_sentencepiece(corpus(10), vocab_size=400, normalization="nfkc"))
    normalised = unicodedata.normalize("NFKC", text)
    assert sp.decode(sp.encode(text)) == normalised
    assert sp.decode(sp.encode(normalised)) == normalised


def test_save_writes_model_and_vocab_without_leftovers(tmp_path):
    path = save_tokenizer(model_bytes(), tmp_path / "tokenizer")
    assert path == tmp_path / "tokenizer" / MODEL_NAME
    assert path.read_bytes() == model_bytes()
    vocab = (tmp_path / "tokenizer" / VOCAB_NAME).read_text("utf-8").split("\n")[:-1]
    assert len(vocab) == processor(model_bytes()).vocab_size()
    assert vocab[4].split("\t")[0] == all_special_tokens()[0]
    assert sorted(p.name for p in (tmp_path / "tokenizer").iterdir()) == [MODEL_NAME, VOCAB_NAME]
    assert read_model(path) == model_bytes()


def test_reading_a_missing_or_broken_model_is_a_clear_error(tmp_path):
    with pytest.raises(StageError, match="does not exist"):
        read_model(tmp_path / "nope.model")
    broken = tmp_path / "broken.model"
    broken.write_bytes(b"not a model")
    with pytest.raises(StageError, match="not a sentencepiece model"):
        read_model(broken)


def test_a_vocabulary_the_sample_cannot_fill_fails_only_with_a_hard_limit():
    sentences = ["tiny sample", "only a few words"]
    with pytest.raises(StageError, match="Vocabulary size too high"):
        train_sentencepiece(sentences, vocab_size=2000, hard_vocab_limit=True)
    assert processor(train_sentencepiece(sentences, vocab_size=2000)).vocab_size() < 2000
