"""Tiny random Hugging Face causal LMs built offline, for tests, benchmarks and the sample recipe.

``build_tiny_model(DIR, tokenizer=TOK_DIR, arch="llama")`` saves a randomly initialised model of
the architecture with ``save_pretrained`` into ``DIR``, its vocabulary the tokenizer's and its
eos/bos ids the tokenizer's, and copies the tokenizer's files next to it (as a real model
directory has them), so that ``tokenize: {hf: DIR}`` and ``init_from: hf:DIR`` name the same
directory. No download: the config is written here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

Arch = Literal["llama", "qwen2", "gpt2", "mistral", "gemma"]


def tiny_config(
    arch: Arch,
    *,
    vocab_size: int,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int | None = None,
    intermediate: int | None = None,
    positions: int = 1024,
    eos_id: int | None = None,
    bos_id: int | None = None,
    tie: bool = True,
    init_range: float = 0.02,
):
    """A transformers config of ``arch`` with these sizes (``hidden`` x ``layers``)."""
    import transformers

    kv_heads = kv_heads or heads
    intermediate = intermediate or 4 * hidden
    ids = {"eos_token_id": eos_id, "bos_token_id": bos_id, "pad_token_id": None}
    if arch == "gpt2":
        return transformers.GPT2Config(
            vocab_size=vocab_size,
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_positions=positions,
            n_inner=intermediate,
            tie_word_embeddings=tie,
            initializer_range=init_range,
            **ids,
        )
    classes = {
        "llama": transformers.LlamaConfig,
        "qwen2": transformers.Qwen2Config,
        "mistral": transformers.MistralConfig,
        "gemma": transformers.GemmaConfig,
    }
    extra = {"head_dim": hidden // heads} if arch == "gemma" else {}
    return classes[arch](
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=positions,
        tie_word_embeddings=tie,
        initializer_range=init_range,
        **extra,
        **ids,
    )


def build_tiny_model(
    directory: str | os.PathLike,
    *,
    tokenizer: str | os.PathLike,
    arch: Arch = "llama",
    seed: int = 0,
    copy_tokenizer: bool = True,
    vocab_size: int | None = None,
    **sizes: float,
) -> Path:
    """Save a random ``arch`` model for ``tokenizer`` (a Hugging Face tokenizer directory) into
    ``directory``, plus the tokenizer's files when ``copy_tokenizer``. ``vocab_size`` overrides
    the tokenizer's (to build a mismatched model)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from curate.tokenize.hf import HFTokenizer, read_files

    files = read_files(tokenizer)
    tok = HFTokenizer(files)
    config = tiny_config(
        arch,
        vocab_size=vocab_size or tok.vocab_size,
        eos_id=tok.eos_id,
        bos_id=tok.bos_id,
        **sizes,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory))
    if copy_tokenizer:
        for name, data in files.items():
            (directory / name).write_bytes(data)
    return directory
