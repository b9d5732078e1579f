"""Encoding records: document ids end with EOD; conversation masks cover exactly the assistant tokens."""

from __future__ import annotations

import io

import numpy as np
import pytest
import sentencepiece as spm

from curate.errors import StageError
from curate.formats.templates import EOD, TEMPLATES, Segment, get_template
from curate.tokenize.encoder import Tokenizer
from tests.tokenize.corpus import corpus, model_bytes

CHATS = [
    [
        {"role": "system", "content": "Réponds en français."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Quatre. 4️⃣"},
        {"role": "user", "content": "Und auf Deutsch?"},
        {"role": "assistant", "content": " Vier, mit Leerzeichen davor."},
    ],
    [
        {"role": "user", "content": "日本語で"},
        {"role": "assistant", "content": "はい、日本語です。\n\n改行も。"},
    ],
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(model_bytes())


def split(ids: np.ndarray, mask: np.ndarray, lengths: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    ends = np.cumsum(lengths)
    return [(ids[e - n : e], mask[e - n : e]) for n, e in zip(lengths.tolist(), ends.tolist(), strict=True)]


def runs(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Maximal runs of ids whose mask is 1."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [ids[start:end] for start, end in zip(edges[::2], edges[1::2], strict=True)]


def test_documents_are_their_ids_then_end_of_document(tokenizer):
    texts = ["Hello world.", "", "漢字とemoji 😀"]
    ids, mask, lengths = tokenizer.encode_documents(texts)
    records = split(ids, mask, lengths)
    assert [int(r[0][-1]) for r in records] == [tokenizer.eod_id] * 3
    assert lengths.tolist()[1] == 1
    for text, (record_ids, record_mask) in zip(texts, records, strict=True):
        assert tokenizer.decode(record_ids[:-1]) == text
        assert record_mask.tolist() == [1] * record_ids.size
    assert ids.dtype == np.uint32
    assert mask.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_loss_mask_decodes_to_exactly_the_assistant_turns(tokenizer, name):
    template = get_template(name)
    end = template.end["assistant"]
    ids, mask, lengths = tokenizer.encode_segments([template.render_segments(chat) for chat in CHATS])
    for chat, (record_ids, record_mask) in zip(CHATS, split(ids, mask, lengths), strict=True):
        assert tokenizer.decode(record_ids) == template.render(chat)
        trained = [tokenizer.decode(run) for run in runs(record_ids, record_mask)]
        assert trained == [m["content"] + end for m in chat if m["role"] == "assistant"]
        assert int(record_ids[record_mask.astype(bool)][-1]) == tokenizer.special_ids[end]


def test_markup_specials_are_single_ids_and_cached(tokenizer):
    header = tokenizer.encode_markup("<|im_start|>assistant\n")
    assert int(header[0]) == tokenizer.special_ids["<|im_start|>"]
    assert tokenizer.decode(header) == "<|im_start|>assistant\n"
    assert tokenizer.encode_markup("<|im_start|>assistant\n") is header


def test_string_segments_mask_the_completion(tokenizer):
    segments = [[Segment("Q: 2+2?\nA:", False, False), Segment(" 4", True, False)]]
    ids, mask, lengths = tokenizer.encode_segments(segments)
    assert tokenizer.decode(ids[mask.astype(bool)]) == " 4"
    assert tokenizer.decode(ids) == "Q: 2+2?\nA: 4"
    assert lengths.tolist() == [ids.size]


def test_no_records_encode_to_nothing(tokenizer):
    ids, mask, lengths = tokenizer.encode_segments([])
    assert ids.size == mask.size == lengths.size == 0
    ids, lengths = tokenizer.encode_texts([])
    assert ids.size == lengths.size == 0


def test_a_model_without_curate_specials_ends_documents_with_its_eos():
    plain = Tokenizer(model_bytes(with_specials=False))
    assert plain.eod_id == plain.sp.eos_id()
    assert plain.missing_specials(get_template("chatml")) == ["<|im_start|>", "<|im_end|>"]
    assert plain.missing_specials(get_template("plain")) == []
    ids, _, _ = plain.encode_documents(["hello"])
    assert int(ids[-1]) == plain.sp.eos_id()
    assert plain.encode_markup(f"x{EOD}").tolist()[-1] == plain.sp.eos_id()
    assert plain.pad_id == 3


def test_a_model_without_any_end_token_is_refused():
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus(5)), model_writer=buffer, vocab_size=150, eos_id=-1, minloglevel=2
    )
    with pytest.raises(StageError, match="eos"):
        Tokenizer(buffer.getvalue())
