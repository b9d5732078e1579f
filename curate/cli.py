"""The command line: parse, validate, call the library, print. Nothing else lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from curate.errors import CurateError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="curate: turn raw text corpora into LLM training sets, and score data recipes.",
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug


def _fail(exc: BaseException) -> None:
    if _state["debug"]:
        raise exc
    if isinstance(exc, CurateError):
        # escaped: messages hold brackets (pip install "curate[ray]", stages[2].dedupe) that rich would eat
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
        raise typer.Exit(exc.exit_code)
    err.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n(run with --debug for the traceback)",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


@app.command()
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
) -> None:
    """Run a recipe end to end."""
    from curate.exec.pipe import run_recipe
    from curate.recipe import load_recipe, override_execution
    from curate.summary import accounting_line, summary_table

    try:
        if resume and force:
            raise UsageError(
                "--resume and --force exclude each other: resume keeps finished work, force deletes it"
            )
        if executor not in (None, "local", "ray"):
            raise UsageError(f"--executor must be local or ray, not {executor!r}")
        parsed = override_execution(load_recipe(recipe), executor=executor, address=address)  # type: ignore[arg-type]
        mode = "resume" if resume else "force" if force else "new"
        result = run_recipe(parsed, run_dir=out_dir, mode=mode, workers=workers, progress=not quiet)
    except (Exception, KeyboardInterrupt) as exc:
        _fail(exc)
        return
    if not quiet:
        out.print(summary_table(result.manifest))
        out.print(accounting_line(result.manifest))
        out.print(f"output: {result.run_dir / 'output'}")


@app.command()
def validate(recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")]) -> None:
    """Check a recipe (keys, values, input files) without running it."""
    from curate.recipe import load_recipe

    try:
        parsed = load_recipe(recipe)
    except Exception as exc:
        _fail(exc)
        return
    stages = ", ".join(name for name, _ in parsed.stage_list()) or "no stages"
    out.print(f"{recipe}: valid ({len(parsed.sources)} source(s); {stages})")


@app.command()
def stats(run_dir: Annotated[Path, typer.Argument(help="Run directory.")]) -> None:
    """Print the summary table of a run."""
    from curate.inspect import load_manifest
    from curate.summary import accounting_line, summary_table

    try:
        manifest = load_manifest(run_dir)
    except Exception as exc:
        _fail(exc)
        return
    out.print(summary_table(manifest))
    out.print(accounting_line(manifest))


@app.command()
def inspect(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    stage: Annotated[str, typer.Option(help="Step name or directory (read, clean, 02-dedupe, output...).")],
    rejected: Annotated[
        bool, typer.Option("--rejected", help="Show removed records with their reason.")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Only removals whose reason starts with this.")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="How many records.")] = 5,
    chars: Annotated[int, typer.Option(help="Characters of text shown per record.")] = 400,
) -> None:
    """Print sample records of a step (kept, or removed with --rejected)."""
    from curate.inspect import render_records, sample_records

    try:
        frame = sample_records(run_dir, stage, rejected=rejected or reason is not None, reason=reason, n=n)
    except Exception as exc:
        _fail(exc)
        return
    render_records(frame, out, chars=chars)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; continue with --resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
