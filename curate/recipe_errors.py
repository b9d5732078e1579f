"""Explaining a recipe's validation errors: each pydantic error as one line with its path in the
recipe (``stages[2].dedupe.treshold``), its line in the YAML file and the closest valid name.

Works for any model (recipes, sweep files); ``stages`` entries are explained by a stage registry.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from curate.errors import RecipeError, suggest
from curate.stages import REGISTRY, StageRegistry


def stage_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    return None


def explain_errors(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    source_name: str,
    root: yaml.Node | None = None,
    registry: StageRegistry = REGISTRY,
) -> RecipeError:
    """One RecipeError listing every validation problem by path (and line), with suggestions.
    Works for any model (recipes, sweep files); ``stages`` entries are explained by ``registry``."""
    explained = sorted((_explain(err, root, model, registry) for err in exc.errors()), key=lambda e: e[0])
    lines = [text for _, text in explained]
    noun = "problem" if len(lines) == 1 else "problems"
    return RecipeError(f"{source_name}: {len(lines)} {noun}:\n" + "\n".join(f"  - {line}" for line in lines))


def _display_loc(loc: tuple[Any, ...]) -> tuple[list[Any], str]:
    """Drop the union tag pydantic inserts after a stage index; render as stages[2].dedupe.x."""
    parts: list[Any] = []
    i = 0
    while i < len(loc):
        item = loc[i]
        parts.append(item)
        if parts[:1] == ["stages"] and len(parts) == 2 and i + 2 < len(loc) and loc[i + 1] == loc[i + 2]:
            i += 1  # skip the tag, keep the field of the same name
        i += 1
    text = ""
    for item in parts:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return parts, text


def yaml_line(root: yaml.Node | None, parts: list[Any]) -> int | None:
    """The line of the value at ``parts`` (keys and list indices) in a YAML node tree, or of the
    deepest part of it that exists."""
    node, line = root, None
    for item in parts:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(item)]
            if not match:
                return line
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int) and item < len(node.value):
            node = node.value[item]
        else:
            return line
    return node.start_mark.line + 1 if node is not None else line


def _model_at(model: type[BaseModel], parts: list[Any], registry: StageRegistry) -> type[BaseModel] | None:
    """The pydantic model whose field the last element of ``parts`` names (for 'did you mean')."""
    current: Any = model
    for i, item in enumerate(parts[:-1]):
        if parts[:1] == ["stages"] and i == 1:
            continue
        if parts[:1] == ["stages"] and i == 2:
            current = registry[item].config if item in registry else None
            continue
        if isinstance(item, int):
            continue  # an item of a list: same model
        current = _unwrap(current, item)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, item: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(item))
        return _model_in(field.annotation) if field else None
    return None


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as `X | None`, `list[X]`, `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _explain(
    err: dict[str, Any], root: yaml.Node | None, model: type[BaseModel], registry: StageRegistry
) -> tuple[int, str]:
    """(line, message) for one pydantic error."""
    parts, where = _display_loc(tuple(err["loc"]))
    if not parts:
        err, parts, where = _located_in_message(err, model)
    line = yaml_line(root, parts)
    return line or 0, _describe(err, parts, where, line, model, registry)


_MESSAGE_PATH = re.compile(r"(?:Value error, )?([A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*):? (.*)", re.S)


def _located_in_message(err: dict[str, Any], model: type[BaseModel]) -> tuple[dict[str, Any], list[Any], str]:
    """A whole-recipe check (a model validator) has no location of its own; its message starts
    with the path it is about (``stages[3].mix.weights names 'x', ...``): use that path."""
    match = _MESSAGE_PATH.fullmatch(err["msg"])
    if match is None:
        return err, [], ""
    where, rest = match.groups()
    parts: list[Any] = [int(p) if p.isdigit() else p for p in re.findall(r"\w+", where)]
    if parts[0] not in model.model_fields:
        return err, [], ""
    return {**err, "msg": rest}, parts, where


def _describe(
    err: dict[str, Any],
    parts: list[Any],
    where: str,
    line: int | None,
    model: type[BaseModel],
    registry: StageRegistry,
) -> str:
    at = f"{where or '(top level)'}" + (f" (line {line})" if line else "")
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, parts, registry)
        options = list(parent.model_fields) if parent else []
        return f"{at}: unknown key {parts[-1]!r}" + suggest(str(parts[-1]), options)
    if kind == "unknown_stage":
        value = err.get("input")
        given = stage_tag(value) if isinstance(value, dict) else None
        names = sorted(registry)
        if given is None:
            return f"{at}: a stage entry is a mapping with one key, the stage name, e.g. `- dedupe: {{}}`; got {value!r}"
        return f"{at}: unknown stage {given!r}" + suggest(given, names) + f" (stages: {', '.join(names)})"
    if kind == "missing":
        return f"{at}: required key missing"
    message = err["msg"].removeprefix("Value error, ")
    shown = err.get("input")
    if kind.startswith(("literal", "enum")) and isinstance(shown, str):
        expected = err.get("ctx", {}).get("expected", "")
        options = re.findall(r"'([^']+)'", expected)
        return f"{at}: {message}; got {shown!r}" + suggest(shown, options)
    if shown is not None and not isinstance(shown, (dict, list)):
        return f"{at}: {message}; got {shown!r}"
    return f"{at}: {message}"
