"""The bundled trainer and scoring: a small decoder-only transformer trained on a run's packed
tokens, scored on a held-out eval set by perplexity, bits per byte and preference accuracy.

Entry points for the pipeline::

    result = train(tokens_dir, TrainConfig(...), out_dir=run / "train", tokenizer_path=...)
    metrics = score(result.checkpoint, read_eval_records(pattern), tokenizer_path)
    path = base_checkpoint("web", base_tokens_dir, base_train_config(cfg), tokenizer_path=...)
"""

from curate.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from curate.train.data import Batch, TokenLoader
from curate.train.loop import (
    EvalConfig,
    ModelOverrides,
    TrainConfig,
    TrainResult,
    base_checkpoint,
    base_train_config,
    train,
)
from curate.train.model import GPT, PRESETS, GPTConfig, count_params, preset_config
from curate.train.score import read_eval_records, score

__all__ = [
    "GPT",
    "PRESETS",
    "Batch",
    "Checkpoint",
    "EvalConfig",
    "GPTConfig",
    "ModelOverrides",
    "TokenLoader",
    "TrainConfig",
    "TrainResult",
    "base_checkpoint",
    "base_train_config",
    "count_params",
    "load_checkpoint",
    "preset_config",
    "read_eval_records",
    "save_checkpoint",
    "score",
    "train",
]
