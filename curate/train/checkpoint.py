"""Self-describing checkpoints: a model can be rebuilt from its file alone.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values (so it loads
with ``weights_only=True``)::

    format, format_version, curate_version
    model_kind     "gpt" (the bundled model; absent in older files) or "hf" (a Hugging Face causal LM)
    model_config   GPTConfig as a dict; for "hf" an HFModelConfig (base model directory, its file
                   versions, context, LoRA settings)
    model          state dict (from the uncompiled module); for "hf" every weight (full fine-tuning)
                   or the adapter's weights only (LoRA), the base model being read from its directory
    step           optimizer steps taken
    tokenizer      {"path": ..., "sha256": ...} of the tokenizer (a sentencepiece .model, or a Hugging
                   Face tokenizer directory and its fingerprint), or None
    special_ids    {"bos": .., "eos": .., "pad": ..} from the token index
    recipe_hash    hash of the recipe that produced it, or None
    train_config   the TrainConfig as a dict, or None
    optimizer      optimizer state (optional: only needed to resume)
    loader, rng    data loader position and torch RNG state (optional: only needed to resume)
    extra          free metadata (e.g. the training fingerprint)

Writes go to a temporary name and are renamed into place, so a failed write (a full disk) leaves
the previous checkpoint as it was; a full disk is reported as such, with the size needed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from curate.errors import RunDirError
from curate.io.writers import write_atomic
from curate.tokenize.load import tokenizer_fingerprint
from curate.train.model import GPT, GPTConfig
from curate.version import __version__

FORMAT = "curate-checkpoint"
FORMAT_VERSION = 1


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tokenizer_ref(path: str | os.PathLike | None) -> dict[str, str] | None:
    """What a checkpoint records about its tokenizer: where it was and what it hashed to."""
    if path is None:
        return None
    return {"path": str(Path(path).resolve()), "sha256": tokenizer_fingerprint(path)}


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model plus everything recorded next to it."""

    model: GPT | Any  # a CausalLM: the bundled GPT, or an HFCausalLM (model_kind "hf")
    config: GPTConfig | Any
    step: int
    tokenizer: dict[str, str] | None = None
    special_ids: dict[str, int] = field(default_factory=dict)
    recipe_hash: str | None = None
    train_config: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    loader: dict[str, int] | None = None
    rng: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def check_tokenizer(self, tokenizer_path: str | os.PathLike | None) -> None:
        """Fail unless ``tokenizer_path`` is the tokenizer this model was trained with (by sha256)."""
        if tokenizer_path is None or self.tokenizer is None:
            return
        sha = tokenizer_fingerprint(tokenizer_path)
        if sha != self.tokenizer["sha256"]:
            raise RunDirError(
                f"tokenizer {tokenizer_path} (sha256 {sha[:12]}) is not the one checkpoint {self.path} was trained "
                f"with ({self.tokenizer['path']}, sha256 {self.tokenizer['sha256'][:12]}): use the same tokenizer "
                "for every recipe of an experiment"
            )


def save_checkpoint(
    path: str | os.PathLike,
    model: GPT | Any,
    *,
    step: int,
    tokenizer: dict[str, str] | None = None,
    special_ids: dict[str, int] | None = None,
    recipe_hash: str | None = None,
    train_config: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    loader: dict[str, int] | None = None,
    rng: torch.Tensor | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "curate_version": __version__,
        "model_kind": getattr(model, "kind", "gpt"),
        "model_config": model.config.to_dict(),
        "model": (
            model.checkpoint_state()
            if hasattr(model, "checkpoint_state")
            else {k: v.detach().cpu() for k, v in model.state_dict().items()}
        ),
        "step": step,
        "tokenizer": tokenizer,
        "special_ids": dict(special_ids or {}),
        "recipe_hash": recipe_hash,
        "train_config": train_config,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "loader": loader,
        "rng": rng,
        "extra": dict(extra or {}),
    }
    try:
        return write_atomic(path, lambda tmp: torch.save(state, tmp))
    except (OSError, RuntimeError) as exc:  # torch reports a short write as a RuntimeError
        failed = getattr(exc, "errno", None)
        if failed not in _NO_SPACE and not isinstance(exc, RuntimeError):
            raise
        reason = exc
    # Out of the except block, the failed writer's frames are gone, and with them its open file
    # (torch keeps the unlinked temporary file open until then): the free space is measured after.
    full = _disk_full(path, state, failed)
    if full is None:
        raise reason
    del reason
    raise full from None


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_ARCHIVE_OVERHEAD = 1 << 16  # zip headers and pickled metadata besides the tensor bytes


def state_nbytes(obj: Any) -> int:
    """Bytes of the tensors in a (nested) checkpoint state: about the size of its file."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(state_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(state_nbytes(v) for v in obj)
    return 0


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _disk_full(path: Path, state: dict[str, Any], failed: int | None) -> RunDirError | None:
    """A clear error if writing ``path`` failed (with errno ``failed``) on a full device, else None."""
    needed = state_nbytes(state) + _ARCHIVE_OVERHEAD
    try:
        free = shutil.disk_usage(path.parent).free  # the partial temporary file is gone by now
    except OSError:
        free = None
    if failed not in _NO_SPACE and (free is None or free >= needed):
        return None
    kept = (
        f"the previous checkpoint {path} is kept as it was"
        if path.exists()
        else "no earlier checkpoint exists"
    )
    where = f"{path.parent} has {_mb(free)} free" if free is not None else f"on the device of {path.parent}"
    return RunDirError(
        f"no space left on device writing checkpoint {path}: it needs about {_mb(needed)}, {where}; "
        f"{kept}. Free some space (or give --out on a larger disk) and rerun with --resume"
    )


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """The raw contents of a checkpoint file, checked to be a curate checkpoint this curate reads."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"no checkpoint at {path}: train first, or give the path of a curate checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file: say which
        raise RunDirError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunDirError(f"{path} is not a curate checkpoint (no 'format: {FORMAT}' entry)")
    if state["format_version"] > FORMAT_VERSION:
        raise RunDirError(
            f"checkpoint {path} has format version {state['format_version']}; this curate reads up to "
            f"{FORMAT_VERSION}: upgrade curate"
        )
    return state


def load_checkpoint(path: str | os.PathLike, *, device: torch.device | str = "cpu") -> Checkpoint:
    """Rebuild the model of a checkpoint file (in eval mode, on ``device``) and read its metadata.
    A Hugging Face model (``model_kind: hf``) is rebuilt from its base model's directory, which
    must still hold the files it was trained from."""
    path = Path(path)
    state = read_state(path)
    if state.get("model_kind", "gpt") == "hf":
        from curate.train.models.hf import HFCausalLM, HFModelConfig
        from curate.train.models.hf_dir import model_fingerprint, resolve_model_dir

        config = HFModelConfig.from_dict(state["model_config"])
        now = model_fingerprint(resolve_model_dir(config.path, where=f"checkpoint {path}"))
        if now != config.fingerprint:
            raise RunDirError(
                f"checkpoint {path} was trained from the Hugging Face model in {config.path}, whose files have "
                "changed since (sizes or modification times): restore them, or train again"
            )
        model = HFCausalLM(config)
        model.load_checkpoint_state(state["model"])
    else:
        config = GPTConfig.from_dict(state["model_config"])
        model = GPT(config)
        model.load_state_dict(state["model"])
    model.to(device).eval()
    return Checkpoint(
        model=model,
        config=config,
        step=state["step"],
        tokenizer=state.get("tokenizer"),
        special_ids=state.get("special_ids") or {},
        recipe_hash=state.get("recipe_hash"),
        train_config=state.get("train_config"),
        optimizer=state.get("optimizer"),
        loader=state.get("loader"),
        rng=state.get("rng"),
        extra=state.get("extra") or {},
        path=path,
    )
