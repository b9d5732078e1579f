"""Reading what a run left behind, for the report and for ``curate diff``.

Everything here is optional but the manifest: a run without a tokenizer, a trainer or a score
simply has less to show. Figures are read from the files the pipe loop and the trainer write
(``manifest.json``, ``stats/*.json``, ``recipe.yaml``, ``score.json``, ``train/metrics.jsonl``);
record samples come from the Parquet shards, a bounded number of rows at a time.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from curate.io.rundir import SCORE, RunLayout, shard_files
from curate.io.writers import read_json
from curate.records import CHOSEN, ID, MESSAGES, META, PROMPT, REASON, REJECTED, SOURCE, TEXT, text_view
from curate.report.inspect_run import load_manifest

SCORE_FILE = SCORE
TRAIN_METRICS = Path("train") / "metrics.jsonl"
MAX_LOG_LINES = 200_000  # metrics.jsonl lines read (a long run logs far fewer)
_LEN = re.compile(r"^len\.(kept|dropped)\.(-?\d+)$")


@dataclass
class RunData:
    """What one run directory holds, loaded once."""

    root: Path
    manifest: dict[str, Any]
    steps: list[dict[str, Any]]
    recipe_text: str | None = None
    recipe: dict[str, Any] | None = None
    score: dict[str, Any] | None = None
    train_log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.root.name)

    def stage_steps(self) -> list[dict[str, Any]]:
        """The recipe's stages: every step but read and output."""
        return [s for s in self.steps if s.get("stage") not in ("read", "output")]


def load_run(run_dir: str | os.PathLike) -> RunData:
    """Load a run directory; only ``manifest.json`` is required."""
    root = Path(run_dir)
    manifest = load_manifest(root)
    steps = list(manifest.get("steps") or _stats_files(root))
    recipe_text = _read_text(RunLayout(root).recipe_file)
    recipe = None
    if recipe_text is not None:
        try:
            loaded = yaml.safe_load(recipe_text)
            recipe = loaded if isinstance(loaded, dict) else None
        except yaml.YAMLError:
            recipe = None
    score = read_json(root / SCORE_FILE) if (root / SCORE_FILE).exists() else None
    return RunData(root, manifest, steps, recipe_text, recipe, score, read_train_log(root / TRAIN_METRICS))


def _stats_files(root: Path) -> list[dict[str, Any]]:
    return [read_json(p) for p in sorted(RunLayout(root).stats_dir.glob("*.json"))]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def read_train_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a trainer's ``metrics.jsonl`` (bad lines skipped: a log may be mid-write)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= MAX_LOG_LINES:
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
                rows.append(row)
    return rows


def score_metrics(score: dict[str, Any] | None) -> dict[str, float]:
    """The eval metrics of a ``score.json``: in the trainer's ``score_report`` shape, its
    ``metrics`` and per-set and per-task figures under their metric names (``bpb``, or ``avg.bpb``
    and ``web.bpb``..., ``tasks.arith.acc``...: see ``curate.train.evalset.flat_metrics``), or
    else its top-level numbers (a flat metrics dict)."""
    if not score:
        return {}
    inner = score.get("metrics")
    if isinstance(inner, dict):
        from curate.train.evalset import flat_metrics

        return {k: v for k, v in flat_metrics(score).items() if math.isfinite(v)}
    source = score
    return {
        k: float(v)
        for k, v in source.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
    }


# -- figures out of step stats -------------------------------------------------------------------


def length_hist(step: dict[str, Any], label: str) -> dict[int, int]:
    """The ``len.<label>.<bin>`` counters of a step as {bin: records}."""
    hist: dict[int, int] = {}
    for key, value in (step.get("counters") or {}).items():
        match = _LEN.match(key)
        if match and match.group(1) == label:
            hist[int(match.group(2))] = hist.get(int(match.group(2)), 0) + int(value)
    return hist


def has_lengths(step: dict[str, Any]) -> bool:
    return any(_LEN.match(k) for k in (step.get("counters") or {}))


def prefixed(counters: dict[str, Any] | None, prefix: str) -> dict[str, float]:
    """Counters ``<prefix><name>`` as {name: value}."""
    return {k[len(prefix) :]: v for k, v in (counters or {}).items() if k.startswith(prefix)}


def step_tokens(step: dict[str, Any]) -> tuple[float | None, str]:
    """Tokens leaving a step, when the step knows them, and how they were counted."""
    finalize = step.get("finalize") or {}
    if isinstance(finalize.get("tokens"), (int, float)):
        return float(finalize["tokens"]), "packed"
    counters = step.get("counters") or {}
    if isinstance(counters.get("tokens"), (int, float)):
        return float(counters["tokens"]), "tokenized"
    fit = step.get("fit") or {}
    if isinstance(fit.get("tokens_out"), (int, float)):
        return float(fit["tokens_out"]), str(fit.get("tokens_counted") or "estimated")
    return None, ""


# -- sample records ------------------------------------------------------------------------------

_BODY_COLUMNS = {TEXT, MESSAGES, PROMPT, CHOSEN, REJECTED, "raw"}
_HIDDEN_COLUMNS = {ID, SOURCE, REASON, META, *_BODY_COLUMNS}


@dataclass(frozen=True)
class Sample:
    """One record as the report shows it: id, source, reason, evidence columns and its text."""

    id: str
    source: str
    reason: str | None
    extras: dict[str, str]
    text: str


def _texts(frame: pl.DataFrame) -> list[str]:
    try:
        return [t or "" for t in text_view(frame).to_list()]
    except (ValueError, pl.exceptions.PolarsError):
        if "raw" in frame.columns:
            return [str(t or "") for t in frame["raw"].to_list()]
        return [""] * frame.height


def to_samples(frame: pl.DataFrame, *, chars: int, extra_chars: int = 160) -> list[Sample]:
    """Rows of ``frame`` as samples; text cut to ``chars`` characters, evidence to ``extra_chars``."""
    samples = []
    for row, text in zip(frame.iter_rows(named=True), _texts(frame), strict=True):
        extras = {
            k: _cut(f"{v:.4g}" if isinstance(v, float) else str(v), extra_chars)
            for k, v in row.items()
            if k not in _HIDDEN_COLUMNS and v is not None and not isinstance(v, (list, dict))
        }
        cut = text[:chars] + (f" … ({len(text) - chars:,} more characters)" if len(text) > chars else "")
        samples.append(Sample(str(row.get(ID)), str(row.get(SOURCE)), row.get(REASON), extras, cut))
    return samples


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _files(directory: Path) -> list[Path]:
    return shard_files(directory) if directory.is_dir() else []


def rejected_samples(
    root: Path, dirname: str, reasons: list[str], *, n: int, chars: int, max_files: int = 16
) -> dict[str, list[Sample]]:
    """Up to ``n`` removed records per reason of one step, in shard order, reading shards until
    every reason has its ``n`` (or ``max_files`` shards were read)."""
    missing = {r: n for r in reasons}
    found: dict[str, list[Sample]] = {r: [] for r in reasons}
    for path in _files(RunLayout(root).rejected_dir(dirname))[:max_files]:
        wanted = [r for r, left in missing.items() if left > 0]
        if not wanted:
            break
        frame = (
            pl.scan_parquet(path)
            .filter(pl.col(REASON).is_in(wanted))
            .group_by(REASON, maintain_order=True)
            .head(n)
            .collect()
        )
        for sample in to_samples(frame, chars=chars):
            reason = str(sample.reason)
            if missing.get(reason, 0) > 0:
                found[reason].append(sample)
                missing[reason] -= 1
    return found


def kept_samples(root: Path, dirname: str | None, *, n: int, chars: int) -> list[Sample]:
    """The first ``n`` records of the final output (``output/``), else of the step ``dirname``."""
    layout = RunLayout(root)
    files = _files(layout.output) or (_files(layout.stage_dir(dirname)) if dirname else [])
    samples: list[Sample] = []
    for path in files:
        if len(samples) >= n:
            break
        samples += to_samples(pl.scan_parquet(path).head(n - len(samples)).collect(), chars=chars)
    return samples
