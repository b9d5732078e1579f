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

**A Hugging Face model** (``init_from: hf:PATH``): the same parts, read from the model directory
without loading it: the parameter count from the ``*.safetensors`` headers (else from
``config.json``), all loaded in float32; full fine-tuning keeps gradients and AdamW's moments for
every parameter (16 bytes each), LoRA for the adapter's only (4 bytes per frozen parameter, 16 per
adapter parameter); activations from the config's width, MLP width and layers per token of a
micro-batch (with gradient checkpointing, a layer's input per layer plus one layer's activations),
LoRA adds its outputs and its dropout copies; the logits as for the bundled GPT (fused on the CPU where the head
is a plain projection); transformers and peft add to the runtime (``HF_RUNTIME_BYTES``).

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
HF_RUNTIME_BYTES = 60_000_000
"""What importing transformers and peft, and their model classes, adds to the runtime (measured)."""
HF_ACTIVATION_VALUES_C, HF_ACTIVATION_VALUES_H = 16, 5
"""A transformers decoder layer's values kept per token (norms, q/k/v and RoPE copies, attention
output, residuals; gate, up, their activation and product), in multiples of C and H."""
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


def safetensors_params(directory: Path) -> int | None:
    """Parameters stored in a model directory's ``*.safetensors`` files, read from their headers
    (8 bytes of length, then JSON: each tensor's shape), never the weights; None without them."""
    import json
    import math

    files = sorted(directory.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        total += sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")
    return total


def hf_shape(directory: Path) -> dict[str, Any]:
    """A Hugging Face model's shape from its directory: width C, MLP width H, layers L,
    vocabulary V, key/value width, tied embeddings and the parameter count."""
    from curate.train.models.hf_dir import read_config, text_config

    config = text_config(read_config(directory))

    def first(*names: str, default: Any = None) -> Any:
        return next((config[n] for n in names if config.get(n) is not None), default)

    C = int(first("hidden_size", "n_embd", "d_model"))
    L = int(first("num_hidden_layers", "n_layer", "num_layers"))
    H = int(first("intermediate_size", "n_inner", "ffn_dim", default=4 * C))
    V = int(first("vocab_size"))
    heads = int(first("num_attention_heads", "n_head", default=1))
    head_dim = int(first("head_dim", default=C // heads))
    kv = int(first("num_key_value_heads", default=heads)) * head_dim
    tie = bool(config.get("tie_word_embeddings", True))
    gated = config.get("model_type") != "gpt2"
    counted = (4 * C * C if head_dim * heads == C else 2 * C * head_dim * heads) + 2 * C * kv
    counted = L * (counted + (3 if gated else 2) * C * H + 4 * C) + V * C * (1 if tie else 2) + C
    stored = safetensors_params(directory)
    return {
        "C": C,
        "H": H,
        "L": L,
        "V": V,
        "kv": kv,
        "q": head_dim * heads,
        "gated": gated,
        "params": stored or counted,
        "model_type": config.get("model_type", ""),
    }


def lora_params(shape: dict[str, Any], lora: Any) -> int:
    """Parameters of a LoRA adapter of rank ``lora.r`` on its target modules (in + out per module
    and layer; every linear layer where the targets are not the known projection names)."""
    from curate.train.models.hf_dir import lora_targets

    C, H, q, kv = shape["C"], shape["H"], shape["q"], shape["kv"]
    dims = {
        "q_proj": C + q,
        "k_proj": C + kv,
        "v_proj": C + kv,
        "o_proj": q + C,
        "gate_proj": C + H,
        "up_proj": C + H,
        "down_proj": H + C,
        "c_attn": C + 3 * C,
        "c_proj": 2 * C + H + C,  # gpt2: the attention's and the MLP's output projections
        "c_fc": C + H,
        "qkv_proj": C + q + 2 * kv,
        "gate_up_proj": C + 2 * H,
        "query_key_value": C + 3 * C,
        "dense": 2 * C,
        "dense_h_to_4h": C + H,
        "dense_4h_to_h": H + C,
    }
    targets = lora.target_modules or lora_targets(shape["model_type"])
    known = [t for t in targets if t in dims] if isinstance(targets, list) else []
    width = sum(dims[t] for t in known) if known else sum(dims[t] for t in list(dims)[:7])
    return lora.r * shape["L"] * width


def hf_train_memory(
    cfg: TrainConfig, *, directory: Path, seq_len: int, device_type: str = "cpu", bf16: bool = False
) -> Estimate:
    """Peak memory of fine-tuning the Hugging Face model in ``directory`` (``init_from: hf:``) on
    rows of ``seq_len`` tokens, from its config and safetensors headers (nothing is loaded)."""
    from curate.train.models.hf import PLAIN_HEAD_TYPES

    s = hf_shape(directory)
    C, H, L, V = s["C"], s["H"], s["L"], s["V"]
    tokens = cfg.batch_size * (seq_len - 1)
    value = 2.5 if bf16 else 4.0
    per_layer = (HF_ACTIVATION_VALUES_C * C + HF_ACTIVATION_VALUES_H * H) * value
    if cfg.lora is not None:
        trainable = lora_params(s, cfg.lora)
        weights = {"parameters": 4.0 * s["params"], "adapter, gradients and AdamW state": 16.0 * trainable}
        per_layer += (2 * C + 2 * H) * value  # the adapter's outputs
        if cfg.lora.dropout > 0:  # a dropped-out copy of each adapted input, its mask and its gradient
            per_layer += (6 * C + H) * 2 * value
    else:
        weights = {"parameters, gradients and AdamW state": 16.0 * s["params"]}
    # with gradient checkpointing: each layer's input, and one layer recomputed (and its gradients)
    layers = L * C * value + 2 * per_layer if cfg.gradient_checkpointing else L * per_layer
    activations = tokens * (layers + 4 * C * 4 + 3 * 8)  # + embeddings, final norm, ids and positions
    activations += cfg.batch_size * (seq_len - 1) ** 2  # the packed rows' block-diagonal mask (bool)
    fused = s["model_type"] in PLAIN_HEAD_TYPES and device_type == "cpu"
    if fused:  # a chunk of logits and its softmax, and the fused pass's weight gradient when the head trains
        logits = 2 * min(CE_CHUNK_BYTES / 2, tokens * V * 4.0) + (V * C * 4 if cfg.lora is None else 0)
    else:  # the (B, T, V) logits, their float32 copy and softmax, and the gradient
        logits = tokens * V * 12.0
    parts = {**weights, "activations": activations, "logits": logits}
    if device_type == "cpu":
        parts["runtime"] = BASE_BYTES + HF_RUNTIME_BYTES
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
    """Refuse training ``cfg`` when its estimate exceeds the memory of its device (RecipeError):
    the bundled GPT's shape, or a Hugging Face model's (``init_from: hf:``) read from its directory."""
    device, device_free, bf16 = _device(cfg)
    model = f"the model size (preset {cfg.preset})"
    if cfg.hf_model is not None:
        from curate.train.models.hf_dir import resolve_model_dir

        directory = resolve_model_dir(cfg.hf_model)
        estimate = hf_train_memory(cfg, directory=directory, seq_len=seq_len, device_type=device, bf16=bf16)
        lighter = [] if cfg.lora is not None else ["train a LoRA adapter (train.lora: {})"]
        if not cfg.gradient_checkpointing:
            lighter.append("set train.gradient_checkpointing: true")
        model = "a smaller model" if not lighter else " or ".join(lighter)
    else:
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
            f"step), {seq_len_from or 'the sequence length'} ({seq_len}) or {model}",
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
