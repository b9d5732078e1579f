"""The issue's required test: at tiny sizes, ``calibrate`` detects 50% word-shuffled text in the
English pages of sample_data, and writes its table, plot, json and page."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curate.calibrate import calibrate
from curate.cli import app
from curate.recipe import parse_recipe
from tests.conftest import REPO

pytestmark = pytest.mark.slow

RECIPE = """\
name: tinycal
seed: 0
sources:
  - {{name: web, path: {repo}/sample_data/web/*.jsonl, text_field: text}}
stages:
  - clean: {{normalize: NFKC, strip_html: true, min_chars: 200}}
  - dedupe: {{exact: true}}
  - language: {{keep: [en], min_score: 0.65}}
  - format: {{kind: pretrain}}
  - tokenize: {{train: {{vocab_size: 1000}}, seq_len: 64}}
train:
  preset: tiny
  model: {{n_layer: 2, n_embd: 64, n_head: 2}}
  steps: {steps}
  batch_size: 16
  lr: 3.0e-3
  eval_every: {steps}
  log_every: 50
  threads: 1
  eval: {{path: {eval}, periodic_records: 16}}
"""


def english_eval(path, n: int = 60):
    """The first ``n`` English pages of the held-out set (the set mixes six languages: on it,
    text in another language is not damage)."""
    truth = json.loads((REPO / "sample_data/truth/eval_truth.json").read_text())["files"][
        "eval/web_eval.jsonl"
    ]
    english = {e["line"] for e in truth if e["lang"] == "en"}
    lines = (REPO / "sample_data/eval/web_eval.jsonl").read_text().splitlines()
    path.write_text("\n".join([line for i, line in enumerate(lines, 1) if i in english][:n]) + "\n")
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    text = RECIPE.format(repo=REPO, steps=150, eval=english_eval(root / "eval_en.jsonl"))
    recipe = parse_recipe(text, source_name="tinycal.yaml")
    lines: list[str] = []
    result = calibrate(
        recipe,
        out=root / "cal",
        defects=["shuffle"],
        doses=[0.5],
        seeds=[0, 1, 2],
        workers=1,
        log=lines.append,
    )
    return root, result, lines


def test_half_shuffled_text_is_detected_in_every_seed(calibrated):
    _, result, _ = calibrated
    (row,) = result.rows
    diff = row.difference
    per_seed = {
        o.seed: o.metrics["bpb"]
        for o in result.sweep.runs
        if o.variant == "shuffle-0.5" and o.status == "done"
    }
    clean = {
        o.seed: o.metrics["bpb"] for o in result.sweep.runs if o.variant == "clean" and o.status == "done"
    }
    assert len(per_seed) == len(clean) == 3
    assert all(per_seed[s] > clean[s] for s in clean), (per_seed, clean)  # worse in every seed
    assert diff.n == 3 and diff.verdict == "worse" and diff.low > 0, diff  # detected with its whole interval
    assert row.detected and result.smallest == {"shuffle": 0.5}
    assert result.lines[0].startswith("shuffle: detected from a 50% dose")


def test_outputs_and_setup(calibrated):
    root, result, lines = calibrated
    cal = root / "cal"
    data = json.loads((cal / "calibrate.json").read_text())
    assert data["smallest_detected"] == {"shuffle": 0.5} and data["rows"][0]["detected"]
    assert data["epochs"] == result.epochs and result.epochs > 0
    clean = (cal / "data/clean.jsonl").read_text().splitlines()
    shuffled = (cal / "data/shuffle-0.5.jsonl").read_text().splitlines()
    assert len(clean) == len(shuffled) == result.documents
    assert sum(a != b for a, b in zip(clean, shuffled, strict=True)) == round(0.5 * len(clean) + 1e-9)
    assert (cal / "plots/calibrate.png").read_bytes()[:4] == b"\x89PNG"
    html = (cal / "report.html").read_text()
    assert "shuffle" in html and "What this loop can detect" in html
    assert (cal / "sweep/leaderboard.csv").exists()
    assert any(line.startswith("calibrate tinycal: curating once") for line in lines)


def test_cli_refuses_an_existing_directory_and_bad_flags(calibrated, tmp_path):
    root, _, _ = calibrated
    recipe = root / "tinycal.yaml"
    recipe.write_text(RECIPE.format(repo=REPO, steps=150, eval=root / "eval_en.jsonl"))
    runner = CliRunner()
    existing = runner.invoke(app, ["calibrate", str(recipe), "--out", str(root / "cal")])
    assert existing.exit_code == 2 and "--resume" in existing.output
    for flag, value, expected in (
        ("--doses", "0.1,x", "--doses"),
        ("--doses", "0.5,1.5", "--doses"),
        ("--defects", "shufle", "--defects"),
        ("--seeds", "0", "--seeds"),
    ):
        result = runner.invoke(app, ["calibrate", str(recipe), flag, value, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and expected in result.output, result.output


def test_cli_resumes_a_finished_calibration_without_training_again(calibrated):
    root, result, _ = calibrated
    recipe = root / "tinycal.yaml"
    recipe.write_text(RECIPE.format(repo=REPO, steps=150, eval=root / "eval_en.jsonl"))
    flags = ["--defects", "shuffle", "--doses", "0.5", "--seeds", "0,1,2", "--workers", "1", "--resume"]
    out = CliRunner().invoke(app, ["calibrate", str(recipe), "--out", str(root / "cal"), *flags])
    assert out.exit_code == 0, out.output
    assert out.output.count("finished before") == 6  # every run kept: nothing trained again
    assert "shuffle: detected from a 50% dose" in out.output
    assert f"budget: {result.documents:,} documents, training passes over them" in out.output


def test_epochs_calibrates_on_a_slice_the_budget_passes_over_that_many_times(calibrated, tmp_path):
    """--epochs 3: the same recipe on a seeded slice of its curated documents, so that training
    passes over it about three times (the budget at which repetition starts to show)."""
    root, full, _ = calibrated
    recipe = root / "tinycal.yaml"
    recipe.write_text(RECIPE.format(repo=REPO, steps=150, eval=root / "eval_en.jsonl"))
    flags = ["--defects", "duplicate", "--doses", "0.5", "--seeds", "0,1", "--workers", "1", "--epochs", "3"]
    out = CliRunner().invoke(app, ["calibrate", str(recipe), "--out", str(tmp_path / "cal"), *flags])
    assert out.exit_code == 0, out.output
    data = json.loads((tmp_path / "cal/calibrate.json").read_text())
    assert data["documents"] < full.documents
    assert f"of {full.documents:,} curated documents" in out.output
    assert data["epochs"] == pytest.approx(3.0, rel=0.15)  # rows of the slice retokenized, not estimated
    assert len((tmp_path / "cal/data/clean.jsonl").read_text().splitlines()) == data["documents"]
