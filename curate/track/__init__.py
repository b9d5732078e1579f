"""Experiment tracking: a finished run (or sweep) logged to MLflow and/or Weights & Biases.

A run is logged when it finishes, from its run directory: the resolved recipe (``recipe.yaml``)
flattened to dotted keys as params, the training curves of ``train/metrics.jsonl`` (``train/loss``,
``train/lr``... and ``eval/bpb``... per step), the final scores (the flat names a sweep ranks by:
``bpb``, ``avg.bpb``, ``<set>.bpb``, ``tasks.<task>.acc``...) and the files ``score.json``,
``report.html`` and ``recipe.yaml``. A sweep opens one parent run and logs each (variant, seed)
run as a child of it as soon as the run is done, then the leaderboard and the sweep's page.

Each tracker is one module (``mlflow_tracker``, ``wandb_tracker``) implementing :class:`Tracker`,
named in :data:`TRACKERS`. Neither package is a dependency (``pip install 'curate[track]'``): a
recipe that names a missing one fails its checks (:func:`check_trackers`, run by ``curate
validate`` and before a run starts). Once a run is done, a tracker that fails (server down, disk
full, a bug) warns and stops logging; the run and its files are kept.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from curate.errors import UsageError, suggest
from curate.io.rundir import RunLayout
from curate.track.config import MLflowTrack, TrackConfig, WandbTrack
from curate.version import __version__

__all__ = [
    "TRACKERS",
    "RunContent",
    "SweepLog",
    "TrackConfig",
    "Tracker",
    "check_trackers",
    "flatten",
    "log_run",
    "run_content",
    "with_trackers",
]

Warn = Callable[[str], None]
MAX_PARAM_CHARS = 6000
"""MLflow's limit on a param value (W&B has none; both get the same, cut values)."""
TRUNCATED = "...[truncated: {n} chars]"
INSTALL = "pip install 'curate[track]'"
LOGGED_FILES = ("score.json", "report.html", "recipe.yaml")


class Tracker(Protocol):
    """One run in one experiment tracker. ``start`` opens it (as a child of ``parent``, a started
    tracker of the same kind, when given); metrics logged with a ``step`` form curves, those
    logged with ``summary`` are the run's final figures; ``end`` closes it."""

    def start(self, name: str, *, tags: Mapping[str, str], parent: Tracker | None = None) -> None: ...

    def log_params(self, params: Mapping[str, str]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], *, step: int) -> None: ...

    def log_summary(self, metrics: Mapping[str, float]) -> None: ...

    def log_artifact(self, path: Path) -> None: ...

    def end(self, *, failed: bool = False) -> None: ...


@dataclass(frozen=True)
class TrackerKind:
    """A tracker: the module it needs, its config, and how to make one for a run or sweep
    directory (``make(config, default_experiment, directory)``)."""

    module: str
    package: str
    make: Callable[[Any, str, Path], Tracker]


def _make_mlflow(config: MLflowTrack, experiment: str, directory: Path) -> Tracker:
    from curate.track.mlflow_tracker import MLflowTracker

    return MLflowTracker(config, experiment=experiment)


def _make_wandb(config: WandbTrack, experiment: str, directory: Path) -> Tracker:
    from curate.track.wandb_tracker import WandbTracker

    return WandbTracker(config, directory=directory)


TRACKERS: dict[str, TrackerKind] = {
    "mlflow": TrackerKind("mlflow", "mlflow-skinny", _make_mlflow),
    "wandb": TrackerKind("wandb", "wandb", _make_wandb),
}


# ---------------------------------------------------------------------------------------------
# Checks and the command line


def _installed(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_trackers(config: TrackConfig | None) -> None:
    """Every tracker the recipe names is installed, and an MLflow URI is one it can serve; else a
    UsageError that says what to install."""
    if config is None:
        return
    for name in config.names():
        kind = TRACKERS[name]
        if not _installed(kind.module):
            raise UsageError(
                f"track.{name}: logging to {name} needs the {kind.package} package, which is not installed: "
                f"{INSTALL} (or pip install {kind.package}), or remove track.{name} from the recipe"
            )
    if config.mlflow is not None:
        from curate.track.mlflow_tracker import check_uri

        check_uri(config.mlflow)


def with_trackers(config: TrackConfig | None, names: Sequence[str]) -> TrackConfig | None:
    """``config`` with the trackers ``names`` turned on (with their defaults where the recipe does
    not configure them): ``curate run --track mlflow``."""
    for name in names:
        if name not in TRACKERS:
            raise UsageError(f"--track {name!r} is not a tracker{suggest(name, list(TRACKERS))}")
    if not names:
        return config
    current = config.model_dump() if config is not None else {}
    for name in names:
        current[name] = current.get(name) or {}
    return TrackConfig.model_validate(current)


# ---------------------------------------------------------------------------------------------
# What a run logs


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested mappings and lists as ``{dotted.key: text}`` (list items by index:
    ``stages.0.clean.min_chars``); a list of plain values stays one value, as JSON. A value longer
    than MLflow's limit is cut, and says so."""
    out: dict[str, str] = {}
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and any(isinstance(v, (Mapping, list)) for v in data):
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    elif prefix:
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        if len(text) > MAX_PARAM_CHARS:
            tail = TRUNCATED.format(n=len(text))
            text = text[: MAX_PARAM_CHARS - len(tail)] + tail
        out[prefix] = text
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


CURVE_KEYS = {"train": ("loss", "lr", "grad_norm", "tokens_per_s"), "eval": None}


def read_curves(path: Path) -> list[tuple[int, dict[str, float]]]:
    """``train/metrics.jsonl`` as (step, {train/loss, train/lr, ..., eval/bpb, ...}) in step
    order, train and eval rows of one step merged (trackers want each step once)."""
    if not path.exists():
        return []
    steps: dict[int, dict[str, float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        kind, step = row.get("kind"), row.get("step")
        if kind not in CURVE_KEYS or not isinstance(step, int):
            continue
        keys = CURVE_KEYS[kind] or [k for k in row if k not in ("kind", "step")]
        for key in keys:
            value = _number(row.get(key))
            if value is not None:
                steps.setdefault(step, {})[f"{kind}/{key}"] = value
    return sorted(steps.items())


@dataclass
class RunContent:
    """What is logged of one run."""

    name: str
    params: dict[str, str]
    curves: list[tuple[int, dict[str, float]]]
    scores: dict[str, float]
    files: list[Path]
    tags: dict[str, str] = field(default_factory=dict)


def run_content(
    run_dir: str | os.PathLike, *, scores: Mapping[str, float], tags: Mapping[str, str] | None = None
) -> RunContent:
    """The content of a finished run directory; ``scores`` are its flat final scores (the caller
    computes them from ``score.json``, as the sweep's leaderboard does)."""
    layout = RunLayout(run_dir)
    recipe = yaml.safe_load(layout.recipe_file.read_text(encoding="utf-8")) or {}
    recipe.pop("track", None)  # where it was logged to is not part of the experiment
    name = str(recipe.get("name") or layout.root.name)
    final = {k: v for k, v in ((k, _number(v)) for k, v in scores.items()) if v is not None}
    return RunContent(
        name=name,
        params=flatten(recipe),
        curves=read_curves(layout.root / "train" / "metrics.jsonl"),
        scores=final,
        files=[layout.root / f for f in LOGGED_FILES if (layout.root / f).is_file()],
        tags={"curate_version": __version__, "run_dir": str(layout.root.absolute()), **(tags or {})},
    )


# ---------------------------------------------------------------------------------------------
# Logging, never failing a run


class _Guarded:
    """A tracker whose first failure warns (once, naming the tracker and what to check) and
    turns every later call into nothing."""

    def __init__(self, name: str, tracker: Tracker | None, warn: Warn, where: str) -> None:
        self.name, self.tracker, self.warn, self.where = name, tracker, warn, where

    @property
    def alive(self) -> bool:
        return self.tracker is not None

    def call(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.tracker is None:
            return
        try:
            getattr(self.tracker, method)(*args, **kwargs)
        except Exception as exc:
            tracker, self.tracker = self.tracker, None
            self.warn(
                f"track.{self.name}: logging {self.where} failed ({type(exc).__name__}: {exc}); the run is "
                f"kept, and its files are in place to log again"
            )
            if method != "end":
                with contextlib.suppress(Exception):  # the first failure is the one to report
                    tracker.end(failed=True)


def _open(config: TrackConfig, *, experiment: str, directory: Path, warn: Warn, where: str) -> list[_Guarded]:
    opened = []
    for name in config.names():
        try:
            tracker: Tracker | None = TRACKERS[name].make(getattr(config, name), experiment, directory)
        except Exception as exc:
            warn(f"track.{name}: cannot log {where} ({type(exc).__name__}: {exc}); the run is kept")
            tracker = None
        opened.append(_Guarded(name, tracker, warn, where))
    return opened


def _log_content(tracker: _Guarded, content: RunContent) -> None:
    tracker.call("log_params", content.params)
    for step, metrics in content.curves:
        tracker.call("log_metrics", metrics, step=step)
    if content.scores:
        tracker.call("log_summary", content.scores)
    for path in content.files:
        tracker.call("log_artifact", path)


def log_run(
    run_dir: str | os.PathLike,
    config: TrackConfig,
    *,
    scores: Mapping[str, float],
    warn: Warn,
) -> None:
    """Log a finished run to every tracker of ``config``; failures go to ``warn``, never up."""
    try:
        content = run_content(run_dir, scores=scores)
    except Exception as exc:
        warn(f"track: cannot read run {str(run_dir)!r} to log it ({type(exc).__name__}: {exc})")
        return
    for tracker in _open(
        config, experiment=content.name, directory=Path(run_dir), warn=warn, where=f"run {content.name}"
    ):
        tracker.call("start", content.name, tags=content.tags)
        _log_content(tracker, content)
        tracker.call("end")


class SweepLog:
    """A sweep's parent run in each tracker, and its children as the sweep's runs finish."""

    def __init__(
        self,
        config: TrackConfig,
        *,
        name: str,
        sweep_dir: Path,
        params: Mapping[str, Any],
        warn: Warn,
    ) -> None:
        self.name, self.warn, self.config, self.sweep_dir = name, warn, config, sweep_dir
        self.trackers = _open(config, experiment=name, directory=sweep_dir, warn=warn, where=f"sweep {name}")
        tags = {"curate_version": __version__, "sweep_dir": str(sweep_dir.absolute()), "kind": "sweep"}
        for tracker in self.trackers:
            tracker.call("start", name, tags=tags)
            tracker.call("log_params", flatten(dict(params)))

    def run(
        self,
        run_dir: Path,
        *,
        variant: str,
        seed: int,
        scores: Mapping[str, float] | None,
        error: str | None = None,
    ) -> None:
        """Log one (variant, seed) run as a child of the sweep (a failed run: its tags and error)."""
        tags = {"variant": variant, "seed": str(seed), "sweep": self.name}
        try:
            if error is None:
                content = run_content(run_dir, scores=scores or {}, tags=tags)
            else:
                content = RunContent(run_dir.name, {}, [], {}, [], {**tags, "error": error[:5000]})
            content.params.update({"variant": variant, "seed": str(seed)})
        except Exception as exc:
            self.warn(f"track: cannot read run {str(run_dir)!r} to log it ({type(exc).__name__}: {exc})")
            return
        for parent in self.trackers:
            if not parent.alive:
                continue
            try:
                kind = TRACKERS[parent.name]
                tracker = kind.make(getattr(self.config, parent.name), self.name, self.sweep_dir)
            except Exception as exc:
                self.warn(f"track.{parent.name}: cannot log run {content.name} ({type(exc).__name__}: {exc})")
                continue
            child = _Guarded(parent.name, tracker, self.warn, f"run {content.name}")
            child.call("start", content.name, tags=content.tags, parent=parent.tracker)
            _log_content(child, content)
            child.call("end", failed=error is not None)

    def close(self, *, summary: Mapping[str, float], files: Iterable[Path], failed: bool = False) -> None:
        """Log the sweep's own figures and files (leaderboard, page) and close its parent runs."""
        figures = {k: float(v) for k, v in summary.items() if _number(v) is not None}
        for tracker in self.trackers:
            if figures:
                tracker.call("log_summary", figures)
            for path in files:
                if path.is_file():
                    tracker.call("log_artifact", path)
            tracker.call("end", failed=failed)
