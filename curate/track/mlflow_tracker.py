"""MLflow: one MLflow run per curate run, through ``MlflowClient`` (no global active run).

The default store is ``mlruns/`` in the working directory, as a ``file:`` URI. MLflow 3 puts its
own default in a SQLite database, which the mlflow-skinny package (what ``curate[track]``
installs) cannot serve without SQLAlchemy, and keeps the file store behind
``MLFLOW_ALLOW_FILE_STORE``: for a ``file:`` URI curate sets that variable (unless it is set),
and ``MLFLOW_DISABLE_TELEMETRY`` too: MLflow 3 otherwise sends usage telemetry
(config.mlflow-telemetry.io) from a local run.
Metrics are buffered and sent in batches of MLflow's maximum size.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from curate.errors import UsageError
from curate.track.config import MLflowTrack

DATABASES = ("sqlite", "postgresql", "mysql", "mssql")
PARAMS_PER_BATCH, METRICS_PER_BATCH = 100, 1000
PARENT_TAG, NAME_TAG = "mlflow.parentRunId", "mlflow.runName"


def resolve_uri(config: MLflowTrack) -> str:
    """The tracking URI: the recipe's, else $MLFLOW_TRACKING_URI, else ./mlruns; a plain path
    becomes an absolute ``file:`` URI."""
    uri = config.uri or os.environ.get("MLFLOW_TRACKING_URI") or "mlruns"
    scheme = urlparse(uri).scheme
    if scheme and len(scheme) > 1:  # a one-letter scheme is a Windows drive
        return uri
    return Path(uri).absolute().as_uri()


def check_uri(config: MLflowTrack) -> None:
    """A database URI needs SQLAlchemy, which mlflow-skinny does not bring."""
    import importlib.util

    scheme = urlparse(resolve_uri(config)).scheme.split("+")[0]
    if scheme in DATABASES and importlib.util.find_spec("sqlalchemy") is None:
        raise UsageError(
            f"track.mlflow.uri {config.uri or os.environ.get('MLFLOW_TRACKING_URI')!r}: a {scheme} store needs "
            "the full mlflow (pip install mlflow); with mlflow-skinny use a directory (file store) or the "
            "http(s):// URI of a tracking server"
        )


class MLflowTracker:
    """An MLflow run (see :class:`curate.track.Tracker`)."""

    def __init__(self, config: MLflowTrack, *, experiment: str) -> None:
        self.uri = resolve_uri(config)
        self.experiment = config.experiment or experiment
        self.run_id: str | None = None
        self._metrics: list[Any] = []
        self._client: Any = None

    def _connect(self) -> Any:
        if urlparse(self.uri).scheme == "file":
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # a local store: nothing leaves
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def start(self, name: str, *, tags: Mapping[str, str], parent: Any = None) -> None:
        client = self._client = self._connect()
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id if found is not None else client.create_experiment(self.experiment)
        )
        all_tags = {NAME_TAG: name, **tags}
        if parent is not None:
            all_tags[PARENT_TAG] = parent.run_id
        self.run_id = client.create_run(experiment_id, run_name=name, tags=all_tags).info.run_id

    def log_params(self, params: Mapping[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            self._client.log_batch(self.run_id, params=items[i : i + PARAMS_PER_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], *, step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._metrics += [Metric(k, float(v), now, step) for k, v in metrics.items()]
        if len(self._metrics) >= METRICS_PER_BATCH:
            self._flush()

    def log_summary(self, metrics: Mapping[str, float]) -> None:
        """Final scores: metrics at step 0 (MLflow shows a metric's last value as the run's)."""
        self.log_metrics(metrics, step=0)

    def _flush(self) -> None:
        while self._metrics:
            batch, self._metrics = self._metrics[:METRICS_PER_BATCH], self._metrics[METRICS_PER_BATCH:]
            self._client.log_batch(self.run_id, metrics=batch)

    def log_artifact(self, path: Path) -> None:
        self._flush()
        self._client.log_artifact(self.run_id, str(path))

    def end(self, *, failed: bool = False) -> None:
        if self.run_id is None:
            return
        try:
            self._flush()
        finally:
            self._client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")
