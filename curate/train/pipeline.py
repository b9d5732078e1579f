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
from curate.io.rundir import RunLayout, shard_files
from curate.io.sources import Source
from curate.io.tokens import TokenWriter, read_index
from curate.recipe import RecipeBase
from curate.train.config import EvalConfig, TrainConfig
from curate.train.eval_docs import write_run_eval_docs

TOKENS_DIR, TOKENIZER_FILE = "tokens", "tokenizer/tokenizer.model"
TOKENIZER_DIR = "tokenizer"
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
    """The run's tokenizer: ``tokenizer/tokenizer.model`` (sentencepiece), or the ``tokenizer/``
    directory where the tokenize stage saved a Hugging Face tokenizer."""
    directory = run_dir / TOKENIZER_DIR
    if (directory / "tokenizer.json").is_file() and not (run_dir / TOKENIZER_FILE).is_file():
        return directory
    return run_dir / TOKENIZER_FILE


def template_chat_encoder(model_path: Path, template: str, system_prompt: str | None, start_id: int):
    """A scorer chat encoder that renders exactly as the tokenize stage does (same template, masks)."""
    from curate.tokenize.load import load_tokenizer
    from curate.train.score import Encoded

    tokenizer = load_tokenizer(model_path)
    from curate.tokenize.chat import is_model_template

    if is_model_template(template):  # type: ignore[arg-type]
        return _jinja_chat_encoder(tokenizer, template, system_prompt, start_id)
    chat_template = get_template(template)

    def encode(messages: Sequence[Mapping[str, str]]) -> Encoded:
        segments = chat_template.render_segments(list(messages), system=system_prompt)
        ids, mask, _ = tokenizer.encode_segments([segments])
        n_bytes = sum(len(s.text.encode("utf-8")) for s in segments if s.train and not s.markup)
        return Encoded([start_id, *ids.tolist()], [False, *mask.astype(bool).tolist()], n_bytes)

    return encode


def _jinja_chat_encoder(tokenizer: Any, template: Any, system_prompt: str | None, start_id: int):
    """The scorer's chat encoder for ``template: model`` / ``{jinja: PATH}``: the whole rendering
    encoded once, targets the assistant spans (as the tokenize stage does)."""
    from curate.formats.templates import with_system
    from curate.tokenize.chat import encode_chats, template_for
    from curate.train.score import Encoded

    model_template = template_for(tokenizer, template)

    def encode(messages: Sequence[Mapping[str, str]]) -> Encoded:
        turns = with_system(list(messages), system_prompt)
        ids, mask, _, errors = encode_chats(tokenizer, model_template, [(turns, 0)])
        if errors[0] is not None:
            raise RecipeError(f"eval conversation: the chat template refuses it: {errors[0]}")
        n_bytes = sum(len(str(m["content"]).encode("utf-8")) for m in turns if m["role"] == "assistant")
        return Encoded([start_id, *ids.tolist()], [False, *mask.astype(bool).tolist()], n_bytes)

    return encode


def base_tokens(source: Source, tokenizer_model: Path, seq_len: int, cache_dir: Path) -> Path:
    """The raw text of ``source`` encoded with the run's tokenizer and packed for pretraining,
    cached by (source files, tokenizer, seq_len): built once, whatever the number of runs asking
    for it at the same time."""
    from curate.io import fs
    from curate.io.cache import build_entry
    from curate.io.readers import plan_pieces, read_piece, source_files
    from curate.tokenize.load import from_files, read_tokenizer_files

    if source.kind != "text":
        raise RecipeError(
            f"train.init_from base:{source.name}: a base corpus must be a text source, not {source.kind}"
        )
    kind, files = read_tokenizer_files(tokenizer_model)
    tokenizer = from_files(kind, files)
    key = hashlib.sha256(
        json.dumps(
            [source.model_dump(mode="json"), [fs.fingerprint(f) for f in source_files(source)], seq_len]
        ).encode()
        + bytes.fromhex(tokenizer.fingerprint)
    ).hexdigest()[:20]
    shard_bytes = 32_000_000

    def build(directory: Path) -> None:
        writer = TokenWriter(
            directory, vocab_size=tokenizer.vocab_size, seq_len=seq_len, special_ids=tokenizer.ids_info()
        )
        carry = np.zeros(0, dtype=np.uint32)  # ids are uint32 whatever the tokenizer
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
    if cfg.init_from == "scratch" or cfg.hf_model is not None:
        return None  # a Hugging Face model is loaded by the trainer from its directory
    if not cfg.init_from.startswith("base:"):
        if not Path(cfg.init_from).is_file():
            raise RecipeError(f"train.init_from: checkpoint {cfg.init_from!r} does not exist")
        return cfg.init_from
    from curate.io.cache import default_cache_dir
    from curate.train.base import base_checkpoint, base_train_config

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
    records = next(iter(sets.values()), None)  # the first set: DPO's eval pairs
    result = train(
        run_dir / TOKENS_DIR,
        cfg,
        out_dir=run_dir / "train",
        tokenizer_path=model_path,
        init=init,
        recipe_hash=recipe_hash,
        eval_records=sets or None,  # periodic evals on every set
        progress=progress,
    )
    # a Hugging Face model is scored where it trained (the bundled GPT on the CPU, as always)
    device = None if cfg.hf_model is None else result.device
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
            device=device,
            per_document=True,
        )
        for name, set_records in sets.items()
    }
    docs = split_docs(set_metrics)
    task_metrics = score_tasks(result.checkpoint, load_tasks(cfg.eval), run_dir=run_dir, eval_cfg=cfg.eval)
    report = sets_report(set_metrics, task_metrics, result.to_dict(), seed=cfg.seed)
    report["init_from"] = cfg.init_from if init is None else {"spec": cfg.init_from, "checkpoint": init}
    if sets and cfg.init_from != "scratch":
        report["base"] = base_scores(
            cfg,
            init,
            sets,
            run_dir=run_dir,
            encoder=encoder,
            key_extra=[template, system_prompt],
            cache_dir=cache_dir,
            device=device,
        )
        for name, entry in report.get("sets", {}).items():
            entry.update(score_deltas(set_metrics[name], report["base"]["sets"][name]["metrics"]))
        report.update(score_deltas(report["metrics"], report["base"]["metrics"]))
    index = read_index(run_dir / TOKENS_DIR)
    report["epochs"] = training_epochs(cfg, index.num_rows)
    report["warnings"] = epoch_warnings(cfg, index.num_rows, index.seq_len)
    if cfg.dpo is not None:
        report["dpo"] = _dpo(
            run_dir, cfg, result.checkpoint, records, encoder if records else None, recipe_hash
        )
    write_run_eval_docs(run_dir, docs, replace=True)  # before score.json: a run with one has both
    write_score_json(RunLayout(run_dir).score_file, report)
    return report


def split_docs(set_metrics: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Take each set's per-document scores (``docs``, see ``score(per_document=True)``) out of its
    metrics: ``{set: DocScores}``, written to ``RUN_DIR/eval_docs/`` rather than score.json."""
    return {name: m.pop("docs") for name, m in set_metrics.items() if "docs" in m}


BASE_SCORE_VERSION = 1


def base_scores(
    cfg: TrainConfig,
    init: str | None,
    sets: Mapping[str, Sequence[Mapping[str, Any]]],
    **kw: Any,
) -> dict[str, Any]:
    """The base model's score (``base_score``) on every named eval set: ``sets`` (name -> its
    metrics, cached, wall_s), ``avg`` over them, and ``metrics``: the one set's, or with several
    the ``avg`` (as the run's own ``metrics``), so that ``metrics - base.metrics`` compares like
    with like. ``cached``: every set's score came from the cache."""
    from curate.train.score import average

    per_set = {name: base_score(cfg, init, records, **kw) for name, records in sets.items()}
    first = next(iter(per_set.values()))
    avg = average({name: entry["metrics"] for name, entry in per_set.items()})
    return {
        "about": "the score of the model the run starts from, before fine-tuning, on each eval set "
        "(sets; avg: their mean; metrics: the one set's, or the avg)",
        "model": first["model"],
        "metrics": first["metrics"] if len(per_set) == 1 else avg,
        "sets": {name: {k: e[k] for k in ("metrics", "cached", "wall_s")} for name, e in per_set.items()},
        "avg": avg,
        "cached": all(e["cached"] for e in per_set.values()),
        "wall_s": sum(e["wall_s"] for e in per_set.values()),
    }


def base_score(
    cfg: TrainConfig,
    init: str | None,
    records: Sequence[Mapping[str, Any]],
    *,
    run_dir: Path,
    encoder: Any,
    key_extra: Sequence[Any] = (),
    cache_dir: Path | None = None,
    device: str | None = None,
) -> dict[str, Any]:
    """The score of the model a run starts from (the Hugging Face base model, the cached base
    model or the checkpoint of ``init_from``) on the run's eval set, before any fine-tuning:
    computed once per (model files, eval records, tokenizer, template, context, stride) and cached
    under ``CACHE/base-scores/``, so that every run and seed of a sweep reads the same numbers."""
    import orjson

    from curate.io import fs
    from curate.io.cache import default_cache_dir
    from curate.io.writers import write_atomic
    from curate.tokenize.load import tokenizer_fingerprint
    from curate.train.score import METRIC_KEYS, resolve_start_id, score

    model_path = tokenizer_path(run_dir)
    index = read_index(run_dir / TOKENS_DIR)
    if cfg.hf_model is not None:
        from curate.train.models.hf_dir import model_fingerprint, resolve_model_dir

        directory = resolve_model_dir(cfg.hf_model)
        model_id: Any = {"hf": model_fingerprint(directory), "context": index.seq_len - 1}
    else:
        model_id = {"checkpoint": fs.fingerprint(str(init))}
    key = hashlib.sha256(
        orjson.dumps(
            {
                "model": model_id,
                "eval": hashlib.sha256(orjson.dumps(list(records))).hexdigest(),
                "tokenizer": tokenizer_fingerprint(model_path),
                "special_ids": index.special_ids,
                "stride": cfg.eval.stride,
                "extra": list(key_extra),
                "version": BASE_SCORE_VERSION,
            },
            option=orjson.OPT_SORT_KEYS,
        )
    ).hexdigest()[:24]
    path = Path(cache_dir or default_cache_dir()) / "base-scores" / f"{key}.json"
    if path.is_file():
        return {**json.loads(path.read_text()), "cached": True}
    if cfg.hf_model is not None:
        from curate.train.models.hf import HFCausalLM, HFModelConfig

        model: Any = HFCausalLM(HFModelConfig(path=str(directory), seq_len=index.seq_len - 1))
    else:
        model = init
    metrics = score(
        model,
        records,
        model_path,
        batch_size=cfg.eval.batch_size,
        stride=cfg.eval.stride,
        chat_encoder=encoder,
        start_id=resolve_start_id(model_path, index.special_ids),
        device=device,
    )
    result = {
        "about": "the score of the model the run starts from, before fine-tuning, on the same eval set",
        "model": str(directory) if cfg.hf_model is not None else init,
        "metrics": {k: metrics[k] for k in METRIC_KEYS if k in metrics},
        "wall_s": metrics["wall_s"],
    }
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return {**result, "cached": False}


def score_deltas(metrics: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, float]:
    """What fine-tuning changed: ``delta_bpb`` (negative: better than the base), and the change of
    preference accuracy where the eval set is pairs."""
    out = {}
    for key in ("bpb", "pref_accuracy"):
        a, b = metrics.get(key), base.get(key)
        if isinstance(a, int | float) and isinstance(b, int | float):
            out[f"delta_{key}"] = float(a) - float(b)
    return out


def output_pairs(run_dir: Path) -> list[dict[str, Any]]:
    """The run's preference pairs (its output, format kind preference) as records for DPO."""
    import polars as pl

    files = sorted(RunLayout(run_dir).output.glob("*.parquet"))
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
    device: Any = None,
    per_document: bool = False,
) -> dict[str, Any]:
    """Score a checkpoint of a run on eval ``records`` with the run's tokenizer, encoding chats
    with the run's template and loss masks (on ``device``, else where ``score`` puts it);
    ``per_document``: with each document's bits and bytes (``docs``, see :func:`split_docs`)."""
    from curate.train.score import score

    return score(
        checkpoint,
        records,
        tokenizer_path(run_dir),
        batch_size=eval_cfg.batch_size,
        stride=eval_cfg.stride,
        chat_encoder=chat_encoder or run_chat_encoder(run_dir, template, system_prompt),
        device=device,
        per_document=per_document,
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
    from curate.train.score import load_tokenizer, resolve_start_id

    model_path = tokenizer_path(run_dir)
    start = resolve_start_id(load_tokenizer(model_path), read_index(run_dir / TOKENS_DIR).special_ids)
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
    from curate.io.writers import read_json
    from curate.recipe import load_recipe
    from curate.report.inspect_run import load_manifest
    from curate.train.evalset import load_eval_sets, load_tasks, read_eval_records
    from curate.train.loop import CHECKPOINT_NAME
    from curate.train.score import score_report, set_entry, sets_report, write_score_json

    run_dir = Path(run_dir)
    layout = RunLayout(run_dir)
    load_manifest(run_dir)  # a clear error when run_dir is not a run directory
    recipe = load_recipe(layout.recipe_file, check_inputs=False)
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
    template, system_prompt = tokenize_template(recipe)
    previous = read_json(layout.score_file) if layout.score_file.exists() else {}
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
            written = write_score_json(layout.score_file, merged)
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
        name: score_checkpoint(
            checkpoint, records, run_dir=run_dir, eval_cfg=cfg, chat_encoder=encoder, per_document=True
        )
        for name, records in set_records.items()
    }
    docs = split_docs(set_metrics)  # written beside RUN_DIR/score.json only, not beside --out
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
            write_run_eval_docs(run_dir, docs)
        written = write_score_json(Path(out) if out is not None else layout.score_file, report)
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
        write_run_eval_docs(run_dir, docs)
        written = write_score_json(layout.score_file, report)
    return {
        **report,
        "written": str(written),
        "overlap": sum(overlaps.values()),
        "overlaps": overlaps,
        "scored": {"sets": new_sets, "tasks": new_tasks},
    }


def _eval_label(path: str | Sequence[str]) -> str:
    return path if isinstance(path, str) else ",".join(path)


def tokenize_template(recipe: RecipeBase) -> tuple[Any, str | None]:
    """The chat template and system prompt the recipe's tokenize stage renders with."""
    tokenize = recipe.stage_config("tokenize")
    if tokenize is None:
        return "chatml", None
    return tokenize.template, tokenize.system_prompt  # type: ignore[attr-defined]


def eval_overlap(run_dir: str | os.PathLike, eval_path: str | Sequence[str]) -> int:
    """Records of a run's training data (as they enter its first mix/format/tokenize step, where
    the decontamination stage looks) that are in the eval set ``eval_path``, by id or text."""
    import polars as pl

    from curate.io.writers import read_json
    from curate.stages.decontaminate import DECONTAMINATE_BEFORE, DecontaminateConfig, apply

    layout = RunLayout(run_dir)
    steps = read_json(layout.manifest)["steps"]
    at = next((i for i, s in enumerate(steps) if s["stage"] in DECONTAMINATE_BEFORE), None)
    if not at:
        return 0
    cfg = DecontaminateConfig(
        eval=eval_path if isinstance(eval_path, str) else list(eval_path), on_overlap="drop"
    )
    found = 0
    for shard in shard_files(layout.stage_dir(steps[at - 1]["dir"])):
        found += int(apply(pl.read_parquet(shard), cfg).counters.get("eval_overlap", 0))
    return found
