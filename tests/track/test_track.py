"""Tracking a run directory into a real local MLflow store and W&B offline runs, read back with
MLflow's client and from W&B's own run files; failures warn and keep the run; a missing package
is an error that says what to install."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from curate.errors import UsageError
from curate.track import (
    MAX_PARAM_CHARS,
    TrackConfig,
    check_trackers,
    flatten,
    log_run,
    read_curves,
    with_trackers,
)
from tests.track.wandb_records import offline_runs

RECIPE = {
    "name": "tiny",
    "seed": 3,
    "sources": [{"name": "web", "path": "data/web.jsonl"}],
    "stages": [{"clean": {"min_chars": 20}}, {"tokenize": {"seq_len": 32}}],
    "train": {"steps": 4, "lr": 0.003, "eval": {"path": "eval.jsonl"}},
    "track": {"mlflow": {}},
}
ROWS = [
    {"kind": "train", "step": 2, "loss": 5.5, "lr": 0.003, "grad_norm": None, "tokens": 64},
    {"kind": "eval", "step": 2, "records": 3, "nll": 5.25, "bpb": 2.5},
    {"kind": "train", "step": 4, "loss": 4.0, "lr": 0.001, "grad_norm": 0.5, "tokens": 128},
    {"kind": "eval", "step": 4, "records": 3, "nll": 4.75, "bpb": 2.25},
]
SCORES = {"bpb": 2.2, "nll": 4.7, "ppl": 110.0, "tasks.qa.acc": 0.5}


def write_run(root: Path) -> Path:
    """A run directory as a finished run leaves it (the files tracking reads)."""
    root.mkdir(parents=True)
    (root / "recipe.yaml").write_text(yaml.safe_dump(RECIPE, sort_keys=False))
    (root / "train").mkdir()
    (root / "train" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (root / "score.json").write_text(json.dumps({"metrics": {"bpb": 2.2, "nll": 4.7, "ppl": 110.0}}))
    (root / "report.html").write_text("<html>run card</html>")
    return root


def mlflow_runs(store: Path, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store.as_uri())
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {store}"
    return client, client.search_runs([found.experiment_id])


def test_flatten_makes_dotted_keys_and_cuts_long_values_visibly():
    flat = flatten(RECIPE | {"description": "x" * (MAX_PARAM_CHARS + 10)})
    assert flat["stages.0.clean.min_chars"] == "20"
    assert flat["sources.0.name"] == "web" and flat["train.eval.path"] == "eval.jsonl"
    assert flat["train.lr"] == "0.003" and flat["seed"] == "3"
    long = flat["description"]
    assert len(long) == MAX_PARAM_CHARS and long.endswith(f"[truncated: {MAX_PARAM_CHARS + 10} chars]")
    assert flatten({"seeds": [0, 1], "none": None}) == {"seeds": "[0, 1]", "none": "null"}


def test_curves_merge_train_and_eval_rows_of_a_step(tmp_path):
    run = write_run(tmp_path / "run")
    curves = read_curves(run / "train" / "metrics.jsonl")
    assert [step for step, _ in curves] == [2, 4]
    assert curves[0][1] == {
        "train/loss": 5.5,
        "train/lr": 0.003,
        "eval/records": 3.0,
        "eval/nll": 5.25,
        "eval/bpb": 2.5,
    }
    assert curves[1][1]["train/grad_norm"] == 0.5 and curves[1][1]["eval/bpb"] == 2.25


def test_a_run_logs_params_curves_scores_and_files_to_a_local_mlflow_store(tmp_path):
    run = write_run(tmp_path / "run")
    store = tmp_path / "mlruns"
    warned: list[str] = []
    log_run(run, TrackConfig(mlflow={"uri": str(store)}), scores=SCORES, warn=warned.append)
    assert warned == []
    client, (logged,) = mlflow_runs(store, "tiny")
    assert logged.info.status == "FINISHED" and logged.info.run_name == "tiny"
    params = logged.data.params
    assert params["stages.0.clean.min_chars"] == "20" and params["train.steps"] == "4"
    assert not any(k.startswith("track") for k in params)  # where it was logged is no experiment setting
    assert logged.data.metrics == pytest.approx(
        {
            **SCORES,
            "train/loss": 4.0,
            "train/lr": 0.001,
            "train/grad_norm": 0.5,
            "eval/records": 3.0,
            "eval/nll": 4.75,
            "eval/bpb": 2.25,
        }
    )
    history = client.get_metric_history(logged.info.run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == [(2, 5.5), (4, 4.0)]
    bpb = client.get_metric_history(logged.info.run_id, "eval/bpb")
    assert [(m.step, m.value) for m in bpb] == [(2, 2.5), (4, 2.25)]
    files = {f.path for f in client.list_artifacts(logged.info.run_id)}
    assert files == {"score.json", "report.html", "recipe.yaml"}
    got = Path(client.download_artifacts(logged.info.run_id, "score.json", str(tmp_path / "dl")))
    assert got.read_bytes() == (run / "score.json").read_bytes()


def test_a_run_logs_config_history_summary_and_files_to_wandb_offline(tmp_path):
    run = write_run(tmp_path / "run")
    warned: list[str] = []
    log_run(run, TrackConfig(wandb={}), scores=SCORES, warn=warned.append)
    assert warned == []
    (logged,) = offline_runs(run).values()  # under the run directory by default
    assert logged.name == "tiny" and logged.exit_code == 0
    assert logged.config["stages.0.clean.min_chars"] == "20" and logged.config["train.lr"] == "0.003"
    assert logged.curve("train/loss") == [(2, 5.5), (4, 4.0)]
    assert logged.curve("eval/bpb") == [(2, 2.5), (4, 2.25)]
    assert {k: logged.summary[k] for k in SCORES} == SCORES
    assert set(logged.files) >= {"score.json", "report.html", "recipe.yaml"}
    (files,) = run.glob("wandb/offline-run-*/files")
    assert (files / "score.json").read_bytes() == (run / "score.json").read_bytes()


def test_a_local_mlflow_store_turns_mlflow_telemetry_off(tmp_path, monkeypatch):
    """MLflow 3 sends usage telemetry from a local run unless told not to (pytest hides it: MLflow
    turns it off itself under PYTEST_CURRENT_TEST, so the variable is what can be checked)."""
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    config = TrackConfig(mlflow={"uri": str(tmp_path / "mlruns")})
    log_run(write_run(tmp_path / "run"), config, scores=SCORES, warn=pytest.fail)
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_wandb_offline_leaves_w_and_b_usage_telemetry_off(tmp_path):
    """Offline means nothing sent: W&B's telemetry exporter would otherwise probe its server."""
    from wandb.analytics.opentelemetry import opentelemetry_proxy

    log_run(write_run(tmp_path / "run"), TrackConfig(wandb={}), scores=SCORES, warn=pytest.fail)
    assert opentelemetry_proxy.get_open_telemetry_proxy() is None


def test_a_failing_tracker_warns_and_the_other_still_logs(tmp_path):
    run = write_run(tmp_path / "run")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the store should be")
    warned: list[str] = []
    store = tmp_path / "mlruns"
    config = TrackConfig(mlflow={"uri": str(blocked)}, wandb={"dir": str(tmp_path / "wb")})
    log_run(run, config, scores=SCORES, warn=warned.append)
    assert len(warned) == 1 and warned[0].startswith("track.mlflow: logging run tiny failed")
    assert "the run is kept" in warned[0]
    assert offline_runs(tmp_path / "wb")["tiny"].summary["bpb"] == 2.2
    assert not store.exists()


@pytest.mark.parametrize("name, module", [("mlflow", "mlflow"), ("wandb", "wandb")])
def test_a_tracker_that_is_not_installed_is_an_error_naming_the_extra(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(UsageError, match=rf"track\.{name}: .*pip install 'curate\[track\]'"):
        check_trackers(TrackConfig.model_validate({name: {}}))


def test_validate_refuses_a_recipe_naming_a_missing_tracker(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from curate.cli import app
    from tests.sweep.conftest import write_project

    base = write_project(tmp_path)
    base.write_text(base.read_text() + "track:\n  wandb: {}\n")
    assert CliRunner().invoke(app, ["validate", str(base)]).exit_code == 0
    monkeypatch.setitem(sys.modules, "wandb", None)
    result = CliRunner().invoke(app, ["validate", str(base)])
    assert result.exit_code == 2
    assert "track.wandb: logging to wandb needs the wandb package" in " ".join(result.output.split())


def test_a_database_store_needs_the_full_mlflow(monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(UsageError, match="sqlite store needs the full mlflow"):
        check_trackers(TrackConfig(mlflow={"uri": "sqlite:///mlflow.db"}))


def test_track_flags_turn_trackers_on_and_keep_the_recipes_settings():
    config = with_trackers(TrackConfig(mlflow={"experiment": "mine"}), ["mlflow", "wandb"])
    assert config.mlflow.experiment == "mine" and config.wandb.mode == "offline"
    assert with_trackers(None, []) is None
    with pytest.raises(UsageError, match="did you mean 'mlflow'"):
        with_trackers(None, ["mlfow"])


def test_a_named_tracker_with_nothing_after_it_is_on_with_its_defaults():
    config = TrackConfig.model_validate(yaml.safe_load("mlflow:\nwandb: {project: p}"))
    assert config.names() == ["mlflow", "wandb"] and config.mlflow.uri is None
