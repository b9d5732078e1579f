"""curate: turn raw text corpora into LLM training sets, and score data recipes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from curate.version import __version__

if TYPE_CHECKING:  # importing curate stays cheap: the pipeline loads on first use
    from curate.exec.pipe import RunMode, RunResult
    from curate.recipe import RecipeBase

__all__ = ["__version__", "run"]


def run(
    recipe: str | os.PathLike | RecipeBase,
    *,
    run_dir: str | os.PathLike | None = None,
    mode: RunMode = "new",
    workers: int | None = None,
    progress: bool = False,
    report: bool = True,
) -> RunResult:
    """Run a recipe, given as a YAML path or a validated Recipe, into ``run_dir`` (default
    ``runs/<name>``). ``mode``: ``new`` refuses an existing run directory, ``resume`` reuses its
    finished steps, ``force`` deletes it first. See :func:`curate.exec.pipe.run_recipe`."""
    from curate.exec.pipe import run_recipe
    from curate.recipe import RecipeBase, load_recipe

    if not isinstance(recipe, RecipeBase):
        recipe = load_recipe(recipe)
    return run_recipe(recipe, run_dir=run_dir, mode=mode, workers=workers, progress=progress, report=report)
