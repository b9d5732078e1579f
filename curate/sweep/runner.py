"""Running a sweep: one shared tokenizer, every (variant, seed) run side by side, a leaderboard.

::

    SWEEP_DIR/
      sweep.yaml  sweep.json            the sweep file as given; what ran, how long, what was reused
      tokenizer/tokenizer.model         the experiment's one tokenizer (sha256 in sweep.json)
      runs/_tokenizer/                  the base recipe without train: trains the tokenizer
      runs/<variant>-s<seed>/           one run directory per variant and seed
      leaderboard.csv  leaderboard.parquet  report.html  plots/*.png
      logs/<run>.yaml  logs/<run>.log   recipes and output of runs in parallel processes

Every run directory is a sibling under ``runs/``, so the pipe loop adopts each completed step
whose cache key another run already has (clean, dedupe, language... run once). Runs go one after
another in this process (always on a GPU), or ``parallel`` at a time in processes of their own
on CPU, each with its share of the cores; a run that shares its data with one still running
waits for it, so nothing is computed twice. A finished run is recognised by its manifest (same
keys, complete) and score.json, so a killed sweep resumes where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from curate.errors import CurateError, RecipeError, UsageError
from curate.exec.pipe import RunMode, plan_steps, run_recipe
from curate.exec.rundir import RunDir
from curate.io.rundir import RunLayout
from curate.io.writers import read_json, write_atomic, write_json, write_text
from curate.recipe import RecipeBase, dump_resolved, recipe_from_data
from curate.report.compare import Comparison, advice_lines
from curate.report.sweep import (
    Standing,
    default_sort_metric,
    higher_is_better,
    leaderboard,
    metric_names,
    shown_metrics,
    sweep_comparisons,
)
from curate.stages import REGISTRY, StageRegistry
from curate.sweep.paths import set_path
from curate.sweep.regression import RegressionResult, mixture_regression
from curate.sweep.spec import PlannedVariant, SweepPlan, load_sweep
from curate.track import SweepLog, TrackConfig, check_trackers, with_trackers
from curate.train.evalset import eval_noise, flat_metrics

RunStatus = Literal["done", "cached", "failed"]
TOKENIZER_RUN = "_tokenizer"


@dataclass
class RunOutcome:
    """One (variant, seed) run of a sweep."""

    variant: str
    seed: int
    run_dir: Path
    status: RunStatus
    seconds: float = 0.0
    steps_run: int = 0  # computed by this call (0 for a run finished before)
    steps_cached: int = 0  # found complete by this call: adopted, or done by an earlier call
    steps_adopted: int = 0  # adopted from sibling runs, whenever the run was made
    adopted_seconds: float = 0.0  # what the adopted steps took where they were computed
    weights: dict[str, float] = field(default_factory=dict)
    realised: dict[str, float] = field(default_factory=dict)  # the shares the mix stage delivered
    metrics: dict[str, float] = field(default_factory=dict)
    train: dict[str, float] = field(default_factory=dict)  # seconds, tokens, tokens_per_s of its training
    eval: dict[str, Any] = field(default_factory=dict)  # noise: {metric: bootstrap half-width}, tokens
    error: str | None = None

    @property
    def name(self) -> str:
        return self.run_dir.name

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["run_dir"] = str(self.run_dir)
        return out


@dataclass
class SweepResult:
    sweep_dir: Path
    runs: list[RunOutcome]
    standings: list[Standing]
    metric: str | None
    regression: RegressionResult | None = None
    tokenizer: dict[str, str] | None = None
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    comparisons: dict[str, dict[str, Comparison]] = field(default_factory=dict)
    """Each variant against the best (and the sweep's baseline), paired over seeds."""

    @property
    def failed(self) -> list[RunOutcome]:
        return [r for r in self.runs if r.status == "failed"]


@dataclass
class _Job:
    variant: PlannedVariant
    seed: int
    recipe: RecipeBase
    run_dir: Path
    data_key: str
    after: int | None = None  # index of the job whose data this one adopts


def run_sweep(
    sweep: SweepPlan | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    parallel: int = 1,
    mode: RunMode = "new",
    progress: bool = False,
    on_run: Callable[[RunOutcome], None] | None = None,
    log: Callable[[str], None] | None = None,
    registry: StageRegistry = REGISTRY,
    track: Sequence[str] = (),
    metric: str | None = None,
) -> SweepResult:
    """Run every variant of a sweep (a file or a :class:`SweepPlan`) for every seed and write the
    leaderboard, plots and report into ``out`` (default ``sweeps/<name>``).

    ``mode``: ``new`` refuses an existing sweep directory, ``resume`` continues one (finished runs
    are kept, unfinished ones continue from their last finished step), ``force`` deletes it first.
    ``parallel``: runs at a time in processes of their own (CPU only; on a GPU runs go one after
    another). ``workers``: pipeline worker processes, shared among parallel runs. ``on_run`` is
    called after each run (to report progress; raising stops the sweep after that run).
    ``track``: trackers to log to besides the base recipe's ``track:`` (``curate sweep --track``);
    the sweep is one parent run, each (variant, seed) run a child of it, logged when it is done.
    ``metric``: rank by this metric instead of the sweep's ``metric:`` (``curate sweep --metric``;
    resuming a finished sweep ranks its runs again without training).
    """
    plan = sweep if isinstance(sweep, SweepPlan) else load_sweep(sweep, registry=registry)
    if metric is not None:
        plan = replace(plan, sweep=plan.sweep.model_copy(update={"metric": metric}))
    say = log or (lambda _message: None)
    sweep_dir = Path(out) if out is not None else Path("sweeps") / plan.name
    if parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {parallel}")
    tracking = with_trackers(plan.base.track, track)
    check_trackers(tracking)
    lock = _prepare(sweep_dir, plan, mode)
    started = time.perf_counter()
    warnings: list[str] = []
    sweep_log: SweepLog | None = None
    try:
        tokenizer = _shared_tokenizer(
            plan, sweep_dir, workers=workers, progress=progress, say=say, registry=registry
        )
        if tokenizer is None:
            warnings.append(
                "every variant trains its own tokenizer (tokenizer: per_variant): perplexity and NLL are not "
                "comparable between variants; rank by bits per byte"
            )
        jobs = _jobs(plan, sweep_dir, tokenizer, registry)
        tracked = _open_sweep_log(plan, sweep_dir, tracking, warnings, on_run)
        if tracked is not None:
            sweep_log, on_run = tracked
        if parallel > 1 and _wants_accelerator([j.recipe for j in jobs]):
            warnings.append(f"runs go one after another on the accelerator (--parallel {parallel} ignored)")
            parallel = 1
        if parallel > 1 and registry is not REGISTRY:
            raise UsageError(
                "parallel sweeps run `curate run` processes, which only know the built-in stages"
            )
        say(
            f"sweep {plan.name}: {len(plan.variants)} variants x {len(plan.sweep.seeds)} seeds = {len(jobs)} runs"
        )
        outcomes = (
            _run_parallel(jobs, sweep_dir, workers=workers, parallel=parallel, on_run=on_run, say=say)
            if parallel > 1
            else _run_sequential(
                jobs, workers=workers, progress=progress, on_run=on_run, say=say, registry=registry
            )
        )
        result = _finish(plan, sweep_dir, outcomes, tokenizer, warnings, time.perf_counter() - started)
        if sweep_log is not None:
            _close_sweep_log(sweep_log, result)
    except BaseException:
        if sweep_log is not None:
            sweep_log.close(summary={}, files=[], failed=True)
        raise
    finally:
        lock.unlock()
    return result


# ---------------------------------------------------------------------------------------------
# Preparation


def _prepare(sweep_dir: Path, plan: SweepPlan, mode: RunMode) -> RunDir:
    """Create (or, resuming, reuse; forcing, empty) the sweep directory and lock it."""
    if sweep_dir.exists() and any(sweep_dir.iterdir()):
        if mode == "new":
            raise UsageError(
                f"sweep directory {str(sweep_dir)!r} already exists; pass --resume to continue it "
                "(finished runs are kept) or --force to delete it and start over"
            )
        if not (sweep_dir / "sweep.yaml").exists() and not (sweep_dir / "runs").exists():
            raise UsageError(
                f"{str(sweep_dir)!r} is not a sweep directory (no sweep.yaml); choose another --out"
            )
    lock = RunDir(sweep_dir)
    lock.lock()
    if mode == "force":
        for child in sweep_dir.iterdir():
            if child.name != ".lock":
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    text = plan.path.read_text(encoding="utf-8") if plan.path is not None else ""
    write_text(text or json.dumps(plan.sweep.model_dump(mode="json"), indent=2), sweep_dir / "sweep.yaml")
    return lock


def _shared_tokenizer(
    plan: SweepPlan,
    sweep_dir: Path,
    *,
    workers: int | None,
    progress: bool,
    say: Callable[[str], None],
    registry: StageRegistry,
) -> Path | None:
    """The tokenizer every variant encodes with: the base recipe's, trained once (or a given file)."""
    choice = plan.sweep.tokenizer
    if choice == "per_variant":
        return None
    if choice != "shared":
        path = Path(choice)
        if not path.is_file():
            raise RecipeError(f"sweep tokenizer {choice!r} is not a file (a sentencepiece .model)")
        return path.resolve()
    tokenize = plan.base.stage_config("tokenize")
    if tokenize is not None and tokenize.model is not None:  # type: ignore[attr-defined]
        return Path(tokenize.model).resolve()  # type: ignore[attr-defined]
    data = plan.base.model_dump(mode="json")
    data.update(name="tokenizer", train=None, track=None)
    recipe = recipe_from_data(data, source_name=f"{plan.base_path} (tokenizer run)", registry=registry)
    run_dir = sweep_dir / "runs" / TOKENIZER_RUN
    say(f"tokenizer: the base recipe up to tokenize -> {run_dir}")
    run_recipe(
        recipe,
        run_dir=run_dir,
        mode="resume",
        workers=workers,
        progress=progress,
        report=False,
        registry=registry,
    )
    target = sweep_dir / "tokenizer" / "tokenizer.model"
    for suffix in (".model", ".vocab"):
        src, dst = run_dir / "tokenizer" / f"tokenizer{suffix}", target.with_suffix(suffix)
        # an unchanged tokenizer keeps its file (and time stamp): the variants' cache keys stay valid
        if src.exists() and (not dst.exists() or _sha256(dst) != _sha256(src)):
            write_atomic(dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
    return target.resolve()


def _open_sweep_log(
    plan: SweepPlan,
    sweep_dir: Path,
    tracking: TrackConfig | None,
    warnings: list[str],
    on_run: Callable[[RunOutcome], None] | None,
) -> tuple[SweepLog, Callable[[RunOutcome], None]] | None:
    """The sweep's parent run in its trackers, and an ``on_run`` that logs each finished run as
    its child (the runs themselves do not log: their recipes lose ``track:``, see ``_jobs``)."""
    if tracking is None or not tracking.names():
        return None
    base = plan.base.model_dump(mode="json")
    base.pop("track", None)
    params = {
        "seeds": plan.sweep.seeds,
        "metric": plan.sweep.metric,
        "variants": [{"name": v.name, "set": v.set} for v in plan.variants],
        "base": base,
    }
    log = SweepLog(tracking, name=plan.name, sweep_dir=sweep_dir, params=params, warn=warnings.append)

    def logged(outcome: RunOutcome) -> None:
        scores = None if outcome.status == "failed" else outcome.metrics
        log.run(
            outcome.run_dir, variant=outcome.variant, seed=outcome.seed, scores=scores, error=outcome.error
        )
        if on_run is not None:
            on_run(outcome)

    return log, logged


def _close_sweep_log(log: SweepLog, result: SweepResult) -> None:
    """The leaderboard (each variant's mean and 95% interval of every metric) and the sweep's files."""
    summary = {
        f"{s.variant}.{name}_{part}": getattr(m, part)
        for s in result.standings
        for name, m in s.metrics.items()
        for part in ("mean", "ci95")
    }
    files = [result.files[k] for k in ("leaderboard_csv", "report", "summary") if k in result.files]
    log.close(summary=summary, files=files, failed=bool(result.failed))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def variant_recipe(
    variant: PlannedVariant, seed: int, *, tokenizer: Path | None, registry: StageRegistry = REGISTRY
) -> RecipeBase:
    """The recipe of one run: the variant, its seed as ``train.seed``, the shared tokenizer."""
    data = copy.deepcopy(variant.data)
    if tokenizer is not None:
        for entry in data.get("stages") or []:
            if isinstance(entry, dict) and "tokenize" in entry:
                options = dict(entry["tokenize"] or {})
                options.pop("train", None)
                options["model"] = str(tokenizer)
                entry["tokenize"] = options
                break
    set_path(data, "train.seed", seed, registry=registry)
    data["name"] = f"{variant.name}-s{seed}"
    return recipe_from_data(data, source_name=variant.where, registry=registry)


def _jobs(plan: SweepPlan, sweep_dir: Path, tokenizer: Path | None, registry: StageRegistry) -> list[_Job]:
    jobs: list[_Job] = []
    leaders: dict[str, int] = {}
    for variant, seed in plan.runs():
        recipe = variant_recipe(variant, seed, tokenizer=tokenizer, registry=registry)
        recipe = recipe.model_copy(update={"track": None})  # logged by the sweep, as its children
        steps = plan_steps(recipe, registry=registry)
        data_key = next(p.step.key for p in steps if p.kind == "output")
        job = _Job(variant, seed, recipe, sweep_dir / "runs" / recipe.name, data_key, leaders.get(data_key))
        leaders.setdefault(data_key, len(jobs))
        jobs.append(job)
    return jobs


def _wants_accelerator(recipes: list[RecipeBase]) -> bool:
    devices = {r.train.device for r in recipes if r.train is not None}
    if any(d != "cpu" and d != "auto" for d in devices):
        return True
    if "auto" in devices:
        from curate.train.loop import resolve_device

        return resolve_device("auto").type != "cpu"
    return False


# ---------------------------------------------------------------------------------------------
# Running


def _finished(job: _Job, registry: StageRegistry) -> bool:
    """A run whose manifest is complete for the keys its recipe gives now, with its score."""
    try:
        manifest = read_json(RunLayout(job.run_dir).manifest)
    except (FileNotFoundError, ValueError):
        return False
    keys = {p.step.dirname: p.step.key for p in plan_steps(job.recipe, registry=registry)}
    return (
        bool(manifest.get("complete"))
        and manifest.get("keys") == keys
        and RunLayout(job.run_dir).score_file.exists()
    )


def _outcome(job: _Job, status: RunStatus, seconds: float, error: str | None = None) -> RunOutcome:
    outcome = RunOutcome(
        job.variant.name, job.seed, job.run_dir, status, seconds, weights=job.variant.weights
    )
    if error is not None:
        outcome.error = error
        return outcome
    manifest = read_json(RunLayout(job.run_dir).manifest)
    steps = manifest["steps"]
    outcome.steps_cached = len(steps) if status == "cached" else sum(bool(s.get("cached")) for s in steps)
    outcome.steps_run = len(steps) - outcome.steps_cached
    outcome.realised = realised_mix(manifest)
    figures = step_figures(manifest)
    outcome.steps_adopted, outcome.adopted_seconds = figures["adopted"], figures["adopted_seconds"]
    score = read_json(RunLayout(job.run_dir).score_file)
    outcome.metrics = flat_metrics(score)  # bpb... or avg.bpb, web.bpb...; tasks.<name>.acc...
    # the change against the model the runs start from (its score is computed once, then cached)
    outcome.metrics.update({k: score[k] for k in ("delta_bpb", "delta_pref_accuracy") if k in score})
    outcome.train, outcome.eval = score_costs(score)
    return outcome


def score_costs(score: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """What a run's training cost (``seconds``, ``tokens``, ``tokens_per_s`` as its score.json
    records them) and its eval set's own noise (``noise``: bootstrap half-width per metric;
    ``tokens``: eval tokens scored), for the sweep's paired comparisons."""
    train = {
        key: float(score[name])
        for key, name in (("seconds", "wall_s"), ("tokens", "tokens_seen"), ("tokens_per_s", "tokens_per_s"))
        if isinstance(score.get(name), (int, float)) and not isinstance(score.get(name), bool)
    }
    evaluated = score.get("eval") if isinstance(score.get("eval"), dict) else {}
    tokens = evaluated.get("tokens")
    return train, {"noise": eval_noise(score), "tokens": tokens if isinstance(tokens, (int, float)) else None}


def realised_mix(manifest: dict[str, Any]) -> dict[str, float]:
    """The shares of the first mix step's output per source, in the mix's unit ({} without a mix).
    They differ from the requested weights where a cap or a shortfall bound."""
    for step in manifest.get("steps") or ():
        if step.get("stage") == "mix" and isinstance(step.get("fit"), dict):
            unit = step["fit"].get("unit", "tokens")
            sources = step["fit"].get("sources") or {}
            return {name: float(s.get(f"share_{unit}") or 0.0) for name, s in sources.items()}
    return {}


def step_figures(manifest: dict[str, Any]) -> dict[str, Any]:
    """Steps of a run and their seconds, split into adopted from a sibling run and computed here
    (now or by an earlier, interrupted call)."""
    adopted = [s for s in manifest["steps"] if s.get("adopted_from")]
    computed = [s for s in manifest["steps"] if not s.get("adopted_from")]
    return {
        "steps": len(manifest["steps"]),
        "adopted": len(adopted),
        "adopted_seconds": sum(float(s.get("seconds") or 0.0) for s in adopted),
        "computed_seconds": sum(float(s.get("seconds") or 0.0) for s in computed),
    }


def _describe(outcome: RunOutcome, index: int, total: int) -> str:
    head = f"[{index}/{total}] {outcome.name}: "
    if outcome.status == "failed":
        return head + f"failed: {outcome.error}"
    metrics = "  ".join(
        f"{k} {outcome.metrics[k]:.4g}" for k in ("bpb", "ppl", "avg.bpb") if k in outcome.metrics
    )
    if outcome.status == "cached":
        return head + f"finished before  {metrics}"
    reused = f", {outcome.steps_cached} reused" if outcome.steps_cached else ""
    return head + f"done in {outcome.seconds:.1f} s ({outcome.steps_run} steps run{reused})  {metrics}"


def _run_sequential(
    jobs: list[_Job],
    *,
    workers: int | None,
    progress: bool,
    on_run: Callable[[RunOutcome], None] | None,
    say: Callable[[str], None],
    registry: StageRegistry,
) -> list[RunOutcome]:
    outcomes = []
    for i, job in enumerate(jobs, start=1):
        if _finished(job, registry):
            outcome = _outcome(job, "cached", 0.0)
        else:
            t0 = time.perf_counter()
            try:
                run_recipe(
                    job.recipe,
                    run_dir=job.run_dir,
                    mode="resume",
                    workers=workers,
                    progress=progress,
                    registry=registry,
                )
                outcome = _outcome(job, "done", time.perf_counter() - t0)
            except Exception as exc:  # one failing variant (e.g. a mix out of reach) does not stop the sweep
                message = str(exc) if isinstance(exc, CurateError) else f"{type(exc).__name__}: {exc}"
                outcome = _outcome(job, "failed", time.perf_counter() - t0, message)
        outcomes.append(outcome)
        say(_describe(outcome, i, len(jobs)))
        if on_run is not None:
            on_run(outcome)
    return outcomes


def _run_parallel(
    jobs: list[_Job],
    sweep_dir: Path,
    *,
    workers: int | None,
    parallel: int,
    on_run: Callable[[RunOutcome], None] | None,
    say: Callable[[str], None],
) -> list[RunOutcome]:
    """Up to ``parallel`` runs at a time, each a ``curate run`` process with its share of the
    cores (torch, OpenMP and polars threads; pipeline workers). A run waits for the run whose
    data it adopts."""
    cores = os.cpu_count() or 1
    threads = max(1, cores // parallel)
    run_workers = max(1, (workers or cores) // parallel)
    env = dict(os.environ)
    env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS")})
    # the children run this very curate, installed or not
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    logs = sweep_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[int, RunOutcome] = {}
    waiting = list(range(len(jobs)))
    running: dict[int, tuple[subprocess.Popen, float, Any]] = {}
    try:
        while waiting or running:
            for i in list(waiting):
                if len(running) >= parallel:
                    break
                job = jobs[i]
                if job.after is not None and job.after not in results:
                    continue
                waiting.remove(i)
                if _finished(job, REGISTRY):
                    _record(results, i, _outcome(job, "cached", 0.0), len(jobs), on_run, say)
                    continue
                recipe_file = write_text(dump_resolved(job.recipe), logs / f"{job.recipe.name}.yaml")
                handle = open(logs / f"{job.recipe.name}.log", "wb")  # noqa: SIM115 - closed when the run ends
                command = [sys.executable, "-m", "curate", "run", str(recipe_file), "--out", str(job.run_dir)]
                command += ["--resume", "--quiet", "--workers", str(run_workers)]
                process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
                running[i] = (process, time.perf_counter(), handle)
            for i, (process, t0, handle) in list(running.items()):
                if process.poll() is None:
                    continue
                handle.close()
                del running[i]
                seconds = time.perf_counter() - t0
                if process.returncode == 0:
                    outcome = _outcome(jobs[i], "done", seconds)
                else:
                    outcome = _outcome(
                        jobs[i], "failed", seconds, _log_error(Path(handle.name), process.returncode)
                    )
                _record(results, i, outcome, len(jobs), on_run, say)
            time.sleep(0.2)
    finally:
        for process, _, handle in running.values():
            process.terminate()
            process.wait()
            handle.close()
    return [results[i] for i in range(len(jobs))]


def _record(
    results: dict[int, RunOutcome],
    i: int,
    outcome: RunOutcome,
    total: int,
    on_run: Callable[[RunOutcome], None] | None,
    say: Callable[[str], None],
) -> None:
    results[i] = outcome
    say(_describe(outcome, len(results), total))
    if on_run is not None:
        on_run(outcome)


def _log_error(log: Path, code: int) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    last = (errors or lines or [f"exit status {code}"])[-1].strip()
    return f"{last} (log: {log})"


# ---------------------------------------------------------------------------------------------
# Results


def _finish(
    plan: SweepPlan,
    sweep_dir: Path,
    outcomes: list[RunOutcome],
    tokenizer: Path | None,
    warnings: list[str],
    seconds: float,
) -> SweepResult:
    rows = [
        {
            "variant": o.variant,
            "seed": o.seed,
            "weights": o.weights,
            "realised": o.realised,
            "metrics": o.metrics,
            "train": o.train,
            "eval": o.eval,
            "run_dir": str(o.run_dir),
        }
        for o in outcomes
        if o.status != "failed"
    ]
    metric = plan.sweep.metric
    standings = leaderboard(rows, sort_by=metric)
    names = metric_names(standings)
    if metric is not None and names and metric not in names:
        warnings.append(
            f"metric {metric!r} is not one the runs report ({', '.join(names)}): the leaderboard is unsorted"
        )
    metric = metric or default_sort_metric(names)
    token_info = None if tokenizer is None else {"path": str(tokenizer), "sha256": _sha256(tokenizer)}
    regression = _regression(plan, rows, metric, warnings)
    baseline = plan.sweep.baseline
    if baseline is not None and not any(s.variant == baseline and metric in s.metrics for s in standings):
        warnings.append(
            f"baseline {baseline!r} has no {metric} (its runs failed): compared with the best only"
        )
    comparisons = sweep_comparisons(rows, standings, metric, baseline=baseline)
    result = SweepResult(
        sweep_dir,
        outcomes,
        standings,
        metric,
        regression,
        token_info,
        warnings=warnings,
        comparisons=comparisons,
    )
    failed = [o.name for o in outcomes if o.status == "failed"]
    if failed:
        warnings.append(f"{len(failed)} runs failed: {', '.join(failed)} (see sweep.json)")
    if standings:
        result.files.update(write_leaderboard(sweep_dir, standings, plan, comparisons=comparisons))
    extra = _report_extra(plan, result)
    if rows:
        from curate.report.sweep import write_sweep_report

        result.files["report"] = write_sweep_report(
            sweep_dir,
            rows,
            sort_by=metric,
            title=f"Sweep {plan.name}",
            extra=extra,
            plots_dir=sweep_dir / "plots",
            baseline=baseline if "baseline" in {r for c in comparisons.values() for r in c} else None,
        )
        result.files.update({p.stem: p for p in sorted((sweep_dir / "plots").glob("*.png"))})
    summary = {
        "name": plan.name,
        "sweep_file": str(plan.path) if plan.path else None,
        "base": str(plan.base_path),
        "seeds": plan.sweep.seeds,
        "metric": metric,
        "tokenizer": token_info,
        "variants": [{"name": v.name, "set": v.set, "weights": v.weights} for v in plan.variants],
        "runs": [o.to_dict() for o in outcomes],
        "reuse": _reuse(sweep_dir, outcomes),
        "regression": None if regression is None else regression.to_dict(),
        "baseline": baseline,
        "comparisons": [c.to_dict() for by_role in comparisons.values() for c in by_role.values()],
        "warnings": warnings,
        "seconds": seconds,
    }
    result.files["summary"] = write_json(summary, sweep_dir / "sweep.json")
    return result


def _regression(
    plan: SweepPlan, rows: list[dict[str, Any]], metric: str | None, warnings: list[str]
) -> RegressionResult | None:
    options = plan.sweep.regression_options
    if options is None:
        return None
    target = options.metric or metric
    if target is None:
        warnings.append("regression skipped: no run has a metric")
        return None
    try:
        return mixture_regression(
            rows,
            metric=target,
            higher_is_better=higher_is_better(target),
            model=options.model,
            search=options.search,
            samples=options.samples,
            seed=options.seed,
        )
    except ValueError as exc:
        warnings.append(f"regression skipped: {exc}")
        return None


def _reuse(sweep_dir: Path, outcomes: list[RunOutcome]) -> dict[str, Any]:
    """How much step time the sweep saved by adoption, over every run directory it made (the
    tokenizer run included), however many calls it took."""
    dirs = [sweep_dir / "runs" / TOKENIZER_RUN, *(o.run_dir for o in outcomes)]
    totals = {"runs": 0, "steps": 0, "adopted": 0, "adopted_seconds": 0.0, "computed_seconds": 0.0}
    for directory in dirs:
        try:
            figures = step_figures(read_json(RunLayout(directory).manifest))
        except (FileNotFoundError, ValueError, KeyError):
            continue
        totals["runs"] += 1
        for key, value in figures.items():
            totals[key] += value
    spent = totals["adopted_seconds"] + totals["computed_seconds"]
    totals["adopted_share"] = totals["adopted_seconds"] / spent if spent > 0 else 0.0
    return totals


def _report_extra(plan: SweepPlan, result: SweepResult) -> dict[str, Any]:
    extra: dict[str, Any] = {"base recipe": str(plan.base_path)}
    if result.tokenizer:
        extra["tokenizer"] = f"shared: {result.tokenizer['path']} (sha256 {result.tokenizer['sha256'][:16]}…)"
    reuse = _reuse(result.sweep_dir, result.runs)
    extra["upstream reuse"] = (
        f"{reuse['adopted']} of {reuse['steps']} steps of {reuse['runs']} run directories adopted from a sibling: "
        f"{reuse['adopted_seconds']:.1f} s of step time not spent again, {reuse['computed_seconds']:.1f} s spent "
        f"({100 * reuse['adopted_share']:.0f}% saved)"
    )
    if result.regression is not None:
        extra["regression"] = result.regression.summary()
        if result.regression.best_observed:
            best = result.regression.best_observed
            extra["best run observed"] = (
                f"{best['variant']} seed {best['seed']}: {result.regression.metric} {best[result.regression.metric]:.4g}"
            )
    for i, warning in enumerate(result.warnings + (result.regression.warnings if result.regression else [])):
        extra[f"warning {i + 1}"] = warning
    return extra


def write_leaderboard(
    sweep_dir: Path,
    standings: list[Standing],
    plan: SweepPlan,
    *,
    comparisons: dict[str, dict[str, Comparison]] | None = None,
) -> dict[str, Path]:
    """``leaderboard.csv`` and ``.parquet``: one row per variant, best first; weights, every
    metric's mean / 95% CI / std over seeds, the values the variant set, and the paired comparison
    with the best and the baseline (``vs_best.*``, ``vs_baseline.*``: see :func:`comparison_columns`)."""
    import polars as pl

    sets = {v.name: v.set for v in plan.variants}
    flat = []
    for rank, standing in enumerate(standings, start=1):
        row = {"rank": rank, **standing.flat()}
        row.update({f"set.{k}": v for k, v in sets.get(standing.variant, {}).items()})
        row.update(comparison_columns((comparisons or {}).get(standing.variant, {})))
        flat.append(row)
    columns = list(dict.fromkeys(k for row in flat for k in row))
    data = {c: _column([row.get(c) for row in flat]) for c in columns}
    frame = pl.DataFrame(data)
    csv = write_atomic(sweep_dir / "leaderboard.csv", lambda tmp: frame.write_csv(tmp))
    parquet = write_atomic(sweep_dir / "leaderboard.parquet", lambda tmp: frame.write_parquet(tmp))
    return {"leaderboard_csv": csv, "leaderboard_parquet": parquet}


def comparison_columns(by_role: dict[str, Comparison]) -> dict[str, Any]:
    """``vs_<role>.reference``, ``.diff``, ``.low``, ``.high``, ``.verdict``, ``.seeds_needed``,
    ``.more_seconds``, ``.eval_noise`` (absolute), ``.eval_error`` (of the difference, in ``.low``/``.high``)
    and ``.eval_tokens_needed`` of a variant's comparisons."""
    out: dict[str, Any] = {}
    for role, c in by_role.items():
        d = c.difference
        out.update(
            {
                f"vs_{role}.reference": c.reference,
                f"vs_{role}.diff": d.mean,
                f"vs_{role}.low": d.low,
                f"vs_{role}.high": d.high,
                f"vs_{role}.verdict": d.verdict,
                f"vs_{role}.seeds_needed": c.seeds_needed,
                f"vs_{role}.more_seconds": c.more_seconds,
                f"vs_{role}.eval_noise": c.eval_noise,
                f"vs_{role}.eval_error": c.eval_error,
                f"vs_{role}.eval_tokens_needed": c.eval_tokens_needed,
            }
        )
    return out


def _column(values: list[Any]) -> Any:
    """Numbers stay numbers (None -> null); anything else (mappings, mixed types) becomes JSON text."""
    import polars as pl

    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return pl.Series(values, dtype=pl.Boolean)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pl.Series(values, dtype=pl.Float64 if any(isinstance(v, float) for v in present) else pl.Int64)
    return pl.Series(
        [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values], dtype=pl.String
    )


def leaderboard_table(
    standings: list[Standing],
    metric: str | None,
    *,
    comparisons: dict[str, dict[str, Comparison]] | None = None,
) -> Any:
    """The leaderboard as a rich table: rank, variant, seeds, weights, mean ± 95% CI per metric;
    with ``comparisons``, the paired difference with the best (and the baseline) and its verdict,
    and under the table what would settle each comparison that cannot tell."""
    from rich.table import Table

    comparisons = comparisons or {}
    sources = list(dict.fromkeys(k for s in standings for k in s.weights))
    metrics = shown_metrics(metric_names(standings), metric)
    roles = [r for r in ("best", "baseline") if any(r in by_role for by_role in comparisons.values())]
    references = {c.role: c.reference for by_role in comparisons.values() for c in by_role.values()}
    notes = advice_lines(comparisons)  # type: ignore[arg-type]
    table = Table(
        title=f"leaderboard (by {metric}, mean ± 95% CI over seeds)" if metric else "leaderboard",
        caption="\n".join(notes) if notes else None,
        caption_justify="left",
    )
    headers = ["#", "variant", "seeds", *[f"w.{s}" for s in sources], *metrics]
    headers += [f"{metric} vs {role} ({references[role]}), paired" for role in roles]
    for header in headers:
        table.add_column(header, justify="left" if header == "variant" else "right")
    for rank, s in enumerate(standings, start=1):
        by_role = comparisons.get(s.variant, {})
        compared = [by_role[r].cell() if r in by_role else "–" for r in roles]
        cells = [str(rank), s.variant, str(len(s.seeds))]
        cells += [f"{s.weights[src]:.3f}" if src in s.weights else "–" for src in sources]
        for m in metrics:
            summary = s.metrics.get(m)
            if summary is None:
                cells.append("–")
            else:
                ci = "" if summary.ci95 is None else f" ± {summary.ci95:.3g}"
                cells.append(f"{summary.mean:.4g}{ci}")
        table.add_row(*cells, *compared)
    return table
