"""Opening a tokenizer from what names it: a sentencepiece ``.model`` or a Hugging Face directory.

The run directory's ``tokenizer/`` holds either ``tokenizer.model`` (+ ``.vocab``) or the Hugging
Face files; checkpoints record the path and the tokenizer's fingerprint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from curate.tokenize.base import Tokenizer
from curate.tokenize.hf import TOKENIZER_JSON

SENTENCEPIECE_FILE = "tokenizer.model"


def is_hf(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Hugging Face tokenizer (its directory or its tokenizer.json)."""
    path = Path(path)
    return path.name == TOKENIZER_JSON or (path.is_dir() and not (path / SENTENCEPIECE_FILE).is_file())


def from_files(kind: str, files: Mapping[str, bytes], *, num_threads: int = 1, where: str = "") -> Tokenizer:
    """A tokenizer from its files' bytes (what the tokenize stage's state carries to workers)."""
    if kind == "hf":
        from curate.tokenize.hf import HFTokenizer

        return HFTokenizer(files, num_threads=num_threads, where=where)
    from curate.tokenize.encoder import SentencePieceTokenizer

    return SentencePieceTokenizer(files[SENTENCEPIECE_FILE], num_threads=num_threads)


def read_tokenizer_files(path: str | os.PathLike) -> tuple[str, dict[str, bytes]]:
    """(kind, files) of the tokenizer at ``path``: a ``.model`` file, a tokenizer directory, or
    its ``tokenizer.json``; a missing file is a StageError naming it."""
    if is_hf(path):
        from curate.tokenize.hf import read_files

        return "hf", read_files(path)
    from curate.tokenize.spm import read_model

    path = Path(path)
    model_file = path / SENTENCEPIECE_FILE if path.is_dir() else path
    return "sentencepiece", {SENTENCEPIECE_FILE: read_model(model_file)}


def load_tokenizer(path: str | os.PathLike, *, num_threads: int = 1) -> Tokenizer:
    """The tokenizer at ``path`` (see :func:`read_tokenizer_files`)."""
    kind, files = read_tokenizer_files(path)
    return from_files(kind, files, num_threads=num_threads, where=f"tokenizer {str(path)!r}")


def tokenizer_fingerprint(path: str | os.PathLike) -> str:
    """The fingerprint of the tokenizer at ``path`` without building it: a sentencepiece model's
    sha256, or the Hugging Face files' combined hash."""
    if not is_hf(path):
        path = Path(path)
        return hashlib.sha256((path / SENTENCEPIECE_FILE if path.is_dir() else path).read_bytes()).hexdigest()
    from curate.tokenize.hf import fingerprint, read_files

    return fingerprint(read_files(path))
