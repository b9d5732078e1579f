"""The CLI through typer's runner: exit codes, messages without tracebacks, every command."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from curate.cli import app
from tests.conftest import REPO, write_jsonl

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A tiny two-file corpus and a recipe using real stages, in a working directory of its own."""
    monkeypatch.chdir(tmp_path)
    body = "The river runs past the old mill and the children walk along it to school every morning. "
    docs = [{"text": body * 3 + f"Page {i} adds its own closing sentence about day {i}."} for i in range(30)]
    docs += [{"text": docs[0]["text"]}, {"text": "<p>spam spam</p>"}]
    write_jsonl(tmp_path / "data/a.jsonl", docs, raw_lines=[b"{broken"])
    (tmp_path / "r.yaml").write_text(
        "name: small\nsources: [{name: web, path: data/*.jsonl}]\n"
        "stages:\n  - clean: {strip_html: true, min_chars: 50}\n  - dedupe: {}\n  - language: {keep: [en]}\n"
    )
    return tmp_path


def test_run_writes_a_run_directory_and_prints_the_summary(small):
    result = invoke("run", "r.yaml", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "curate run: small" in result.output and "balanced" in result.output
    manifest = json.loads((small / "runs/small/manifest.json").read_text())
    assert manifest["accounting"]["records_in"] == 33
    assert (small / "runs/small/output/README.md").exists()
    assert not (small / "runs/small/.lock").exists()  # held while running, removed at the end


def test_the_library_entry_point_runs_a_recipe_file_like_the_cli(small):
    import curate
    from curate.errors import UsageError

    result = curate.run("r.yaml", run_dir="lib-run", workers=1, report=False)
    assert result.manifest["accounting"]["records_in"] == 33 and result.manifest["accounting"]["balanced"]
    with pytest.raises(UsageError, match="already exists"):
        curate.run("r.yaml", run_dir="lib-run")
    again = curate.run("r.yaml", run_dir="lib-run", mode="resume", report=False)
    assert all(step["cached"] for step in again.manifest["steps"])


def test_existing_run_dir_is_usage_error_then_resume_reuses_everything(small):
    assert invoke("run", "r.yaml", "-q").exit_code == 0
    again = invoke("run", "r.yaml", "-q")
    assert again.exit_code == 2 and "--resume" in again.output and "Traceback" not in again.output
    resumed = invoke("run", "r.yaml", "--resume")
    assert resumed.exit_code == 0 and resumed.output.count("cached") >= 5
    both = invoke("run", "r.yaml", "--resume", "--force")
    assert both.exit_code == 2 and "exclude each other" in both.output


def test_bad_recipe_exits_2_with_path_line_and_suggestion(small):
    (small / "bad.yaml").write_text(
        "name: b\nsources: [{name: web, path: data/*.jsonl}]\nstages:\n  - dedupe: {treshold: 0.8}\n"
    )
    result = invoke("validate", "bad.yaml")
    assert result.exit_code == 2
    assert "stages[0].dedupe.treshold (line 4): unknown key 'treshold'" in result.output
    assert "Traceback" not in result.output


def test_missing_input_is_reported_before_any_work(small):
    (small / "missing.yaml").write_text("name: m\nsources: [{name: web, path: nowhere/*.jsonl}]\n")
    result = invoke("run", "missing.yaml")
    assert result.exit_code == 2 and "path pattern 'nowhere/*.jsonl' matched no file" in result.output
    assert not (small / "runs/m").exists()


def test_runtime_failure_exits_1_and_debug_shows_the_traceback(small):
    write_jsonl(small / "allbad/x.jsonl", [], raw_lines=[b"nope", b"{}"])
    (small / "allbad.yaml").write_text("name: ab\nsources: [{name: web, path: allbad/*.jsonl}]\n")
    result = invoke("run", "allbad.yaml", "-q")
    assert result.exit_code == 1 and "all quarantined as bad input" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(Exception, match="all quarantined"):
        runner.invoke(app, ["--debug", "run", "allbad.yaml", "-q", "--force"], catch_exceptions=False)


def test_ctrl_c_exits_130_with_how_to_resume(small, monkeypatch):
    import curate.exec.pipe

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(curate.exec.pipe, "run_recipe", interrupted)
    result = invoke("run", "r.yaml")
    assert result.exit_code == 130
    assert "interrupted: finished work is kept; continue with --resume" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_validate_runs_the_checks_a_run_makes_before_it_starts(small):
    (small / "lang.yaml").write_text(
        "name: l\nsources: [{name: web, path: data/*.jsonl}]\nstages:\n  - language: {keep: [en, xx]}\n"
    )
    result = invoke("validate", "lang.yaml")
    assert result.exit_code == 2  # a recipe error, with the line of the key
    assert "stages[0].language.keep (line 4): keep entry 'xx' matches no label of the model" in result.output
    result = invoke("run", "lang.yaml")
    assert result.exit_code == 2 and "keep entry 'xx' matches no label" in result.output
    assert not (small / "runs").exists()


def test_validate_stats_and_inspect(small):
    assert "valid (1 source(s); clean, dedupe, language)" in invoke("validate", "r.yaml").output
    assert invoke("run", "r.yaml", "-q").exit_code == 0
    stats = invoke("stats", "runs/small")
    assert stats.exit_code == 0 and "02-dedupe" in stats.output and "exact_dup" in stats.output
    rejected = invoke("inspect", "runs/small", "--stage", "dedupe", "--reason", "exact_dup", "-n", "1")
    assert rejected.exit_code == 0 and "reason: exact_dup" in rejected.output and "dup_of=" in rejected.output
    assert "web/a.jsonl:31  [web]" in rejected.output
    bad = invoke("inspect", "runs/small", "--stage", "read", "--reason", "bad_input", "-n", "3")
    assert "bad_input:invalid_json" in bad.output and "{broken" in bad.output
    kept = invoke("inspect", "runs/small", "--stage", "output", "-n", "2")
    assert kept.exit_code == 0 and "The river runs" in kept.output
    unknown = invoke("inspect", "runs/small", "--stage", "nope")
    assert unknown.exit_code == 2 and "steps: 00-read" in unknown.output
    no_such = invoke("inspect", "runs/small", "--stage", "dedupe", "--reason", "lang")
    assert no_such.exit_code == 2
    assert "for a reason starting with 'lang'; its reasons: exact_dup" in no_such.output
    assert invoke("stats", "nowhere").exit_code == 2
    untrained = invoke("score", "runs/small")
    assert untrained.exit_code == 1 and "no trained checkpoint" in untrained.output


@pytest.mark.slow
def test_console_script_runs_the_web_recipe(tmp_path):
    """The installed entry point, in a subprocess, from the repository root."""
    import subprocess
    import sys

    exe = shutil.which("curate") or f"{sys.executable} -m curate"
    cmd = f"{exe} run recipes/web.yaml --out {tmp_path / 'run'} -q"
    done = subprocess.run(cmd, shell=True, cwd=REPO, capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run/report.html").exists()


def test_version_prints_curates_version():
    from curate import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"curate {__version__}"


def test_inspect_help_shows_rejected_as_a_plain_flag_and_a_quickstart_step_name():
    import re

    from curate.recipe import load_recipe, resolve_implied

    result = runner.invoke(app, ["inspect", "--help"], terminal_width=120)
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if "--rejected" in x)
    assert "<bool>" not in line
    # the example step directory is the quickstart's: 00-read, then its stages in order
    example = re.search(r"(\d\d)-dedupe", result.output)
    stages = [
        next(iter(s))
        for s in resolve_implied(load_recipe(REPO / "recipes/quickstart.yaml")).model_dump()["stages"]
    ]
    assert example and int(example.group(1)) == 1 + stages.index("dedupe")
