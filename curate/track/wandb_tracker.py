"""Weights & Biases: one W&B run per curate run (a sweep's runs in one group, with its parent).

Offline (the default) writes ``DIR/wandb/offline-run-*/`` and sends nothing: W&B's own usage
telemetry is turned off for the process too (otherwise, in wandb 0.31, its exporter probes the W&B
server from a background thread even for offline runs). ``wandb sync DIR/wandb/offline-run-*``
uploads such a run later. No git, code, console or system-metrics capture: the run logs what
curate gives it.

W&B's ``wandb-core`` service writes a run's file after ``finish()`` returns; when the last run
curate opened is finished (and the process has no W&B run of its own) curate tears the service
down, which completes the files and leaves no process behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from curate.track.config import WandbTrack

_QUIET = {
    "silent": True,
    "disable_git": True,
    "save_code": False,
    "console": "off",
    "x_disable_stats": True,
    "x_disable_meta": True,
    "x_disable_machine_info": True,
    "disable_job_creation": True,
}


def _telemetry_off() -> None:
    try:
        from wandb.analytics.opentelemetry import opentelemetry_proxy
    except ImportError:  # a W&B without it
        return
    disable = getattr(opentelemetry_proxy, "disable", None)
    if disable is not None:
        disable()


_open_runs = 0  # W&B runs this process opened through curate and has not finished


class WandbTracker:
    """A W&B run (see :class:`curate.track.Tracker`)."""

    def __init__(self, config: WandbTrack, *, directory: Path) -> None:
        self.config = config
        self.directory = Path(config.dir) if config.dir else Path(directory)
        self.run: Any = None
        self.group: str | None = None

    def start(self, name: str, *, tags: Mapping[str, str], parent: Any = None) -> None:
        import wandb

        if self.config.mode == "offline":
            _telemetry_off()
            wandb.setup(settings=wandb.Settings(mode="offline"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.group = parent.group if parent is not None else (name if tags.get("kind") == "sweep" else None)
        global _open_runs
        self.run = wandb.init(
            project=self.config.project,
            entity=self.config.entity,
            name=name,
            dir=str(self.directory),
            mode=self.config.mode,
            group=self.group,
            job_type="sweep" if tags.get("kind") == "sweep" else "run",
            tags=[f"{k}:{v}"[:64] for k, v in tags.items() if k in ("variant", "seed", "sweep", "kind")],
            notes=tags.get("run_dir") or tags.get("sweep_dir"),
            settings=wandb.Settings(**{k: v for k, v in _QUIET.items() if k in wandb.Settings.model_fields}),
            reinit="create_new",
        )
        _open_runs += 1
        self.run.config.update({f"curate.{k}": v for k, v in tags.items()}, allow_val_change=True)

    def log_params(self, params: Mapping[str, str]) -> None:
        self.run.config.update(dict(params), allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def log_summary(self, metrics: Mapping[str, float]) -> None:
        self.run.summary.update(dict(metrics))

    def log_artifact(self, path: Path) -> None:
        """A copy in the run's files (uploaded by ``wandb sync`` or, online, at once)."""
        copy = Path(self.run.dir) / path.name
        shutil.copyfile(path, copy)
        self.run.save(str(copy), base_path=self.run.dir, policy="now")

    def end(self, *, failed: bool = False) -> None:
        global _open_runs
        if self.run is None:
            return
        import wandb

        run, self.run = self.run, None
        try:
            run.finish(exit_code=1 if failed else 0)
        finally:
            _open_runs -= 1
            if _open_runs == 0 and wandb.run is None:
                wandb.teardown()  # flushes the run's files; the service exits
