"""Reading a finished (or half-finished) run back: manifest, steps, sample records (``curate stats``
and ``curate inspect``; named so as not to shadow the standard library's ``inspect``)."""

from __future__ import annotations

import os
from typing import Any

import polars as pl
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from curate.errors import UsageError
from curate.io.rundir import RunLayout, shard_files
from curate.io.writers import read_json
from curate.records import ID, REASON, SOURCE, text_view
from curate.terminal import markup_safe, printable


def load_manifest(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = RunLayout(run_dir).manifest
    if not path.exists():
        raise UsageError(f"{str(run_dir)!r} is not a curate run directory (no manifest.json)")
    return read_json(path)


def step_dir(run_dir: str | os.PathLike, stage: str) -> str:
    """The directory name (``02-dedupe``) of a step given by name or directory name."""
    stages = RunLayout(run_dir).stages_dir
    names = sorted(p.name for p in stages.iterdir()) if stages.exists() else []
    exact = [n for n in names if n == stage or n.split("-", 1)[-1] == stage]
    if not exact:
        raise UsageError(f"no step {stage!r} in {str(run_dir)!r}; steps: {', '.join(names) or 'none'}")
    return exact[-1]


def sample_records(
    run_dir: str | os.PathLike, stage: str, *, rejected: bool = False, reason: str | None = None, n: int = 5
) -> pl.DataFrame:
    dirname = step_dir(run_dir, stage)
    layout = RunLayout(run_dir)
    base = layout.rejected_dir(dirname) if rejected else layout.stage_dir(dirname)
    if dirname.endswith("-output") and not rejected:
        base = layout.output  # the output step's records are the dataset itself
    files = shard_files(base)
    if not files:
        return pl.DataFrame()
    frames = []
    remaining = n
    for path in files:
        lazy = pl.scan_parquet(path)
        if reason is not None:
            lazy = lazy.filter(pl.col(REASON).str.starts_with(reason))
        frame = lazy.head(remaining).collect()
        frames.append(frame)
        remaining -= frame.height
        if remaining <= 0:
            break
    if reason is not None and remaining == n:
        present = pl.scan_parquet(files).select(pl.col(REASON).unique()).collect()[REASON].sort().to_list()
        raise UsageError(
            f"no record of step {dirname} was removed for a reason starting with {reason!r}; "
            f"its reasons: {', '.join(present) or 'none'}"
        )
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def render_records(frame: pl.DataFrame, console: Console, *, chars: int = 400) -> None:
    if frame.height == 0:
        console.print("no records")
        return
    try:
        texts = text_view(frame).to_list()
    except ValueError:
        texts = frame["raw"].to_list() if "raw" in frame.columns else [None] * frame.height
    shown = {ID, SOURCE, REASON, "text", "messages", "prompt", "chosen", "rejected", "raw", "meta"}
    for row, text in zip(frame.iter_rows(named=True), texts, strict=True):
        # record data may hold terminal escapes (clear screen, window title): shown, never sent
        title = f"{row.get(ID)}  [{row.get(SOURCE)}]"
        if row.get(REASON):
            title += f"  reason: {row[REASON]}"
        extras = {k: v for k, v in row.items() if k not in shown and v is not None}
        body = Text()
        if extras:
            body.append(printable("  ".join(f"{k}={v}" for k, v in extras.items())) + "\n", style="dim")
        preview = (text or "")[:chars]
        body.append(printable(preview + ("…" if text and len(text) > chars else "")))
        console.print(Panel(body, title=markup_safe(title), title_align="left"))
