"""Fixtures for the trainer tests: a small English corpus written here, a real sentencepiece model
trained on it, and packed token files written with the real TokenWriter."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from curate.io.tokens import TokenWriter
from curate.train.config import ModelOverrides, TrainConfig

SUBJECTS = [
    "The old fisherman",
    "A young teacher",
    "My neighbour",
    "The village baker",
    "Our little dog",
    "The tired doctor",
    "A quiet student",
    "The farmer's daughter",
    "The tall engineer",
    "Her brother",
    "The grey cat",
    "A travelling musician",
    "The night guard",
    "Grandmother",
    "The new librarian",
]
VERBS = [
    "repaired",
    "painted",
    "carried",
    "found",
    "cleaned",
    "opened",
    "sold",
    "borrowed",
    "watched",
    "closed",
    "measured",
    "described",
    "forgot",
    "remembered",
    "wrapped",
]
OBJECTS = [
    "the blue boat",
    "a heavy box",
    "the wooden door",
    "an old map",
    "the kitchen window",
    "a basket of apples",
    "the broken clock",
    "a letter from home",
    "the garden gate",
    "a warm coat",
    "the small lamp",
    "a pair of boots",
    "the red bicycle",
    "a jar of honey",
    "the stone bridge",
]
PLACES = [
    "near the harbour",
    "in the market",
    "behind the church",
    "at the station",
    "by the river",
    "in the garden",
    "on the hill",
    "at the school",
    "in the forest",
    "next to the bakery",
]
TIMES = [
    "before sunrise",
    "after lunch",
    "on Sunday",
    "in the evening",
    "during the storm",
    "last winter",
    "every morning",
    "at midnight",
    "yesterday",
    "in spring",
]
TEMPLATES = [
    "{s} {v} {o} {p} {t}.",
    "{t}, {s_low} {v} {o} {p}.",
    "{s} {v} {o} {t}.",
    "Did {s_low} really say that he {v} {o} {p}?",
    "Nobody knew why {s_low} {v} {o} {t}.",
]


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` grammatical sentences from the word lists above (deterministic per seed)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = rng.choice(SUBJECTS)
        out.append(
            rng.choice(TEMPLATES).format(
                s=s,
                s_low=s[0].lower() + s[1:],
                v=rng.choice(VERBS),
                o=rng.choice(OBJECTS),
                p=rng.choice(PLACES),
                t=rng.choice(TIMES),
            )
        )
    return out


def documents(n: int, seed: int = 0, per_doc: tuple[int, int] = (2, 5)) -> list[str]:
    rng = random.Random(seed + 1000)
    pool = iter(sentences(n * per_doc[1], seed))
    return [" ".join(itertools.islice(pool, rng.randint(*per_doc))) for _ in range(n)]


def noise_document(length: int, rng: random.Random) -> str:
    """Random characters (letters, digits, punctuation, spaces) of about ``length`` characters."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?-'  "
    return "".join(rng.choice(alphabet) for _ in range(length))


def train_tokenizer(texts: list[str], prefix: Path, vocab_size: int = 400) -> Path:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        user_defined_symbols=["<|im_start|>", "<|im_end|>"],
        bos_id=1,
        eos_id=2,
        unk_id=0,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    return prefix.with_suffix(".model")


def pack_documents(sp: spm.SentencePieceProcessor, texts: list[str], out_dir: Path, seq_len: int) -> Path:
    """Concatenate-and-split packing: each document followed by EOS, rows of ``seq_len`` tokens,
    the last row padded with mask 0 (what the tokenize stage does for pretraining)."""
    stream: list[int] = []
    starts = []
    for text in texts:
        starts.append(len(stream))
        stream += [*sp.encode(text), sp.eos_id()]
    n_rows = -(-len(stream) // seq_len)
    tokens = np.full(n_rows * seq_len, sp.eos_id(), dtype=np.int64)
    mask = np.zeros(n_rows * seq_len, dtype=np.uint8)
    tokens[: len(stream)] = stream
    mask[: len(stream)] = 1
    with TokenWriter(
        out_dir, vocab_size=sp.get_piece_size(), seq_len=seq_len, special_ids={"eos": sp.eos_id()}
    ) as w:
        w.write(tokens.reshape(n_rows, seq_len), mask.reshape(n_rows, seq_len))
        w.add_doc_starts(np.array(starts))
    return out_dir


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return documents(240, seed=0)


@pytest.fixture(scope="session")
def eval_texts() -> list[str]:
    return documents(24, seed=99)


@pytest.fixture(scope="session")
def sp_path(tmp_path_factory: pytest.TempPathFactory, corpus: list[str]) -> Path:
    return train_tokenizer(corpus, tmp_path_factory.mktemp("spm") / "tok")


@pytest.fixture(scope="session")
def sp(sp_path: Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(sp_path))


@pytest.fixture(scope="session")
def tokens_dir(
    tmp_path_factory: pytest.TempPathFactory, sp: spm.SentencePieceProcessor, corpus: list[str]
) -> Path:
    return pack_documents(sp, corpus, tmp_path_factory.mktemp("tokens"), seq_len=33)


MICRO = ModelOverrides(n_layer=2, n_head=2, n_embd=32)


def micro_config(**overrides) -> TrainConfig:
    """A 2-layer, 32-wide model: a few milliseconds per step on a CPU."""
    base = dict(
        preset="tiny", model=MICRO, steps=20, batch_size=8, lr=3e-3, warmup=2, eval_every=0, log_every=5
    )
    return TrainConfig(**{**base, **overrides})


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Micro models gain nothing from a second thread, and OpenMP threads spinning on a shared,
    busy machine can make a step 20x slower: run the trainer tests on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tokens_dir: Path, sp_path: Path):
    """A micro model trained for 150 steps on the corpus (its checkpoint is shared, read-only)."""
    from curate.train.loop import train

    return train(
        tokens_dir,
        micro_config(steps=150),
        out_dir=tmp_path_factory.mktemp("trained"),
        tokenizer_path=sp_path,
        progress=False,
    )
