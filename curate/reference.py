"""The recipe reference (docs/recipe-reference.md), generated from the models' Field descriptions.

Help text lives in one place, ``Field(description=...)``; this renders it as Markdown so that the
documentation cannot drift from the code (a test compares the committed file with this output).
``python -m curate.reference > docs/recipe-reference.md`` regenerates it.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from curate.recipe import Execution, Output, Source, recipe_model
from curate.stages import REGISTRY
from curate.train.config import TrainConfig


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is typing.Literal:
        return " \\| ".join(repr(a) if not isinstance(a, str) else a for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        inner = [a for a in args if a is not Ellipsis]
        return f"list[{', '.join(_type_name(a) for a in inner)}]" if inner else "list"
    if origin is dict:
        return f"map[{', '.join(_type_name(a) for a in args)}]"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
        if issubclass(annotation, enum.Enum):
            return " \\| ".join(str(m.value) for m in annotation)
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()
        except Exception:
            return "—"
    else:
        return "**required**"
    if isinstance(value, BaseModel):
        return "defaults"
    if isinstance(value, enum.Enum):
        value = value.value
    text = repr(value) if not isinstance(value, (int, float, bool)) or isinstance(value, bool) else str(value)
    return f"`{text}`"


def _nested(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in typing.get_args(annotation):
        found.extend(_nested(arg))
    return found


def _model_section(
    model: type[BaseModel],
    title: str,
    seen: set[type[BaseModel]],
    level: int = 3,
    *,
    leaves: tuple[str, ...] = (),
) -> list[str]:
    """A table of ``model``'s keys, then a section per nested model (fields in ``leaves`` excepted)."""
    seen.add(model)
    doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    lines = [f"{'#' * level} {title}", ""]
    if title != model.__name__:
        lines.insert(1, f'<a id="{model.__name__.lower()}"></a>')
    if doc and not doc.startswith(("Base of", "Create a new model")):
        lines += [doc, ""]
    lines += ["| key | type | default | what it does |", "|---|---|---|---|"]
    children: list[type[BaseModel]] = []
    for name, field in model.model_fields.items():
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        kind = "list of stage entries (see Stages)" if name in leaves else _type_name(field.annotation)
        lines.append(f"| `{name}` | {kind} | {_default(field)} | {description} |")
        if name not in leaves:
            children += [c for c in _nested(field.annotation) if c not in seen]
    lines.append("")
    for child in dict.fromkeys(children):
        if child not in seen:
            lines += _model_section(child, child.__name__, seen, level=4)
    return lines


def _top_section(title: str, model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
    return [
        f"## {title}",
        f'<a id="{model.__name__.lower()}"></a>',
        "",
        *_model_section(model, model.__name__, seen)[2:],
    ]


def recipe_reference() -> str:
    """The whole reference as Markdown."""
    seen: set[type[BaseModel]] = set()
    recipe = recipe_model()
    out = [
        "# Recipe reference",
        "",
        "Generated from the code by `python -m curate.reference` (do not edit by hand). Every key has a "
        "default unless marked required; unknown keys are errors. `curate schema` prints the same "
        "as a JSON schema for editors.",
        "",
        "## Top level",
        "",
    ]
    seen.update({Source, Output, Execution, TrainConfig})
    out += _model_section(recipe, "Recipe", seen, leaves=("stages",))[2:]
    for title, model in (("Sources", Source), ("Output", Output), ("Execution", Execution)):
        out += _top_section(title, model, seen)
    out += [
        "## Stages",
        "",
        "Each stage entry is a one-key mapping: `- <stage>: {options}` (`- <stage>: {}` for the defaults).",
        "",
    ]
    for name, stage in REGISTRY.items():
        kind = "global stage" if hasattr(stage, "fit") else "batch stage"
        out += _model_section(stage.config, f"`{name}` ({kind})", seen)
    out += _top_section("Training (`train:`)", TrainConfig, seen)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(recipe_reference(), end="")
