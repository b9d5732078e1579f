"""Training, saving and loading sentencepiece models, reproducibly.

Training runs in-process on an iterator of sentences and returns the model bytes. With one
trainer thread and a fixed seed the same sentences give the same bytes (tested), so a tokenizer
can be cached and compared by hash.

The defaults suit encoding text piece by piece (chat segments are encoded one at a time to get
exact loss masks): no dummy-prefix space and no whitespace folding, so that
``encode(a) + encode(b)`` decodes to ``a + b``, and identity normalisation (as in Llama's
tokenizer) with byte fallback, so that ``decode(encode(x)) == x`` for any text without the
``▁`` (U+2581) meta symbol, which sentencepiece reads as a space.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import sentencepiece as spm

from curate.errors import StageError
from curate.io.writers import write_atomic

ModelType = Literal["bpe", "unigram"]
Normalization = Literal["identity", "nfkc", "nmt_nfkc"]
MODEL_NAME, VOCAB_NAME = "tokenizer.model", "tokenizer.vocab"
PAD_ID = 3
"""Trained models: unk 0, bos 1, eos 2, pad 3, then the user-defined symbols."""


def train_sentencepiece(
    sentences: Iterable[str],
    *,
    vocab_size: int,
    model_type: ModelType = "bpe",
    byte_fallback: bool = True,
    character_coverage: float = 0.9995,
    user_defined_symbols: Sequence[str] = (),
    max_sentence_length: int = 4192,
    normalization: Normalization = "identity",
    split_digits: bool = True,
    hard_vocab_limit: bool = False,
    seed: int = 0,
    num_threads: int = 1,
) -> bytes:
    """Train a model on ``sentences`` (all of them: sample beforehand) and return its bytes."""
    buffer = io.BytesIO()
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=buffer,
            vocab_size=vocab_size,
            model_type=model_type,
            byte_fallback=byte_fallback,
            character_coverage=character_coverage,
            user_defined_symbols=list(user_defined_symbols),
            max_sentence_length=max_sentence_length,
            normalization_rule_name=normalization,
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,
            split_digits=split_digits,
            hard_vocab_limit=hard_vocab_limit,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            pad_id=PAD_ID,
            num_threads=num_threads,
            minloglevel=2,
        )
    except RuntimeError as error:
        raise StageError(f"sentencepiece training failed: {error}") from error
    return buffer.getvalue()


def processor(model: bytes) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_proto=model)


def read_model(path: str | os.PathLike) -> bytes:
    """The bytes of an existing ``.model`` file, checked to be a sentencepiece model."""
    path = Path(path)
    if not path.is_file():
        raise StageError(
            f"tokenizer model {str(path)!r} does not exist: give the path of a sentencepiece .model"
        )
    data = path.read_bytes()
    try:
        processor(data)
    except RuntimeError as error:
        raise StageError(f"{str(path)!r} is not a sentencepiece model: {error}") from error
    return data


_VISIBLE = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def vocab_text(model: bytes) -> str:
    """A ``.vocab`` file like sentencepiece's, ``piece<TAB>score`` per id, one line per id
    (backslash, newline, carriage return and tab in pieces are written as ``\\\\ \\n \\r \\t``)."""
    sp = processor(model)
    return "".join(
        f"{sp.id_to_piece(i).translate(_VISIBLE)}\t{sp.get_score(i):g}\n" for i in range(sp.vocab_size())
    )


def save_tokenizer(model: bytes, directory: str | os.PathLike) -> Path:
    """Write ``tokenizer.model`` and ``tokenizer.vocab`` into ``directory`` atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / VOCAB_NAME, lambda tmp: tmp.write_text(vocab_text(model), encoding="utf-8"))
    write_atomic(directory / MODEL_NAME, lambda tmp: tmp.write_bytes(model))
    return directory / MODEL_NAME


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
