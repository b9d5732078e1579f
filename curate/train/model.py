"""The bundled model: a small decoder-only transformer in plain torch.

Llama-style blocks (pre-norm RMSNorm, rotary position embeddings, SwiGLU or GELU MLP, no biases)
with tied input/output embeddings and ``F.scaled_dot_product_attention(is_causal=True)``. The
whole architecture is described by a ``GPTConfig``, which every checkpoint stores, so a model
can be rebuilt from its checkpoint file alone.

Shapes in comments: B batch, T time (sequence), C channels (n_embd), H heads, D head size, V vocab.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from curate.train.config import PRESETS, MLPKind
from curate.train.models.base import CausalLM

PresetName = Literal["tiny", "small", "gpt2-124m"]
IGNORE_INDEX = -100  # target id that the loss skips (masked positions)


T = TypeVar("T")


def config_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """A model config dataclass from a checkpoint's dict; fields this curate does not know mean
    the checkpoint is from a newer one (a clear error, not a TypeError)."""
    unknown = set(data) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(
            f"unknown {cls.__name__} fields {sorted(unknown)}: the checkpoint is from a newer curate"
        )
    return cls(**data)


@dataclass(frozen=True)
class GPTConfig:
    """Architecture of a curate model. ``vocab_size`` and ``seq_len`` come from the packed tokens."""

    vocab_size: int = 8000
    seq_len: int = 512  # longest context trained on; RoPE extends past it at inference
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    mlp: MLPKind = "swiglu"
    mlp_ratio: float = 4.0  # hidden width / n_embd for GELU; SwiGLU uses 2/3 of it (same parameter count)
    dropout: float = 0.0
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    norm_eps: float = 1e-5
    vocab_multiple: int = 64  # embedding rows are padded to a multiple of this (GPU matmul efficiency)

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if (self.n_embd // self.n_head) % 2:
            raise ValueError(f"head size n_embd/n_head = {self.n_embd // self.n_head} must be even for RoPE")
        if self.mlp not in ("swiglu", "gelu"):
            raise ValueError(f"mlp must be 'swiglu' or 'gelu', got {self.mlp!r}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def padded_vocab_size(self) -> int:
        m = max(1, self.vocab_multiple)
        return -(-self.vocab_size // m) * m

    @property
    def mlp_hidden(self) -> int:
        hidden = int(self.mlp_ratio * self.n_embd)
        if self.mlp == "swiglu":  # three matrices instead of two: keep the parameter count of the GELU MLP
            hidden = int(2 * hidden / 3)
        return -(-hidden // 32) * 32

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        return config_from_dict(cls, data)


def preset_config(name: str, *, vocab_size: int, seq_len: int, **overrides: Any) -> GPTConfig:
    """The ``GPTConfig`` of a named preset for a vocabulary and context, with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {sorted(PRESETS)}")
    return GPTConfig(vocab_size=vocab_size, seq_len=seq_len, **{**PRESETS[name], **overrides})


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(F, "rms_norm"):  # torch >= 2.4: one fused kernel
            return F.rms_norm(x, (x.size(-1),), self.weight, self.eps)
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(seq_len: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-width cos and signed sin tables (T, D) for ``apply_rope``: angle t * theta^(-2i/D) for
    the pair (i, i + D/2), the sin negated on the first half."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))  # (D/2,)
    t = torch.arange(seq_len, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)  # (T, D/2)
    return torch.cat((freqs.cos(), freqs.cos()), dim=-1), torch.cat((-freqs.sin(), freqs.sin()), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs (x[..., i], x[..., i + D/2]) of x (B, H, T, D) by position-dependent angles:
    (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), in four whole-tensor ops."""
    d = x.size(-1) // 2
    swapped = torch.cat((x[..., d:], x[..., :d]), dim=-1)  # (x2, x1)
    return x * cos.to(x.dtype) + swapped * sin.to(x.dtype)  # tables (T, D) broadcast over B and H


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.head_dim, self.dropout = cfg.n_head, cfg.head_dim, cfg.dropout
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.proj.residual_scale = True  # type: ignore[attr-defined]  # scaled init, see GPT._init_weights

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (
            t.view(B, T, self.n_head, self.head_dim).transpose(1, 2) for t in (q, k, v)
        )  # (B, H, T, D)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.swiglu = cfg.mlp == "swiglu"
        hidden = cfg.mlp_hidden
        self.up = nn.Linear(cfg.n_embd, (2 if self.swiglu else 1) * hidden, bias=False)  # gate and up fused
        self.down = nn.Linear(hidden, cfg.n_embd, bias=False)
        self.down.residual_scale = True  # type: ignore[attr-defined]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(x)  # (B, T, 2*hidden) or (B, T, hidden)
        if self.swiglu:
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        else:
            h = F.gelu(h, approximate="tanh")
        return self.down(h)  # (B, T, C)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.norm1 = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.attn = CausalSelfAttention(cfg)
        self.norm2 = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cos, sin))
        return x + self.drop(self.mlp(self.norm2(x)))


class GPT(CausalLM):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.padded_vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.padded_vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.wte.weight
        cos, sin = rope_tables(cfg.seq_len, cfg.head_dim, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        """GPT-2 init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * n_layer)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            std = 0.02
            if getattr(module, "residual_scale", False):
                std /= math.sqrt(2 * self.config.n_layer)
            nn.init.normal_(module.weight, mean=0.0, std=std)

    def _rope(self, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.rope_cos.size(0) < T:  # longer than trained on: extend the tables (eval only)
            cos, sin = rope_tables(T, self.config.head_dim, self.config.rope_theta)
            self.rope_cos, self.rope_sin = cos.to(self.rope_cos.device), sin.to(self.rope_sin.device)
        return self.rope_cos[:T], self.rope_sin[:T]

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        reduction: Literal["mean", "sum"] = "mean",
    ) -> torch.Tensor:
        """Logits (B, T, V) for token ids ``idx`` (B, T); with ``targets`` (B, T) the cross-entropy
        instead, skipping targets equal to ``IGNORE_INDEX`` (mean over the others, or their sum)."""
        B, T = idx.shape
        cos, sin = self._rope(T)
        x = self.drop(self.wte(idx))  # (B, T, C)
        for block in self.blocks:
            x = block(x, cos, sin)
        x = self.norm_f(x)  # (B, T, C)
        if targets is not None and x.device.type == "cpu" and torch.is_grad_enabled():
            # On CPU, streaming the (B*T, V) logits through memory costs ~20% of a step: fuse them away.
            loss = linear_cross_entropy(
                x.reshape(B * T, -1), self.lm_head.weight, targets.reshape(B * T), self.config.vocab_size
            )
            return loss if reduction == "sum" else loss / (targets != IGNORE_INDEX).sum().clamp_min(1)
        logits = self.lm_head(x)[..., : self.config.vocab_size]  # (B, T, V), padding rows cut off
        if targets is None:
            return logits
        return F.cross_entropy(
            logits.float().reshape(B * T, -1),
            targets.reshape(B * T),
            ignore_index=IGNORE_INDEX,
            reduction=reduction,
        )


class _LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``x @ weight[:V].T`` computed a chunk of rows at a time, with the
    gradients of ``x`` and ``weight`` computed in the same pass (the idea of Liger-Kernel's fused
    linear cross-entropy): the (N, V) logits, their log-softmax and its gradient never exist whole.
    The same three matmuls as the plain path; far less memory traffic."""

    @staticmethod
    def forward(
        ctx, x, weight, targets, vocab_size: int, chunk: int
    ):  # x (N, C), weight (Vp, C), targets (N,)
        w = weight[:vocab_size]  # (V, C)
        grad_x = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros_like(weight) if ctx.needs_input_grad[1] else None
        loss = torch.zeros((), dtype=torch.float32, device=x.device)
        for start in range(0, x.size(0), chunk):
            xc, tc = x[start : start + chunk], targets[start : start + chunk]  # (n, C), (n,)
            valid = tc != IGNORE_INDEX
            safe = tc.clamp_min(0)[:, None]  # (n, 1)
            logits = (xc @ w.t()).float()  # (n, V)
            logits.sub_(logits.amax(dim=-1, keepdim=True))  # shifted: exp cannot overflow
            target_logit = logits.gather(1, safe)  # (n, 1)
            probs = logits.exp_()  # unnormalised, in place: one exp pass serves the loss and its gradient
            total = probs.sum(dim=-1, keepdim=True)  # (n, 1)
            loss += ((total.log() - target_logit).squeeze(1) * valid).sum()
            if grad_x is None and grad_w is None:
                continue
            grad = probs.div_(total)  # softmax
            grad.scatter_add_(1, safe, torch.full_like(total, -1.0))  # minus the one-hot target
            grad.mul_(valid[:, None])  # ignored rows contribute nothing
            grad = grad.to(x.dtype)
            if grad_x is not None:
                torch.mm(grad, w, out=grad_x[start : start + chunk])
            if grad_w is not None:
                grad_w[:vocab_size].addmm_(grad.t(), xc)
        ctx.save_for_backward(grad_x, grad_w)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        grad_x, grad_w = ctx.saved_tensors
        return (
            None if grad_x is None else grad_x * grad_loss,
            None if grad_w is None else grad_w * grad_loss,
            None,
            None,
            None,
        )


def linear_cross_entropy(
    x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, vocab_size: int, *, chunk: int | None = None
) -> torch.Tensor:
    """Summed cross-entropy of ``x @ weight[:vocab_size].T`` (N, V) against ``targets`` (N,),
    skipping ``IGNORE_INDEX``: equal to the plain computation, without materialising the logits.
    ``chunk`` rows at a time; by default about 8M logits (32 MB) per chunk."""
    chunk = chunk or max(64, (1 << 23) // vocab_size)
    return _LinearCrossEntropy.apply(x, weight, targets, vocab_size, chunk)


def count_params(model: nn.Module, *, exclude_embeddings: bool = False) -> int:
    """Number of distinct parameters (tied weights counted once)."""
    seen: set[int] = set()
    total = 0
    for name, p in model.named_parameters():
        if id(p) in seen or (exclude_embeddings and name.startswith("wte.")):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def flops_per_token(cfg: GPTConfig, seq_len: int | None = None) -> float:
    """Training FLOPs per token (forward + backward): 6 x matmul parameters + 12 x L x C x T for
    attention scores (PaLM appendix B), the usual basis of MFU."""
    T = seq_len or cfg.seq_len
    C, L = cfg.n_embd, cfg.n_layer
    mlp_mats = (3 if cfg.mlp == "swiglu" else 2) * C * cfg.mlp_hidden
    per_layer = 4 * C * C + mlp_mats  # qkv + proj + MLP
    matmul_params = L * per_layer + cfg.padded_vocab_size * C  # + lm_head
    return 6 * matmul_params + 12 * L * C * T


def with_overrides(cfg: GPTConfig, **overrides: Any) -> GPTConfig:
    """A copy of ``cfg`` with some fields changed (e.g. dropout when fine-tuning)."""
    return replace(cfg, **overrides)
