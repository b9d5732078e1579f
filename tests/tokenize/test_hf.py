"""Hugging Face tokenizers behind the tokenizer interface: the same ids as transformers gives,
lossless round trips, BOS/EOS from the tokenizer's own config, uint32 for wide vocabularies."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from transformers import AutoTokenizer

from curate.errors import StageError
from curate.formats.templates import EOD, get_template
from curate.tokenize.base import Tokenizer
from curate.tokenize.hf import HFTokenizer, fingerprint, read_files, resolve_dir
from curate.tokenize.load import load_tokenizer, tokenizer_fingerprint
from curate.tokenize.testing import set_config
from tests.tokenize.corpus import LINES

TEXTS = [
    *LINES,
    "",
    " leading and trailing spaces  ",
    "tabs\tand\nnew lines\r\n\n",
    "Special tokens in text: <|im_start|>user\nhi<|im_end|>",
    "Zeichen außerhalb des Vokabulars: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ \u200b",
]


def split(ids: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    ends = np.cumsum(lengths)
    return [ids[e - n : e].tolist() for n, e in zip(lengths.tolist(), ends.tolist(), strict=True)]


@pytest.fixture(params=["hf_qwen", "hf_llama3", "hf_wide"])
def directory(request):
    return request.getfixturevalue(request.param)


def test_is_a_tokenizer_and_round_trips(directory):
    tok = load_tokenizer(directory)
    assert isinstance(tok, Tokenizer)
    assert tok.kind == "hf"
    ids, lengths = tok.encode_texts(TEXTS)
    assert ids.dtype == np.uint32 and lengths.dtype == np.int64
    assert [tok.decode(piece) for piece in split(ids, lengths)] == TEXTS


def test_ids_are_what_transformers_gives(directory):
    tok = load_tokenizer(directory)
    auto = AutoTokenizer.from_pretrained(str(directory))
    ids, lengths = tok.encode_texts(TEXTS)
    assert split(ids, lengths) == auto(TEXTS, add_special_tokens=False)["input_ids"]
    # documents: what the tokenizer adds itself (Llama 3's BOS), then the end-of-document token
    docs, mask, doc_lengths = tok.encode_documents(TEXTS)
    expected = [[*row, auto.eos_token_id] for row in auto(TEXTS)["input_ids"]]
    assert split(docs, doc_lengths) == expected
    assert mask.tolist() == [1] * docs.size
    assert tok.eod_id == auto.eos_token_id


def test_offsets_are_what_transformers_gives(hf_qwen, hf_llama3):
    for directory in (hf_qwen, hf_llama3):
        tok = load_tokenizer(directory)
        auto = AutoTokenizer.from_pretrained(str(directory))
        ids, lengths, offsets = tok.encode_with_offsets(TEXTS)
        assert offsets.shape == (ids.size, 2)
        mapping = auto(TEXTS, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        assert split(offsets.reshape(-1), lengths * 2) == [
            [x for span in row for x in span] for row in mapping
        ]
        for text, row in zip(TEXTS, split(offsets.reshape(-1), lengths * 2), strict=True):
            spans = np.array(row).reshape(-1, 2)
            assert (spans[:, 0] <= spans[:, 1]).all() and (spans[:, 1] <= len(text)).all()


def test_bos_follows_the_tokenizer_config(hf_llama3, tmp_path):
    assert load_tokenizer(hf_llama3).add_bos  # the post-processor adds it, the config says nothing
    bos = load_tokenizer(hf_llama3).bos_id
    off = shutil.copytree(hf_llama3, tmp_path / "no-bos")
    set_config(off, add_bos_token=False)
    tok = load_tokenizer(off)
    assert not tok.add_bos and "bos" not in tok.ids_info()
    ids, _, lengths = tok.encode_documents(["Hello.", "World."])
    assert bos not in ids.tolist()
    assert lengths.tolist() == [n + 1 for n in tok.encode_texts(["Hello.", "World."])[1].tolist()]
    assert load_tokenizer(hf_llama3).ids_info()["bos"] == bos


def test_bos_asked_for_without_a_bos_token_is_an_error(hf_qwen, tmp_path):
    copy = shutil.copytree(hf_qwen, tmp_path / "q")
    set_config(copy, add_bos_token=True)
    with pytest.raises(StageError, match="add_bos_token is true but there is no bos_token"):
        load_tokenizer(copy)


def test_template_specials_are_single_ids(hf_qwen, hf_llama3):
    qwen, llama = load_tokenizer(hf_qwen), load_tokenizer(hf_llama3)
    assert qwen.missing_specials(get_template("chatml")) == []
    assert llama.missing_specials(get_template("llama3")) == []  # <|endoftext|> is its eos
    assert llama.special_ids[EOD] == llama.eos_id
    assert llama.missing_specials(get_template("chatml")) == ["<|im_start|>", "<|im_end|>"]
    markup = qwen.encode_markup("<|im_start|>assistant\n")
    assert markup[0] == qwen.special_ids["<|im_start|>"]
    assert qwen.decode(markup) == "<|im_start|>assistant\n"


@pytest.mark.parametrize(("fixture", "template"), [("hf_qwen", "chatml"), ("hf_llama3", "llama3")])
def test_conversation_masks_cover_exactly_the_assistant_turns(fixture, template, request):
    tok = load_tokenizer(request.getfixturevalue(fixture))
    chat = get_template(template)
    messages = [
        {"role": "system", "content": "Réponds brièvement."},
        {"role": "user", "content": "日本語で?"},
        {"role": "assistant", "content": "はい。😀"},
        {"role": "user", "content": "And now?"},
        {"role": "assistant", "content": " Done, with a leading space."},
    ]
    segments = chat.render_segments(messages)
    ids, mask, lengths = tok.encode_segments([segments])
    assert lengths.tolist() == [ids.size]
    assert tok.decode(ids) == "".join(s.text for s in segments)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    targets = [tok.decode(ids[s:e]) for s, e in zip(edges[::2], edges[1::2], strict=True)]
    end = chat.end["assistant"]
    assert targets == ["はい。😀" + end, " Done, with a leading space." + end]


def test_wide_vocabularies_use_uint32(hf_wide, hf_qwen):
    wide = load_tokenizer(hf_wide)
    assert wide.vocab_size > 65_535 and wide.id_dtype == np.uint32
    ids, _ = wide.encode_texts(["ids above 65535"])
    assert ids.min() > 65_535
    assert load_tokenizer(hf_qwen).id_dtype == np.uint16


def test_fingerprint_covers_the_json_and_the_config(hf_qwen, tmp_path):
    copy = shutil.copytree(hf_qwen, tmp_path / "q")
    before = tokenizer_fingerprint(copy)
    assert before == load_tokenizer(copy).fingerprint == fingerprint(read_files(copy))
    set_config(copy, add_bos_token=False)
    assert tokenizer_fingerprint(copy) != before


def test_a_missing_file_is_an_error_naming_it(hf_qwen, tmp_path):
    with pytest.raises(StageError, match="does not exist"):
        read_files(tmp_path / "nowhere")
    copy = shutil.copytree(hf_qwen, tmp_path / "q")
    (copy / "tokenizer_config.json").unlink()
    with pytest.raises(StageError, match=r"has no tokenizer_config\.json \(.*tokenizer_config\.json\)"):
        read_files(copy)
    with pytest.raises(StageError, match=r"no .* in the local Hugging Face cache"):
        resolve_dir("some-org/some-model-that-is-not-cached")


def test_a_cached_snapshot_is_found_offline(hf_qwen, tmp_path, monkeypatch):
    repo = tmp_path / "hub" / "models--org--tiny"
    snapshot = repo / "snapshots" / "abc123"
    shutil.copytree(hf_qwen, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_dir("org/tiny") == snapshot
    assert resolve_dir(repo) == snapshot
    assert resolve_dir(snapshot) == snapshot
    assert load_tokenizer(snapshot).fingerprint == load_tokenizer(hf_qwen).fingerprint


def test_special_tokens_map_is_read_where_there_is_one(hf_llama3, tmp_path):
    """Older save_pretrained (and many hub snapshots) keep eos_token in special_tokens_map.json."""
    copy = shutil.copytree(hf_llama3, tmp_path / "old")
    config = json.loads((copy / "tokenizer_config.json").read_text())
    special = {k: config.pop(k) for k in ("bos_token", "eos_token")}
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    (copy / "special_tokens_map.json").write_text(json.dumps({k: {"content": v} for k, v in special.items()}))
    tok = load_tokenizer(copy)
    assert (tok.bos_id, tok.eos_id) == (load_tokenizer(hf_llama3).bos_id, load_tokenizer(hf_llama3).eos_id)


def test_no_eos_token_is_an_error(hf_qwen, tmp_path):
    copy = shutil.copytree(hf_qwen, tmp_path / "q")
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("eos_token")
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(StageError, match="no eos_token"):
        HFTokenizer(read_files(copy))
