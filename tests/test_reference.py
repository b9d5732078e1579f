"""docs/recipe-reference.md is generated from the Field descriptions and must match the code."""

from curate.reference import recipe_reference
from curate.stages import REGISTRY
from tests.conftest import REPO


def test_committed_reference_matches_the_code():
    committed = (REPO / "docs/recipe-reference.md").read_text()
    assert committed == recipe_reference(), (
        "regenerate: python -m curate.reference > docs/recipe-reference.md"
    )


def test_every_stage_and_option_is_documented():
    text = recipe_reference()
    for name, stage in REGISTRY.items():
        assert f"### `{name}`" in text
        for field, info in stage.config.model_fields.items():
            assert info.description, f"{name}.{field} has no description"
            assert f"| `{field}` |" in text
