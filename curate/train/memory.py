"""Memory a run will need, estimated from its recipe before any work starts, and the memory there is.

``check_memory(recipe)`` (run by ``curate validate`` and at the start of ``curate run``) refuses a
recipe whose trainer or packer cannot fit, saying the estimate and the limit, instead of letting
the kernel kill the run (and with it the machine's other work) hours later.

**Trainer** (per process; float32 unless autocast): parameters, their gradients and AdamW's two
moments (16 bytes per parameter); activations kept for the backward pass, linear in the tokens of
a micro-batch (``batch_size x (seq_len - 1)``) and the layers: ``(20 C + 4 H)`` values per token
and layer (C the width, H the MLP hidden width; the attention kernels keep O(T) per head, not
O(T^2)); the logits ``batch x seq x vocab``, which the CPU path never materialises whole (fused
cross-entropy in 32 MB chunks) and a GPU holds in bf16 and float32 with their gradients; plus the
interpreter, torch and the allocator (``BASE_BYTES``). Calibrated against the peak RSS of a few
training steps on CPU (tiny to small presets, 4k to 33k tokens per batch: the estimate is within
15% of the measured peak; ``tests/train/test_memory.py`` re-measures two sizes).

**Packer** (the tokenize stage's finalize): a window of ``pack_window x seq_len`` tokens (4 bytes
of id and 1 of mask each) is buffered, concatenated and laid out in rows: about three copies, plus
one decoded input shard.

The limit is the memory available now: ``MemAvailable`` of ``/proc/meminfo`` (elsewhere: no
check), and for a CUDA device the free memory torch reports on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import RecipeError
from curate.train.config import PRESETS, TrainConfig

GB = 1e9
BASE_BYTES = 400_000_000
"""Python, torch and the allocator's slack, measured: ~400 MB peak RSS for a tiny model's step."""
ACTIVATION_VALUES_C, ACTIVATION_VALUES_H = 20, 4
"""Activation values kept per token and layer, in multiples of the width C and the MLP width H."""
CE_CHUNK_BYTES = 2 * 32 * 1024 * 1024
"""The CPU path's fused cross-entropy: one chunk of logits and its softmax."""
PACK_COPIES = 3
DEFAULT_VOCAB = 8000


@dataclass(frozen=True)
class Estimate:
    """An estimate in bytes, with its parts (for the message)."""

    what: str
    parts: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def describe(self) -> str:
        shown = ", ".join(f"{name} {value / GB:,.2f} GB" for name, value in self.parts.items() if value)
        return f"about {self.total / GB:,.1f} GB ({shown})"


def _shape(cfg: TrainConfig, vocab_size: int, seq_len: int) -> dict[str, Any]:
    """The model's shape as ``GPTConfig`` would make it (without importing torch)."""
    shape: dict[str, Any] = {"mlp_ratio": 4.0, "tie_embeddings": True, **PRESETS[cfg.preset]}
    shape.update(cfg.model.set_fields())
    C = shape["n_embd"]
    hidden = int(shape["mlp_ratio"] * C)
    if shape["mlp"] == "swiglu":
        hidden = int(2 * hidden / 3)
    hidden = -(-hidden // 32) * 32
    padded_vocab = -(-vocab_size // 64) * 64
    per_layer = 4 * C * C + (3 if shape["mlp"] == "swiglu" else 2) * C * hidden + 2 * C
    params = shape["n_layer"] * per_layer + C + padded_vocab * C * (1 if shape["tie_embeddings"] else 2)
    return {"C": C, "H": hidden, "L": shape["n_layer"], "V": padded_vocab, "params": params, "T": seq_len - 1}


def train_memory(
    cfg: TrainConfig, *, vocab_size: int, seq_len: int, device_type: str = "cpu", bf16: bool = False
) -> Estimate:
    """Peak memory of training ``cfg`` on rows of ``seq_len`` tokens with a ``vocab_size`` vocabulary."""
    s = _shape(cfg, vocab_size, seq_len)
    tokens = cfg.batch_size * s["T"]
    value = 2.5 if bf16 else 4.0  # autocast keeps some float32 (norms, softmax statistics)
    per_token_layer = (ACTIVATION_VALUES_C * s["C"] + ACTIVATION_VALUES_H * s["H"]) * value
    activations = tokens * (s["L"] * per_token_layer + 4 * s["C"] * 4 + 2 * 8)  # + embeddings, ids
    if device_type == "cpu":
        logits = CE_CHUNK_BYTES + s["V"] * s["C"] * 4  # a chunk, and the fused pass's weight gradient
    else:  # the (B, T, V) logits in bf16 and float32, and their gradients
        logits = tokens * s["V"] * (12 if bf16 else 8)
    parts = {
        "parameters, gradients and AdamW state": 16.0 * s["params"],
        "activations": activations,
        "logits": logits,
    }
    if device_type == "cpu":
        parts["runtime"] = BASE_BYTES
    return Estimate("training", parts)


def pack_memory(*, seq_len: int, pack_window: int, shard_mb: float) -> Estimate:
    """Peak memory of the tokenize stage's packer."""
    window = pack_window * seq_len * 5.0 * PACK_COPIES
    return Estimate(
        "packing",
        {"window of rows": window, "one input shard": 4 * shard_mb * 1e6, "runtime": BASE_BYTES / 3},
    )


def available_ram() -> float | None:
    """Bytes of memory available to new work now (``MemAvailable``), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _device(cfg: TrainConfig) -> tuple[str, float | None, bool]:
    """(device type, its free memory or None, bf16 autocast) of the train block, without
    importing torch when the device is the CPU."""
    if cfg.device == "cpu" or cfg.device == "mps":
        return cfg.device, None, False
    import torch

    if not torch.cuda.is_available():
        return ("cpu" if cfg.device == "auto" else "cuda"), None, False
    index = int(cfg.device[5:]) if cfg.device.startswith("cuda:") else torch.cuda.current_device()
    free, _ = torch.cuda.mem_get_info(index)
    bf16 = cfg.dtype == "bfloat16" or (cfg.dtype == "auto" and torch.cuda.is_bf16_supported())
    return "cuda", float(free), bf16


def _tokenize_config(recipe: Any) -> Any:
    found = [config for name, config in recipe.stage_list() if name == "tokenize"]
    return found[-1] if found else None


def _vocab_size(tokenize: Any) -> int:
    if tokenize.model is not None and os.path.isfile(tokenize.model):
        from curate.tokenize.spm import processor

        try:
            return processor(Path(tokenize.model).read_bytes()).vocab_size()
        except RuntimeError:
            return DEFAULT_VOCAB  # not a model: the tokenize stage's own check says so
    return tokenize.training.vocab_size if tokenize.model is None else DEFAULT_VOCAB


def _refuse(estimate: Estimate, limit: float, where: str, fix: str) -> RecipeError:
    return RecipeError(
        f"{estimate.what} would need {estimate.describe()}, but {where} has {limit / GB:,.1f} GB: {fix}"
    )


def check_train_memory(
    cfg: TrainConfig, *, vocab_size: int, seq_len: int, ram: float | None = None, seq_len_from: str = ""
) -> None:
    """Refuse training ``cfg`` when its estimate exceeds the memory of its device (RecipeError).
    The estimate is the bundled GPT's: a Hugging Face model (``init_from: hf:``) is not estimated."""
    if cfg.hf_model is not None:
        return
    device, device_free, bf16 = _device(cfg)
    estimate = train_memory(cfg, vocab_size=vocab_size, seq_len=seq_len, device_type=device, bf16=bf16)
    if device == "cuda":
        limit, where = device_free, f"the {device} device (free memory)"
    else:
        limit, where = (available_ram() if ram is None else ram), "this machine (MemAvailable)"
    if limit is not None and estimate.total > limit:
        raise _refuse(
            estimate,
            limit,
            where,
            f"lower train.batch_size ({cfg.batch_size}; raise train.grad_accum to keep the rows per "
            f"step), {seq_len_from or 'the sequence length'} ({seq_len}) or the model size (preset {cfg.preset})",
        )


def check_memory(recipe: Any, *, ram: float | None = None) -> None:
    """Refuse a recipe whose packer or trainer cannot fit in memory (RecipeError, exit code 2).
    ``ram``: the bytes of memory to assume available (default: ``MemAvailable`` now)."""
    tokenize = _tokenize_config(recipe)
    if tokenize is None:
        return
    ram = available_ram() if ram is None else ram
    if ram is not None:
        packing = pack_memory(
            seq_len=tokenize.seq_len, pack_window=tokenize.pack_window, shard_mb=recipe.execution.shard_mb
        )
        if packing.total > ram:
            raise _refuse(
                packing,
                ram,
                "this machine (MemAvailable)",
                f"lower tokenize.pack_window ({tokenize.pack_window} rows) or tokenize.seq_len "
                f"({tokenize.seq_len})",
            )
    if recipe.train is not None:
        check_train_memory(
            recipe.train,
            vocab_size=_vocab_size(tokenize),
            seq_len=tokenize.seq_len,
            ram=ram,
            seq_len_from="tokenize.seq_len",
        )
