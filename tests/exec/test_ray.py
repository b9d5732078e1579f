"""The Ray executor on a local Ray instance: the local executor's bytes, retries of killed workers,
resume after the driver dies, errors that say what went wrong.

One Ray instance (2 CPUs, no dashboard) serves the module; skipped without the ray extra.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='the ray extra is not installed (pip install "curate[ray]")')

from curate.errors import StageError  # noqa: E402
from curate.exec.pipe import run_recipe  # noqa: E402
from curate.exec.ray_executor import RayExecutor  # noqa: E402
from curate.recipe import parse_recipe  # noqa: E402
from curate.stages.dedupe import partitioned  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.exec import crash_stages, toy_stages  # noqa: E402
from tests.exec.test_pipe import RECIPE as TOY_RECIPE  # noqa: E402
from tests.exec.test_pipe import _kill_when, make_corpus, tree_bytes  # noqa: E402

pytestmark = pytest.mark.slow

WEB = REPO / "sample_data" / "web"
REAL_RECIPE = """
name: web
sources:
  - {{name: web, path: ["{web}/web-00.jsonl", "{web}/web-01.jsonl"]}}
stages:
  - quality: {{}}
{extra}  - {dedupe}: {{{dedupe_options}}}
  - language: {{keep: [en, de, fr, es, zh, ja], min_score: 0.5}}
execution: {{shard_mb: 0.2}}
"""


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def real_recipe(*, extra: str = "", dedupe: str = "dedupe", dedupe_options: str = ""):
    text = REAL_RECIPE.format(web=WEB, extra=extra, dedupe=dedupe, dedupe_options=dedupe_options)
    return parse_recipe(text, registry=crash_stages.REGISTRY)


def same_run_bytes(a: Path, b: Path) -> None:
    out_a, out_b = tree_bytes(a / "output"), tree_bytes(b / "output")
    assert len(out_a) > 2 and out_a == out_b
    assert tree_bytes(a / "rejected") == tree_bytes(b / "rejected")


def test_ray_output_is_byte_identical_to_the_local_executor(tmp_path, cluster, monkeypatch):
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)  # partition dedupe's fit even for this input
    recipe = real_recipe()
    local = run_recipe(recipe, run_dir=tmp_path / "local" / "run", workers=1)
    executor = RayExecutor(2)
    try:
        distributed = run_recipe(recipe, run_dir=tmp_path / "ray" / "run", executor=executor)
    finally:
        executor.close()
    assert ray.is_initialized()  # an executor does not shut down a Ray it did not start
    same_run_bytes(tmp_path / "local" / "run", tmp_path / "ray" / "run")
    steps = {s["stage"]: s for s in distributed.steps}
    assert steps["dedupe"]["shards"] >= 5
    assert steps["dedupe"]["reasons"] == {s["stage"]: s for s in local.steps}["dedupe"]["reasons"]
    assert sum(steps["dedupe"]["reasons"].values()) > 30
    # the fit ran as sub-tasks on the cluster (two workers), the local one in one process
    assert steps["dedupe"]["fit"]["partitioned"]["partitions"] == 2
    assert "partitioned" not in {s["stage"]: s for s in local.steps}["dedupe"]["fit"]


def test_a_killed_worker_is_retried_and_the_output_is_identical(tmp_path, cluster):
    """A batch stage's task and a global stage's summarize task each SIGKILL their worker once."""
    crash, summarize_crash = tmp_path / "crash-apply", tmp_path / "crash-summarize"
    recipe = real_recipe(
        extra=f'  - crash: {{marker: "{crash}"}}\n',
        dedupe="crashing_dedupe",
        dedupe_options=f'crash_marker: "{summarize_crash}"',
    )
    crash.touch()
    summarize_crash.touch()
    run_recipe(recipe, run_dir=tmp_path / "local" / "run", workers=1, registry=crash_stages.REGISTRY)
    crash.unlink()
    summarize_crash.unlink()
    executor = RayExecutor(2)
    try:
        run_recipe(
            recipe, run_dir=tmp_path / "ray" / "run", executor=executor, registry=crash_stages.REGISTRY
        )
    finally:
        executor.close()
    assert crash.exists() and summarize_crash.exists()  # both kills happened
    same_run_bytes(tmp_path / "local" / "run", tmp_path / "ray" / "run")


def test_a_task_that_fails_is_not_retried_and_its_error_comes_through(tmp_path, cluster):
    data = make_corpus(tmp_path, files=2, rows=40)
    text = f'name: lose\nsources: [{{name: web, path: "{data}/*.jsonl"}}]\nstages:\n  - lose: {{}}\n'
    executor = RayExecutor(2)
    with pytest.raises(StageError, match="must account for every record"):
        run_recipe(
            parse_recipe(text, registry=toy_stages.REGISTRY),
            run_dir=tmp_path / "run",
            executor=executor,
            registry=toy_stages.REGISTRY,
        )


def _driver(recipe_file: Path, run_dir: Path, mode: str, address: str) -> subprocess.Popen:
    code = (
        "from curate.exec.pipe import run_recipe; from curate.exec.ray_executor import RayExecutor; "
        "from curate.recipe import load_recipe; from tests.exec.toy_stages import REGISTRY; "
        f"recipe = load_recipe({str(recipe_file)!r}, registry=REGISTRY); "
        f"run_recipe(recipe, run_dir={str(run_dir)!r}, mode={mode!r}, registry=REGISTRY, "
        f"executor=RayExecutor(2, address={address!r}))"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True)


def test_a_killed_driver_resumes_from_the_markers_on_ray(tmp_path, cluster):
    data = make_corpus(tmp_path, files=3, rows=100)
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(TOY_RECIPE.format(data=data, min_chars=15, sleep=0.2))
    reference = tmp_path / "ref" / "run"  # the same but for the sleeps, which change no byte
    run_recipe(
        parse_recipe(TOY_RECIPE.format(data=data, min_chars=15, sleep=0), registry=toy_stages.REGISTRY),
        run_dir=reference,
        workers=1,
        registry=toy_stages.REGISTRY,
    )
    killed = tmp_path / "killed" / "run"
    proc = _driver(recipe_file, killed, "new", cluster)
    done = killed / "stages" / "01-short" / "_done"
    _kill_when(proc, lambda: done.exists() and len(list(done.iterdir())) >= 2, timeout=120)
    finished = len(list(done.iterdir()))
    assert not (killed / "stages" / "01-short" / "_SUCCESS").exists()
    resumed = _driver(recipe_file, killed, "resume", cluster)
    assert resumed.wait(timeout=180) == 0
    assert finished >= 2
    same_run_bytes(reference, killed)


def test_dedupe_lines_against_an_index_on_ray_gives_the_local_bytes(tmp_path, cluster, monkeypatch):
    """Repeated lines and an ``against:`` index (its lines and MinHash keys): the units fit and the
    index lookups run as Ray tasks, and the output, rejects and index are the local run's bytes."""
    monkeypatch.setattr(partitioned, "SMALL_BYTES", 0)
    recipe = """
name: {name}
sources: [{{name: web, path: "{path}"}}]
stages:
  - dedupe: {{minhash: {{num_perm: 32}}, lines: {{}}, paragraphs: {{remove: all}}{against}}}
execution: {{shard_mb: 0.1}}
"""

    def parse(name: str, path: Path, against: str = ""):
        return parse_recipe(
            recipe.format(name=name, path=path, against=against), registry=crash_stages.REGISTRY
        )

    old = tmp_path / "old"
    run_recipe(parse("old", WEB / "web-00.jsonl"), run_dir=old, workers=1)
    new = parse("new", WEB / "web-01.jsonl", f', against: ["{old}"]')
    local = run_recipe(new, run_dir=tmp_path / "local" / "new", workers=1)
    executor = RayExecutor(2)
    try:
        distributed = run_recipe(new, run_dir=tmp_path / "ray" / "new", executor=executor)
    finally:
        executor.close()
    same_run_bytes(tmp_path / "local" / "new", tmp_path / "ray" / "new")
    assert tree_bytes(tmp_path / "local" / "new" / "index") == tree_bytes(tmp_path / "ray" / "new" / "index")
    fit = {s["stage"]: s for s in distributed.steps}["dedupe"]["fit"]
    assert fit["lines"]["partitioned"]["partitions"] == 2 and fit["lines"]["in_index"] > 0
    assert fit["against"]["old/01-dedupe"]["removed"] > 0
    reasons = {s["stage"]: s for s in local.steps}["dedupe"]["reasons"]
    assert reasons == {s["stage"]: s for s in distributed.steps}["dedupe"]["reasons"]
