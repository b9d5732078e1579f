"""The training loop: one ``train`` function over the packed tokens of a run, and its config.

``train(tokens_dir, cfg, out_dir=...)`` builds the model (from a preset, a curate checkpoint or a
cached base model), trains it with AdamW, linear warmup then cosine decay to ``min_lr``, gradient
clipping and accumulation, bf16 autocast on CUDA and optional ``torch.compile``, logs to
``out_dir/metrics.jsonl`` and writes ``out_dir/checkpoint.pt`` (every ``checkpoint_every`` steps
and at the end). A run whose checkpoint exists with the same training fingerprint resumes from it
and produces the same losses as an uninterrupted run (on CPU: bit for bit).

The cached base models that ``init_from: base:<name>`` fine-tunes from are ``curate.train.base``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import xxhash

from curate.errors import RecipeError
from curate.exec.progress import TrainProgress
from curate.io.tokens import TokenIndex, index_path, open_tokens
from curate.train.checkpoint import (
    Checkpoint,
    load_checkpoint,
    read_state,
    save_checkpoint,
    tokenizer_ref,
)
from curate.train.config import DTypeName, TrainConfig, config_fingerprint
from curate.train.data import Batch, TokenLoader
from curate.train.evalset import load_eval_sets
from curate.train.memory import check_train_memory
from curate.train.model import GPT, GPTConfig, count_params, preset_config
from curate.train.models.base import CausalLM
from curate.train.score import (
    average,
    encode_records,
    load_tokenizer,
    resolve_start_id,
    sequence_nll,
    summarize,
)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"
HF_DIR = "hf"


def _hf_tokenizer(path: str | os.PathLike | None) -> bool:
    return path is not None and Path(path).is_dir() and (Path(path) / "tokenizer.json").is_file()


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of (0-based) ``step``: linear warmup to ``lr``, then cosine decay to ``min_lr``."""
    warmup = cfg.warmup_steps
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, cfg.steps - warmup)
    return cfg.final_lr + 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * (cfg.lr - cfg.final_lr)


# -- devices -------------------------------------------------------------------------------------


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; explicit names must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RecipeError(f"train.device is {name!r} but torch sees no CUDA device: use device: auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RecipeError(f"train.device is {name!r} but MPS is not available: use device: auto or cpu")
    return device


def resolve_dtype(name: DTypeName, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain float32."""
    if name == "float32":
        return None
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise RecipeError(
            "train.dtype is bfloat16 but this GPU does not support it: use dtype: auto or float32"
        )
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# -- model and optimizer -------------------------------------------------------------------------


def build_model(cfg: TrainConfig, index: TokenIndex, init: Checkpoint | None = None) -> CausalLM:
    """The model to train: a fresh preset, the architecture and weights of ``init``, or the
    Hugging Face model of ``init_from: hf:PATH``."""
    context = index.seq_len - 1
    if cfg.hf_model is not None:
        from curate.train.models.hf import build_hf_model

        lora = None if cfg.lora is None else cfg.lora.model_dump()
        return build_hf_model(
            cfg.hf_model,
            context=context,
            lora=lora,
            gradient_checkpointing=cfg.gradient_checkpointing,
            seed=cfg.seed,
        )
    overrides = cfg.model.set_fields()
    if init is None:
        torch.manual_seed(cfg.seed)
        return GPT(preset_config(cfg.preset, vocab_size=index.vocab_size, seq_len=context, **overrides))
    if init.config.vocab_size != index.vocab_size:
        raise RecipeError(
            f"checkpoint {init.path} has a vocabulary of {init.config.vocab_size} but the tokens have "
            f"{index.vocab_size}: fine-tune with the tokenizer the checkpoint was trained with"
        )
    shape = {k: v for k, v in overrides.items() if k != "dropout"}
    clash = {k: v for k, v in shape.items() if getattr(init.config, k) != v}
    if clash:
        raise RecipeError(
            f"train.model sets {clash} but checkpoint {init.path} has "
            f"{ {k: getattr(init.config, k) for k in clash} }: a fine-tune keeps its checkpoint's architecture"
        )
    config = GPTConfig.from_dict(
        {**init.config.to_dict(), "seq_len": max(context, init.config.seq_len), **overrides}
    )
    model = GPT(config)
    model.load_state_dict(init.model.state_dict())
    return model


def make_optimizer(
    model: CausalLM, *, lr: float, weight_decay: float, betas: tuple[float, float], device: torch.device
) -> torch.optim.AdamW:
    """AdamW over the model's parameter groups (weight decay on matrices and embeddings only,
    trainable parameters only); the fused kernel on CUDA."""
    groups = CausalLM.param_groups(model, weight_decay)
    extra = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=1e-8, **extra)


# -- fingerprints --------------------------------------------------------------------------------


def tokens_fingerprint(tokens_dir: str | os.PathLike, *, content: bool = False, split: str = "train") -> str:
    """Hash of a token split: its index and file sizes, plus the bytes of its files if ``content``."""
    h = xxhash.xxh3_128()
    h.update(index_path(tokens_dir, split).read_bytes())
    for suffix in (".bin", ".mask.bin"):
        path = Path(tokens_dir) / f"{split}{suffix}"
        if not path.exists():
            continue
        h.update(str(path.stat().st_size).encode())
        if content:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 24), b""):
                    h.update(chunk)
    return h.hexdigest()


def digest(obj: Any) -> str:
    """sha256 of ``obj`` as canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


# -- the loop ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and how fast. ``losses`` are this call's per-step losses."""

    checkpoint: Path
    metrics_path: Path
    step: int
    start_step: int
    losses: list[float]
    tokens_seen: int
    target_tokens: int
    wall_s: float
    tokens_per_s: float
    device: str
    dtype: str
    n_params: int
    seed: int
    last_eval: dict[str, Any] | None = None
    hf_dir: str | None = None  # init_from hf: the save_pretrained directory (adapter or weights + tokenizer)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checkpoint"], out["metrics_path"] = str(self.checkpoint), str(self.metrics_path)
        out["final_loss"] = self.losses[-1] if self.losses else None
        del out["losses"]
        return out


class _Metrics:
    """Append-only metrics.jsonl; on resume, drops lines past the resumed step."""

    def __init__(self, path: Path, start_step: int) -> None:
        self.path = path
        kept: list[str] = []
        if start_step and path.exists():
            kept = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= start_step]
        path.write_text("".join(ln + "\n" for ln in kept))

    def write(self, row: Mapping[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def _resolve_init(cfg: TrainConfig, init: str | os.PathLike | Checkpoint | None) -> Checkpoint | None:
    source = init if init is not None else cfg.init_from
    if isinstance(source, Checkpoint):
        return source
    if str(source) == "scratch" or str(source).startswith("hf:"):
        return None  # an hf: model is built by build_model
    if str(source).startswith("base:"):
        raise RecipeError(
            f"init_from {source} names a base model: resolve it with base_checkpoint(...) and pass init=<its path>"
        )
    return load_checkpoint(source)


def _restore(
    path: Path, fingerprint: str, model: CausalLM, optimizer: torch.optim.Optimizer, loader: TokenLoader
) -> int:
    """Load the resumable state of an interrupted run with the same fingerprint; its step, else 0."""
    if not path.exists():
        return 0
    prev = read_state(path)
    extra = prev.get("extra") or {}
    if extra.get("fingerprint") != fingerprint or prev.get("optimizer") is None or prev.get("loader") is None:
        return 0  # another config, tokens or init: start over (the checkpoint is overwritten)
    model.load_checkpoint_state(prev["model"])
    optimizer.load_state_dict(prev["optimizer"])
    loader.load_state_dict(prev["loader"])
    if prev.get("rng") is not None:
        torch.set_rng_state(prev["rng"])
    return prev["step"]


def _evaluator(
    model: CausalLM,
    cfg: TrainConfig,
    tokenizer_path: str | os.PathLike | None,
    records: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]] | None,
    index: TokenIndex,
    device: torch.device,
    amp: torch.dtype | None,
) -> Callable[[], dict[str, Any]] | None:
    """A function scoring the model on the first ``eval.periodic_records`` records of every eval
    set, or None. ``records``: one set's records, or name -> records (else the files of
    ``cfg.eval``). With one set its metrics; with several the ``average`` over them (nll, ppl, bpb)
    and ``sets``: each set's metrics (the cost is one periodic eval per set)."""
    if records is None and cfg.eval.named_sets and tokenizer_path is not None:
        records = load_eval_sets(cfg.eval)
    sets = dict(records) if isinstance(records, Mapping) else {"eval": records} if records else {}
    sets = {name: list(rows) for name, rows in sets.items() if rows}
    if not sets:
        return None
    if tokenizer_path is None:
        raise RecipeError("evals during training need the tokenizer: pass tokenizer_path")
    sp = load_tokenizer(tokenizer_path)
    start_id = resolve_start_id(sp, index.special_ids)
    encoded = {
        name: encode_records(rows[: cfg.eval.periodic_records], sp, start_id=start_id)
        for name, rows in sets.items()
    }

    def evaluate() -> dict[str, Any]:
        scored = {}
        for name, (kind, seqs) in encoded.items():
            with autocast(device, amp):
                nll, count = sequence_nll(model, seqs, batch_size=cfg.eval.batch_size, stride=cfg.eval.stride)
            scored[name] = summarize(kind, seqs, nll, count)
        if len(scored) == 1:
            return next(iter(scored.values()))
        return {**average(scored), "sets": scored}

    return evaluate


def train_step(
    forward: Callable[..., torch.Tensor],
    model: CausalLM,
    optimizer: torch.optim.Optimizer,
    batches: Sequence[Batch],
    *,
    lr: float,
    clip: float,
    amp: torch.dtype | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One optimizer step over the micro-batches of ``batches`` (gradient accumulation): returns
    the step's loss and the gradient norm before clipping, as device tensors (no sync)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    n_targets = max(1, sum(b.n_targets for b in batches))  # one normaliser for the whole step
    total = torch.zeros((), device=batches[0].x.device)
    for b in batches:
        packed = {} if b.pos is None else {"position_ids": b.pos}
        with autocast(b.x.device, amp):
            loss = forward(b.x, b.y, reduction="sum", **packed) / n_targets
        loss.backward()
        total += loss.detach()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip) if clip > 0 else None
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total, grad_norm


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(
    tokens_dir: str | os.PathLike,
    cfg: TrainConfig,
    *,
    out_dir: str | os.PathLike,
    tokenizer_path: str | os.PathLike | None = None,
    init: str | os.PathLike | Checkpoint | None = None,
    recipe_hash: str | None = None,
    eval_records: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    resume: bool = True,
    progress: bool = True,
    progress_label: str = "train",
) -> TrainResult:
    """Train on the packed tokens in ``tokens_dir`` and write ``out_dir/checkpoint.pt``.

    ``init`` overrides ``cfg.init_from`` (a checkpoint path or a loaded checkpoint; the caller
    resolves ``base:<name>`` with ``base_checkpoint``). ``eval_records`` (one set's records, or
    name -> records; else the files of ``cfg.eval``) are scored every ``cfg.eval_every`` steps and
    at the end, every set on its first ``cfg.eval.periodic_records`` records (metrics.jsonl: an
    ``eval`` row per eval step, with several sets their average and ``sets``, each set's metrics);
    that needs ``tokenizer_path``. ``progress``: a bar on
    a terminal, else a line on stderr every tenth of the steps and every ``progress_interval()``
    seconds (step, loss, tokens/s, ETA), labelled ``progress_label``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    amp = resolve_dtype(cfg.dtype, device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # Model, optimizer, data; then the state of an interrupted run of the same fingerprint.
    data = open_tokens(tokens_dir)
    check_train_memory(cfg, vocab_size=data.index.vocab_size, seq_len=data.index.seq_len)
    init_ckpt = _resolve_init(cfg, init)
    if init_ckpt is not None:
        init_ckpt.check_tokenizer(tokenizer_path)
    model = build_model(cfg, data.index, init_ckpt).to(device)
    model.train()
    optimizer = make_optimizer(
        model, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas, device=device
    )
    loader = TokenLoader(
        data,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        device=device,
        positions=model.packs_documents,
        order=cfg.order,
    )
    torch.manual_seed(cfg.seed)  # the dropout stream, whatever building the model consumed
    fingerprint = digest(
        {
            "config": config_fingerprint(cfg),
            "tokens": tokens_fingerprint(tokens_dir),
            "init": None if init_ckpt is None else str(init_ckpt.path),
            **({"hf": model.config.fingerprint} if model.kind == "hf" else {}),
        }
    )
    ckpt_path = out_dir / CHECKPOINT_NAME
    start_step = _restore(ckpt_path, fingerprint, model, optimizer, loader) if resume else 0
    evaluate = _evaluator(model, cfg, tokenizer_path, eval_records, data.index, device, amp)
    tokens_per_step = cfg.batch_size * cfg.grad_accum * loader.context

    def save(step: int) -> None:
        save_checkpoint(
            ckpt_path,
            model,
            step=step,
            tokenizer=tokenizer_ref(tokenizer_path),
            special_ids=data.index.special_ids,
            recipe_hash=recipe_hash,
            train_config=cfg.model_dump(mode="json"),
            optimizer=optimizer if cfg.save_optimizer else None,
            loader=loader.state_dict(),
            rng=torch.get_rng_state(),
            extra={
                "fingerprint": fingerprint,
                "tokens_seen": step * tokens_per_step,
                "init": str(init_ckpt.path) if init_ckpt else None,
            },
        )

    forward = torch.compile(model) if cfg.compile else model
    metrics = _Metrics(out_dir / METRICS_NAME, start_step)
    n_steps = cfg.steps - start_step
    losses = torch.zeros(n_steps, device=device)  # kept on the device: no sync per step
    target_tokens, last_eval, last_logged = 0, None, start_step
    t0 = t_log = time.perf_counter()
    shown = (
        TrainProgress(progress_label, cfg.steps, start=start_step, tokens_per_step=tokens_per_step)
        if progress
        else contextlib.nullcontext()
    )
    with _torch_threads(cfg.threads), shown as bar:
        for i, step in enumerate(range(start_step, cfg.steps)):
            lr = lr_at(step, cfg)
            batches = [loader.next_batch() for _ in range(cfg.grad_accum)]
            target_tokens += sum(b.n_targets for b in batches)
            losses[i], grad_norm = train_step(
                forward, model, optimizer, batches, lr=lr, clip=cfg.clip, amp=amp
            )

            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                now = time.perf_counter()
                row = {
                    "kind": "train",
                    "step": done,
                    "loss": losses[i].item(),
                    "lr": lr,
                    "grad_norm": None if grad_norm is None else grad_norm.item(),
                    "tokens": done * tokens_per_step,
                    "tokens_per_s": (done - last_logged) * tokens_per_step / max(now - t_log, 1e-9),
                    "elapsed": now - t0,
                }
                metrics.write(row)
                t_log, last_logged = now, done
                if bar is not None:
                    bar.logged(done, row)
            if bar is not None:
                bar.step(done, lambda: losses[i].item())  # noqa: B023 - called at once
            if evaluate and ((cfg.eval_every and done % cfg.eval_every == 0) or done == cfg.steps):
                last_eval = evaluate()
                metrics.write({**last_eval, "kind": "eval", "step": done})
            if cfg.checkpoint_every and done % cfg.checkpoint_every == 0 and done < cfg.steps:
                save(done)
    wall = time.perf_counter() - t0
    if n_steps > 0 or not ckpt_path.exists():
        save(cfg.steps)
    exported = None
    if model.kind == "hf":  # the adapter or the weights as transformers / peft load them, + the tokenizer
        hf_dir = out_dir / HF_DIR
        if n_steps > 0 or not hf_dir.exists():
            model.save_pretrained(hf_dir, tokenizer=tokenizer_path if _hf_tokenizer(tokenizer_path) else None)
        exported = str(hf_dir)
    return TrainResult(
        checkpoint=ckpt_path,
        metrics_path=metrics.path,
        step=cfg.steps,
        start_step=start_step,
        losses=losses.tolist(),
        tokens_seen=cfg.steps * tokens_per_step,
        target_tokens=target_tokens,
        wall_s=wall,
        tokens_per_s=n_steps * tokens_per_step / wall if wall > 0 else float("nan"),
        device=str(device),
        dtype=str(amp or torch.float32).removeprefix("torch."),
        n_params=count_params(model),
        seed=cfg.seed,
        last_eval=last_eval,
        hf_dir=exported,
    )
