"""A Hugging Face tokenizer (``tokenizer.json``) behind curate's tokenizer interface.

``tokenize: {hf: PATH}`` names a local directory as ``save_pretrained`` writes it
(``tokenizer.json`` and ``tokenizer_config.json``, ``special_tokens_map.json`` where there is
one) or a model in the local Hugging Face cache: a snapshot directory
(``~/.cache/huggingface/hub/models--org--name/snapshots/<rev>/``), the ``models--org--name``
directory itself, or ``org/name`` when that model is in the cache. Nothing is ever downloaded.

Encoding uses the ``tokenizers`` library alone (``encode_batch``, no ``transformers``):

- content is encoded without the tokenizer's special tokens; the tokenizer's truncation and
  padding settings are switched off (a record is never cut by the tokenizer);
- a document is ``[bos]`` + its ids + ``[eos]``: the end-of-document token is the tokenizer's
  ``eos_token``, and BOS follows the tokenizer's own config: ``add_bos_token`` in
  ``tokenizer_config.json`` where it is set, else whether the tokenizer's post-processor puts
  ``bos_token`` in front when it encodes with special tokens (as Llama 3's does);
- template markup (``<|im_start|>`` ...) maps to single ids; a template special token the
  tokenizer lacks is an error, except ``<|endoftext|>``, which is the tokenizer's eos token where
  the vocabulary has no such token (as with sentencepiece models).

``num_threads`` > 1 turns on the ``tokenizers`` library's own thread pool (its size is set by
``RAYON_NUM_THREADS``, else every core); 1, the default, encodes on the calling thread, as curate's
workers already run one per core.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from curate.errors import StageError
from curate.formats.templates import EOD, ChatTemplate, Segment, all_special_tokens
from curate.io.writers import write_atomic
from curate.tokenize.base import assemble_segments, id_dtype, special_pattern

TOKENIZER_JSON, CONFIG_JSON, SPECIAL_MAP_JSON, TEMPLATE_FILE = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
)
REQUIRED_FILES = (TOKENIZER_JSON, CONFIG_JSON)
OPTIONAL_FILES = (SPECIAL_MAP_JSON, TEMPLATE_FILE)
"""``chat_template.jinja``: where recent ``transformers`` versions save the chat template."""
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def hub_cache_dir() -> Path:
    """The local Hugging Face hub cache (``HF_HUB_CACHE``, ``HF_HOME/hub`` or ``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return Path(home).expanduser() / "hub"


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot a cached ``models--org--name`` directory's ``refs/main`` points at, else its only one."""
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        snapshot = repo_dir / "snapshots" / ref.read_text().strip()
        if snapshot.is_dir():
            return snapshot
    snapshots = sorted(p for p in (repo_dir / "snapshots").glob("*") if p.is_dir())
    return snapshots[0] if len(snapshots) == 1 else None


def resolve_dir(spec: str | os.PathLike) -> Path:
    """The tokenizer directory ``spec`` names (see the module docstring); never downloads."""
    path = Path(spec).expanduser()
    if path.is_file() and path.name == TOKENIZER_JSON:
        path = path.parent
    if path.is_dir():
        if (path / "snapshots").is_dir() and not (path / TOKENIZER_JSON).exists():
            snapshot = _snapshot(path)
            if snapshot is None:
                raise StageError(
                    f"tokenizer {str(spec)!r}: a Hugging Face cache directory without one snapshot to use; "
                    "give the snapshot directory (snapshots/<revision>/)"
                )
            return snapshot
        return path
    if isinstance(spec, str) and _REPO_ID.match(spec):
        cached = hub_cache_dir() / ("models--" + spec.replace("/", "--"))
        snapshot = _snapshot(cached) if cached.is_dir() else None
        if snapshot is not None:
            return snapshot
        raise StageError(
            f"tokenizer {spec!r}: no such directory, and no {cached} in the local Hugging Face cache. "
            "curate never downloads: fetch it first (huggingface-cli download "
            f"{spec} tokenizer.json tokenizer_config.json) or give the directory's path"
        )
    raise StageError(
        f"tokenizer directory {str(path)!r} does not exist: give a directory holding "
        f"{TOKENIZER_JSON} and {CONFIG_JSON} (as save_pretrained writes them)"
    )


def read_files(spec: str | os.PathLike) -> dict[str, bytes]:
    """The bytes of a tokenizer directory's files, checked to be there and to be JSON."""
    directory = resolve_dir(spec)
    files: dict[str, bytes] = {}
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        path = directory / name
        if not path.is_file():
            if name in REQUIRED_FILES:
                raise StageError(
                    f"tokenizer directory {str(directory)!r} has no {name} ({path}): a Hugging Face tokenizer "
                    f"needs {' and '.join(REQUIRED_FILES)}, as save_pretrained writes them"
                )
            continue
        files[name] = path.read_bytes()
        if not name.endswith(".json"):
            continue
        try:
            json.loads(files[name])
        except ValueError as error:
            raise StageError(f"{path} is not valid JSON: {error}") from error
    return files


def fingerprint(files: Mapping[str, bytes]) -> str:
    """sha256 over the files that define the tokenizer (names and bytes, in a fixed order)."""
    digest = hashlib.sha256(b"hf-tokenizer\0")
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        if name in files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _token_text(value: Any) -> str | None:
    """A special token as configs write it: a string, or an AddedToken dict with ``content``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


class HFTokenizer:
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` plus its config's special tokens."""

    kind = "hf"

    def __init__(self, files: Mapping[str, bytes], *, num_threads: int = 1, where: str = "") -> None:
        from tokenizers import Tokenizer as RawTokenizer

        self.files = dict(files)
        self.where = where or "the Hugging Face tokenizer"
        self.num_threads = num_threads
        self.fingerprint = fingerprint(self.files)
        try:
            self.tok = RawTokenizer.from_str(self.files[TOKENIZER_JSON].decode("utf-8"))
        except Exception as error:  # the tokenizers library raises plain Exceptions
            raise StageError(f"{self.where}: cannot load {TOKENIZER_JSON}: {error}") from error
        self.tok.no_truncation()
        self.tok.no_padding()
        config: dict[str, Any] = {}
        for name in (SPECIAL_MAP_JSON, CONFIG_JSON):  # tokenizer_config.json wins
            if name in self.files:
                data = json.loads(self.files[name])
                config.update({k: v for k, v in data.items() if v is not None})
        self.config = config
        vocab = self.tok.get_vocab(with_added_tokens=True)
        self.vocab_size = max(vocab.values()) + 1 if vocab else 0
        self.bos_id = self._token_id("bos_token")
        self.eos_id = self._token_id("eos_token")
        if self.eos_id is None:
            raise StageError(
                f"{self.where}: no eos_token in {CONFIG_JSON} (or it is not in the vocabulary): "
                "curate ends every document with the tokenizer's eos token"
            )
        self.add_bos = self._adds_bos()
        self.special_ids = {tok: vocab[tok] for tok in all_special_tokens() if tok in vocab}
        self.special_ids.setdefault(EOD, self.eos_id)
        self.eod_id = self.eos_id
        pad = self._token_id("pad_token")
        self.pad_id = self.eod_id if pad is None else pad
        self.unk_id = self._token_id("unk_token")
        self._special_re = special_pattern(list(self.special_ids))
        self._markup: dict[str, np.ndarray] = {}

    def _token_id(self, key: str) -> int | None:
        text = _token_text(self.config.get(key))
        return None if text is None else self.tok.token_to_id(text)

    def _adds_bos(self) -> bool:
        """``add_bos_token`` of the config where set, else what the post-processor does."""
        setting = self.config.get("add_bos_token")
        if isinstance(setting, bool):
            if setting and self.bos_id is None:
                raise StageError(
                    f"{self.where}: add_bos_token is true but there is no bos_token in the vocabulary"
                )
            return setting
        if self.bos_id is None:
            return False
        probe = self.tok.encode("a", add_special_tokens=True).ids
        return bool(probe) and probe[0] == self.bos_id

    @property
    def id_dtype(self) -> np.dtype:
        return id_dtype(self.vocab_size)

    def _parallel(self) -> None:
        # Read by the tokenizers library on every batch call; off unless asked for (see the docstring).
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if self.num_threads > 1 else "false"

    def _encode(self, texts: Sequence[str]) -> list[Any]:
        self._parallel()
        # encode_batch, not encode_batch_fast: measured slower in tokenizers 0.23 (bench_tokenize)
        return self.tok.encode_batch(list(texts), add_special_tokens=False)

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if not texts:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
        encoded = [e.ids for e in self._encode(texts)]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ids = np.fromiter(chain.from_iterable(encoded), dtype=np.uint32, count=int(lengths.sum()))
        return ids, lengths

    def encode_with_offsets(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not texts:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64)
        self._parallel()
        encoded = self.tok.encode_batch(list(texts), add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))
        total = int(lengths.sum())
        ids = np.fromiter(chain.from_iterable(e.ids for e in encoded), dtype=np.uint32, count=total)
        spans = np.fromiter(
            chain.from_iterable(chain.from_iterable(e.offsets) for e in encoded),
            dtype=np.int64,
            count=2 * total,
        )
        return ids, lengths, spans.reshape(-1, 2)

    def encode_spanned(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :func:`curate.tokenize.base.encode_spanned` (a token is a target iff its character
        span overlaps a target span), locating each span's first and last token through the
        encoding's ``char_to_token``/``token_to_chars`` instead of building every token's offsets."""
        if not texts:
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        encoded = self._encode(texts)
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))
        total = int(lengths.sum())
        ids = np.fromiter(chain.from_iterable(e.ids for e in encoded), dtype=np.uint32, count=total)
        mask = np.zeros(total, dtype=np.uint8)
        at = 0
        for e, n, targets in zip(encoded, lengths.tolist(), spans, strict=True):
            for lo, hi in targets:
                first, last = _token_range(e, n, lo, hi)
                mask[at + first : at + last] = 1
            at += n
        return ids, mask, lengths

    def encode_documents(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat, lengths = self.encode_texts(texts)
        ends = np.cumsum(lengths)
        ids = np.insert(flat, ends, np.uint32(self.eod_id))
        if self.add_bos:
            starts = ends - lengths + np.arange(lengths.size)  # where each document starts after the eods
            ids = np.insert(ids, starts, np.uint32(self.bos_id))
        extra = 2 if self.add_bos else 1
        return ids, np.ones(ids.size, dtype=np.uint8), lengths + extra

    def encode_markup(self, text: str) -> np.ndarray:
        ids = self._markup.get(text)
        if ids is None:
            parts = [p for p in self._special_re.split(text) if p]
            plain = [p for p in parts if p not in self.special_ids]
            encoded = iter(self.tok.encode_batch(plain, add_special_tokens=False) if plain else [])
            pieces = [[self.special_ids[p]] if p in self.special_ids else next(encoded).ids for p in parts]
            ids = np.array([i for piece in pieces for i in piece], dtype=np.uint32)
            self._markup[text] = ids
        return ids

    def encode_segments(
        self, records: Sequence[Sequence[Segment]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def contents(texts: list[str]) -> list[np.ndarray]:
            flat, lengths = self.encode_texts(texts)
            return np.split(flat, np.cumsum(lengths)[:-1])

        return assemble_segments(
            records, markup=self._markup, encode_markup=self.encode_markup, encode_contents=contents
        )

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=False)

    @property
    def chat_template(self) -> str | None:
        """The tokenizer's chat template: ``chat_template.jinja`` where there is one (as recent
        ``transformers`` save it), else the default ``chat_template`` of ``tokenizer_config.json``."""
        from curate.formats.jinja import chat_template_of

        if TEMPLATE_FILE in self.files:
            return self.files[TEMPLATE_FILE].decode("utf-8")
        return chat_template_of(self.config)

    @property
    def template_variables(self) -> dict[str, str]:
        """The special tokens a chat template is rendered with (``bos_token``, ``eos_token`` ...)."""
        from curate.formats.jinja import special_token_values

        return special_token_values(self.config)

    @property
    def control_tokens(self) -> list[str]:
        """The tokenizer's added tokens (encoded as single ids wherever they occur in text)."""
        return [t.content for t in self.tok.get_added_tokens_decoder().values()]

    def missing_specials(self, template: ChatTemplate) -> list[str]:
        return [tok for tok in template.special_tokens if tok not in self.special_ids]

    def ids_info(self) -> dict[str, int]:
        """pad, eod and eos (the same id), bos where documents start with it, unk where there is
        one, and every template special token the vocabulary has."""
        ids = {"pad": self.pad_id, "eod": self.eod_id, "eos": self.eod_id}
        if self.add_bos and self.bos_id is not None:
            ids["bos"] = self.bos_id
        if self.unk_id is not None:
            ids["unk"] = self.unk_id
        return {**ids, **self.special_ids}

    def save(self, directory: Path) -> Path:
        """The tokenizer's files, byte for byte as they were read."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            write_atomic(directory / name, lambda tmp, data=data: tmp.write_bytes(data))
        return directory / TOKENIZER_JSON


def _token_range(encoding: Any, n: int, lo: int, hi: int) -> tuple[int, int]:
    """``[first, last)``: the tokens of ``encoding`` (``n`` of them) whose character span overlaps
    ``[lo, hi)`` (offsets are monotone, so they are contiguous)."""
    if hi <= lo or n == 0:
        return 0, 0
    first, last = encoding.char_to_token(lo), encoding.char_to_token(hi - 1)
    if first is None or last is None:  # a character no token covers: scan every offset
        hits = [i for i, (s, e) in enumerate(encoding.offsets) if s < hi and e > lo]
        return (hits[0], hits[-1] + 1) if hits else (0, 0)
    while first > 0 and encoding.token_to_chars(first - 1)[1] > lo:
        first -= 1
    while last + 1 < n and encoding.token_to_chars(last + 1)[0] < hi:
        last += 1
    return first, last + 1
