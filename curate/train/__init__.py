"""The bundled trainer and scoring: a small decoder-only transformer trained on a run's packed
tokens, scored on a held-out eval set by perplexity, bits per byte and preference accuracy.

Entry points for the pipeline::

    result = train(tokens_dir, TrainConfig(...), out_dir=run / "train", tokenizer_path=...)
    metrics = score(result.checkpoint, read_eval_records(pattern), tokenizer_path)
    path = base_checkpoint("web", base_tokens_dir, base_train_config(cfg), tokenizer_path=...)
    write_score_json(run / "score.json", score_report(metrics, result.to_dict()))
    tuned = dpo(result.checkpoint, pairs, tokenizer_path, DPOConfig(), out_dir=run / "dpo", eval_pairs=...)
"""

from curate.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from curate.train.data import Batch, TokenLoader
from curate.train.dpo import DPOConfig, DPOResult, dpo
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
from curate.train.score import read_eval_records, score, score_report, write_score_json

__all__ = [
    "GPT",
    "PRESETS",
    "Batch",
    "Checkpoint",
    "DPOConfig",
    "DPOResult",
    "EvalConfig",
    "GPTConfig",
    "ModelOverrides",
    "TokenLoader",
    "TrainConfig",
    "TrainResult",
    "base_checkpoint",
    "base_train_config",
    "count_params",
    "dpo",
    "load_checkpoint",
    "preset_config",
    "read_eval_records",
    "save_checkpoint",
    "score",
    "score_report",
    "train",
    "write_score_json",
]
