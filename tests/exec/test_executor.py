"""Choosing an executor: recipe settings, command-line overrides, a local run that never imports
ray, and a clear error when Ray is asked for but not installed. None of these need Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from curate.cli import app, override_execution
from curate.errors import RecipeError, UsageError
from curate.exec.executor import LocalExecutor, make_executor
from curate.recipe import Execution, parse_recipe
from tests.conftest import REPO, write_jsonl

RECIPE = 'name: e\nsources: [{{name: w, path: "{data}/*.jsonl"}}]\nstages:\n  - dedupe: {{}}\n{execution}'


def recipe(tmp_path, execution: str = ""):
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"text": f"text number {i % 5}"} for i in range(20)])
    return parse_recipe(RECIPE.format(data=tmp_path / "data", execution=execution))


def test_a_local_run_never_imports_ray(tmp_path):
    """In a fresh interpreter: a local run with two workers (the partitioned dedupe fit included)."""
    recipe_file = tmp_path / "r.yaml"
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"text": f"text number {i % 5}"} for i in range(50)])
    recipe_file.write_text(RECIPE.format(data=tmp_path / "data", execution="execution: {shard_mb: 0.0005}\n"))
    code = (
        "import json, sys; from curate.exec.pipe import run_recipe; from curate.recipe import load_recipe; "
        "from curate.stages.dedupe import partitioned; partitioned.SMALL_BYTES = 0; "
        f"r = run_recipe(load_recipe({str(recipe_file)!r}), run_dir={str(tmp_path / 'run')!r}, workers=2); "
        "print(json.dumps({'ray': sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')), "
        "'fit': r.steps[1]['fit']}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["ray"] == []
    assert found["fit"]["partitioned"]["partitions"] == 2  # sub-tasks ran on the local pool


def test_ray_asked_for_but_not_installed_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(UsageError, match=r'pip install "curate\[ray\]"'):
        make_executor(Execution(executor="ray"))
    result = CliRunner().invoke(app, ["run", str(tmp_path / "r.yaml"), "--executor", "ray"])
    assert result.exit_code == 2  # the recipe file is missing: reported before Ray is needed
    (tmp_path / "r.yaml").write_text(RECIPE.format(data=tmp_path / "data", execution=""))
    write_jsonl(tmp_path / "data" / "a.jsonl", [{"text": "hello"}])
    result = CliRunner().invoke(app, ["run", str(tmp_path / "r.yaml"), "--executor", "ray", "-q"])
    assert result.exit_code == 2
    assert 'pip install "curate[ray]"' in result.output


def test_local_executor_from_the_recipe(tmp_path):
    executor = make_executor(recipe(tmp_path, "execution: {workers: 3}\n").execution)
    assert isinstance(executor, LocalExecutor) and executor.workers == 3
    assert make_executor(Execution(workers=3), workers=1).workers == 1  # the command line wins


def test_command_line_overrides_the_recipe(tmp_path):
    ray_recipe = recipe(tmp_path, "execution: {executor: ray, address: auto, workers: 4}\n")
    local = override_execution(ray_recipe, executor="local")
    assert local.execution.executor == "local" and local.execution.address is None
    assert local.execution.workers == 4
    assert override_execution(ray_recipe).execution == ray_recipe.execution
    moved = override_execution(recipe(tmp_path), address="ray://head:10001")
    assert moved.execution.executor == "ray" and moved.execution.address == "ray://head:10001"
    with pytest.raises(UsageError, match="--address"):
        override_execution(ray_recipe, executor="local", address="auto")


def test_an_address_without_ray_is_a_recipe_error(tmp_path):
    with pytest.raises(RecipeError, match=r"execution.*only used with executor: ray"):
        recipe(tmp_path, "execution: {address: auto}\n")


def test_unknown_executor_on_the_command_line(tmp_path):
    result = CliRunner().invoke(app, ["run", str(tmp_path / "r.yaml"), "--executor", "spark"])
    assert result.exit_code == 2 and "local or ray" in result.output


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_workers_die_with_their_parent(tmp_path):
    """SIGKILL a process whose pool is busy: its workers must not live on."""
    code = (
        "import sys, time; from curate.exec.executor import LocalExecutor; "
        "ex = LocalExecutor(2); pool = ex._ensure_pool(); "
        "futures = [pool.submit(time.sleep, 600) for _ in range(2)]; "
        "[time.sleep(0.05) for _ in iter(lambda: len(pool._processes) < 2 "
        "or not all(f.running() for f in futures), False)]; "
        "print(*pool._processes, flush=True); time.sleep(600)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as parent:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        parent.kill()
    for _ in range(600):  # the kernel signals them at once; allow a slow machine a minute to reap
        if not any(_alive(pid) for pid in workers):
            break
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their killed parent"
