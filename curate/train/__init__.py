"""The bundled trainer and scoring: a small decoder-only transformer trained on a run's packed
tokens, scored on a held-out eval set by perplexity, bits per byte and preference accuracy.

Entry points for the pipeline::

    result = train(tokens_dir, TrainConfig(...), out_dir=run / "train", tokenizer_path=...)
    metrics = score(result.checkpoint, read_eval_records(pattern), tokenizer_path)
    path = base_checkpoint("web", base_tokens_dir, base_train_config(cfg), tokenizer_path=...)
    write_score_json(run / "score.json", score_report(metrics, result.to_dict()))
    tuned = dpo(result.checkpoint, pairs, tokenizer_path, DPOConfig(), out_dir=run / "dpo", eval_pairs=...)
"""

from __future__ import annotations

import importlib
from typing import Any

# Names load on first use: `curate.train.config` (the recipe's train block) must stay torch-free.
_WHERE = {
    "Checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "Batch": "data",
    "TokenLoader": "data",
    "DPOConfig": "dpo",
    "DPOResult": "dpo",
    "dpo": "dpo",
    "EvalConfig": "config",
    "ModelOverrides": "config",
    "TrainConfig": "config",
    "PRESETS": "config",
    "TrainResult": "loop",
    "base_checkpoint": "base",
    "base_train_config": "base",
    "train": "loop",
    "GPT": "model",
    "GPTConfig": "model",
    "count_params": "model",
    "preset_config": "model",
    "read_eval_records": "evalset",
    "score": "score",
    "score_report": "score",
    "write_score_json": "score",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'curate.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"curate.train.{_WHERE[name]}"), name)
