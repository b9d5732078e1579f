"""The output step: the final shards written as one dataset (Parquet and/or JSONL) with a card.

Shards of different sources may carry different columns (a metadata column one source lacks, a
stage column only some records get); the output aligns every shard to one schema, the union of
all, so that ``datasets.load_dataset("parquet", data_files="RUN/output/*.parquet")`` loads it.
Empty shards write no file.

The output holds records only (text, messages, prompt/completion, prompt/chosen/rejected and their
metadata), never token ids: the tokenize stage's ``input_ids``/``loss_mask`` columns are in the
run's own tokenizer, and a trainer that finds an ``input_ids`` column (TRL's SFTTrainer) takes it
as already tokenized by *its* tokenizer. Token ids go to ``tokens/`` and the explicit exports.

The dataset card names no ``configs``/``data_files``: with a pattern there, ``datasets`` gives
every directory holding it the same cache key, so ``load_dataset("runs/a/output")`` could return
the rows of ``runs/b/output`` cached by another process. Without it, ``datasets`` resolves the
directory's own files (path and modification time) into the key.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.exec.executor import Executor
from curate.exec.rundir import RunDir, Step
from curate.exec.tasks import shard_file
from curate.io.writers import write_hf_parquet, write_jsonl, write_text
from curate.recipe import RecipeBase
from curate.stages.base import ShardInfo
from curate.stages.tokenize import TOKEN_COLUMNS
from curate.version import __version__


@dataclass(frozen=True)
class OutputTask:
    run_root: str
    step: Step
    prev: Step
    name: str
    schema: dict[str, pl.DataType]
    format: str
    compression_level: int


def unified_schema(files: Sequence[Path]) -> dict[str, pl.DataType]:
    """The union of the files' schemas, columns in order of first appearance, dtypes reconciled,
    without the tokenize stage's token columns (see the module docstring)."""
    empties = [pl.DataFrame(schema=pl.read_parquet_schema(f)) for f in files]
    if not empties:
        return {}
    schema = pl.concat(empties, how="diagonal_relaxed").schema
    return {name: dtype for name, dtype in schema.items() if name not in TOKEN_COLUMNS}


def align(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


def run_output_task(task: OutputTask) -> dict[str, Any]:
    started = time.perf_counter()
    run = RunDir(task.run_root)
    frame = pl.read_parquet(shard_file(run.stage(task.prev), task.name))
    files = []
    if frame.height:
        frame = align(frame, task.schema)
        if task.format in ("parquet", "both"):
            path = shard_file(run.output, task.name)
            files.append(write_hf_parquet(frame, path, compression_level=task.compression_level).name)
        if task.format in ("jsonl", "both"):
            files.append(write_jsonl(frame, run.output / f"part-{task.name}.jsonl").name)
    marker = {
        "shard": task.name,
        "in": frame.height,
        "out": frame.height,
        "dropped": 0,
        "added": 0,
        "files": files,
        "seconds": time.perf_counter() - started,
    }
    from curate.io.writers import write_json

    write_json(marker, run.marker(task.step, task.name))
    return marker


def write_output(
    run: RunDir,
    step: Step,
    prev: Step,
    shard_names: list[str],
    shards: list[ShardInfo],
    recipe: RecipeBase,
    executor: Executor,
    *,
    on_shard: Callable[[dict[str, Any]], None],
    step_stats: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    done = run.done_shards(step)
    if not done and run.output.exists():
        shutil.rmtree(run.output)  # files of an earlier output config
    run.output.mkdir(parents=True, exist_ok=True)
    files = [shard_file(run.stage(prev), name) for name in shard_names]
    schema = unified_schema(files)
    tasks = [
        OutputTask(
            str(run.root), step, prev, name, schema, recipe.output.format, recipe.output.compression_level
        )
        for name in shard_names
        if name not in done
    ]
    for marker in executor.map_unordered(run_output_task, tasks):
        done[marker["shard"]] = marker
        on_shard(marker)
    markers = [done[name] for name in shard_names]
    written = [f for m in markers for f in m["files"]]
    card = dataset_card(recipe, schema, markers, step_stats, written)
    write_text(card, run.output / "README.md")
    return markers, {
        "files": written,
        "schema": {k: str(v) for k, v in schema.items()},
        "artifacts": ["output"],
    }


def dataset_card(
    recipe: RecipeBase,
    schema: dict[str, pl.DataType],
    markers: list[dict[str, Any]],
    step_stats: list[dict[str, Any]],
    files: list[str],
) -> str:
    """A Hugging Face style dataset card: how it was made and how to load it."""
    records = sum(m["out"] for m in markers)
    pattern = "*.parquet" if recipe.output.format in ("parquet", "both") else "*.jsonl"
    loader = "parquet" if pattern.endswith("parquet") else "json"
    funnel = "\n".join(
        f"| {s['stage']} | {s['records']['in']:,} | {s['records']['out']:,} | {s['records']['dropped']:,} |"
        for s in step_stats
    )
    columns = "\n".join(f"| `{name}` | `{dtype}` |" for name, dtype in schema.items())
    sources = "\n".join(f"- `{s.name}`: `{s.path}` ({s.format})" for s in recipe.sources)
    # No `configs:` block: see the module docstring (it would share one datasets cache key).
    return f"""---
pretty_name: {json.dumps(recipe.name)}
tags:
- curate
---
# {recipe.name}

{recipe.description or "A dataset built with curate."}

Built by curate {__version__} from the recipe in `../recipe.yaml` (seed {recipe.seed}):
{records:,} records in {len(files)} file(s).

```python
from datasets import load_dataset
ds = load_dataset("{loader}", data_files="output/{pattern}", split="train")
# or, the directory itself: load_dataset("output", split="train") (Parquet first when both are written)
```

## Sources
{sources}

## Funnel
| step | in | out | removed |
|---|---:|---:|---:|
{funnel}

Removed records, each with the rule that removed it, are under `../rejected/`.

## Columns
| column | type |
|---|---|
{columns}
"""
