"""The recipe's ``track:`` block: which experiment trackers a run (or a sweep) logs to.

Pydantic only, nothing imported from MLflow or W&B: a recipe validates without them installed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MLflowTrack(BaseModel):
    """MLflow: params, metric histories and artifacts of each run; a sweep nests its runs in one.

    A sweep logs one parent run and a nested child run per variant and seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str | None = Field(
        default=None,
        description="Tracking URI: a directory (a local file store, e.g. mlruns), file:PATH, or "
        "http(s)://HOST:PORT of a tracking server. Unset: $MLFLOW_TRACKING_URI, else mlruns/ in the working "
        "directory (a file store; with the mlflow-skinny that curate[track] installs, database URIs such as "
        "sqlite:/// need the full mlflow).",
    )
    experiment: str | None = Field(
        default=None, description="Experiment name. Unset: the recipe's name (a sweep: the sweep's name)."
    )


class WandbTrack(BaseModel):
    """Weights & Biases: config, history, summary and files of each run; a sweep groups its runs.

    A sweep logs a parent run and a run per variant and seed, in one group named after the sweep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(default="curate", description="W&B project.")
    entity: str | None = Field(default=None, description="W&B entity (user or team). Unset: W&B's default.")
    mode: Literal["offline", "online"] = Field(
        default="offline",
        description="offline: write the run under dir/wandb/ without any network (upload later with "
        "`wandb sync DIR`); online: send it to the W&B server (needs `wandb login`).",
    )
    dir: str | None = Field(
        default=None,
        description="Where W&B writes its wandb/ folder. Unset: the run directory (a sweep: the sweep "
        "directory).",
    )


class TrackConfig(BaseModel):
    """Experiment trackers a finished run logs to (pip install 'curate[track]'; docs/tracking.md).

    Logged: the resolved recipe flattened as params, the training curves, the scores, and
    score.json, report.html and recipe.yaml. A tracker that fails warns; the run is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mlflow: MLflowTrack | None = Field(
        default=None,
        description="Log to MLflow (`mlflow: {}` or `mlflow:` alone: the defaults). Unset: not logged.",
    )
    wandb: WandbTrack | None = Field(
        default=None,
        description="Log to Weights & Biases (`wandb: {}` or `wandb:` alone: the defaults). Unset: not logged.",
    )

    @model_validator(mode="before")
    @classmethod
    def _named_means_on(cls, data: Any) -> Any:
        """``mlflow:`` with nothing after it turns MLflow on with its defaults, as ``mlflow: {}``."""
        if isinstance(data, dict):
            return {k: ({} if v is None and k in ("mlflow", "wandb") else v) for k, v in data.items()}
        return data

    def names(self) -> list[str]:
        """The trackers this block turns on, in a fixed order."""
        return [name for name in ("mlflow", "wandb") if getattr(self, name) is not None]
