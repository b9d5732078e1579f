"""`curate diff`: recipe differences as key paths, per-step counts, mix and scores."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.report.diff import ABSENT, diff_mappings, diff_runs, diff_tables, flatten, render_diff_html
from curate.report.html import esc


def test_flatten_names_every_leaf_by_its_path():
    value = {"name": "x", "stages": [{"mix": {"weights": {"web": 0.7}}}, {"dedupe": {}}], "tags": []}
    assert flatten(value) == {
        "name": "x",
        "stages[0].mix.weights.web": 0.7,
        "stages[1].dedupe": {},
        "tags": [],
    }


def test_diff_mappings_lists_only_differing_paths():
    a = {"seed": 0, "w": {"web": 0.5, "chat": 0.5}, "flag": True, "n": 1, "gone": 3}
    b = {"seed": 0, "w": {"web": 0.9, "chat": 0.5}, "flag": 1, "n": 1.0, "new": [1, 2]}
    assert diff_mappings(a, b) == [
        ("w.web", 0.5, 0.9),
        ("flag", True, 1),  # a boolean is not the number 1
        ("gone", 3, ABSENT),
        ("new", ABSENT, [1, 2]),  # a block one side lacks is one difference
    ]
    assert diff_mappings(a, a) == []


@pytest.mark.slow
def test_diff_of_runs_differing_only_in_mix_weights_names_exactly_that(runs, tmp_path):
    page = tmp_path / "diff.html"
    result = CliRunner().invoke(
        app, ["diff", str(runs.a), str(runs.b), "--html", str(page)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "recipe: 2 differing key(s)" in out
    assert re.search(r"stages\[3\]\.mix\.weights\.web\s+│\s+0\.7\s+│\s+0\.4", out)
    assert re.search(r"stages\[3\]\.mix\.weights\.news\s+│\s+0\.3\s+│\s+0\.6", out)

    d = diff_runs(runs.a, runs.b)
    assert d.recipe_keys == ["stages[3].mix.weights.web", "stages[3].mix.weights.news"]
    # the steps before mix are the same work (same cache key, same counts); mix and output are not
    by_step = {s.step: s for s in d.steps}
    for step in ("00-read", "01-quality", "02-dedupe", "03-language"):
        assert by_step[step].same_key and not by_step[step].changed
    assert by_step["04-mix"].same_key is False
    shares = {m.source: m for m in d.mix}
    assert shares["web"].requested_a == pytest.approx(0.7) and shares["web"].requested_b == pytest.approx(0.4)
    assert shares["news"].realised_b == pytest.approx(0.6, abs=0.01)
    assert shares["news"].records_b > shares["news"].records_a
    assert all(step == "04-mix" for step, *_ in d.reasons)  # only the mix removed differently
    # A was trained and scored, B was not: every metric is listed with B missing
    assert d.scores and all(a is not None and b is None for _, a, b in d.scores)
    assert not d.same

    html = page.read_text()
    assert "stages[3].mix.weights.web" in html and '<section id="mix">' in html
    assert "<script" not in html.lower()


@pytest.mark.slow
def test_a_run_does_not_differ_from_itself(runs):
    d = diff_runs(runs.a, runs.a)
    assert d.same and d.recipe == [] and d.reasons == []
    assert all(s.same_key for s in d.steps)


def test_diff_html_escapes_recipe_values(tmp_path):
    from curate.report.diff import RunDiff

    d = RunDiff(tmp_path, tmp_path, "a", "b", recipe=[("description", "<b>x</b>", '"><script>1</script>')])
    html = render_diff_html(d)
    assert "<script>" not in html and esc('"><script>1</script>') in html and esc("<b>x</b>") in html


def test_diff_of_a_directory_without_manifest_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["diff", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 2
    assert "not a curate run directory" in result.output


def _run_dir(path, recipe_file):
    """A run directory holding what `curate diff` reads of the recipe: its resolved recipe.yaml."""
    from curate.recipe import dump_resolved, load_recipe, resolve_implied

    path.mkdir()
    (path / "manifest.json").write_text(json.dumps({"name": path.name, "steps": []}))
    (path / "recipe.yaml").write_text(dump_resolved(resolve_implied(load_recipe(recipe_file))))
    return path


def test_diff_of_recipes_of_different_shape_shows_only_real_differences(tmp_path):
    from curate.report.diff import RunDiff

    a = _run_dir(tmp_path / "web", "recipes/web.yaml")  # curation only, no train block
    b = _run_dir(tmp_path / "sft", "recipes/sft.yaml")  # other sources, stages and a train block
    d = diff_runs(a, b)
    rows = {k: (va, vb) for k, va, vb in d.recipe}
    # a stage or block present on one side only is one difference, not one per key inside it
    assert rows["stages.quality"][1] is ABSENT and isinstance(rows["stages.quality"][0], dict)
    assert rows["stages.tokenize"][0] is ABSENT
    assert rows["train"][0] is ABSENT and rows["train"][1]["steps"] == 80
    assert not any(k.startswith(("stages.quality.", "stages.tokenize.", "train.")) for k in rows)
    # stages shared by both are compared by name, key by key, whatever their positions
    assert rows["stages (order)"] == (
        "clean, quality, dedupe, language",
        "clean, dedupe, language, decontaminate, format, tokenize",
    )
    assert rows["stages.clean.normalize"] == ("NFKC", "NFC")
    assert rows["stages.language.min_score"] == (0.65, 0.5)
    assert rows["stages.language.keep"] == (
        ["en", "de", "fr", "es", "zh", "ja"],
        ["en", "de", "fr", "es", "zh"],
    )
    # nothing that is the same on both sides (a default on both, null against absent)
    assert all(va is not vb and va != vb for va, vb in rows.values())
    assert "stages.clean.lowercase" not in rows and "execution.executor" not in rows
    assert len(d.recipe) < 30

    # the terminal table keeps each key on one line, whole
    from rich.console import Console

    console = Console(width=100, record=True)
    for t in diff_tables(RunDiff(a, b, "web", "sft", recipe=d.recipe)):
        console.print(t)
    text = console.export_text()
    assert f"recipe: {len(d.recipe)} differing key(s)" in text
    for key in rows:
        assert key in text, key


def _scored_run(path, bpb: float, half: float, *, variant: str | None = None, seed: int = 0):
    """A run directory with what `curate diff` reads of a score: manifest.json and score.json."""
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"name": path.name, "steps": []}))
    score = {
        "metrics": {"bpb": bpb},
        "eval": {"tokens": 40_000, "bpb_low": bpb - half, "bpb_high": bpb + half, "bpb_ci95": half},
    }
    (path / "score.json").write_text(json.dumps(score))
    return {
        "variant": variant,
        "seed": seed,
        "status": "done",
        "run_dir": str(path),
        "metrics": {"bpb": bpb},
        "train": {"tokens": 60_000, "tokens_per_s": 2_000},
        "eval": {"noise": {"bpb": half}, "tokens": 40_000},
    }


def test_diff_of_two_single_runs_gives_each_eval_error_and_no_verdict(tmp_path):
    _scored_run(tmp_path / "a", 2.114, 0.006)
    _scored_run(tmp_path / "b", 2.288, 0.007)
    d = diff_runs(tmp_path / "a", tmp_path / "b")
    assert d.paired is None and d.noise == [("bpb", 0.006, 0.007)]
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "a"), str(tmp_path / "b")], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "verdict: none (one seed each)" in text and "cannot be told from seed-to-seed noise" in text
    assert "± 0.006" in text and "larger than the two eval sets' own errors" in text
    assert "Verdict: none (one seed each)" in render_diff_html(d)


def test_diff_of_two_sweep_variants_is_paired_over_their_seeds(tmp_path):
    sweep = tmp_path / "sweeps" / "s"
    clean, boiler = [2.114, 2.130, 2.121, 2.109], [2.132, 2.145, 2.138, 2.126]
    runs = []
    for seed, (c, b) in enumerate(zip(clean, boiler, strict=True)):
        runs.append(_scored_run(sweep / "runs" / f"clean-s{seed}", c, 0.006, variant="clean", seed=seed))
        runs.append(_scored_run(sweep / "runs" / f"boiler-s{seed}", b, 0.006, variant="boiler", seed=seed))
    (sweep / "sweep.json").write_text(json.dumps({"metric": "bpb", "runs": runs}))
    d = diff_runs(sweep / "runs" / "clean-s0", sweep / "runs" / "boiler-s2")
    assert d.paired is not None and d.paired.variant == "boiler" and d.paired.reference == "clean"
    assert d.paired.difference.n == 4 and d.paired.verdict == "worse"
    assert d.paired.difference.mean == pytest.approx(sum(boiler) / 4 - sum(clean) / 4)
    result = CliRunner().invoke(
        app, ["diff", str(sweep / "runs" / "clean-s0"), str(sweep / "runs" / "boiler-s2")], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "paired over 4 seed(s) of their sweep" in result.output and "worse" in result.output
    # two seeds only: the same difference cannot be told, and the diff says what would
    (sweep / "sweep.json").write_text(json.dumps({"metric": "bpb", "runs": runs[:4]}))
    two = diff_runs(sweep / "runs" / "clean-s0", sweep / "runs" / "boiler-s1")
    assert two.paired.verdict == "cannot tell" and "paired seeds" in two.paired.advice()
    assert "cannot tell at this budget" in render_diff_html(two)
