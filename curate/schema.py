"""The JSON schema of recipes, for editors: a YAML language server pointed at it completes keys,
shows every option's description and flags unknown keys while a recipe is typed.

Built from the same pydantic models that validate recipes (``recipe_model()``), with two fixes
that pydantic cannot infer from the runtime-built stage union: a stage entry must name its stage
(``- dedupe: ...`` has exactly the key ``dedupe``), and an empty entry (``- dedupe:``, YAML null)
means the stage's defaults, as it does for ``curate run``.
"""

from __future__ import annotations

import json
from typing import Any

from curate.recipe import recipe_model
from curate.stages import REGISTRY, StageRegistry

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "curate-recipe.schema.json"


def recipe_schema(registry: StageRegistry = REGISTRY) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of a recipe for the stages of ``registry``."""
    schema = recipe_model(registry).model_json_schema()
    definitions = schema.get("$defs", {})
    for name, stage in registry.items():
        entry = definitions.get(f"{name}_stage")
        if entry is None:
            continue
        config = entry["properties"][name]
        summary = _first_paragraph(stage.config.__doc__) or f"Options of the {name} stage."
        entry["properties"][name] = {
            "anyOf": [config, {"type": "null"}],
            "description": f"{summary} Empty (`- {name}:` or `- {name}: {{}}`) means every default.",
        }
        entry["required"] = [name]
        entry["title"] = f"{name} stage"
        entry["description"] = summary
    schema["title"] = "curate recipe"
    schema["description"] = (
        "A curate data recipe: sources, stages (run in order, each `- <stage>: {options}`), output and "
        "execution. Validate with `curate validate RECIPE`; this schema serves editors."
    )
    return {"$schema": DIALECT, **schema}


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split()).replace("``", "`")


def schema_json(registry: StageRegistry = REGISTRY, *, indent: int = 2) -> str:
    """The recipe schema as JSON text (stable key order, so a committed copy diffs cleanly)."""
    return json.dumps(recipe_schema(registry), indent=indent, ensure_ascii=False) + "\n"
