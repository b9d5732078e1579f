"""The pipe loop on toy stages: accounting, byte identity across workers, cache, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from curate.errors import InputError, RecipeError, StageError, UsageError
from curate.exec.pipe import run_recipe
from curate.recipe import parse_recipe
from tests.conftest import REPO, write_jsonl
from tests.exec.toy_stages import REGISTRY

RECIPE = """
name: toy
sources:
  - {{name: web, path: "{data}/*.jsonl"}}
stages:
  - short: {{min_chars: {min_chars}, sleep: {sleep}}}
  - exact: {{sleep: {sleep}}}
execution: {{shard_mb: 0.002}}
"""


def make_corpus(root: Path, files: int = 3, rows: int = 120) -> Path:
    data = root / "data"
    for f in range(files):
        docs = [{"text": f"document {i % 40} " + "word " * (i % 7), "url": f"u{f}-{i}"} for i in range(rows)]
        write_jsonl(data / f"part-{f}.jsonl", docs, raw_lines=[b"{not json", b'{"text": 5}'])
    return data


def recipe_for(data: Path, *, min_chars: int = 15, sleep: float = 0.0):
    return parse_recipe(RECIPE.format(data=data, min_chars=min_chars, sleep=sleep), registry=REGISTRY)


def run(recipe, run_dir: Path, **kw):
    return run_recipe(recipe, run_dir=run_dir, registry=REGISTRY, **kw)


def tree_bytes(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_every_record_is_accounted_for(tmp_path):
    data = make_corpus(tmp_path)
    result = run(recipe_for(data), tmp_path / "runs" / "a", workers=1)
    acc = result.manifest["accounting"]
    assert acc["records_in"] == 3 * 122
    assert acc["balanced"] and acc["records_out"] + acc["rejected"] == acc["records_in"]
    steps = {s["stage"]: s for s in result.steps}
    assert steps["read"]["reasons"] == {"bad_input:invalid_json": 3, "bad_input:not_a_string": 3}
    assert steps["short"]["reasons"]["too_short"] > 0 and steps["exact"]["reasons"]["exact_dup"] > 0
    rejected = pl.read_parquet(sorted((tmp_path / "runs/a/rejected/02-exact").glob("*.parquet")))
    assert set(rejected["reason"]) == {"exact_dup"}
    out = pl.read_parquet(sorted((tmp_path / "runs/a/output").glob("*.parquet")))
    assert out.height == acc["records_out"] and out["id"].is_unique().all()
    assert out["text"].is_unique().all()


def test_output_bytes_do_not_depend_on_workers(tmp_path):
    data = make_corpus(tmp_path)
    recipe = recipe_for(data)
    run(recipe, tmp_path / "one" / "r", workers=1)
    run(recipe, tmp_path / "two" / "r", workers=2)
    one, two = tree_bytes(tmp_path / "one/r/output"), tree_bytes(tmp_path / "two/r/output")
    assert len(one) > 3 and one == two
    assert tree_bytes(tmp_path / "one/r/rejected") == tree_bytes(tmp_path / "two/r/rejected")


def test_existing_run_dir_needs_resume_or_force(tmp_path):
    data = make_corpus(tmp_path, files=1)
    recipe = recipe_for(data)
    run(recipe, tmp_path / "runs/a", workers=1)
    with pytest.raises(UsageError, match="--resume"):
        run(recipe, tmp_path / "runs/a", workers=1)
    again = run(recipe, tmp_path / "runs/a", workers=1, mode="force")
    assert again.manifest["accounting"]["balanced"]


def test_unchanged_recipe_does_no_work_and_a_changed_stage_reruns_only_from_there(tmp_path):
    data = make_corpus(tmp_path, files=2)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    read_part = next((run_dir / "stages/00-read").glob("part-*.parquet"))
    before = read_part.stat().st_mtime_ns
    again = run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert [s["cached"] for s in again.steps] == [True, True, True, True]
    changed = run(recipe_for(data, min_chars=25), run_dir, workers=1, mode="resume")
    assert [s["cached"] for s in changed.steps] == [True, False, False, False]
    assert read_part.stat().st_mtime_ns == before
    assert changed.steps[1]["reasons"]["too_short"] > again.steps[1]["reasons"]["too_short"]


def test_a_sibling_run_with_the_same_steps_is_reused(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run(recipe_for(data), tmp_path / "runs/a", workers=1)
    b = run(recipe_for(data, min_chars=20), tmp_path / "runs/b", workers=1)
    assert [s["cached"] for s in b.steps] == [True, False, False, False]
    assert b.steps[0]["adopted_from"].endswith("runs/a/stages/00-read")


def test_changed_input_file_invalidates_the_read_step(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    first = run(recipe_for(data), run_dir, workers=1)
    write_jsonl(data / "part-0.jsonl", [{"text": "a brand new document of some length"}])
    second = run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert not second.steps[0]["cached"]
    assert second.manifest["accounting"]["records_in"] == 1 != first.manifest["accounting"]["records_in"]


def test_a_stage_that_loses_records_is_refused(tmp_path):
    data = make_corpus(tmp_path, files=1)
    recipe = parse_recipe(
        f'name: x\nsources: [{{name: w, path: "{data}/*.jsonl"}}]\nstages: [{{lose: {{}}}}]\n',
        registry=REGISTRY,
    )
    with pytest.raises(StageError, match="account for every record"):
        run(recipe, tmp_path / "runs/x", workers=1)


def test_input_that_is_entirely_bad_is_a_clear_error(tmp_path):
    write_jsonl(tmp_path / "data/bad.jsonl", [], raw_lines=[b"nope", b'{"text": ""}', b'{"other": 1}'])
    recipe = recipe_for(tmp_path / "data")
    with pytest.raises(InputError, match="3 read, all quarantined as bad input"):
        run(recipe, tmp_path / "runs/x", workers=1)


def _start(recipe_file: Path, run_dir: Path, mode: str, workers: int) -> subprocess.Popen:
    code = f"from tests.exec.toy_stages import main; main({str(recipe_file)!r}, {str(run_dir)!r}, {mode!r}, {workers})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, "timed out waiting for the kill point"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kill_after", "workers"),
    [
        ("stages/00-read/_done", 1),
        ("stages/01-short/_done", 2),
        ("stages/02-exact/_partials", 1),
        ("stages/02-exact/_done", 2),
    ],
)
def test_a_run_killed_with_sigkill_resumes_to_identical_output(tmp_path, kill_after, workers):
    data = make_corpus(tmp_path, files=3, rows=150)
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(RECIPE.format(data=data, min_chars=15, sleep=0.05))
    reference = tmp_path / "ref" / "run"
    run(recipe_for(data, sleep=0.05), reference, workers=1)

    killed = tmp_path / "killed" / "run"
    proc = _start(recipe_file, killed, "new", workers)
    marker_dir = killed / kill_after
    _kill_when(proc, lambda: marker_dir.exists() and len(list(marker_dir.iterdir())) >= 2)
    assert not (killed / "stages/03-output/_SUCCESS").exists()
    resumed = _start(recipe_file, killed, "resume", workers)
    assert resumed.wait(timeout=120) == 0
    assert tree_bytes(killed / "output") == tree_bytes(reference / "output")
    assert tree_bytes(killed / "rejected") == tree_bytes(reference / "rejected")


def test_a_global_stage_can_ask_for_a_rescan_pass(tmp_path):
    """dedupe with verify: fit asks for a second pass over the candidates, the loop runs it."""
    from curate.stages import REGISTRY as REAL

    base = " ".join(f"word{i}" for i in range(60))
    docs = [
        {"text": base},
        {"text": base.replace("word7", "seven")},
        {"text": "something else entirely " * 5},
    ]
    write_jsonl(tmp_path / "data/a.jsonl", docs)
    text = f'name: v\nsources: [{{name: w, path: "{tmp_path}/data/*.jsonl"}}]\nstages:\n  - dedupe: {{minhash: {{verify: true}}}}\n'
    recipe = parse_recipe(text, registry=REAL)
    result = run_recipe(recipe, run_dir=tmp_path / "runs/v", workers=1)
    dedupe = result.steps[1]
    assert dedupe["reasons"] == {"minhash_dup": 1}
    assert (tmp_path / "runs/v/stages/01-dedupe/_rescan").is_dir()


def test_stage_preflight_fails_before_any_work(tmp_path):
    from curate.stages import REGISTRY as REAL
    from curate.stages.language import load_model

    write_jsonl(tmp_path / "data/a.jsonl", [{"text": "hello world"}])
    model = tmp_path / "my-lid.ftz"  # a user's model is checked at preflight (the bundled one when read)
    model.write_bytes(Path(load_model().path).read_bytes())
    text = f'name: p\nsources: [{{name: w, path: "{tmp_path}/data/*.jsonl"}}]\nstages:\n  - language: {{keep: [en, xx], model: "{model}"}}\n'
    with pytest.raises(RecipeError, match=r"stages\[0\]\.language: .*'xx'"):
        run_recipe(parse_recipe(text, registry=REAL), run_dir=tmp_path / "runs/p", workers=1)
    assert not (tmp_path / "runs/p").exists()


def test_a_stage_limited_to_some_sources_passes_the_others_through(tmp_path):
    write_jsonl(tmp_path / "a/x.jsonl", [{"text": "tiny"}, {"text": "a long enough text here"}])
    write_jsonl(tmp_path / "b/y.jsonl", [{"text": "tiny"}, {"text": "tiny"}])
    text = (
        f'name: s\nsources:\n  - {{name: web, path: "{tmp_path}/a/*.jsonl"}}\n  - {{name: chat, path: "{tmp_path}/b/*.jsonl"}}\n'
        "stages:\n  - short: {min_chars: 10, sources: [web]}\n  - exact: {sources: [chat]}\n"
    )
    result = run(parse_recipe(text, registry=REGISTRY), tmp_path / "runs/s", workers=1)
    short, exact = result.steps[1], result.steps[2]
    assert short["reasons"] == {"too_short": 1} and short["counters"]["passed_through"] == 2
    assert exact["reasons"] == {"exact_dup": 1} and exact["counters"]["passed_through"] == 1
    out = pl.read_parquet(sorted((tmp_path / "runs/s/output").glob("*.parquet")))
    assert sorted(out["id"].to_list()) == ["chat/y.jsonl:1", "web/x.jsonl:2"]


def test_resume_removes_files_a_killed_run_was_writing(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    debris = [run_dir / "rejected/00-read/part-00000-0000.parquet.tmp-4242", run_dir / "tokens/train.bin.tmp"]
    for path in debris:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert not any(path.exists() for path in debris)
    assert not list(run_dir.rglob("*.tmp*"))
