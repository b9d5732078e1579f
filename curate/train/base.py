"""Base models: ``base_checkpoint(name, tokens_dir, cfg)`` trains a base model once per (name, base
tokens, config, tokenizer) and caches it by hash, so that every recipe of an experiment can
fine-tune from the same starting point (``init_from: base:<name>``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from curate.errors import RecipeError
from curate.io.cache import build_entry, default_cache_dir
from curate.tokenize.load import tokenizer_fingerprint
from curate.train.checkpoint import FORMAT_VERSION
from curate.train.config import EvalConfig, TrainConfig, config_fingerprint
from curate.train.loop import CHECKPOINT_NAME, digest, tokens_fingerprint, train


def base_train_config(cfg: TrainConfig) -> TrainConfig:
    """The config of the base model behind a fine-tune config: same shape and batch; ``base_steps``
    steps at ``base_lr`` from scratch, seed 0 whatever the fine-tune's seed (so that every seed of
    a sweep fine-tunes the same base); no evals."""
    return cfg.model_copy(
        update={
            "init_from": "scratch",
            "steps": cfg.base_steps,
            "lr": cfg.base_lr,
            "seed": 0,
            "warmup": None,
            "min_lr": None,
            "eval": EvalConfig(),
        }
    )


def base_key(
    name: str, tokens_dir: str | os.PathLike, cfg: TrainConfig, tokenizer_path: str | os.PathLike | None
) -> str:
    """The cache key of a base model: its name, the bytes of its tokens, its training config and tokenizer."""
    return digest(
        {
            "name": name,
            "tokens": tokens_fingerprint(tokens_dir, content=True),
            "config": config_fingerprint(cfg),
            "tokenizer": None if tokenizer_path is None else tokenizer_fingerprint(tokenizer_path),
            "format": FORMAT_VERSION,
        }
    )[:16]


def base_checkpoint(
    name: str,
    tokens_dir: str | os.PathLike,
    cfg: TrainConfig,
    *,
    tokenizer_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Path of the cached base model ``name`` trained with ``cfg`` on ``tokens_dir``; trains it
    (resumably, under a lock) if it is not cached yet. ``cfg`` is the base run's config, e.g.
    ``base_train_config(recipe_train_cfg)``."""
    if cfg.init_from != "scratch":
        raise RecipeError(f"a base model is trained from scratch, not from {cfg.init_from!r}")
    directory = (
        Path(cache_dir or default_cache_dir())
        / "base"
        / f"{name}-{base_key(name, tokens_dir, cfg, tokenizer_path)}"
    )

    def build(out_dir: Path) -> None:
        (out_dir / ".lock").unlink(missing_ok=True)  # the lock file of an entry built in place (older curate)
        train(
            tokens_dir,
            cfg,
            out_dir=out_dir,
            tokenizer_path=tokenizer_path,
            progress=progress,
            progress_label=f"base model {name}",
        )
        (out_dir / "_SUCCESS").write_text(
            json.dumps({"name": name, "tokens": str(tokens_dir), "config": config_fingerprint(cfg)}, indent=2)
        )

    # a training killed half way is continued by the next process that asks for this base model
    build_entry(directory, build, resume=True)
    return directory / CHECKPOINT_NAME
