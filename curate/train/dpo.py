"""Direct Preference Optimisation (Rafailov et al. 2023) on preference pairs, from a curate checkpoint.

The policy starts as a copy of the checkpoint (an SFT or base model) and the checkpoint itself is
the frozen reference. A Hugging Face model (``init_from: hf:``) is never copied: its reference
log-probabilities are computed once, before training, by the model itself: with a LoRA adapter,
with the adapter disabled (peft's ``disable_adapter``, as TRL does for a PEFT model), so the
reference is the base model and the adapter trains on from where SFT left it; with full
fine-tuning, the model as DPO starts from it (the frozen copy's log-probabilities, without the
copy). The tuned adapter or weights are also saved with ``save_pretrained`` under
``out_dir/hf``. For a pair, with ``logp`` the summed log-probability of the response tokens
given the prompt (as in scoring)::

    loss = -log sigmoid(beta * ((logp_pi(chosen) - logp_ref(chosen)) - (logp_pi(rejected) - logp_ref(rejected))))

The reference log-probabilities never change, so they are computed once before training. Pairs
are rendered like preference eval records (``curate.train.score.encode_records``); a pair longer
than the context loses prompt tokens from the left first, then response tokens from the right.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from curate.errors import InputError
from curate.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, tokenizer_ref
from curate.train.config import DPOConfig
from curate.train.loop import autocast, make_optimizer, resolve_device, resolve_dtype
from curate.train.model import GPT, IGNORE_INDEX
from curate.train.score import ChatEncoder, Encoded, encode_records, load_tokenizer, resolve_start_id, score


@dataclass(frozen=True)
class DPOResult:
    checkpoint: Path
    metrics_path: Path
    losses: list[float]
    reward_accuracy: float  # share of training pairs with a positive implicit reward margin, last step
    before: dict[str, Any] | None  # preference metrics on the eval pairs before training
    after: dict[str, Any] | None
    truncated_pairs: int
    wall_s: float


def _fit(enc: Encoded, limit: int) -> tuple[Encoded, bool]:
    """``enc`` cut to ``limit`` tokens: prompt tokens from the left (after the start token), then
    response tokens from the right."""
    if len(enc.ids) <= limit:
        return enc, False
    ids, target = list(enc.ids), list(enc.target)
    first_target = target.index(True) if True in target else len(ids)
    drop = min(len(ids) - limit, max(0, first_target - 1))
    ids, target = ids[:1] + ids[1 + drop :], target[:1] + target[1 + drop :]
    return Encoded(ids[:limit], target[:limit], enc.n_bytes), True


def _batch(seqs: Sequence[Encoded], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s.ids) for s in seqs) - 1
    x = torch.zeros((len(seqs), width), dtype=torch.long)
    y = torch.full((len(seqs), width), IGNORE_INDEX, dtype=torch.long)
    for row, s in enumerate(seqs):
        n = len(s.ids) - 1
        x[row, :n] = torch.tensor(s.ids[:-1])
        y[row, :n] = torch.tensor(
            [t if m else IGNORE_INDEX for t, m in zip(s.ids[1:], s.target[1:], strict=True)]
        )
    return x.to(device), y.to(device)


def response_logps(model: GPT, seqs: Sequence[Encoded], device: torch.device) -> torch.Tensor:
    """Summed log-probability of the target tokens of each sequence (B,), differentiable."""
    x, y = _batch(seqs, device)
    logits = model(x)  # (B, T, V)
    nll = F.cross_entropy(
        logits.float().transpose(1, 2), y, ignore_index=IGNORE_INDEX, reduction="none"
    )  # (B, T)
    return -nll.sum(dim=1)


def dpo_loss(
    pi_chosen: torch.Tensor,
    pi_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean DPO loss and the implicit reward margins (B,) of a batch of pairs."""
    margin = beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean(), margin.detach()


def dpo(
    init: str | os.PathLike | Checkpoint,
    pairs: Sequence[Mapping[str, Any]],
    tokenizer_path: str | os.PathLike,
    cfg: DPOConfig,
    *,
    out_dir: str | os.PathLike,
    eval_pairs: Sequence[Mapping[str, Any]] | None = None,
    recipe_hash: str | None = None,
    chat_encoder: ChatEncoder | None = None,
) -> DPOResult:
    """Tune the model of ``init`` on preference ``pairs`` with DPO; write ``out_dir/checkpoint.pt``.
    With ``eval_pairs``, preference accuracy and margin are measured before and after."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    amp = resolve_dtype(cfg.dtype, device)
    ckpt = init if isinstance(init, Checkpoint) else load_checkpoint(init)
    ckpt.check_tokenizer(tokenizer_path)
    sp = load_tokenizer(tokenizer_path)
    start_id = resolve_start_id(sp, ckpt.special_ids)
    kind, seqs = encode_records(pairs, sp, start_id=start_id, chat_encoder=chat_encoder)
    if kind != "preference":
        raise InputError(f"DPO needs preference records (prompt/chosen/rejected), got {kind} records")
    fitted = [_fit(s, ckpt.config.seq_len + 1) for s in seqs]
    seqs = [s for s, _ in fitted]
    truncated_pairs = sum(c or r for (_, c), (_, r) in zip(fitted[::2], fitted[1::2], strict=True))

    if getattr(ckpt.model, "kind", "gpt") == "hf":
        # No second copy of a Hugging Face model: the reference log-probabilities are computed once,
        # before training, by the model itself; with LoRA, by the base (the adapter disabled).
        policy = ckpt.model.to(device)
        reference, as_reference = policy, policy.without_adapter
    else:
        policy = copy.deepcopy(ckpt.model).to(device).train()
        reference = ckpt.model.to(device).eval().requires_grad_(False)
        as_reference = contextlib.nullcontext
    before = (
        score(policy, eval_pairs, sp, start_id=start_id, chat_encoder=chat_encoder) if eval_pairs else None
    )
    reference.eval()
    with torch.no_grad(), autocast(device, amp), as_reference():
        ref = torch.cat(
            [response_logps(reference, seqs[i : i + 32], device) for i in range(0, len(seqs), 32)]
        )
    ref_chosen, ref_rejected = ref[0::2], ref[1::2]
    del reference
    policy.train()

    optimizer = make_optimizer(
        policy, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas, device=device
    )
    n_pairs = len(seqs) // 2
    rng = np.random.default_rng(cfg.seed)
    order, cursor = rng.permutation(n_pairs), 0
    losses: list[float] = []
    metrics_path = out_dir / "metrics.jsonl"
    metrics_path.write_text("")
    accuracy = float("nan")
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        if cursor + cfg.batch_size > n_pairs:
            order, cursor = rng.permutation(n_pairs), 0
        idx = order[cursor : cursor + cfg.batch_size]
        cursor += cfg.batch_size
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else cfg.lr
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = [seqs[2 * i + side] for i in idx for side in (0, 1)]
        with autocast(device, amp):
            logps = response_logps(policy, batch, device)
        loss, margin = dpo_loss(logps[0::2], logps[1::2], ref_chosen[idx], ref_rejected[idx], cfg.beta)
        loss.backward()
        if cfg.clip > 0:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        accuracy = (margin > 0).float().mean().item()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            row = {
                "kind": "dpo",
                "step": step + 1,
                "loss": losses[-1],
                "reward_accuracy": accuracy,
                "reward_margin": margin.mean().item(),
                "lr": lr,
            }
            with metrics_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
    wall = time.perf_counter() - t0
    policy.eval()
    after = (
        score(policy, eval_pairs, sp, start_id=start_id, chat_encoder=chat_encoder) if eval_pairs else None
    )
    path = save_checkpoint(
        out_dir / "checkpoint.pt",
        policy,
        step=cfg.steps,
        tokenizer=tokenizer_ref(tokenizer_path),
        special_ids=ckpt.special_ids,
        recipe_hash=recipe_hash,
        train_config={"dpo": cfg.model_dump(mode="json"), "init": str(ckpt.path)},
    )
    if hasattr(policy, "save_pretrained"):  # the tuned adapter or weights, as transformers / peft load them
        policy.save_pretrained(
            out_dir / "hf", tokenizer=tokenizer_path if Path(tokenizer_path).is_dir() else None
        )
    return DPOResult(path, metrics_path, losses, accuracy, before, after, truncated_pairs, wall)
