"""A Hugging Face model directory, without torch or transformers: where it is, what it holds,
whether the run's tokenizer is the model's, and whether the ``[hf]`` extra is installed.

Everything here runs in ``curate validate`` and the run's preflight, before any work starts.

``init_from: hf:SPEC`` names a directory as ``save_pretrained`` writes it (``config.json`` and the
weights), a snapshot of the local Hugging Face cache, a cached ``models--org--name`` directory, or
``org/name`` when that model is in the local cache. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curate.errors import RecipeError

CONFIG_JSON = "config.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
EXTRA = 'pip install -e ".[hf]"'

# LoRA targets of ``lora: {}`` per config.model_type: every attention and MLP projection (QLoRA's
# finding: adapting all linear layers matters more than the rank).
_LLAMA_LIKE = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_TARGETS: dict[str, list[str]] = {
    **{
        t: _LLAMA_LIKE
        for t in (
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "qwen3",
            "gemma",
            "gemma2",
            "gemma3_text",
            "olmo",
            "olmo2",
            "granite",
            "smollm3",
        )
    },
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
}
# Architectures whose attention and MLP are transformers' Conv1D (weights stored transposed).
CONV1D_TYPES = frozenset({"gpt2"})


def lora_targets(model_type: str) -> list[str] | str:
    """The default LoRA target modules of an architecture; ``all-linear`` for one not listed."""
    return LORA_TARGETS.get(model_type, "all-linear")


def require_extra(*, lora: bool = False, where: str = "train.init_from") -> None:
    """One line naming the extra to install when transformers (and peft, for LoRA) are missing."""
    missing = [
        m for m in ("transformers", *(("peft",) if lora else ())) if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise RecipeError(
            f"{where}: a Hugging Face model needs {' and '.join(missing)}, which are not installed: {EXTRA}"
        )


def _snapshot(repo_dir: Path) -> Path | None:
    from curate.tokenize.hf import _snapshot as snapshot

    return snapshot(repo_dir)


def resolve_model_dir(spec: str | os.PathLike, *, where: str = "train.init_from") -> Path:
    """The directory ``hf:SPEC`` names (see the module docstring); never downloads."""
    from curate.tokenize.hf import _REPO_ID, hub_cache_dir

    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / "snapshots").is_dir() and not (path / CONFIG_JSON).exists():
            snapshot = _snapshot(path)
            if snapshot is None:
                raise RecipeError(
                    f"{where}: {str(spec)!r} is a Hugging Face cache directory without one snapshot to use; "
                    "give the snapshot directory (snapshots/<revision>/)"
                )
            path = snapshot
        if not (path / CONFIG_JSON).is_file():
            raise RecipeError(
                f"{where}: {str(spec)!r} has no {CONFIG_JSON}: give a model directory as save_pretrained "
                "writes it (config.json and the weights)"
            )
        if not any(p.name.endswith(WEIGHT_SUFFIXES) for p in path.iterdir()):
            raise RecipeError(
                f"{where}: {str(spec)!r} has a {CONFIG_JSON} but no weights (*.safetensors or *.bin)"
            )
        return path.resolve()
    if isinstance(spec, str) and _REPO_ID.match(spec):
        cached = hub_cache_dir() / ("models--" + spec.replace("/", "--"))
        snapshot = _snapshot(cached) if cached.is_dir() else None
        if snapshot is not None:
            return resolve_model_dir(snapshot, where=where)
        raise RecipeError(
            f"{where}: no directory {spec!r}, and no {cached} in the local Hugging Face cache. curate never "
            f"downloads: fetch it first (huggingface-cli download {spec}) or give the directory's path"
        )
    raise RecipeError(
        f"{where}: model directory {str(spec)!r} does not exist: give a directory as save_pretrained writes it"
    )


def read_config(directory: Path) -> dict[str, Any]:
    return json.loads((directory / CONFIG_JSON).read_text())


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language model's part of a config (multimodal configs nest it under ``text_config``)."""
    return config.get("text_config") or config


def model_files(directory: Path) -> list[Path]:
    """The files of a model directory (not its subdirectories): what its versions are told by."""
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def model_fingerprint(directory: Path) -> str:
    """sha256 over the names, sizes and modification times of a model directory's files."""
    digest = hashlib.sha256(b"hf-model\0")
    for p in model_files(directory):
        st = p.resolve().stat()
        digest.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _ids(value: Any) -> set[int]:
    if isinstance(value, int):
        return {value}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return {v for v in value if isinstance(v, int)}
    return set()


# Embedding rows beyond the tokenizer's vocabulary that a model may carry as padding (Qwen 2.5:
# 151,936 rows for 151,665 tokens; Phi-3: 32,064 for 32,011).
SPARE_ROWS = 1024


def check_tokenizer(model_dir: Path, tokenizer_spec: str | os.PathLike | None, *, spec: str) -> None:
    """Refuse a tokenize stage whose tokenizer is not the model's: the model directory's own
    tokenizer files differ, the vocabulary does not fit the embedding rows, or the model's
    configured eos/bos ids are not the tokenizer's. Errors name both."""
    from curate.tokenize.hf import HFTokenizer, read_files

    if tokenizer_spec is None:
        raise RecipeError(
            f"train.init_from hf:{spec} trains a Hugging Face model, which reads the ids of its own tokenizer: "
            f"tokenize with it (tokenize: {{hf: {spec}}})"
        )
    files = read_files(tokenizer_spec)
    tokenizer = HFTokenizer(files, where=f"tokenize.hf ({tokenizer_spec})")
    mismatch = (
        f"tokenize.hf ({tokenizer_spec}) is not the tokenizer of train.init_from hf:{spec} ({model_dir})"
    )
    if (model_dir / "tokenizer.json").is_file():
        own = HFTokenizer(read_files(model_dir), where=str(model_dir))
        vocab, own_vocab = (t.tok.get_vocab(with_added_tokens=True) for t in (tokenizer, own))
        if vocab != own_vocab:
            differ = sorted(set(vocab.items()) ^ set(own_vocab.items()))[:3]
            raise RecipeError(
                f"{mismatch}: their vocabularies differ ({len(vocab):,} and {len(own_vocab):,} tokens; e.g. "
                f"{', '.join(f'{t!r}={i}' for t, i in differ)}). Tokenize with the model's own tokenizer "
                f"(tokenize: {{hf: {spec}}})"
            )
    config = text_config(read_config(model_dir))
    rows = config.get("vocab_size")
    if not (model_dir / "tokenizer.json").is_file():
        spec = "<the directory of the tokenizer the model was trained with>"
    if isinstance(rows, int) and not tokenizer.vocab_size <= rows <= tokenizer.vocab_size + SPARE_ROWS:
        raise RecipeError(
            f"{mismatch}: the tokenizer has {tokenizer.vocab_size:,} tokens, the model {rows:,} embedding rows. "
            f"Tokenize with the model's own tokenizer (tokenize: {{hf: {spec}}})"
        )
    for name, token_id in (("eos", tokenizer.eos_id), ("bos", tokenizer.bos_id)):
        configured = _ids(config.get(f"{name}_token_id"))
        if token_id is not None and configured and token_id not in configured:
            raise RecipeError(
                f"{mismatch}: its {name} token is id {token_id}, the model's {name}_token_id is "
                f"{sorted(configured)}. Tokenize with the model's own tokenizer (tokenize: {{hf: {spec}}})"
            )


def check_context(model_dir: Path, context: int, *, spec: str) -> None:
    """The packed rows fit the model's positions."""
    limit = text_config(read_config(model_dir)).get("max_position_embeddings") or text_config(
        read_config(model_dir)
    ).get("n_positions")
    if isinstance(limit, int) and context > limit:
        raise RecipeError(
            f"train.init_from hf:{spec}: the packed rows give a context of {context} tokens but the model has "
            f"{limit} positions: set tokenize.seq_len to at most {limit + 1}"
        )


def check_hf_init(train: Any, tokenize: Any, *, where: str = "train.init_from") -> Path:
    """The preflight of ``init_from: hf:SPEC``: the extra is installed, the model directory is
    there, the tokenize stage uses the model's tokenizer and its rows fit the model's positions.
    Returns the model's directory."""
    spec = train.hf_model
    require_extra(lora=train.lora is not None, where=where)
    directory = resolve_model_dir(spec, where=where)
    check_tokenizer(directory, getattr(tokenize, "hf", None), spec=spec)
    if tokenize is not None:
        check_context(directory, tokenize.seq_len - 1, spec=spec)
    return directory
