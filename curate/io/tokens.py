"""Packed token files: what the tokenize stage writes and the trainer reads.

Layout of ``RUN_DIR/tokens/`` (a nanoGPT-style loader can read it with ``np.memmap``)::

    index.json        TokenIndex: dtype, vocab_size, seq_len, num_rows, special ids, tokenizer, stats
    train.bin         num_rows x seq_len token ids, row-major, dtype uint16 (vocab <= 65535) or uint32
    train.mask.bin    num_rows x seq_len uint8; 1 where the token is a training target
    train.docs.bin    uint64 offsets (into the flat token stream) where each document starts

Each row is one training sequence of exactly ``seq_len`` tokens (short rows are padded with
``pad_id`` and mask 0). A model is fed ``row[:-1]`` and predicts ``row[1:]``; the loss on target
``row[t]`` counts iff ``mask[t] == 1``. Pretraining masks are 1 except on padding; SFT masks are 1
exactly on assistant tokens and their end-of-turn token.

Writes go to temporary names and are renamed into place, ``index.json`` last: a directory with an
``index.json`` is complete.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

TokenDType = Literal["uint16", "uint32"]
INDEX_NAME = "index.json"
FORMAT_VERSION = 1


def dtype_for_vocab(vocab_size: int) -> TokenDType:
    """The smallest unsigned dtype that holds every id of a vocabulary."""
    return "uint16" if vocab_size <= 65535 else "uint32"


@dataclass(frozen=True)
class TokenIndex:
    dtype: TokenDType
    vocab_size: int
    seq_len: int
    num_rows: int
    split: str = "train"
    special_ids: dict[str, int] = field(default_factory=dict)
    tokenizer: str | None = None
    packing: str = "concat"
    num_docs: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    @property
    def num_tokens(self) -> int:
        return self.num_rows * self.seq_len


def _paths(directory: Path, split: str) -> dict[str, Path]:
    return {
        "tokens": directory / f"{split}.bin",
        "mask": directory / f"{split}.mask.bin",
        "docs": directory / f"{split}.docs.bin",
    }


class TokenWriter:
    """Append packed rows, then ``close()`` to publish the files atomically.

    >>> with TokenWriter(out_dir, vocab_size=8000, seq_len=512) as w:  # doctest: +SKIP
    ...     w.write(rows, masks)          # (k, seq_len) arrays
    ...     w.add_doc_starts(offsets)     # optional, absolute offsets in the flat stream
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        vocab_size: int,
        seq_len: int,
        split: str = "train",
        special_ids: dict[str, int] | None = None,
        tokenizer: str | None = None,
        packing: str = "concat",
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.dtype: TokenDType = dtype_for_vocab(vocab_size)
        self.vocab_size, self.seq_len, self.split = vocab_size, seq_len, split
        self.special_ids = dict(special_ids or {})
        self.tokenizer, self.packing = tokenizer, packing
        self.num_rows = 0
        self.num_docs = 0
        self._final = _paths(self.directory, split)
        self._tmp = {k: p.with_name(p.name + ".tmp") for k, p in self._final.items()}
        self._files = {k: open(p, "wb") for k, p in self._tmp.items()}  # noqa: SIM115 - closed in close()

    def write(self, rows: np.ndarray, masks: np.ndarray) -> None:
        rows, masks = np.asarray(rows), np.asarray(masks)
        if rows.ndim != 2 or rows.shape[1] != self.seq_len or masks.shape != rows.shape:
            raise ValueError(
                f"expected rows and masks of shape (k, {self.seq_len}), got {rows.shape} and {masks.shape}"
            )
        if rows.size and (rows.min() < 0 or rows.max() >= self.vocab_size):
            raise ValueError(
                f"token id out of range [0, {self.vocab_size}): min {rows.min()}, max {rows.max()}"
            )
        self._files["tokens"].write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self._files["mask"].write(np.ascontiguousarray(masks, dtype=np.uint8).tobytes())
        self.num_rows += rows.shape[0]

    def add_doc_starts(self, offsets: np.ndarray) -> None:
        offsets = np.asarray(offsets, dtype=np.uint64)
        self._files["docs"].write(offsets.tobytes())
        self.num_docs += offsets.size

    def close(self, stats: dict[str, Any] | None = None) -> TokenIndex:
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())
            f.close()
        for key, tmp in self._tmp.items():
            os.replace(tmp, self._final[key])
        index = TokenIndex(
            dtype=self.dtype,
            vocab_size=self.vocab_size,
            seq_len=self.seq_len,
            num_rows=self.num_rows,
            split=self.split,
            special_ids=self.special_ids,
            tokenizer=self.tokenizer,
            packing=self.packing,
            num_docs=self.num_docs,
            stats=stats or {},
        )
        write_index(self.directory, index)
        return index

    def abort(self) -> None:
        for f in self._files.values():
            f.close()
        for tmp in self._tmp.values():
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> TokenWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def index_path(directory: str | os.PathLike, split: str = "train") -> Path:
    name = INDEX_NAME if split == "train" else f"{split}.{INDEX_NAME}"
    return Path(directory) / name


def write_index(directory: str | os.PathLike, index: TokenIndex) -> None:
    from curate.io.writers import write_text

    write_text(json.dumps(asdict(index), indent=2, sort_keys=True), index_path(directory, index.split))


def read_index(directory: str | os.PathLike, split: str = "train") -> TokenIndex:
    path = index_path(directory, split)
    if not path.exists():
        from curate.errors import RunDirError

        raise RunDirError(f"no packed tokens at {path}: run the tokenize stage first")
    data = json.loads(path.read_text())
    return TokenIndex(**data)


@dataclass(frozen=True)
class TokenSet:
    """Read-only memmaps over one split: ``tokens`` and ``mask`` are (num_rows, seq_len)."""

    index: TokenIndex
    tokens: np.ndarray
    mask: np.ndarray
    doc_starts: np.ndarray


def open_tokens(directory: str | os.PathLike, split: str = "train") -> TokenSet:
    index = read_index(directory, split)
    paths = _paths(Path(directory), split)
    shape = (index.num_rows, index.seq_len)
    if index.num_rows == 0:
        empty = np.zeros(shape, dtype=index.dtype)
        return TokenSet(index, empty, np.zeros(shape, dtype=np.uint8), np.zeros(0, dtype=np.uint64))
    tokens = np.memmap(paths["tokens"], dtype=index.dtype, mode="r", shape=shape)
    mask = np.memmap(paths["mask"], dtype=np.uint8, mode="r", shape=shape)
    docs = (
        np.memmap(paths["docs"], dtype=np.uint64, mode="r")
        if index.num_docs
        else np.zeros(0, dtype=np.uint64)
    )
    return TokenSet(index, tokens, mask, docs)
