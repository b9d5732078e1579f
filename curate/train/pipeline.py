"""The train step of a run: fine-tune on the run's packed tokens, then score on the eval set.

``train_and_score(run_dir, cfg, ...)`` is what the pipe loop calls after the output step when a
recipe has a ``train:`` block. It reads ``RUN_DIR/tokens`` and ``RUN_DIR/tokenizer`` (written by
the tokenize stage), resolves ``init_from`` (``scratch``, a checkpoint path, or ``base:<source>``:
a base model trained once on that source's raw text with this tokenizer and cached by hash),
trains into ``RUN_DIR/train/`` and writes ``RUN_DIR/score.json``. Chats in the eval set are
encoded with the same template and loss masks as the training data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curate.errors import RecipeError, RunDirError, UsageError
from curate.formats.templates import get_template
from curate.io.tokens import TokenWriter, read_index
from curate.recipe import Source
from curate.train.config import EvalConfig, TrainConfig

TOKENS_DIR, TOKENIZER_FILE = "tokens", "tokenizer/tokenizer.model"
# Training that passes over its rows more often than this is warned about (run output, run card,
# score.json): its score says more about memorising a few rows than about the data.
EPOCHS_WARN = 4.0


def training_epochs(cfg: TrainConfig, num_rows: int) -> float:
    """How many times training passes over the packed rows it trains on."""
    return cfg.steps * cfg.batch_size * cfg.grad_accum / max(1, num_rows)


def epoch_warnings(cfg: TrainConfig, num_rows: int, seq_len: int) -> list[str]:
    """A warning when training repeats its data more than ``EPOCHS_WARN`` times."""
    epochs = training_epochs(cfg, num_rows)
    if epochs <= EPOCHS_WARN:
        return []
    rows_per_step = cfg.batch_size * cfg.grad_accum
    fewer = max(1, int(EPOCHS_WARN * num_rows // rows_per_step))
    return [
        f"train: {cfg.steps:,} steps of {rows_per_step:,} rows pass over the {num_rows:,} packed rows "
        f"({num_rows * seq_len:,} tokens) {epochs:.1f} times: the model sees the same data again and again, "
        f"and its score says more about memorising it than about the data. Give the recipe more data, or "
        f"train fewer steps (train.steps: {fewer:,} is {EPOCHS_WARN:g} epochs)"
    ]


def tokenizer_path(run_dir: Path) -> Path:
    return run_dir / TOKENIZER_FILE


def template_chat_encoder(model_path: Path, template: str, system_prompt: str | None, start_id: int):
    """A scorer chat encoder that renders exactly as the tokenize stage does (same template, masks)."""
    from curate.tokenize.encoder import Tokenizer
    from curate.tokenize.spm import read_model
    from curate.train.score import Encoded

    tokenizer = Tokenizer(read_model(model_path))
    chat_template = get_template(template)

    def encode(messages: Sequence[Mapping[str, str]]) -> Encoded:
        segments = chat_template.render_segments(list(messages), system=system_prompt)
        ids, mask, _ = tokenizer.encode_segments([segments])
        n_bytes = sum(len(s.text.encode("utf-8")) for s in segments if s.train and not s.markup)
        return Encoded([start_id, *ids.tolist()], [False, *mask.astype(bool).tolist()], n_bytes)

    return encode


def base_tokens(source: Source, tokenizer_model: Path, seq_len: int, cache_dir: Path) -> Path:
    """The raw text of ``source`` encoded with the run's tokenizer and packed for pretraining,
    cached by (source files, tokenizer, seq_len): built once, whatever the number of runs asking
    for it at the same time."""
    from curate.io import fs
    from curate.io.cache import build_entry
    from curate.io.readers import plan_pieces, read_piece, source_files
    from curate.tokenize.encoder import Tokenizer
    from curate.tokenize.spm import read_model

    if source.kind != "text":
        raise RecipeError(
            f"train.init_from base:{source.name}: a base corpus must be a text source, not {source.kind}"
        )
    model = read_model(tokenizer_model)
    key = hashlib.sha256(
        json.dumps(
            [source.model_dump(mode="json"), [fs.fingerprint(f) for f in source_files(source)], seq_len]
        ).encode()
        + hashlib.sha256(model).digest()
    ).hexdigest()[:20]
    shard_bytes = 32_000_000

    def build(directory: Path) -> None:
        tokenizer = Tokenizer(model)
        writer = TokenWriter(
            directory, vocab_size=tokenizer.vocab_size, seq_len=seq_len, special_ids=tokenizer.ids_info()
        )
        carry = np.zeros(0, dtype=np.uint32)
        for piece in plan_pieces([source], shard_bytes=shard_bytes):
            for chunk in read_piece(piece, source, shard_bytes=shard_bytes):
                ids, _, _ = tokenizer.encode_documents(chunk.records["text"].to_list())
                stream = np.concatenate([carry, ids])
                whole = stream.size // seq_len * seq_len
                rows = stream[:whole].reshape(-1, seq_len)
                writer.write(rows, np.ones_like(rows, dtype=np.uint8))
                carry = stream[whole:]
        writer.close(stats={"source": source.name, "dropped_tail_tokens": int(carry.size)})

    directory = cache_dir / "base-tokens" / f"{source.name}-{key}"
    return build_entry(directory, build)


def resolve_init(
    cfg: TrainConfig, *, run_dir: Path, sources: Sequence[Source], cache_dir: Path | None, progress: bool
) -> str | None:
    """The checkpoint to start from: None for scratch, a path, or the cached base model."""
    if cfg.init_from == "scratch":
        return None
    if not cfg.init_from.startswith("base:"):
        if not Path(cfg.init_from).is_file():
            raise RecipeError(f"train.init_from: checkpoint {cfg.init_from!r} does not exist")
        return cfg.init_from
    from curate.io.cache import default_cache_dir
    from curate.train.loop import base_checkpoint, base_train_config

    name = cfg.init_from.removeprefix("base:")
    by_name = {s.name: s for s in sources}
    if name not in by_name:
        raise RecipeError(
            f"train.init_from base:{name}: no source named {name!r} (sources: {', '.join(by_name)})"
        )
    cache = Path(cache_dir or default_cache_dir())
    seq_len = read_index(run_dir / TOKENS_DIR).seq_len
    tokens = base_tokens(by_name[name], tokenizer_path(run_dir), seq_len, cache)
    path = base_checkpoint(
        name,
        tokens,
        base_train_config(cfg),
        tokenizer_path=tokenizer_path(run_dir),
        cache_dir=cache,
        progress=progress,
    )
    return str(path)


def train_and_score(
    run_dir: str | os.PathLike,
    cfg: TrainConfig,
    *,
    sources: Sequence[Source],
    template: str = "chatml",
    system_prompt: str | None = None,
    recipe_hash: str | None = None,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train on RUN_DIR/tokens, score on the eval set, write RUN_DIR/score.json; return its contents."""
    from curate.train.evalset import load_eval_sets, load_tasks
    from curate.train.loop import train
    from curate.train.score import sets_report, write_score_json

    run_dir = Path(run_dir)
    if not (run_dir / TOKENS_DIR / "index.json").exists():
        raise RunDirError(
            f"{run_dir}: no packed tokens to train on; a recipe with train: needs a tokenize stage"
        )
    model_path = tokenizer_path(run_dir)
    init = resolve_init(cfg, run_dir=run_dir, sources=sources, cache_dir=cache_dir, progress=progress)
    sets = load_eval_sets(cfg.eval)
    records = next(iter(sets.values()), None)  # the first set: periodic evals, DPO's eval pairs
    result = train(
        run_dir / TOKENS_DIR,
        cfg,
        out_dir=run_dir / "train",
        tokenizer_path=model_path,
        init=init,
        recipe_hash=recipe_hash,
        eval_records=records,
        progress=progress,
    )
    encoder = run_chat_encoder(run_dir, template, system_prompt) if sets else None
    set_metrics = {
        name: score_checkpoint(
            result.checkpoint,
            set_records,
            run_dir=run_dir,
            eval_cfg=cfg.eval,
            template=template,
            system_prompt=system_prompt,
            chat_encoder=encoder,
        )
        for name, set_records in sets.items()
    }
    task_metrics = score_tasks(result.checkpoint, load_tasks(cfg.eval), run_dir=run_dir, eval_cfg=cfg.eval)
    report = sets_report(set_metrics, task_metrics, result.to_dict(), seed=cfg.seed)
    report["init_from"] = cfg.init_from if init is None else {"spec": cfg.init_from, "checkpoint": init}
    index = read_index(run_dir / TOKENS_DIR)
    report["epochs"] = training_epochs(cfg, index.num_rows)
    report["warnings"] = epoch_warnings(cfg, index.num_rows, index.seq_len)
    if cfg.dpo is not None:
        report["dpo"] = _dpo(
            run_dir, cfg, result.checkpoint, records, encoder if records else None, recipe_hash
        )
    write_score_json(run_dir / "score.json", report)
    return report


def output_pairs(run_dir: Path) -> list[dict[str, Any]]:
    """The run's preference pairs (its output, format kind preference) as records for DPO."""
    import polars as pl

    files = sorted((run_dir / "output").glob("*.parquet"))
    columns = ("prompt", "chosen", "rejected")
    frame = pl.read_parquet(files) if files else pl.DataFrame()
    if not all(c in frame.columns for c in columns):
        raise RecipeError(
            "train.dpo needs preference pairs in the output: add `- format: {kind: preference}`"
        )
    return frame.select(columns).to_dicts()


def _dpo(
    run_dir: Path, cfg: TrainConfig, checkpoint: Path, records: Any, encoder: Any, recipe_hash: str | None
) -> dict[str, Any]:
    from curate.train.dpo import dpo
    from curate.train.evalset import eval_kind
    from curate.train.score import PREF_KEYS

    eval_pairs = records if records and eval_kind(records) == "preference" else None
    result = dpo(
        checkpoint,
        output_pairs(run_dir),
        tokenizer_path(run_dir),
        cfg.dpo,
        out_dir=run_dir / "dpo",
        eval_pairs=eval_pairs,
        recipe_hash=recipe_hash,
        chat_encoder=encoder,
    )
    return {
        "checkpoint": str(result.checkpoint),
        "steps": cfg.dpo.steps,
        "beta": cfg.dpo.beta,
        "reward_accuracy": result.reward_accuracy,
        "final_loss": result.losses[-1] if result.losses else None,
        "truncated_pairs": result.truncated_pairs,
        "wall_s": result.wall_s,
        "before": None if result.before is None else {k: result.before.get(k) for k in (*PREF_KEYS, "nll")},
        "after": None if result.after is None else {k: result.after.get(k) for k in (*PREF_KEYS, "nll")},
    }


def score_checkpoint(
    checkpoint: str | os.PathLike,
    records: Sequence[Mapping[str, Any]],
    *,
    run_dir: Path,
    eval_cfg: EvalConfig,
    template: str = "chatml",
    system_prompt: str | None = None,
    chat_encoder: Any = None,
) -> dict[str, Any]:
    """Score a checkpoint of a run on eval ``records`` with the run's tokenizer, encoding chats
    with the run's template and loss masks."""
    from curate.train.score import score

    return score(
        checkpoint,
        records,
        tokenizer_path(run_dir),
        batch_size=eval_cfg.batch_size,
        stride=eval_cfg.stride,
        chat_encoder=chat_encoder or run_chat_encoder(run_dir, template, system_prompt),
    )


def score_tasks(
    checkpoint: str | os.PathLike,
    tasks: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    run_dir: Path,
    eval_cfg: EvalConfig,
    delimiters: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Score a checkpoint of a run on multiple-choice tasks (name -> items) with the run's
    tokenizer and start token; each task's delimiter is its ``eval.tasks`` entry's (else
    ``delimiters``, else a space)."""
    if not tasks:
        return {}
    from curate.train.checkpoint import load_checkpoint
    from curate.train.score import load_tokenizer as load_spm
    from curate.train.score import resolve_start_id
    from curate.train.tasks import score_task

    sp = load_spm(tokenizer_path(run_dir))
    start = resolve_start_id(sp, read_index(run_dir / TOKENS_DIR).special_ids)
    ckpt = load_checkpoint(checkpoint)
    specs = eval_cfg.task_specs
    out = {}
    for name, items in tasks.items():
        delimiter = specs[name].delimiter if name in specs else (delimiters or {}).get(name, " ")
        out[name] = score_task(
            ckpt, items, sp, delimiter=delimiter, batch_size=eval_cfg.batch_size, prefix=[start]
        )
    return out


def run_chat_encoder(run_dir: Path, template: str, system_prompt: str | None):
    """The chat encoder of a run: its tokenizer, template and start id, as its tokenize stage used."""
    from curate.train.score import load_tokenizer as load_spm
    from curate.train.score import resolve_start_id

    model_path = tokenizer_path(run_dir)
    start = resolve_start_id(load_spm(model_path), read_index(run_dir / TOKENS_DIR).special_ids)
    return template_chat_encoder(model_path, template, system_prompt, start)


def score_run(
    run_dir: str | os.PathLike,
    *,
    eval_path: str | Sequence[str] | None = None,
    sets: Mapping[str, str | Sequence[str]] | None = None,
    tasks: Mapping[str, str | Sequence[str]] | None = None,
    out: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Score a finished run's checkpoint again: on its own eval sets and tasks (``train.eval`` of
    the run's recipe), on ``eval_path`` (files or globs), or on new named ``sets`` and ``tasks``
    (name -> files or globs). The behind of ``curate score``.

    Where the result goes: ``out`` when given (a whole score report); else RUN_DIR/score.json:
    its scores are replaced when scoring the run's own eval sets and tasks; ``eval_path`` adds an
    ``evals[<path>]`` entry; new named sets are added under ``sets`` (marked ``"added": true``,
    outside ``avg``: the recipe's score stays the recipe's score) and new tasks under ``tasks``.
    The returned dict is the report written, plus ``written`` (its path) and, for other eval
    data, ``overlap``: eval records also found in the run's training data (by id or text), in
    total and per set and task (``overlaps``).
    """
    from curate.inspect import load_manifest
    from curate.io.writers import read_json
    from curate.recipe import load_recipe
    from curate.train.evalset import load_eval_sets, load_tasks, read_eval_records
    from curate.train.loop import CHECKPOINT_NAME
    from curate.train.score import score_report, set_entry, sets_report, write_score_json

    run_dir = Path(run_dir)
    load_manifest(run_dir)  # a clear error when run_dir is not a run directory
    recipe = load_recipe(run_dir / "recipe.yaml", check_inputs=False)
    checkpoint = run_dir / "train" / CHECKPOINT_NAME
    if recipe.train is None or not checkpoint.exists():
        raise RunDirError(
            f"{run_dir}: no trained checkpoint ({checkpoint}); the recipe needs a train: block and the "
            "run must have finished its train step (`curate run RECIPE --resume`)"
        )
    named = bool(sets or tasks)
    if named and eval_path is not None:
        raise UsageError("give eval sets either as PATH or as NAME=PATH, not both")
    eval_cfg = recipe.train.eval
    own = eval_path is None and not named
    if own and not eval_cfg.scored:
        raise RecipeError(
            f"{run_dir}: the run's recipe names no eval set (train.eval.path, sets or tasks); pass --eval PATH"
        )
    template, system_prompt = _tokenize_template(recipe)
    previous = read_json(run_dir / "score.json") if (run_dir / "score.json").exists() else {}
    train_info = previous.get("train")
    if eval_path is not None:
        other_cfg = eval_cfg.model_copy(update={"path": eval_path, "sets": {}, "max_records": None})
        metrics = score_checkpoint(
            checkpoint,
            read_eval_records(eval_path),
            run_dir=run_dir,
            eval_cfg=other_cfg,
            template=template,
            system_prompt=system_prompt,
        )
        report = score_report(metrics, train_info, seed=recipe.train.seed)
        report["eval"]["path"] = eval_path
        report["overlap"] = eval_overlap(run_dir, eval_path)
        if out is not None:
            written = write_score_json(Path(out), report)
        else:
            merged = dict(previous)
            merged.setdefault("evals", {})[_eval_label(eval_path)] = {
                k: report[k] for k in ("metrics", "eval", "overlap")
            }
            written = write_score_json(run_dir / "score.json", merged)
        return {**report, "written": str(written)}
    if named:
        own_sets = set(eval_cfg.named_sets)
        clash = sorted(own_sets & set(sets or {}))
        if clash:
            raise UsageError(
                f"--eval {clash[0]}=...: {clash[0]!r} is one of the run's own eval sets; name the new set "
                "otherwise (`curate score RUN_DIR` alone re-scores the run's own sets)"
            )
        cfg = eval_cfg.model_copy(
            update={"path": None, "sets": dict(sets or {}), "tasks": {}, "max_records": None}
        )
        set_records = load_eval_sets(cfg)
        task_items = {name: read_eval_records(paths) for name, paths in (tasks or {}).items()}
    else:
        cfg = eval_cfg
        set_records, task_items = load_eval_sets(cfg), load_tasks(cfg)
    encoder = run_chat_encoder(run_dir, template, system_prompt) if set_records else None
    set_metrics = {
        name: score_checkpoint(checkpoint, records, run_dir=run_dir, eval_cfg=cfg, chat_encoder=encoder)
        for name, records in set_records.items()
    }
    task_metrics = score_tasks(checkpoint, task_items, run_dir=run_dir, eval_cfg=cfg)
    if own:
        report = sets_report(set_metrics, task_metrics, train_info, seed=recipe.train.seed)
        added = {k: v for k, v in (previous.get("sets") or {}).items() if v.get("added")}
        added_tasks = {k: v for k, v in (previous.get("tasks") or {}).items() if v.get("added")}
        if out is None:  # keeps init_from, scores on other eval sets, sets and tasks added later
            report = {**previous, **report}
            if added:
                report["sets"] = {**report.get("sets", {}), **added}
            if added_tasks:
                report["tasks"] = {**report.get("tasks", {}), **added_tasks}
        written = write_score_json(Path(out) if out is not None else run_dir / "score.json", report)
        return {**report, "written": str(written)}
    overlaps = {name: eval_overlap(run_dir, paths) for name, paths in (sets or {}).items()}
    overlaps.update({f"tasks.{name}": eval_overlap(run_dir, paths) for name, paths in (tasks or {}).items()})
    new_sets = {
        name: {**set_entry(m), "added": True, "path": (sets or {})[name]} for name, m in set_metrics.items()
    }
    new_tasks = {name: {**m, "added": True, "path": (tasks or {})[name]} for name, m in task_metrics.items()}
    if out is not None:
        report = sets_report(set_metrics, task_metrics, train_info, seed=recipe.train.seed)
        written = write_score_json(Path(out), report)
    else:
        report = dict(previous)
        if new_sets:
            report["sets"] = {**(previous.get("sets") or {}), **new_sets}
        if new_tasks:
            report["tasks"] = {**(previous.get("tasks") or {}), **new_tasks}
        written = write_score_json(run_dir / "score.json", report)
    return {
        **report,
        "written": str(written),
        "overlap": sum(overlaps.values()),
        "overlaps": overlaps,
        "scored": {"sets": new_sets, "tasks": new_tasks},
    }


def _eval_label(path: str | Sequence[str]) -> str:
    return path if isinstance(path, str) else ",".join(path)


def _tokenize_template(recipe: Any) -> tuple[str, str | None]:
    template, system_prompt = "chatml", None
    for name, config in recipe.stage_list():
        if name == "tokenize":
            template, system_prompt = config.template, config.system_prompt
    return template, system_prompt


OVERLAP_BEFORE = ("mix", "format", "tokenize")


def eval_overlap(run_dir: str | os.PathLike, eval_path: str | Sequence[str]) -> int:
    """Records of a run's training data (as they enter its first mix/format/tokenize step, where
    the decontamination stage looks) that are in the eval set ``eval_path``, by id or text."""
    import polars as pl

    from curate.io.writers import read_json
    from curate.stages.decontaminate import DecontaminateConfig, apply

    run_dir = Path(run_dir)
    steps = read_json(run_dir / "manifest.json")["steps"]
    at = next((i for i, s in enumerate(steps) if s["stage"] in OVERLAP_BEFORE), None)
    if not at:
        return 0
    cfg = DecontaminateConfig(
        eval=eval_path if isinstance(eval_path, str) else list(eval_path), on_overlap="drop"
    )
    found = 0
    for shard in sorted((run_dir / "stages" / steps[at - 1]["dir"]).glob("part-*.parquet")):
        found += int(apply(pl.read_parquet(shard), cfg).counters.get("eval_overlap", 0))
    return found
