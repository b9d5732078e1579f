"""recipes/web.yaml on sample_data, checked against the corpus's ground truth."""

from __future__ import annotations

import collections
import json

import polars as pl
import pytest

from curate.exec.pipe import run_recipe
from curate.recipe import load_recipe
from tests.conftest import REPO


@pytest.fixture(scope="module")
def web_run(tmp_path_factory):
    recipe = load_recipe(REPO / "recipes/web.yaml")
    run_dir = tmp_path_factory.mktemp("runs") / "web"
    return run_recipe(recipe, run_dir=run_dir, workers=2)


@pytest.fixture(scope="module")
def truth():
    data = json.loads((REPO / "sample_data/truth/web_truth.json").read_text())
    return {
        f"web/{name.split('/')[-1]}:{row['line']}": row
        for name, rows in data["files"].items()
        for row in rows
    }


def kept_ids(run) -> set[str]:
    return set(pl.read_parquet(run.run_dir / "output/*.parquet")["id"])


@pytest.mark.slow
def test_every_bad_page_and_line_is_removed(web_run, truth):
    kept = kept_ids(web_run)
    bad = [i for i, r in truth.items() if r["status"] != "good"]
    assert len(bad) > 600
    assert not kept & set(bad)


@pytest.mark.slow
def test_every_good_page_survives_once_per_duplicate_cluster(web_run, truth):
    kept = kept_ids(web_run)
    members = collections.defaultdict(int)
    for record_id, row in truth.items():
        if row["status"] == "good":
            members[row["cluster"]] += record_id in kept
    survivors = collections.Counter(members.values())
    assert survivors[0] == 0, "a good page was lost with all its copies"
    assert survivors[1] >= 0.99 * len(members)


@pytest.mark.slow
def test_accounting_outputs_and_run_card(web_run):
    manifest = web_run.manifest
    assert manifest["accounting"]["balanced"]
    steps = {s["stage"]: s for s in manifest["steps"]}
    assert set(steps["read"]["reasons"]) == {
        "bad_input:invalid_json",
        "bad_input:invalid_utf8",
        "bad_input:missing_text",
        "bad_input:null_text",
        "bad_input:not_a_string",
        "bad_input:empty_text",
        "bad_input:not_an_object:list",
    }
    assert steps["language"]["counters"]["lang_kept.zh"] > 100
    assert steps["dedupe"]["fit"]["minhash"]["s_curve"]
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(web_run.run_dir / "output/*.parquet"), split="train")
    assert ds.num_rows == manifest["accounting"]["records_out"]
    assert {"id", "source", "text", "lang", "lang_score"} <= set(ds.column_names)
    assert (web_run.run_dir / "report.html").stat().st_size > 10_000
    assert (web_run.run_dir / "recipe.yaml").read_text().startswith("name: web")


def _small_shards(tmp_path):
    """recipes/web.yaml with ~100 KB shards, so that there are many shards to spread and to kill between."""
    text = (
        (REPO / "recipes/web.yaml")
        .read_text()
        .replace("output: {format: parquet}", "output: {format: parquet}\nexecution: {shard_mb: 0.1}")
    )
    path = tmp_path / "web-small-shards.yaml"
    path.write_text(text.replace("sample_data/", f"{REPO}/sample_data/"))
    return path


def _bytes(directory):
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
def test_real_stages_give_the_same_bytes_for_any_number_of_workers(tmp_path):
    recipe = load_recipe(_small_shards(tmp_path))
    one = run_recipe(recipe, run_dir=tmp_path / "one/run", workers=1, report=False)
    two = run_recipe(recipe, run_dir=tmp_path / "two/run", workers=2, report=False)
    assert one.steps[0]["shards"] > 20
    assert _bytes(one.run_dir / "output") == _bytes(two.run_dir / "output")
    assert _bytes(one.run_dir / "rejected") == _bytes(two.run_dir / "rejected")


@pytest.mark.slow
def test_real_run_killed_mid_dedupe_resumes_to_identical_output(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    recipe_file = _small_shards(tmp_path)
    reference = run_recipe(load_recipe(recipe_file), run_dir=tmp_path / "ref/run", workers=1, report=False)
    run_dir = tmp_path / "killed/run"
    cmd = [
        sys.executable,
        "-m",
        "curate",
        "run",
        str(recipe_file),
        "--out",
        str(run_dir),
        "-q",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True)
    marker = run_dir / "stages/03-dedupe/_partials"
    deadline = time.time() + 120
    while not (marker.exists() and len(list(marker.iterdir())) >= 3):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(
        [*cmd[:-2], "--resume", "--workers", "1"], cwd=REPO, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _bytes(run_dir / "output") == _bytes(reference.run_dir / "output")
    assert _bytes(run_dir / "rejected") == _bytes(reference.run_dir / "rejected")
