"""The pipe loop: the one place that turns a recipe into steps and runs them on an executor.

For each step (read, every recipe stage, output) it computes a cache key (the upstream key, the
step's config and, for the read step, the input files' fingerprints), skips the step if a
completed copy with that key exists (here or in a sibling run), and otherwise asks the executor to
map the step's task over the shards that lack a completion marker. Executors only schedule, so
the same recipe gives the same bytes with any executor and any number of workers.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import polars as pl
import xxhash
from pydantic import BaseModel
from rich.markup import escape

from curate.errors import CurateError, InputError, StageError
from curate.exec.executor import Executor, make_executor
from curate.exec.output import write_output
from curate.exec.progress import StepProgress
from curate.exec.read_ids import reject_duplicate_ids
from curate.exec.rundir import ARTIFACTS, PARTIALS, STATE, RunDir, Step
from curate.exec.tasks import (
    ReadTask,
    ShardTask,
    partial_file,
    run_apply,
    run_read,
    run_rescan,
    run_summarize,
    shard_file,
)
from curate.io import fs
from curate.io import state as state_file
from curate.io.readers import Piece, input_files, input_warnings, plan_pieces
from curate.io.rundir import RunLayout, shard_files
from curate.io.writers import read_json, write_json, write_text
from curate.recipe import RecipeBase, check_train_inputs, dump_resolved
from curate.stages import REGISTRY, StageRegistry
from curate.stages.base import GlobalStage, ShardInfo, StageContext
from curate.terminal import markup_safe
from curate.version import __version__

RunMode = Literal["new", "resume", "force"]
MB = 1_000_000
# A step whose single most frequent removal reason takes at least this share of its input gets a
# warning in the run output, the manifest and the run card: such a share is rarely intended.
UNUSUAL_REMOVAL_SHARE = 0.9
# Removal reasons that are the recipe's own choice of how much to keep, never a surprise.
CHOSEN_REMOVALS = ("mix_not_sampled",)
# What a user can check when a source loses every record at the read step to one of these reasons.
_READ_HINTS = {
    "bad_input:missing_text": "is the source's text_field ({text_field!r}) the field that holds the text?",
    "bad_input:null_text": "is the source's text_field ({text_field!r}) the field that holds the text?",
    "bad_input:not_a_string": "is the source's text_field ({text_field!r}) the field that holds the text?",
    "bad_input:empty_text": "is the source's text_field ({text_field!r}) the field that holds the text?",
    "bad_input:missing_id": "is the source's id_field ({id_field!r}) in every record?",
    "bad_chat": "does the source's format ({format!r}) match the shape of its records?",
    "bad_pair": "does the source's format ({format!r}) match the shape of its records?",
}


@dataclass
class StepPlan:
    step: Step
    kind: Literal["read", "batch", "global", "output", "train"]
    config: BaseModel | None = None
    stage: Any = None


@dataclass
class RunResult:
    run_dir: Path
    manifest: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)


def _hash(*parts: Any) -> str:
    h = xxhash.xxh3_128()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


def _file_prints(paths: list[str]) -> list[Any]:
    return [fs.fingerprint(path) for path in paths]


def _fingerprint(recipe: RecipeBase) -> list[Any]:
    """What the read step's output depends on besides its config: the files, their sizes and times."""
    prints: list[Any] = []
    for source in recipe.sources:
        prints += _file_prints(input_files(source))
    return prints


def plan_steps(recipe: RecipeBase, *, registry: StageRegistry = REGISTRY) -> list[StepPlan]:
    """Every step of a run with its cache key; cheap, reads no data."""
    read_config = {
        "sources": [s.model_dump(mode="json") for s in recipe.sources],
        "shard_mb": recipe.execution.shard_mb,
    }
    # polars is in the key: stages hash and order with it, so its version may change their bytes
    key = _hash("read", __version__, _versions()["polars"], read_config, _fingerprint(recipe))
    plans = [StepPlan(Step(0, "read", key), "read")]
    for i, (name, config) in enumerate(recipe.stage_list(), start=1):
        stage = registry[name]
        is_global = isinstance(stage, GlobalStage)
        seed = recipe.seed if is_global else None
        files = stage.inputs(config) if stage.inputs is not None else []
        key = _hash(key, name, __version__, config.model_dump(mode="json"), seed, _file_prints(files))
        plans.append(StepPlan(Step(i, name, key), "global" if is_global else "batch", config, stage))
    key = _hash(key, "output", recipe.output.model_dump(mode="json"))
    plans.append(StepPlan(Step(len(plans), "output", key), "output", recipe.output))
    if recipe.train is not None:
        train = recipe.train
        files = _train_inputs(train)
        key = _hash(key, "train", __version__, train.model_dump(mode="json"), _file_prints(files))
        plans.append(StepPlan(Step(len(plans), "train", key), "train", train))
    return plans


def _train_inputs(train: Any) -> list[str]:
    """Files the train step reads besides the run's tokens: the eval set, a checkpoint to start from."""
    import glob

    patterns = train.eval.all_patterns()
    files = sorted(f for p in patterns for f in glob.glob(p, recursive=True))
    if train.init_from.startswith("hf:"):  # the model's files: a changed model trains again
        from curate.train.models.hf_dir import model_files, resolve_model_dir

        files += [str(p) for p in model_files(resolve_model_dir(train.hf_model))]
    elif not train.init_from.startswith("base:") and train.init_from != "scratch":
        files.append(train.init_from)
    return files


def preflight(plans: list[StepPlan]) -> None:
    """Checks a stage can make before any work starts (models exist, options fit each other)."""
    for plan in plans:
        check = getattr(plan.stage, "check", None)
        if check is not None:
            try:
                check(plan.config)
            except CurateError as exc:
                message = str(exc).removeprefix(f"{plan.step.name}: ")
                raise type(exc)(f"stages[{plan.step.index - 1}].{plan.step.name}: {message}") from None


def check_recipe(recipe: RecipeBase, *, registry: StageRegistry = REGISTRY) -> list[StepPlan]:
    """The steps of ``recipe`` after every check a run makes before it starts (``curate validate``
    runs exactly these): models load, their labels and codes match the options, and so on."""
    plans = plan_steps(recipe, registry=registry)
    check_train_inputs(recipe)  # before the implied decontaminate stage reads the eval set
    preflight(plans)
    if recipe.train is not None and recipe.train.eval.scored:
        from curate.train.evalset import check_eval_set

        check_eval_set(recipe.train.eval)  # scoring would otherwise fail only after training
    from curate.train.memory import check_memory

    check_memory(recipe)  # refuse what cannot fit, rather than be killed by the kernel hours later
    from curate.track import check_trackers

    check_trackers(recipe.track)  # a tracker named but not installed: say so now, not after the run
    return plans


class Pipe:
    """One run of one recipe in one run directory."""

    def __init__(
        self,
        recipe: RecipeBase,
        run_dir: str | os.PathLike,
        *,
        executor: Executor,
        registry: StageRegistry = REGISTRY,
        progress: StepProgress | None = None,
        search: list[Path] | None = None,
        report: bool = True,
    ) -> None:
        self.recipe, self.executor, self.registry = recipe, executor, registry
        self.report = report
        # absolute: tasks get this path and may run in another working directory (or on another node)
        self.run = RunDir(Path(run_dir).absolute())
        self.progress = progress or StepProgress(enabled=False)
        self.search = search
        self.shards: list[ShardInfo] = []
        self.shard_names: list[str] = []
        self.step_stats: list[dict[str, Any]] = []
        self.plans: list[StepPlan] = []
        self.input_warnings: list[str] = []

    # -- the loop ------------------------------------------------------------------------------
    def execute(self, *, mode: RunMode = "new") -> RunResult:
        plans = self.plans = check_recipe(self.recipe, registry=self.registry)
        self.input_warnings = input_warnings(self.recipe.sources)
        self.run.prepare(mode=mode)
        try:
            write_text(dump_resolved(self.recipe), self.run.recipe_file)
            self.run.prune([p.step for p in plans])
            started = time.perf_counter()
            for plan in plans:
                stats = self._run_step(plan)
                self.step_stats.append(stats)
                self._write_manifest(plans, time.perf_counter() - started, complete=False)
                self._stop_if_nothing_left(plan, stats)
            manifest = self._write_manifest(plans, time.perf_counter() - started, complete=True)
            if self.report:
                self._write_report()
            if self.recipe.track is not None:
                self._track()
        finally:
            self.run.unlock()
        return RunResult(self.run.root, manifest, self.step_stats)

    def _write_report(self) -> None:
        """The run card; a finished run never fails because its page could not be drawn."""
        from curate.report import write_report

        try:
            write_report(self.run.root)
        except Exception as exc:
            self.progress.console.print(
                f"[yellow]warning:[/] report.html not written: {type(exc).__name__}: {markup_safe(exc)}",
                highlight=False,
            )

    def _track(self) -> None:
        """Log the finished run to the recipe's trackers; a tracker that fails warns, the run stays."""
        from curate.track import log_run
        from curate.train.evalset import flat_metrics

        score = read_json(self.run.score_file) if self.run.score_file.exists() else None
        scores = flat_metrics(score)
        scores.update({k: score[k] for k in ("delta_bpb", "delta_pref_accuracy") if score and k in score})
        log_run(
            self.run.root,
            self.recipe.track,  # type: ignore[arg-type]
            scores=scores,
            warn=lambda message: self.progress.console.print(
                f"[yellow]warning:[/] {markup_safe(message)}", highlight=False
            ),
        )

    def _run_step(self, plan: StepPlan) -> dict[str, Any]:
        step = plan.step
        self.run.notes.clear()
        if self.run.adopt(step, search=self.search):
            stats = read_json(self.run.stats(step))
            stats["cached"] = True
            self._load_shards_after(plan)
            self.progress.cached(step, stats)
            return stats
        cache_notes = list(self.run.notes)
        for note in cache_notes:
            self.progress.console.print(f"[yellow]warning:[/] {markup_safe(note)}", highlight=False)
        self.run.begin(step)
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if plan.kind == "read":
            markers = self._read(plan)
        elif plan.kind == "output":
            markers, extra = self._output(plan)
            write_text(" ".join(extra.pop("artifacts")), self.run.stage(step) / ARTIFACTS)
        elif plan.kind == "train":
            markers, extra = [], {"train": self._train(plan)}
            own = ["train", "score.json"] + (["eval_docs"] if self.run.eval_docs_dir.is_dir() else [])
            write_text(" ".join(own), self.run.stage(step) / ARTIFACTS)
        else:
            if plan.kind == "global":
                extra = self._fit(plan)
            markers = self._apply(plan)
            if plan.kind == "global" and plan.stage.finalize is not None:
                extra.update(self._finalize(plan))
        stats = _aggregate(step, markers, time.perf_counter() - started)
        stats.update(extra)
        digest = getattr(plan.stage, "digest", None)
        if digest is not None:
            stats.update(digest(stats["counters"], plan.config))
        if cache_notes:
            stats["not_reused"] = cache_notes
        stats["warnings"] = step_warnings(stats)
        self.run.finish(step, stats)
        self.progress.finished(step, stats)
        return stats

    # -- read ----------------------------------------------------------------------------------
    def _read(self, plan: StepPlan) -> list[dict[str, Any]]:
        shard_bytes = int(self.recipe.execution.shard_mb * MB)
        pieces = plan_pieces(self.recipe.sources, shard_bytes=shard_bytes)
        done = self.run.done_shards(plan.step)
        todo = [
            ReadTask(str(self.run.root), plan.step, p, self.recipe.source(p.source), shard_bytes)
            for p in pieces
            if p.name not in done
        ]
        total_bytes = sum(_piece_bytes(p) for p in pieces)
        self.progress.start(
            plan.step, total=len(pieces), completed=len(pieces) - len(todo), unit="pieces", size=total_bytes
        )
        for marker in self.executor.map_unordered(run_read, todo):
            done[marker["piece"]] = marker
            self.progress.advance(plan.step, marker)
        markers = [done[p.name] for p in pieces]
        if any(s.id_field is not None for s in self.recipe.sources):  # ids from the data may repeat
            markers = reject_duplicate_ids(self.run, plan.step, markers)
        self._set_shards(markers)
        return markers

    def _stop_if_nothing_left(self, plan: StepPlan, stats: dict[str, Any]) -> None:
        """Stop right after a step that leaves nothing to continue with, naming the step and its
        top removal reasons (rather than letting a later step fail for want of records); at the
        read step, also when one source has no usable record at all."""
        if plan.kind not in ("read", "batch", "global"):
            return
        step = plan.step
        records = stats["records"]
        inspect = (
            f"see {self.run.rejected(step)} (`curate inspect {self.run.root} --stage {step.name} --rejected`)"
        )
        if plan.kind == "read":
            by_source = stats.get("sources")
            if records["in"] == 0:
                raise InputError("no record in the input: every input file is empty")
            if by_source is None:  # the stats of a read step cached by an older version
                if not records["out"]:
                    raise InputError(
                        f"no usable record in the input: {records['in']:,} read, all quarantined as bad "
                        f"input ({_reason_list(stats.get('reasons') or {})}); {inspect}"
                    )
                return
            for source in self.recipe.sources:
                counts = by_source.get(source.name) or {"in": 0, "out": 0, "reasons": {}}
                if not counts["in"]:
                    raise InputError(
                        f"{step.dirname}: source {source.name!r} holds no record: the files of its "
                        f"path {source.path!r} are empty"
                    )
                if not counts["out"]:
                    name = source.name
                    raise InputError(
                        f"{step.dirname}: source {name!r} has no usable record: {counts['in']:,} read, "
                        f"all quarantined as bad input ({_reason_list(counts['reasons'])})"
                        f"{_read_hint(counts['reasons'], source)}; {inspect}"
                    )
            return
        if records["in"] and not records["out"]:
            raise StageError(
                f"{step.dirname} removed every record ({records['in']:,} in, 0 out: "
                f"{_reason_list(stats.get('reasons') or {})}); nothing is left for the steps after it. "
                f"Loosen or scope the stage (its `sources:`), or fix its input; {inspect}"
            )

    def _set_shards(self, read_markers: list[dict[str, Any]]) -> None:
        entries = [s for m in read_markers for s in m["shards"]]
        self.shard_names = [s["shard"] for s in entries]
        self.shards = [ShardInfo(i, s["source"], s["kind"]) for i, s in enumerate(entries)]

    def _load_shards_after(self, plan: StepPlan) -> None:
        if plan.kind == "read":
            done = self.run.done_shards(plan.step)
            self._set_shards([done[k] for k in sorted(done)])

    # -- batch and global stages ---------------------------------------------------------------
    def _shard_tasks(self, plan: StepPlan, state_path: str | None = None) -> list[ShardTask]:
        prev = self._previous(plan)
        return [
            ShardTask(str(self.run.root), plan.step, prev, info, name, plan.stage, plan.config, state_path)
            for info, name in zip(self.shards, self.shard_names, strict=True)
        ]

    def _previous(self, plan: StepPlan) -> Step:
        return self.plans[plan.step.index - 1].step

    def _apply(self, plan: StepPlan) -> list[dict[str, Any]]:
        state_path = str(self.run.stage(plan.step) / STATE) if plan.kind == "global" else None
        done = self.run.done_shards(plan.step)
        tasks = [t for t in self._shard_tasks(plan, state_path) if t.name not in done]
        self.progress.start(
            plan.step, total=len(self.shards), completed=len(self.shards) - len(tasks), unit="shards"
        )
        for marker in self.executor.map_unordered(run_apply, tasks):
            done[marker["shard"]] = marker
            self.progress.advance(plan.step, marker)
        return [done[name] for name in self.shard_names]

    def _context(self, plan: StepPlan, partial_files: Sequence[Path] = ()) -> StageContext:
        """What fit/refit/finalize get: the run's executor (so a fit can map sub-tasks on it,
        wherever the pipe runs) and the files holding the partials it is handed."""
        kinds = {s.name: s.kind for s in self.recipe.sources}
        return StageContext(
            self.run.root,
            self.run.stage(plan.step),
            self.recipe.seed,
            kinds,
            tuple(self.shards),
            map_tasks=self.executor.map_unordered,
            workers=self.executor.workers,
            partial_files=tuple(partial_files),
        )

    def _fit(self, plan: StepPlan) -> dict[str, Any]:
        """Summarize every shard, fit the state (and rescan + refit when the stage asks for it)."""
        stage: GlobalStage = plan.stage
        directory = self.run.stage(plan.step)
        state_path = directory / STATE
        fit_stats_path = directory / "_fit_stats.json"
        if state_path.exists() and fit_stats_path.exists():
            return {"fit": read_json(fit_stats_path)}
        partials = self._partials(plan, run_summarize, directory / PARTIALS, "summarize")
        started = time.perf_counter()
        self.progress.note(plan.step, "fit")
        result = stage.fit(partials, plan.config, self._context(plan, partials.paths))
        if result.needs_rescan:
            if stage.rescan is None or stage.refit is None:
                raise StageError(
                    f"stage {plan.step.name!r} asked for a rescan but has no rescan/refit functions"
                )
            first_path = directory / "_state_first.npz"
            state_file.save(result.state, first_path)
            rescans = self._partials(
                plan, run_rescan, directory / "_rescan", "rescan", state_path=str(first_path)
            )
            self.progress.note(plan.step, "refit")
            result = stage.refit(rescans, plan.config, result.state, self._context(plan, rescans.paths))
        state_file.save(result.state, state_path)
        fit_stats = {**result.stats, "fit_seconds": time.perf_counter() - started}
        write_json(fit_stats, fit_stats_path)
        for warning in fit_stats.get("warnings", []):  # also kept in the step's stats
            self.progress.console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        return {"fit": fit_stats}

    def _partials(
        self,
        plan: StepPlan,
        task_fn: Callable[[ShardTask], Any],
        directory: Path,
        phase: str,
        state_path: str | None = None,
    ) -> _PartialList:
        """Run a per-shard pass whose results are stored under ``directory``; they load lazily.
        Shards of sources the stage does not apply to take no part."""
        selected = [t for t in self._shard_tasks(plan, state_path) if plan.config.applies_to(t.shard.source)]
        tasks = [t for t in selected if not partial_file(directory, t.name).exists()]
        total = len(selected)
        self.progress.start(plan.step, total=total, completed=total - len(tasks), unit="shards", phase=phase)
        for marker in self.executor.map_unordered(task_fn, tasks):
            self.progress.advance(plan.step, marker)
        return _PartialList([partial_file(directory, t.name) for t in selected])

    def _finalize(self, plan: StepPlan) -> dict[str, Any]:
        stage: GlobalStage = plan.stage
        directory = self.run.stage(plan.step)
        paths = [shard_file(directory, name) for name in self.shard_names]
        from curate.exec.tasks import load_state

        self.progress.note(plan.step, "finalize")
        stats = stage.finalize(paths, plan.config, load_state(str(directory / STATE)), self._context(plan))
        artifacts = stats.pop("artifacts", [])
        if artifacts:
            write_text(" ".join(artifacts), directory / ARTIFACTS)
        return {"finalize": stats}

    # -- train ---------------------------------------------------------------------------------
    def _train(self, plan: StepPlan) -> dict[str, Any]:
        from curate.train.pipeline import tokenize_template, train_and_score

        template, system_prompt = tokenize_template(self.recipe)
        self.progress.note(plan.step, "training")
        return train_and_score(
            self.run.root,
            plan.config,
            sources=self.recipe.sources,
            template=template,
            system_prompt=system_prompt,
            recipe_hash=plan.step.key,
            progress=self.progress.enabled,
        )

    # -- output --------------------------------------------------------------------------------
    def _output(self, plan: StepPlan) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        prev = self._previous(plan)
        self.progress.start(plan.step, total=len(self.shards), completed=0, unit="shards")
        markers, extra = write_output(
            self.run,
            plan.step,
            prev,
            self.shard_names,
            self.shards,
            self.recipe,
            self.executor,
            on_shard=lambda m: self.progress.advance(plan.step, m),
            step_stats=self.step_stats,
        )
        return markers, extra

    # -- manifest ------------------------------------------------------------------------------
    def _write_manifest(self, plans: list[StepPlan], seconds: float, *, complete: bool) -> dict[str, Any]:
        steps = self.step_stats
        read = steps[0] if steps else None
        final = next((s for s in steps if s["stage"] == "output"), None)
        score = next((s["train"] for s in steps if s["stage"] == "train"), None)
        rejected = sum(s["records"]["dropped"] for s in steps)
        added = sum(s["records"]["added"] for s in steps)
        records_in = read["records"]["in"] if read else 0
        records_out = final["records"]["out"] if final else None
        manifest = {
            "name": self.recipe.name,
            "complete": complete,
            "curate_version": __version__,
            "versions": _versions(),
            "python": platform.python_version(),
            "seed": self.recipe.seed,
            "seconds": seconds,
            "keys": {p.step.dirname: p.step.key for p in plans},
            "score": None if score is None else score.get("metrics"),
            "warnings": self.input_warnings + [w for s in steps for w in s.get("warnings") or ()],
            "steps": steps,
            "accounting": {
                "records_in": records_in,
                "records_out": records_out,
                "rejected": rejected,
                "added": added,
                "balanced": None if records_out is None else records_in + added == records_out + rejected,
            },
        }
        write_json(manifest, self.run.manifest)
        return manifest


class _PartialList(Sequence):
    """Partials loaded lazily from disk, in shard order: fit can stream them."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return state_file.load(self.paths[i])

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


def _piece_bytes(piece: Piece) -> int:
    total = 0
    for span in piece.spans:
        try:
            end = span.end if span.end is not None else fs.size(span.path)
            total += end - span.start
        except OSError:
            pass
    return total


def _aggregate(step: Step, markers: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    counters: Counter[str] = Counter()
    for marker in markers:
        for k in ("in", "out", "dropped", "added"):
            totals[k] += marker.get(k, 0)
        reasons.update(marker.get("reasons", {}))
        counters.update(marker.get("counters", {}))
    work_seconds = sum(m.get("seconds", 0.0) for m in markers)
    sources: dict[str, dict[str, Any]] = {}
    for marker in markers:
        if marker.get("source") is None:
            continue
        entry = sources.setdefault(marker["source"], {"in": 0, "out": 0, "reasons": Counter()})
        entry["in"] += marker.get("in", 0)
        entry["out"] += marker.get("out", 0)
        entry["reasons"].update(marker.get("reasons", {}))
    return {
        "stage": step.name,
        "index": step.index,
        "dir": step.dirname,
        "key": step.key,
        "records": {k: int(totals[k]) for k in ("in", "out", "dropped", "added")},
        "reasons": dict(reasons.most_common()),
        "counters": dict(sorted(counters.items())),
        "sources": {
            name: {**entry, "reasons": dict(entry["reasons"].most_common())}
            for name, entry in sorted(sources.items())
        },
        "shards": len(markers),
        "seconds": seconds,
        "work_seconds": work_seconds,
        "records_per_s": totals["in"] / seconds if seconds > 0 else None,
        "cached": False,
    }


def _reason_list(reasons: dict[str, int], n: int = 3) -> str:
    """'reason count, ...' for the ``n`` most frequent reasons, and how many others."""
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{name} {count:,}" for name, count in top[:n])
    if len(top) > n:
        text += f", {sum(c for _, c in top[n:]):,} by {len(top) - n} other reason(s)"
    return text or "no reason recorded"


def _read_hint(reasons: dict[str, int], source: Any) -> str:
    if not reasons:
        return ""
    top = max(reasons.items(), key=lambda kv: kv[1])[0]
    hint = _READ_HINTS.get(top) or _READ_HINTS.get(top.split(":")[0])
    return "" if hint is None else ": " + hint.format(**source.model_dump())


def step_warnings(stats: dict[str, Any]) -> list[str]:
    """Warnings about a step a user would want to know of: one rule removing an unusual share
    (``UNUSUAL_REMOVAL_SHARE``) of the step's input, every record of one source removed, or (the
    train step) training that repeats its data many times."""
    warnings = list((stats.get("train") or {}).get("warnings") or ())
    name, records = stats["dir"], stats["records"]
    reasons = {k: v for k, v in (stats.get("reasons") or {}).items() if k not in CHOSEN_REMOVALS}
    if records["in"] and reasons:
        reason, count = max(reasons.items(), key=lambda kv: (kv[1], kv[0]))
        share = count / records["in"]
        if share >= UNUSUAL_REMOVAL_SHARE:
            warnings.append(
                f"{name}: one rule, {reason}, removed {share:.0%} of the step's input "
                f"({count:,} of {records['in']:,} records); check its threshold"
            )
    for source, counts in (stats.get("sources") or {}).items():
        chosen = sum(counts["reasons"].get(r, 0) for r in CHOSEN_REMOVALS)
        if counts["in"] and not counts["out"] and chosen < counts["in"] and len(stats.get("sources")) > 1:
            warnings.append(
                f"{name}: removed every record of source {source!r} "
                f"({_reason_list({k: v for k, v in counts['reasons'].items() if k not in CHOSEN_REMOVALS})})"
            )
    return warnings


def _versions() -> dict[str, str | None]:
    names = [
        "polars",
        "pyarrow",
        "datasets",
        "datasketch",
        "fasttext-wheel",
        "sentencepiece",
        "torch",
        "pydantic",
        "numpy",
    ]
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def run_recipe(
    recipe: RecipeBase,
    *,
    run_dir: str | os.PathLike | None = None,
    mode: RunMode = "new",
    workers: int | None = None,
    executor: Executor | None = None,
    registry: StageRegistry = REGISTRY,
    progress: bool = False,
    report: bool = True,
) -> RunResult:
    """Run a validated recipe; the library entry point behind ``curate run``.

    The executor is ``executor`` when given (left open), else the one ``recipe.execution`` asks
    for (local processes or Ray; closed at the end), with ``workers`` overriding the recipe's."""
    run_dir = Path(run_dir) if run_dir is not None else Path("runs") / recipe.name
    own_executor = executor is None
    if executor is None:
        executor = make_executor(recipe.execution, workers=workers)
    try:
        pipe = Pipe(
            recipe, run_dir, executor=executor, registry=registry, progress=StepProgress(enabled=progress)
        )
        with pipe.progress:
            return pipe.execute(mode=mode)
    finally:
        if own_executor:
            executor.close()


def read_shard(run_dir: str | os.PathLike, dirname: str, *, rejected: bool = False) -> pl.LazyFrame:
    """All shards of one step of a run, lazily (for inspect and tests)."""
    layout = RunLayout(run_dir)
    files = shard_files(layout.rejected_dir(dirname) if rejected else layout.stage_dir(dirname))
    if not files:
        return pl.LazyFrame()
    return pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
