"""curate: turn raw text corpora into LLM training sets, and score data recipes."""

__version__ = "0.1.0"


def run(recipe, **options):
    """Run a recipe (a path or a validated Recipe); see :func:`curate.exec.pipe.run_recipe`."""
    from curate.exec.pipe import run_recipe
    from curate.recipe import RecipeBase, load_recipe

    if not isinstance(recipe, RecipeBase):
        recipe = load_recipe(recipe)
    return run_recipe(recipe, **options)
