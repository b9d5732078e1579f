"""The command line: parse, validate, call the library, print. Nothing else lives here."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import typer
from rich.console import Console

from curate.errors import CurateError, UsageError
from curate.terminal import markup_safe

if TYPE_CHECKING:
    from curate.recipe import RecipeBase

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="curate: turn raw text corpora into LLM training sets, and score data recipes.",
)
# Logs and pipes are not 80 columns wide: give tables room there (terminals use their own width).
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
_state = {"debug": False}


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Register a command whose failures become one message and an exit code (see _fail)."""

    @functools.wraps(fn)
    def run_or_explain(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            _fail(exc)

    return app.command()(run_or_explain)


def _print_version(value: bool) -> None:
    if value:
        from curate.version import __version__

        out.print(f"curate {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.", metavar="")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print curate's version and exit.",
            callback=_print_version,
            is_eager=True,
            metavar="",
        ),
    ] = False,
) -> None:
    _state["debug"] = debug


def _fail(exc: BaseException) -> None:
    if _state["debug"]:
        raise exc
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted: finished work is kept; continue with --resume", highlight=False)
        raise typer.Exit(130)
    if isinstance(exc, CurateError):
        # escaped: messages hold brackets (pip install "curate[ray]", stages[2].dedupe) that rich would eat
        # and made printable: messages may quote record text holding terminal escapes
        err.print(f"[bold red]error:[/] {markup_safe(exc)}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code)
    err.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {markup_safe(exc)}\n(run with --debug for the traceback)",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


def override_execution(
    recipe: RecipeBase, *, executor: Literal["local", "ray"] | None = None, address: str | None = None
) -> RecipeBase:
    """The recipe with command-line execution settings in place of its own: ``address`` implies
    executor ray; switching to local drops the recipe's address."""
    from curate.recipe import Execution

    if executor is None and address is None:
        return recipe
    if executor == "local" and address is not None:
        raise UsageError("--address is a Ray cluster address; it cannot be used with --executor local")
    settings = recipe.execution.model_dump()
    settings["executor"] = executor or "ray"
    if settings["executor"] == "local":
        settings["address"] = None
    if address is not None:
        settings["address"] = address
    return recipe.model_copy(update={"execution": Execution.model_validate(settings)})


_TRACK = typer.Option(
    "--track",
    help="Log to this experiment tracker too: mlflow or wandb (repeat for both; settings: the recipe's "
    "track: block, else the defaults: ./mlruns, W&B offline). pip install 'curate[track]'.",
)


@command
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<name>).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: recipe, else CPU count).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an existing run directory; finished steps are reused.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete an existing run directory and start over.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help='local (processes on this machine) or ray (a Ray cluster; pip install "curate[ray]"). '
            "Default: the recipe's execution.executor.",
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray cluster to run on: auto (the cluster `ray start` runs here) or ray://HOST:PORT. "
            "Implies --executor ray.",
        ),
    ] = None,
    track: Annotated[list[str] | None, _TRACK] = None,
) -> None:
    """Run a recipe end to end."""
    from curate.exec.pipe import run_recipe
    from curate.recipe import load_recipe
    from curate.summary import accounting_line, summary_table

    if resume and force:
        raise UsageError(
            "--resume and --force exclude each other: resume keeps finished work, force deletes it"
        )
    if executor not in (None, "local", "ray"):
        raise UsageError(f"--executor must be local or ray, not {executor!r}")
    parsed = override_execution(load_recipe(recipe), executor=executor, address=address)  # type: ignore[arg-type]
    if track:
        from curate.track import with_trackers

        parsed = parsed.model_copy(update={"track": with_trackers(parsed.track, track)})
    mode = "resume" if resume else "force" if force else "new"
    result = run_recipe(parsed, run_dir=out_dir, mode=mode, workers=workers, progress=not quiet)
    if not quiet:
        out.print(summary_table(result.manifest))
        out.print(accounting_line(result.manifest))
        out.print(f"output: {result.run_dir / 'output'}")
    for warning in result.manifest.get("warnings") or ():
        err.print(f"[yellow]warning:[/] {markup_safe(warning)}", highlight=False, soft_wrap=True)


@command
def train_classifier(
    model_out: Annotated[Path, typer.Argument(help="Model file to write: .bin, or .ftz to quantize it.")],
    label: Annotated[
        list[str],
        typer.Option(
            "--label", help="LABEL=PATH_PATTERN: examples of a label (repeat; at least two labels)."
        ),
    ],
    format: Annotated[
        str, typer.Option(help="Record shape of every input: text, or a chat/preference shape.")
    ] = "text",
    text_field: Annotated[str, typer.Option(help="Field holding the text (format text).")] = "text",
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="Chat inputs: learn from these roles' turns only (repeat; default all). Give the "
            "classify stage the same view.",
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the examples.")] = 5,
    lr: Annotated[float, typer.Option(min=0.0, help="Learning rate.")] = 0.1,
    word_ngrams: Annotated[int, typer.Option(min=1, help="Longest word n-gram used as a feature.")] = 2,
    dim: Annotated[int, typer.Option(min=1, help="Size of the word vectors.")] = 64,
    balance: Annotated[
        bool, typer.Option(help="Use as many examples of each label as the smallest label has.")
    ] = True,
    max_per_label: Annotated[
        int | None, typer.Option(min=1, help="At most this many examples per label.")
    ] = None,
    valid: Annotated[float, typer.Option(help="Share of each label held out to score the model.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the sampling and of fastText.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing model file.")] = False,
) -> None:
    """Train a fastText classifier for the classify stage from examples of each label."""
    from curate.classifiers.train import ClassifierOptions, label_examples
    from curate.classifiers.train import train_classifier as train
    from curate.records import Role, TextView

    examples = label_examples(label, format=format, text_field=text_field)
    options = ClassifierOptions(
        epochs=epochs,
        lr=lr,
        word_ngrams=word_ngrams,
        dim=dim,
        balance=balance,
        max_per_label=max_per_label,
        valid_fraction=valid,
        seed=seed,
    )
    unknown = [r for r in role or () if r not in get_args(Role)]
    if unknown:
        raise UsageError(f"--role {unknown[0]!r} is not a chat role; choose from {', '.join(get_args(Role))}")
    view = TextView(roles=tuple(role)) if role else None
    report = train(examples, model_out, options=options, view=view, overwrite=force, progress=True)
    out.print_json(data=report.to_dict())


@command
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep YAML file (base recipe, variants, seeds).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Sweep directory (default sweeps/<name>).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Pipeline worker processes (shared among parallel runs).")
    ] = None,
    parallel: Annotated[
        int, typer.Option(min=1, help="Runs at a time, each in its own process, on CPU (GPU: always 1).")
    ] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an existing sweep directory; finished runs are kept.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete an existing sweep directory and start over.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; only the leaderboard.")] = False,
    track: Annotated[list[str] | None, _TRACK] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="Rank and compare by this metric instead of the sweep file's `metric:` (e.g. web.bpb); "
            "with --resume, a finished sweep is ranked again without training.",
        ),
    ] = None,
) -> None:
    """Run a recipe's variants for several seeds and rank them on a leaderboard."""
    from curate.sweep import leaderboard_table, run_sweep

    if resume and force:
        raise UsageError(
            "--resume and --force exclude each other: resume keeps finished runs, force deletes them"
        )
    mode = "resume" if resume else "force" if force else "new"
    result = run_sweep(
        sweep_file,
        out=out_dir,
        workers=workers,
        parallel=parallel,
        mode=mode,
        progress=not quiet and parallel == 1,
        log=None
        if quiet
        else lambda message: err.print(message, highlight=False, markup=False, soft_wrap=True),
        track=track or (),
        metric=metric,
    )
    out.print(leaderboard_table(result.standings, result.metric, comparisons=result.comparisons))
    if result.regression is not None:
        out.print(f"regression: {result.regression.summary()}", highlight=False, soft_wrap=True)
    for warning in result.warnings + (result.regression.warnings if result.regression else []):
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    for key in ("leaderboard_csv", "leaderboard_parquet", "report"):
        if key in result.files:
            out.print(f"{key.replace('_', ' ')}: {result.files[key]}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


@command
def score(
    run_dir: Annotated[Path, typer.Argument(help="Run directory of a finished run with a train: block.")],
    eval_path: Annotated[
        list[str] | None,
        typer.Option(
            "--eval",
            help="PATH: score on these eval files (globs allowed) instead of the run's own; NAME=PATH: "
            "add the named eval set NAME (repeat for several; reported as NAME.bpb...).",
        ),
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            help="NAME=PATH: score the multiple-choice task NAME (JSONL of {context, choices, answer}; repeat).",
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the score report here instead of RUN_DIR/score.json.")
    ] = None,
) -> None:
    """Score a run's trained checkpoint again, on its eval sets and tasks or on new ones, without training."""
    from curate.summary import score_table
    from curate.train.pipeline import score_run

    named = [v for v in eval_path or () if _NAMED.match(v)]
    if named and len(named) != len(eval_path or ()):
        raise UsageError("--eval takes either PATHs or NAME=PATHs, not both")
    sets = _name_paths(named, "--eval")
    tasks = _name_paths(task or [], "--task")
    paths = None if not eval_path or named else eval_path[0] if len(eval_path) == 1 else eval_path
    report = score_run(run_dir, eval_path=paths, sets=sets or None, tasks=tasks or None, out=out_file)
    scored = report.get("scored")
    out.print(score_table(report if scored is None else {"sets": scored["sets"], "tasks": scored["tasks"]}))
    if report.get("overlap"):
        err.print(
            f"[yellow]warning:[/] {report['overlap']} records of this eval set are in the run's training data: "
            "its scores are inflated",
            highlight=False,
            soft_wrap=True,
        )
    out.print(f"written: {report['written']}", highlight=False)


_NAMED = re.compile(r"^[A-Za-z0-9_-]+=")


def _name_paths(values: list[str], option: str) -> dict[str, list[str]]:
    """NAME=PATH options as {NAME: [PATH, ...]} (a repeated NAME gathers its paths)."""
    out: dict[str, list[str]] = {}
    for value in values:
        if not _NAMED.match(value):
            raise UsageError(f"{option} {value!r}: expected NAME=PATH (NAME: letters, digits, '_' or '-')")
        name, path = value.split("=", 1)
        if not path:
            raise UsageError(f"{option} {value!r}: no path after {name}=")
        out.setdefault(name, []).append(path)
    return out


@command
def validate(recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")]) -> None:
    """Check a recipe (keys, values, input files, models) without running it."""
    from curate.exec.pipe import check_recipe
    from curate.recipe import input_warnings, load_recipe

    parsed = load_recipe(recipe)
    check_recipe(parsed)
    for warning in input_warnings(parsed.sources):
        err.print(f"[yellow]warning:[/] {markup_safe(warning)}", highlight=False, soft_wrap=True)
    stages = ", ".join(name for name, _ in parsed.stage_list()) or "no stages"
    out.print(f"{recipe}: valid ({len(parsed.sources)} source(s); {stages})")


@command
def stats(run_dir: Annotated[Path, typer.Argument(help="Run directory.")]) -> None:
    """Print the summary table of a run."""
    from curate.report.inspect_run import load_manifest
    from curate.summary import accounting_line, summary_table

    manifest = load_manifest(run_dir)
    out.print(summary_table(manifest))
    out.print(accounting_line(manifest))


@command
def inspect(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    stage: Annotated[
        str, typer.Option(help="Step name or directory (read, clean, dedupe, output, or 03-dedupe...).")
    ],
    rejected: Annotated[
        bool, typer.Option("--rejected", help="Show removed records with their reason.", metavar="")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Only removals whose reason starts with this.")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="How many records.")] = 5,
    chars: Annotated[int, typer.Option(help="Characters of text shown per record.")] = 400,
) -> None:
    """Print sample records of a step (kept, or removed with --rejected)."""
    from curate.report.inspect_run import render_records, sample_records

    frame = sample_records(run_dir, stage, rejected=rejected or reason is not None, reason=reason, n=n)
    render_records(frame, out, chars=chars)


@command
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Where to write the page (default RUN_DIR/report.html).")
    ] = None,
) -> None:
    """(Re)write the HTML run card of a run: funnel, reasons, lengths, languages, dedupe, mix, scores."""
    from curate.report import write_report

    path = write_report(run_dir, out=out_file)
    out.print(f"report: {path}", highlight=False)


@command
def diff(
    run_a: Annotated[Path, typer.Argument(help="First run directory (A).")],
    run_b: Annotated[Path, typer.Argument(help="Second run directory (B).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the diff as an HTML page here.")
    ] = None,
) -> None:
    """Compare two runs: recipe keys that differ, records per step, removal reasons, mix, scores, verdict."""
    from curate.report.diff import diff_header, diff_runs, diff_tables, write_diff_html

    result = diff_runs(run_a, run_b)
    if html is not None:
        write_diff_html(result, html)
    out.print(diff_header(result))
    for table in diff_tables(result):
        out.print(table)
    if html is not None:
        out.print(f"html: {html}", highlight=False)


@command
def schema(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the schema to this file.")] = None,
) -> None:
    """Print the JSON schema of recipes (point a YAML language server at it; see docs/report.md)."""
    from curate.io.writers import write_text
    from curate.schema import schema_json

    text = schema_json()
    if out_file is not None:
        write_text(text, out_file)
    if out_file is None:
        typer.echo(text, nl=False)
    else:
        err.print(f"schema written to {out_file}", highlight=False)


index_app = typer.Typer(
    no_args_is_help=True, help="Dedupe indexes: what runs kept, to dedupe new data against."
)
app.add_typer(index_app, name="index")


@index_app.command("add")
def index_add(
    index_dir: Annotated[Path, typer.Argument(help="Index to grow (created when it does not exist).")],
    run_dir: Annotated[Path, typer.Argument(help="A finished run (or its index/<step> directory) to add.")],
) -> None:
    """Add a run's kept records to an index, atomically, so a corpus grows run by run."""
    try:
        from curate.stages.dedupe.index import extend_index

        manifest = extend_index(index_dir, run_dir)
    except (Exception, KeyboardInterrupt) as exc:
        _fail(exc)
    out.print(
        f"{index_dir}: {manifest['records']:,} records from {len(manifest['runs'])} run(s)", highlight=False
    )


def _list_option(text: str | None, flag: str, cast: Callable[[str], Any]) -> list[Any] | None:
    """``0.1,0.25`` -> ``[0.1, 0.25]``; a value that does not parse is a UsageError naming ``flag``."""
    if text is None:
        return None
    try:
        return [cast(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"{flag}: cannot read {text!r}; give comma-separated values, e.g. {flag} 0.1,0.5"
        ) from None


@command
def calibrate(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file with a train: block.")],
    defects: Annotated[
        str | None,
        typer.Option(help="Defects to plant: shuffle,wrong_lang,duplicate,boilerplate (default all)."),
    ] = None,
    doses: Annotated[
        str | None, typer.Option(help="Fractions of documents damaged, e.g. 0.1,0.25,0.5 (the default).")
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Training seeds, e.g. 0,1,2,3 (default: 4 seeds from train.seed).")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Confidence of the paired intervals.")] = 0.95,
    wrong_lang_pool: Annotated[
        Path | None,
        typer.Option(
            help="JSONL of other-language documents (text) for wrong_lang (default: what the "
            "recipe's language stage removed, else the bundled samples)."
        ),
    ] = None,
    epochs: Annotated[
        float | None,
        typer.Option(
            help="Calibrate on a seeded slice of the curated documents that the train block passes over "
            "this many times (duplicates only show after several passes; default: all documents)."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Calibration directory (default calibrations/<name>).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Pipeline worker processes.")] = None,
    parallel: Annotated[int, typer.Option(min=1, help="Training runs at a time, on CPU.")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a calibration; finished runs are kept.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete an existing calibration and start over.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress; only the verdicts.")] = False,
) -> None:
    """Check that a recipe's train-and-score loop detects known damage in its own data."""
    from curate.calibrate import DEFECTS
    from curate.calibrate import calibrate as run_calibration

    if resume and force:
        raise UsageError(
            "--resume and --force exclude each other: resume keeps finished runs, force deletes them"
        )
    result = run_calibration(
        recipe,
        out=out_dir,
        defects=_list_option(defects, "--defects", str) or list(DEFECTS),
        doses=_list_option(doses, "--doses", float) or [0.1, 0.25, 0.5],
        seeds=_list_option(seeds, "--seeds", int),
        confidence=confidence,
        wrong_lang_pool=wrong_lang_pool,
        epochs=epochs,
        mode="resume" if resume else "force" if force else "new",
        parallel=parallel,
        workers=workers,
        progress=not quiet and parallel == 1,
        log=None
        if quiet
        else lambda message: err.print(message, highlight=False, markup=False, soft_wrap=True),
    )
    from rich.table import Table

    from curate.calibrate.report import HEADERS, table_rows

    table = Table(title=f"calibration (paired Δ {result.metric} vs clean, {result.confidence:.0%} interval)")
    for header in HEADERS:
        table.add_column(header, justify="left" if header in ("defect", "verdict") else "right")
    for row in table_rows(result.rows):
        table.add_row(*[f"{v:+.4f}" if isinstance(v, float) else str(v) for v in row])
    out.print(table)
    for line in result.lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if result.epochs is not None:
        out.print(
            f"budget: {result.documents:,} documents, training passes over them {result.epochs:.2g} times",
            highlight=False,
        )
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {markup_safe(warning)}", highlight=False, soft_wrap=True)
    for key in ("report", "plot", "json"):
        out.print(f"{key}: {result.files[key]}", highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # outside a command (while parsing): nothing to resume
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
