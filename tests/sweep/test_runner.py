"""Sweeps end to end on a tiny project: runs side by side reuse upstream steps, share one
tokenizer, land on a leaderboard with CIs and plots; a stopped sweep resumes; ``curate score``
re-scores a run to the same numbers."""

from __future__ import annotations

import hashlib
import shutil
import time

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import UsageError
from curate.sweep import run_sweep
from tests.conftest import write_jsonl
from tests.sweep.conftest import read_json, write_project, write_sweep

pytestmark = pytest.mark.slow
TWO_BY_TWO = """\
seeds: [0, 1]
variants:
  - {name: web-heavy, set: {stages.mix.weights: {web: 0.9, chat: 0.1}}}
  - {name: balanced,  set: {stages.mix.weights: {web: 0.5, chat: 0.5}}}
regression: true
"""
UPSTREAM = ("read", "clean", "dedupe", "decontaminate")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    write_project(root)
    started = time.perf_counter()
    result = run_sweep(write_sweep(root, TWO_BY_TWO), out=root / "sweeps/a", workers=1)
    return root, result, time.perf_counter() - started


def steps_of(run_dir) -> dict[str, dict]:
    return {s["stage"]: s for s in read_json(run_dir / "manifest.json")["steps"]}


def test_every_variant_and_seed_runs_and_lands_on_the_leaderboard(swept):
    root, result, _ = swept
    sweep_dir = root / "sweeps/a"
    assert [(r.variant, r.seed, r.status) for r in result.runs] == [
        ("web-heavy", 0, "done"),
        ("web-heavy", 1, "done"),
        ("balanced", 0, "done"),
        ("balanced", 1, "done"),
    ]
    assert result.metric == "bpb" and len(result.standings) == 2
    for standing in result.standings:
        bpb = standing.metrics["bpb"]
        assert bpb.n == 2 and bpb.ci95 is not None and bpb.ci95 > 0
        assert bpb.mean == pytest.approx(sum(bpb.values) / 2)
    assert result.standings[0].metrics["bpb"].mean <= result.standings[1].metrics["bpb"].mean
    board = pl.read_csv(sweep_dir / "leaderboard.csv")
    assert board["variant"].to_list() == [s.variant for s in result.standings]
    assert board["rank"].to_list() == [1, 2] and board["n_seeds"].to_list() == [2, 2]
    assert {"weight.web", "weight.chat", "bpb_mean", "bpb_ci95", "ppl_mean", "ppl_ci95"} <= set(board.columns)
    assert pl.read_parquet(sweep_dir / "leaderboard.parquet").equals(board, null_equal=True)
    for plot in ("bpb_vs_weights", "ppl_vs_weights", "train_loss", "eval_nll"):
        assert (sweep_dir / "plots" / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
    html = (sweep_dir / "report.html").read_text()
    assert "web-heavy" in html and "balanced" in html and "regression" in html
    summary = read_json(sweep_dir / "sweep.json")
    assert [r["status"] for r in summary["runs"]] == ["done"] * 4
    assert summary["regression"]["sources"] == ["web", "chat"]
    assert summary["regression"]["fitted_on"] == "realised shares"
    for run in summary["runs"]:  # no cap binds here: delivered = requested, to the mix's tolerance
        assert run["realised"] == pytest.approx(run["weights"], abs=0.01)
    assert board["realised.web"].to_list() == pytest.approx(board["weight.web"].to_list(), abs=0.01)


def test_upstream_steps_run_once_and_are_adopted_by_every_run(swept):
    root, result, _ = swept
    runs = root / "sweeps/a/runs"
    tokenizer_run = steps_of(runs / "_tokenizer")
    assert all(not tokenizer_run[name]["cached"] for name in UPSTREAM)
    for outcome in result.runs:
        steps = steps_of(outcome.run_dir)
        assert all(steps[name]["cached"] for name in UPSTREAM), outcome.name
        assert not steps["train"]["cached"]
    computed = sum(
        not steps_of(d)[name]["cached"]
        for d in runs.iterdir()
        for name in UPSTREAM
        if (d / "manifest.json").exists()
    )
    assert computed == len(UPSTREAM)  # each upstream step ran once in five run directories
    # the second seed of a variant only trains: its data is the first seed's
    assert [r.steps_run for r in result.runs if r.seed == 1] == [1, 1]
    assert all(r.steps_adopted == r.steps_cached for r in result.runs)  # nothing was resumed
    reuse = read_json(root / "sweeps/a/sweep.json")["reuse"]
    assert reuse["runs"] == 5 and reuse["adopted"] == sum(r.steps_adopted for r in result.runs)
    assert reuse["adopted"] >= 4 * len(UPSTREAM) and 0 < reuse["adopted_share"] < 1


def test_every_variant_encodes_with_the_same_tokenizer_file(swept):
    root, result, _ = swept
    shared = root / "sweeps/a/tokenizer/tokenizer.model"
    digest = sha256(shared)
    assert result.tokenizer == {"path": str(shared.resolve()), "sha256": digest}
    assert sha256(root / "sweeps/a/runs/_tokenizer/tokenizer/tokenizer.model") == digest
    for outcome in result.runs:
        assert sha256(outcome.run_dir / "tokenizer/tokenizer.model") == digest
        recipe = (outcome.run_dir / "recipe.yaml").read_text()
        assert f"model: {shared.resolve()}" in recipe and "vocab_size" not in recipe


def test_curate_score_gives_the_numbers_of_score_json(swept):
    _, result, _ = swept
    run_dir = result.runs[2].run_dir
    before = read_json(run_dir / "score.json")
    out = CliRunner().invoke(app, ["score", str(run_dir)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    after = read_json(run_dir / "score.json")
    for name in ("nll", "ppl", "bpb"):
        assert after["metrics"][name] == pytest.approx(before["metrics"][name], rel=1e-9)
    assert after["train"] == before["train"] and after["eval"]["tokens"] == before["eval"]["tokens"]
    assert "bits per byte" in out.output and f"{before['metrics']['bpb']:.4f}" in out.output


def test_curate_score_on_another_eval_set_counts_training_overlap(swept, tmp_path):
    root, result, _ = swept
    run_dir = result.runs[0].run_dir
    before = read_json(run_dir / "score.json")
    web = [line for line in (root / "data/web.jsonl").read_text().splitlines()][:3]
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(web) + "\n")
    out = CliRunner().invoke(
        app,
        ["score", str(run_dir), "--eval", str(other), "--out", str(tmp_path / "s.json")],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    written = read_json(tmp_path / "s.json")
    assert (
        written["overlap"] == 3 and "3 records of this eval set are in the run's training data" in out.output
    )
    assert written["eval"]["records"] == 3 and written["metrics"]["bpb"] != before["metrics"]["bpb"]
    assert read_json(run_dir / "score.json") == before  # --out leaves the run alone
    clean = write_jsonl(tmp_path / "clean.jsonl", [{"text": "A sentence nobody trained on, about the sea."}])
    assert CliRunner().invoke(app, ["score", str(run_dir), "--eval", str(clean)]).exit_code == 0
    after = read_json(run_dir / "score.json")
    assert after["metrics"] == before["metrics"] and after["evals"][str(clean)]["overlap"] == 0


def test_score_of_a_directory_that_is_no_run_is_a_usage_error(tmp_path):
    out = CliRunner().invoke(app, ["score", str(tmp_path)])
    assert out.exit_code == 2 and "not a curate run directory (no manifest.json)" in out.output


def test_a_stopped_sweep_resumes_with_only_the_missing_work(tmp_path):
    write_project(tmp_path)
    path = write_sweep(
        tmp_path, "variants: [{name: a, set: {train.lr: 0.002}}, {name: b, set: {train.lr: 0.004}}]\n"
    )
    out = tmp_path / "sweeps/r"

    def stop(outcome):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(path, out=out, workers=1, on_run=stop)
    assert (out / "runs/a-s0/score.json").exists() and not (out / "runs/b-s0").exists()
    with pytest.raises(UsageError, match="--resume"):
        run_sweep(path, out=out, workers=1)
    resumed = run_sweep(path, out=out, workers=1, mode="resume")
    assert [(r.name, r.status) for r in resumed.runs] == [("a-s0", "cached"), ("b-s0", "done")]
    assert resumed.runs[1].steps_run == 1  # b shares a's data: only its training ran
    # a run killed during training: its train step has no marker; only that step runs again
    (out / "runs/a-s0/score.json").unlink()
    shutil.rmtree(next((out / "runs/a-s0/stages").glob("*-train")))
    again = run_sweep(path, out=out, workers=1, mode="resume")
    assert [(r.name, r.status, r.steps_run) for r in again.runs] == [
        ("a-s0", "done", 1),
        ("b-s0", "cached", 0),
    ]
    assert again.runs[0].metrics == resumed.runs[0].metrics  # the same training, the same score
    assert again.runs[1].steps_adopted == resumed.runs[1].steps_adopted > 0  # figures survive a resume
    reuse = read_json(out / "sweep.json")["reuse"]
    assert reuse["runs"] == 3 and reuse["adopted"] >= 2 * len(UPSTREAM)


def test_parallel_processes_give_the_sequential_numbers(swept):
    root, result, _ = swept
    path = write_sweep(root, TWO_BY_TWO.replace("seeds: [0, 1]", "seeds: [0]"), "par.yaml")
    out = CliRunner().invoke(
        app,
        ["sweep", str(path), "--out", str(root / "sweeps/p"), "--parallel", "2", "-q"],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    assert "leaderboard" in out.output and "web-heavy" in out.output
    summary = read_json(root / "sweeps/p/sweep.json")
    sequential = {(r.variant, r.seed): r.metrics for r in result.runs}
    for run in summary["runs"]:
        assert run["status"] == "done"
        for name, value in run["metrics"].items():
            assert value == pytest.approx(sequential[(run["variant"], 0)][name], rel=1e-6)
    assert (root / "sweeps/p/logs/balanced-s0.log").exists()


def test_cli_errors_exit_2_with_the_place_in_the_file(swept):
    root, _, _ = swept
    bad = write_sweep(root, "variants: [{name: a, set: {stages.mix.weigths: {web: 1}}}]\n", "bad.yaml")
    out = CliRunner().invoke(app, ["sweep", str(bad), "--out", str(root / "sweeps/bad")])
    assert out.exit_code == 2 and "did you mean 'weights'" in out.output and "Traceback" not in out.output
    again = CliRunner().invoke(app, ["sweep", str(root / "sweep.yaml"), "--out", str(root / "sweeps/a")])
    assert again.exit_code == 2 and "--resume" in again.output
