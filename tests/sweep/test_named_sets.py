"""A sweep scored on named eval sets and a multiple-choice task: a column per set and task,
``metric:`` naming any of them (``chat.bpb``), the regression fitting it; ``curate score`` adding
sets and tasks to a finished run; ``curate diff`` and the run card showing them."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.report import write_report
from curate.report.diff import diff_runs
from curate.sweep import run_sweep
from tests.conftest import write_jsonl
from tests.sweep.conftest import read_json, write_project, write_sweep
from tests.train.conftest import sentences

pytestmark = pytest.mark.slow

SWEEP = """\
seeds: [0]
variants:
  - {name: web-heavy, set: {stages.mix.weights: {web: 0.9, chat: 0.1}}}
  - {name: balanced,  set: {stages.mix.weights: {web: 0.5, chat: 0.5}}}
  - {name: chat-heavy, set: {stages.mix.weights: {web: 0.2, chat: 0.8}}}
metric: chat.bpb
regression: true
"""


def _task(path, seed: int, n: int = 12):
    items = []
    for i, sentence in enumerate(sentences(n, seed=seed)):
        words = sentence.split()
        choices = [" ".join(words[3:]), "zq xv qj"]
        items.append(
            {"context": " ".join(words[:3]), "choices": choices[:: -1 if i % 2 else 1], "answer": i % 2}
        )
    return write_jsonl(path, items)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("named")
    base = write_project(root)
    data = root / "data"
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"Tell me about thing {i}."},
                {"role": "assistant", "content": s},
            ]
        }
        for i, s in enumerate(sentences(8, seed=77))
    ]
    write_jsonl(data / "chat_eval.jsonl", chats)
    _task(data / "task.jsonl", seed=3)
    text = base.read_text().replace(
        f"eval: {{path: {data}/eval.jsonl}}",
        f"eval: {{sets: {{web: {data}/eval.jsonl, chat: {data}/chat_eval.jsonl}}, tasks: {{t: {data}/task.jsonl}}}}",
    )
    assert "sets:" in text
    base.write_text(text)
    return root, run_sweep(write_sweep(root, SWEEP), out=root / "sweeps/n", workers=1)


def test_metric_names_a_set_and_the_leaderboard_has_a_column_per_set_and_task(swept):
    _, result = swept
    assert result.metric == "chat.bpb"
    means = [s.metrics["chat.bpb"].mean for s in result.standings]
    assert means == sorted(means)  # ranked by chat.bpb, lower first
    for standing in result.standings:
        assert {"avg.bpb", "web.bpb", "chat.bpb", "tasks.t.acc", "tasks.t.acc_norm", "tasks.t.bpb"} <= set(
            standing.metrics
        )
        web, chat, avg = (standing.metrics[k].mean for k in ("web.bpb", "chat.bpb", "avg.bpb"))
        assert avg == pytest.approx((web + chat) / 2)
    assert result.regression is not None and result.regression.metric == "chat.bpb"
    header = (result.sweep_dir / "leaderboard.csv").read_text().splitlines()[0]
    assert "chat.bpb_mean" in header and "tasks.t.acc_mean" in header


def test_score_json_has_each_set_each_task_and_the_average(swept):
    _, result = swept
    score = read_json(result.runs[0].run_dir / "score.json")
    assert set(score["sets"]) == {"web", "chat"} and set(score["tasks"]) == {"t"}
    assert score["metrics"]["bpb"] == score["avg"]["bpb"]
    assert score["sets"]["chat"]["eval"]["kind"] == "chat" and score["tasks"]["t"]["items"] == 12
    for key in ("acc", "acc_norm", "acc_bytes", "bpb"):
        assert key in score["tasks"]["t"]


def test_each_sets_per_document_scores_are_kept_beside_score_json(swept):
    from curate.train.eval_docs import read_eval_docs, run_eval_docs

    _, result = swept
    for run in result.runs:
        score = read_json(run.run_dir / "score.json")
        for name in ("web", "chat"):
            docs = read_eval_docs(run.run_dir / "eval_docs" / f"{name}.npz")
            assert docs is not None and docs.bits.size == score["sets"][name]["eval"]["records"]
            assert docs.bits.sum() / docs.bytes.sum() == pytest.approx(
                score["sets"][name]["metrics"]["bpb"], rel=1e-12
            )
        assert set(run_eval_docs(run.run_dir, score)) == {"avg.bpb", "web.bpb", "chat.bpb"}
    # every variant scored the same documents: their files pair
    first, *others = (read_eval_docs(r.run_dir / "eval_docs" / "chat.npz") for r in result.runs)
    assert all(first.pairs_with(o) for o in others)  # type: ignore[union-attr]


def test_decontaminate_checks_every_set_and_task(swept):
    _, result = swept
    recipe = (result.runs[0].run_dir / "recipe.yaml").read_text()
    block = recipe[recipe.index("decontaminate") :]
    assert "eval.jsonl" in block and "chat_eval.jsonl" in block and "task.jsonl" in block


def test_curate_score_adds_named_sets_and_tasks_without_training(swept, tmp_path):
    _, result = swept
    run_dir = result.runs[1].run_dir
    before = read_json(run_dir / "score.json")
    trained_at = (run_dir / "train" / "checkpoint.pt").stat().st_mtime_ns
    code = write_jsonl(
        tmp_path / "code.jsonl", [{"text": f"def f{i}(x):\n    return x * {i}\n"} for i in range(5)]
    )
    task = _task(tmp_path / "t2.jsonl", seed=11, n=6)
    out = CliRunner().invoke(
        app, ["score", str(run_dir), "--eval", f"code={code}", "--task", f"t2={task}"], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    after = read_json(run_dir / "score.json")
    assert after["sets"]["code"]["added"] is True and after["tasks"]["t2"]["items"] == 6
    assert after["avg"] == before["avg"] and after["metrics"] == before["metrics"]  # the recipe's score stays
    assert (run_dir / "train" / "checkpoint.pt").stat().st_mtime_ns == trained_at  # no training again
    from curate.train.eval_docs import read_eval_docs

    added = read_eval_docs(run_dir / "eval_docs" / "code.npz")  # `curate score` keeps them too
    assert added is not None and added.bpb == pytest.approx(
        after["sets"]["code"]["metrics"]["bpb"], rel=1e-12
    )
    assert "set code" in out.output and "task t2" in out.output
    # the run's own sets again: same numbers, and the added ones are kept
    assert CliRunner().invoke(app, ["score", str(run_dir)]).exit_code == 0
    again = read_json(run_dir / "score.json")
    assert again["sets"]["web"]["metrics"]["bpb"] == pytest.approx(
        before["sets"]["web"]["metrics"]["bpb"], rel=1e-9
    )
    assert again["tasks"]["t"]["acc"] == before["tasks"]["t"]["acc"] and "code" in again["sets"]
    bad = CliRunner().invoke(app, ["score", str(run_dir), "--eval", f"web={code}"])
    assert bad.exit_code == 2 and "one of the run's own eval sets" in bad.output


def test_diff_and_run_card_show_per_set_and_task_scores(swept):
    _, result = swept
    a, b = result.runs[0].run_dir, result.runs[2].run_dir
    names = {metric for metric, _, _ in diff_runs(a, b).scores}
    assert {"avg.bpb", "web.bpb", "chat.bpb", "tasks.t.acc", "tasks.t.acc_norm"} <= names
    page = write_report(a).read_text()
    assert "Per eval set" in page and "Multiple-choice tasks" in page
    assert json.dumps("chat")[1:-1] in page


def test_a_finished_sweep_is_ranked_again_by_another_metric_without_training(swept):
    root, result = swept
    trained_at = {r.run_dir: (r.run_dir / "train" / "checkpoint.pt").stat().st_mtime_ns for r in result.runs}
    args = ["sweep", str(root / "sweep.yaml"), "--out", str(result.sweep_dir), "--resume", "-q"]
    try:
        out = CliRunner().invoke(app, [*args, "--metric", "web.bpb"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        assert "leaderboard (by web.bpb" in out.output and "web.bpb vs best" in out.output
        summary = read_json(result.sweep_dir / "sweep.json")
        assert summary["metric"] == "web.bpb"
        assert {run["status"] for run in summary["runs"]} == {"cached"}
        means = [s.metrics["web.bpb"].mean for s in result.standings]
        board = pl.read_csv(result.sweep_dir / "leaderboard.csv")
        by_web = [s.variant for _, s in sorted(zip(means, result.standings, strict=True), key=lambda p: p[0])]
        assert board["variant"].to_list() == by_web
        assert {run: (run / "train" / "checkpoint.pt").stat().st_mtime_ns for run in trained_at} == trained_at
    finally:  # the other tests read this sweep ranked by its file's metric
        assert CliRunner().invoke(app, args).exit_code == 0
    assert read_json(result.sweep_dir / "sweep.json")["metric"] == "chat.bpb"
