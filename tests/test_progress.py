"""Progress where no bar can be drawn (CI logs, nohup, a sweep's log): plain lines at a steady
pace, during training and during any step, on stderr."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from rich.console import Console

from curate.exec.progress import PROGRESS_MILESTONE, StepProgress, Ticker, TrainProgress
from curate.exec.rundir import Step
from curate.train.config import TrainConfig
from curate.train.pipeline import EPOCHS_WARN, epoch_warnings
from tests.conftest import REPO, write_jsonl


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ticker_is_due_every_interval_and_every_milestone():
    clock = Clock()
    ticker = Ticker(100, interval=30.0, milestone=PROGRESS_MILESTONE, clock=clock)
    assert not ticker.due(1)
    assert ticker.due(10)  # a tenth done
    assert not ticker.due(11)
    clock.now = 31.0
    assert ticker.due(12)  # 30 s since the last line
    assert not ticker.due(13)
    assert ticker.due(20) and ticker.due(100)


def test_training_prints_plain_lines_with_step_loss_speed_and_eta():
    clock, stream = Clock(), io.StringIO()
    with TrainProgress("train", 20, tokens_per_step=64, stream=stream, terminal=False, clock=clock) as shown:
        for done in range(1, 21):
            clock.now += 0.5
            shown.step(done, lambda: 2.5)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "train: 20 steps to run (of 20)"
    assert lines[1] == "train: step 2/20 (10%)  loss 2.5000  128 tok/s  elapsed 1s  ETA 9s"
    assert len(lines) == 1 + round(1 / PROGRESS_MILESTONE)
    assert lines[-1].startswith("train: step 20/20 (100%)") and "ETA" not in lines[-1]


def test_a_step_is_heard_from_while_it_runs_and_its_phases_are_named():
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=200)
    step = Step(4, "tokenize", "k")
    with StepProgress(console=console, interval=0) as progress:  # interval 0: no heartbeat thread
        assert progress.heartbeat() is None
        progress.start(step, total=3, completed=0, unit="shards", phase="summarize")
        progress.advance(step, {"in": 40})
        words = " ".join(progress.heartbeat().split())
        assert words.startswith("04-tokenize (summarize) 1/3 shards 40 records running for")
        progress.note(step, "fit")
        assert " ".join(progress.heartbeat().split()).startswith("04-tokenize (fit) 40 records running for")
        progress.finished(step, {"records": {"in": 40, "out": 40}, "seconds": 1.0})
        assert progress.heartbeat() is None
    assert stream.getvalue().splitlines()[0].startswith("04-tokenize (fit)")


def test_epoch_warning_threshold():
    rows = 100
    at_limit = TrainConfig(steps=int(EPOCHS_WARN * rows / 4), batch_size=4)
    assert epoch_warnings(at_limit, rows, 32) == []
    (warning,) = epoch_warnings(at_limit.model_copy(update={"steps": at_limit.steps + 1}), rows, 32)
    assert f"pass over the {rows} packed rows ({rows * 32:,} tokens) 4.0 times" in warning
    assert f"train.steps: {at_limit.steps}" in warning


@pytest.mark.slow
def test_a_short_training_through_a_pipe_prints_progress_and_warns_of_repeated_data(tmp_path):
    sentences = ["The heron waits below the bridge.", "The baker opens the shop at six."]
    write_jsonl(
        tmp_path / "web.jsonl", [{"text": " ".join(sentences * 3) + f" Note {i}."} for i in range(21)]
    )
    write_jsonl(tmp_path / "eval.jsonl", [{"text": "The heron waits by the shop."}])
    (tmp_path / "r.yaml").write_text(
        "name: r\n"
        "sources: [{name: web, path: web.jsonl}]\n"
        "stages:\n"
        "  - format: {kind: pretrain}\n"
        "  - tokenize: {train: {vocab_size: 300}, seq_len: 32}\n"
        "train: {preset: tiny, model: {n_layer: 1, n_head: 2, n_embd: 32}, steps: 80, batch_size: 8,"
        " threads: 1, eval: {path: eval.jsonl}}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "r.yaml", "--out", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    steps = [line for line in lines if line.startswith("train: step ")]
    assert len(steps) >= 5 and steps[-1].startswith("train: step 80/80 (100%)  loss ")
    assert any("tok/s" in line and "ETA" in line for line in steps)
    assert any(line.startswith("03-tokenize (fit)") for line in lines)

    score = json.loads((tmp_path / "run/score.json").read_text())
    assert score["epochs"] > EPOCHS_WARN
    (warning,) = score["warnings"]
    assert f"{score['epochs']:.1f} times" in warning
    assert "warning: train: 80 steps of 8 rows pass over" in " ".join(done.stderr.split())
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["warnings"] == [warning]
    assert "Warnings" in (tmp_path / "run/report.html").read_text()
