"""A real (tiny) run and a 2-variant sweep, tracked to a local MLflow store and W&B offline, read
back: what was logged equals the run's own score.json and metrics.jsonl."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.sweep import run_sweep
from curate.train.evalset import flat_metrics
from tests.sweep.conftest import read_json, write_project, write_sweep
from tests.track.wandb_records import offline_runs

pytestmark = pytest.mark.slow


def mlflow_client(store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.as_uri())


def curve(run_dir, kind: str, key: str) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (run_dir / "train/metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r[key]) for r in rows if r["kind"] == kind]


def test_a_run_logs_its_recipe_curves_scores_and_files(tmp_path, monkeypatch):
    base = write_project(tmp_path)
    recipe = base.with_name("tracked.yaml")
    recipe.write_text(base.read_text() + "track:\n  wandb: {project: tiny-tests}\n")
    monkeypatch.chdir(tmp_path)  # the default MLflow store: ./mlruns
    result = CliRunner().invoke(app, ["run", str(recipe), "--out", "runs/t", "--quiet", "--track", "mlflow"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    run_dir = tmp_path / "runs/t"
    scores = flat_metrics(read_json(run_dir / "score.json"))
    assert scores["bpb"] > 0

    client = mlflow_client(tmp_path / "mlruns")
    (logged,) = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert logged.info.status == "FINISHED"
    assert (
        logged.data.params["train.steps"] == "20" and logged.data.params["stages.3.mix.weights.web"] == "0.5"
    )
    assert {k: logged.data.metrics[k] for k in scores} == pytest.approx(scores)
    history = client.get_metric_history(logged.info.run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == curve(run_dir, "train", "loss")
    history = client.get_metric_history(logged.info.run_id, "eval/bpb")
    assert [(m.step, m.value) for m in history] == curve(run_dir, "eval", "bpb")
    assert [m.step for m in history] == [10, 20]
    assert {f.path for f in client.list_artifacts(logged.info.run_id)} == {
        "score.json",
        "report.html",
        "recipe.yaml",
    }

    (wb,) = offline_runs(run_dir).values()
    assert wb.name == "tiny" and wb.exit_code == 0 and wb.config["train.steps"] == "20"
    assert wb.curve("train/loss") == curve(run_dir, "train", "loss")
    assert {k: wb.summary[k] for k in scores} == pytest.approx(scores)


def test_a_tracker_failing_at_the_end_of_a_run_warns_and_keeps_the_run(tmp_path, monkeypatch):
    base = write_project(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the MLflow store would go")
    text = base.read_text().split("\ntrain:")[0] + "\n"  # curation only: the run is over in seconds
    recipe = base.with_name("curate-only.yaml")
    recipe.write_text(text + f"track:\n  mlflow: {{uri: {blocked}}}\n  wandb: {{dir: {tmp_path / 'wb'}}}\n")
    result = CliRunner().invoke(app, ["run", str(recipe), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "warning: track.mlflow: logging run tiny failed" in output and "the run is kept" in output
    assert read_json(tmp_path / "run/manifest.json")["complete"] is True
    (wb,) = offline_runs(tmp_path / "wb").values()  # the other tracker still logged
    assert wb.config["name"] == "tiny" and wb.history == [] and "report.html" in wb.files


def test_a_sweep_logs_a_parent_run_and_a_child_per_variant_and_seed(tmp_path):
    base = write_project(tmp_path)
    store = tmp_path / "mlruns"
    base.write_text(base.read_text() + f"track:\n  mlflow: {{uri: {store}}}\n  wandb:\n")
    sweep = write_sweep(
        tmp_path,
        "name: mixes\nseeds: [0]\nset: {train.steps: 10}\nvariants:\n"
        "  - {name: web-heavy, set: {stages.mix.weights: {web: 0.9, chat: 0.1}}}\n"
        "  - {name: balanced, set: {stages.mix.weights: {web: 0.5, chat: 0.5}}}\n",
    )
    result = run_sweep(sweep, out=tmp_path / "sweeps/mixes", workers=1)
    assert [r.status for r in result.runs] == ["done", "done"]
    assert result.warnings == []

    client = mlflow_client(store)
    runs = client.search_runs([client.get_experiment_by_name("mixes").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("kind") == "sweep"]
    children = {r.data.params["variant"]: r for r in runs if r is not parent}
    assert set(children) == {"web-heavy", "balanced"}
    for outcome in result.runs:
        child = children[outcome.variant]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params["seed"] == "0" and child.data.tags["variant"] == outcome.variant
        scores = flat_metrics(read_json(outcome.run_dir / "score.json"))
        assert {k: child.data.metrics[k] for k in scores} == pytest.approx(scores)
        assert "train/loss" in child.data.metrics
    best = result.standings[0]
    assert parent.data.metrics[f"{best.variant}.bpb_mean"] == pytest.approx(best.metrics["bpb"].mean)
    assert {f.path for f in client.list_artifacts(parent.info.run_id)} == {
        "leaderboard.csv",
        "report.html",
        "sweep.json",
    }
    assert not any(
        outcome.run_dir.joinpath("wandb").exists() for outcome in result.runs
    )  # the sweep logs them

    wb = offline_runs(tmp_path / "sweeps/mixes")
    assert set(wb) == {"mixes", "web-heavy-s0", "balanced-s0"}
    assert {r.group for r in wb.values()} == {"mixes"}
    assert wb["balanced-s0"].config["variant"] == "balanced"
    balanced = next(o for o in result.runs if o.variant == "balanced")
    assert wb["balanced-s0"].summary["bpb"] == pytest.approx(balanced.metrics["bpb"])
