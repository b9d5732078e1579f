"""``calibrate``: can this recipe's train-and-score loop see known damage in its own data?

::

    CAL_DIR/
      curation/                 the recipe without its train: block (one ordinary run directory)
      data/clean.jsonl          the curated training text, one {"text"} per document
      data/<defect>-<dose>.jsonl  perturbed copies (same number of documents)
      base.yaml                 the recipe that trains on data/clean.jsonl: its tokenizer, its train:
      sweep/                    an ordinary sweep over the data files (runs, leaderboard, report)
      calibrate.json  report.html  plots/calibrate.png

The curated text is read from the run's output, damaged in doses (:mod:`curate.calibrate.perturb`)
and written under ``data/``; a sweep whose variants differ only in their source file then trains
and scores every copy with the recipe's train block, one shared tokenizer (the recipe's own) and
the same seeds, so that each damaged copy pairs with the clean data seed by seed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from curate.calibrate.perturb import DEFECTS, Defect, dose_count, perturb
from curate.calibrate.result import CalibrationResult
from curate.calibrate.table import (
    CLEAN,
    calibration_table,
    smallest_detected,
    variant_name,
    verdict_lines,
)
from curate.errors import CurateError, UsageError
from curate.exec.pipe import RunMode, run_recipe
from curate.io.rundir import RunLayout, shard_files
from curate.io.writers import read_json, write_atomic, write_json
from curate.recipe import RecipeBase, dump_resolved, load_recipe, recipe_from_data
from curate.report.sweep import higher_is_better
from curate.sweep.runner import run_sweep
from curate.sweep.spec import Sweep, Variant, plan_sweep

DEFAULT_DOSES = (0.1, 0.25, 0.5)
DEFAULT_SEEDS = 4
"""Seeds per copy by default: on the benchmark corpus, 20% boilerplate at 2.5 epochs (+0.007 bpb,
per-seed sd 0.0026) is detected with 4 (t = 3.18) and missed with 3 (t = 4.30)."""
SOURCE = "data"
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
MIN_POOL = 20
"""A wrong-language pool smaller than this is not used (it would repeat a handful of pages)."""


def calibrate(
    recipe: str | os.PathLike | RecipeBase,
    *,
    out: str | os.PathLike | None = None,
    defects: Sequence[str] = DEFECTS,
    doses: Sequence[float] = DEFAULT_DOSES,
    seeds: Sequence[int] | None = None,
    confidence: float = 0.95,
    wrong_lang_pool: str | os.PathLike | None = None,
    epochs: float | None = None,
    mode: RunMode = "new",
    parallel: int = 1,
    workers: int | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Train and score the recipe's curated data and damaged copies of it; report the smallest
    dose of each defect the loop detects (a paired difference worse than clean at ``confidence``).

    ``seeds`` default to four seeds from the recipe's ``train.seed`` (``DEFAULT_SEEDS``). ``wrong_lang_pool``: a
    JSONL file of other-language documents (``text``); default: the pages the recipe's language
    stage removed as another language, else the bundled sample pages in other languages.
    ``epochs``: calibrate on a seeded slice of the curated documents, sized so that the train
    block passes over it this many times (repetition only shows after several passes: see
    docs/calibrate.md); default: all of them, the recipe's own budget.
    ``mode``, ``parallel``, ``workers``: as for sweeps (``resume`` keeps finished runs).
    """
    started = time.perf_counter()
    say = log or (lambda _message: None)
    if not isinstance(recipe, RecipeBase):
        recipe = load_recipe(recipe)
    defects, doses, seeds = _check_options(recipe, defects, doses, seeds, confidence, epochs)
    cal_dir = Path(out) if out is not None else Path("calibrations") / recipe.name
    _prepare(cal_dir, mode)

    say(f"calibrate {recipe.name}: curating once -> {cal_dir / 'curation'}")
    curation_dir = cal_dir / "curation"
    data = recipe.model_dump(mode="json")
    data.update(train=None)
    curation = recipe_from_data(data, source_name=f"{recipe.name} (curation for calibrate)")
    run_recipe(
        curation,
        run_dir=curation_dir,
        mode="resume" if mode == "new" else mode,
        workers=workers,
        progress=progress,
        report=False,
    )
    texts, language = curated_texts(curation_dir)
    if epochs is not None:
        total = len(texts)
        texts, full = slice_for_epochs(texts, epochs=epochs, curation_dir=curation_dir, recipe=recipe)
        say(
            f"--epochs {epochs:g}: {len(texts):,} of {total:,} curated documents (the train block passes "
            f"over all of them {full:.2g} times)"
        )
    pool, pool_source = (
        wrong_language_pool(curation_dir, language=language, path=wrong_lang_pool)
        if "wrong_lang" in defects
        else ([], None)
    )
    warnings: list[str] = []
    if pool_source is not None:
        say(f"wrong-language text: {pool_source}")
        needed = dose_count(len(texts), max(doses))
        if len(pool) < needed:
            warnings.append(
                f"the wrong-language pool has {len(pool):,} documents for up to {needed:,} replacements: "
                "some are used more than once"
            )

    files = _write_data(cal_dir / "data", texts, defects, doses, seed=recipe.seed, pool=pool)
    say(
        f"data: {len(texts):,} curated documents; {len(files) - 1} damaged copies "
        f"({', '.join(defects)} at {', '.join(f'{d:.0%}' for d in doses)}) -> {cal_dir / 'data'}"
    )
    base_path = _write_base(cal_dir, recipe, files[CLEAN], curation_dir)
    sweep = Sweep(
        base=str(base_path),
        name=f"{recipe.name}-calibrate",
        seeds=list(seeds),
        variants=[
            Variant(name=name, set={f"sources.{SOURCE}.path": str(path)}) for name, path in files.items()
        ],
    )
    plan = plan_sweep(sweep, source_name=f"calibrate {recipe.name}")
    result = run_sweep(
        plan,
        out=cal_dir / "sweep",
        workers=workers,
        parallel=parallel,
        mode="resume" if mode == "new" else mode,
        progress=progress,
        log=say,
    )
    metric = result.metric or "bpb"
    scores: dict[str, dict[int, float]] = {}
    for outcome in result.runs:
        if outcome.status != "failed" and metric in outcome.metrics:
            scores.setdefault(outcome.variant, {})[outcome.seed] = outcome.metrics[metric]
    rows = calibration_table(
        scores,
        defects=defects,
        doses=doses,
        higher_is_better=higher_is_better(metric),
        confidence=confidence,
    )
    epochs = _epochs([o.run_dir for o in result.runs if o.variant == CLEAN and o.status != "failed"])
    warnings += result.warnings
    calibration = CalibrationResult(
        cal_dir=cal_dir,
        metric=metric,
        rows=rows,
        smallest=smallest_detected(rows),
        lines=verdict_lines(rows, metric=metric, epochs=epochs),
        epochs=epochs,
        documents=len(texts),
        wrong_lang_source=pool_source,
        sweep=result,
        seconds=time.perf_counter() - started,
        confidence=confidence,
        warnings=warnings,
    )
    from curate.calibrate.report import write_calibration_report

    calibration.files.update(write_calibration_report(calibration))
    calibration.files["json"] = write_json(calibration.to_dict(), cal_dir / "calibrate.json")
    return calibration


def slice_for_epochs(
    texts: list[str], *, epochs: float, curation_dir: Path, recipe: RecipeBase
) -> tuple[list[str], float]:
    """The documents a calibration at ``epochs`` passes over: a seeded choice (the recipe's
    ``seed``) of ``n`` of them, in their curated order, with ``n`` such that the train block's
    rows per run over the curation's packed rows, scaled to ``n`` documents, is ``epochs``; and
    the passes the budget makes over all of them."""
    import numpy as np

    from curate.io.tokens import read_index
    from curate.train.pipeline import TOKENS_DIR, training_epochs

    assert recipe.train is not None  # _check_options
    try:
        rows = read_index(curation_dir / TOKENS_DIR).num_rows
    except CurateError:
        raise UsageError(
            "--epochs: the curation wrote no packed tokens to size the slice by; the recipe needs a tokenize stage"
        ) from None
    full = training_epochs(recipe.train, rows)
    n = round(len(texts) * full / epochs)
    if n >= len(texts):
        raise UsageError(
            f"--epochs {epochs:g}: the train block already passes over all {len(texts):,} curated documents "
            f"{full:.2g} times, and a slice can only raise that; use --epochs above {full:.2g} (or lower "
            "train.steps)"
        )
    if n < 10:
        raise UsageError(
            f"--epochs {epochs:g}: {n} of {len(texts):,} documents would be left ({full:.2g} passes over all "
            "of them); lower --epochs or train.steps"
        )
    keep = np.sort(np.random.default_rng([recipe.seed, 15]).permutation(len(texts))[:n])
    return [texts[int(i)] for i in keep], full


def _check_options(
    recipe: RecipeBase,
    defects: Sequence[str],
    doses: Sequence[float],
    seeds: Sequence[int] | None,
    confidence: float,
    epochs: float | None = None,
) -> tuple[list[Defect], list[float], list[int]]:
    if recipe.train is None:
        raise UsageError(
            f"recipe {recipe.name!r} has no train: block; calibrate trains and scores its data "
            "(add e.g. `train: {preset: tiny, steps: 300, eval: {path: ...}}`)"
        )
    unknown = [d for d in defects if d not in DEFECTS]
    if unknown or not defects:
        raise UsageError(f"--defects: unknown defect {unknown[0]!r}" if unknown else "--defects is empty")
    if not doses or any(not 0 < d < 1 for d in doses):
        raise UsageError(f"--doses: each dose is a fraction between 0 and 1 (exclusive), got {list(doses)}")
    if len(set(doses)) != len(doses) or len(set(defects)) != len(defects):
        raise UsageError("--defects and --doses must not repeat a value")
    if seeds is None:
        seeds = [recipe.train.seed + i for i in range(DEFAULT_SEEDS)]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise UsageError(
            f"--seeds: give at least two distinct seeds (a paired interval needs two), got {list(seeds)}"
        )
    if not 0 < confidence < 1:
        raise UsageError(f"--confidence must be between 0 and 1, got {confidence}")
    if epochs is not None and not epochs > 0:
        raise UsageError(f"--epochs must be above 0, got {epochs}")
    return list(defects), sorted(doses), list(seeds)  # type: ignore[return-value]


def _prepare(cal_dir: Path, mode: RunMode) -> None:
    if cal_dir.exists() and any(cal_dir.iterdir()):
        if mode == "new":
            raise UsageError(
                f"calibration directory {str(cal_dir)!r} already exists; pass --resume to continue it "
                "(finished runs are kept) or --force to start over"
            )
        if not (cal_dir / "base.yaml").exists() and not (cal_dir / "curation").exists():
            raise UsageError(
                f"{str(cal_dir)!r} is not a calibration directory (no base.yaml); choose another --out"
            )
    cal_dir.mkdir(parents=True, exist_ok=True)


def curated_texts(run_dir: Path) -> tuple[list[str], str | None]:
    """The text of every record in a run's output, and its most common ``lang`` (when a
    language stage labelled it). Refuses an output without text records (an SFT or preference
    format): calibrate damages pretraining text."""
    import polars as pl

    output = RunLayout(run_dir).output
    files = shard_files(output)
    frames = [pl.read_parquet(f) for f in files] or [
        pl.read_ndjson(f) for f in sorted(output.glob("part-*.jsonl"))
    ]
    if not frames:
        raise CurateError(f"{output}: the curated run wrote no output records; nothing to calibrate on")
    frame = pl.concat(frames, how="diagonal_relaxed")
    if "text" not in frame.columns:
        raise CurateError(
            f"{output}: the recipe's output has no text records (columns: {', '.join(frame.columns)}); "
            "calibrate damages pretraining text: use a recipe whose format stage is `kind: pretrain`"
        )
    texts = [t for t in frame.get_column("text").to_list() if t]
    language = None
    if "lang" in frame.columns:
        counts = frame.get_column("lang").drop_nulls().value_counts(sort=True)
        language = counts.row(0)[0] if counts.height else None
    if len(texts) < 10:
        raise CurateError(f"{output}: {len(texts)} curated documents are too few to damage in doses")
    return texts, language


def wrong_language_pool(
    run_dir: Path, *, language: str | None, path: str | os.PathLike | None = None
) -> tuple[list[str], str]:
    """Other-language documents and where they came from: ``path`` (JSONL with ``text``), else
    the records the run's language stage removed as another language, else the bundled sample
    pages in languages other than ``language`` (English when unknown)."""
    import polars as pl

    if path is not None:
        try:
            texts = [t for t in pl.read_ndjson(path).get_column("text").to_list() if t]
        except Exception as exc:
            raise UsageError(
                f"--wrong-lang-pool {path}: cannot read a JSONL file with a text field ({exc})"
            ) from None
        if not texts:
            raise UsageError(f"--wrong-lang-pool {path}: no documents with a text field")
        return texts, f"{len(texts):,} documents of {path}"
    removed: list[str] = []
    for directory in sorted((Path(run_dir) / "rejected").glob("*-language")):
        for shard in shard_files(directory):
            frame = pl.read_parquet(shard)
            if "text" in frame.columns and "reason" in frame.columns:
                removed += frame.filter(pl.col("reason") == "lang_not_kept").get_column("text").to_list()
    removed = [t for t in removed if t]
    if len(removed) >= MIN_POOL:
        return removed, f"{len(removed):,} documents the recipe's language stage removed as another language"
    keep = language or "en"
    truth = SAMPLE_DATA / "truth" / "web_truth.json"
    if not truth.exists():
        raise UsageError(
            f"no wrong-language text: the recipe's language stage removed {len(removed)} documents as another "
            "language and the bundled samples (sample_data/) are not installed; pass --wrong-lang-pool FILE.jsonl"
        )
    pages: list[str] = []
    for name, lines in read_json(truth)["files"].items():
        wanted = {e["line"] for e in lines if e.get("status") == "good" and e.get("lang") not in (keep, None)}
        with open(SAMPLE_DATA / name, "rb") as handle:  # the samples plant a few undecodable lines
            pages += [
                json.loads(line.decode("utf-8"))["text"]
                for n, line in enumerate(handle, start=1)
                if n in wanted
            ]
    return pages, f"{len(pages):,} bundled sample pages (sample_data/web) in languages other than {keep!r}"


def _write_data(
    directory: Path,
    texts: list[str],
    defects: Sequence[Defect],
    doses: Sequence[float],
    *,
    seed: int,
    pool: list[str],
) -> dict[str, Path]:
    """``clean.jsonl`` and one file per (defect, dose); a file whose bytes are unchanged is left
    alone (its time stamp too), so a resumed calibration keeps its runs."""
    files = {CLEAN: _write_if_changed(directory / f"{CLEAN}.jsonl", texts)}
    for defect in defects:
        for dose in doses:
            name = variant_name(defect, dose)
            damaged = perturb(texts, defect, dose, seed=seed, pool=pool)
            files[name] = _write_if_changed(directory / f"{name}.jsonl", damaged.texts)
    return files


def _write_if_changed(path: Path, texts: Sequence[str]) -> Path:
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts).encode("utf-8")
    if path.exists() and hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(body).digest():
        return path.resolve()
    write_atomic(path, lambda tmp: tmp.write_bytes(body))
    return path.resolve()


def _write_base(cal_dir: Path, recipe: RecipeBase, clean: Path, curation_dir: Path) -> Path:
    """The recipe every copy trains with: one source (the data file), the recipe's tokenize stage
    with the tokenizer the curation trained, the recipe's train block (eval paths absolute)."""
    data = yaml.safe_load(dump_resolved(recipe))
    tokenize = next((copy.deepcopy(e["tokenize"]) for e in data["stages"] if "tokenize" in e), None)
    if tokenize is None:
        raise UsageError(f"recipe {recipe.name!r} has no tokenize stage; calibrate trains on its tokens")
    tokenize["sources"] = None
    if tokenize.get("model") is None and tokenize.get("hf") is None:
        tokenize.pop("train", None)
        tokenize["model"] = str((curation_dir / "tokenizer" / "tokenizer.model").resolve())
    train = data["train"]
    train.pop("seed", None)
    _absolute_eval_paths(train)
    base = {
        "name": f"{recipe.name}-calibrate",
        "seed": recipe.seed,
        "sources": [{"name": SOURCE, "path": str(clean), "text_field": "text"}],
        "stages": [{"tokenize": tokenize}],
        "train": train,
    }
    path = cal_dir / "base.yaml"
    text = yaml.safe_dump(base, sort_keys=False, allow_unicode=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def _absolute_eval_paths(train: dict[str, Any]) -> None:
    """Eval paths (and a local init_from) made absolute: the calibration runs elsewhere."""

    def absolute(value: Any) -> Any:
        if isinstance(value, str):
            return os.path.abspath(value)
        if isinstance(value, list):
            return [absolute(v) for v in value]
        if isinstance(value, dict) and value.get("path"):
            return {**value, "path": absolute(value["path"])}
        return value

    evals = train.get("eval")
    if isinstance(evals, dict):
        if evals.get("path"):
            evals["path"] = absolute(evals["path"])
        for key in ("sets", "tasks"):
            if isinstance(evals.get(key), dict):
                evals[key] = {name: absolute(spec) for name, spec in evals[key].items()}
    init = train.get("init_from")
    if isinstance(init, str) and init != "scratch" and not init.startswith(("base:", "hf:")):
        train["init_from"] = os.path.abspath(init)


def _epochs(run_dirs: Sequence[Path]) -> float | None:
    """Passes over the clean data the training made (score.json ``epochs``), the first clean run's."""
    for run_dir in run_dirs:
        try:
            value = read_json(RunLayout(run_dir).score_file).get("epochs")
        except (FileNotFoundError, ValueError):
            continue
        if isinstance(value, (int, float)):
            return float(value)
    return None
