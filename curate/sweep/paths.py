"""``set:`` paths: dotted addresses of recipe fields, checked against the recipe's models.

``stages.mix.weights`` is the ``weights`` option of the first stage named ``mix``;
``stages[3].mix.weights`` the stage at index 3 (which must be a mix stage); ``sources.web.limit``
or ``sources[0].limit`` a source's option; ``train.model.n_layer``, ``train.eval.path``... any
field of the recipe. Keys holding dots are bracketed: ``stages.mix.weights["web.en"]``.

A path is walked through the recipe's pydantic models and the recipe data side by side, so an
unknown key is reported at the point where it goes wrong, with the closest valid key, before any
work starts. Setting a path replaces the value there (a mapping is not merged: set a deeper path
to change one field of it).
"""

from __future__ import annotations

import copy
import re
import types
import typing
from typing import Any, Union

from pydantic import BaseModel

from curate.recipe import RecipeBase, recipe_model, suggest
from curate.stages import REGISTRY, StageRegistry

Token = str | int
_SEGMENT = re.compile(r"""\[\s*(?:(-?\d+)|"([^"]*)"|'([^']*)'|([^\]"']+))\s*\]|([^.\[\]]+)""")


class PathError(ValueError):
    """A ``set:`` path that does not address a field of the recipe (message names the fix)."""


def parse_path(path: str) -> list[Token]:
    """``stages[3].mix.weights["web.en"]`` -> ``["stages", 3, "mix", "weights", "web.en"]``."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        if match is None:
            raise PathError(f"cannot read path {path!r} at character {pos + 1} ({path[pos:]!r})")
        index, double, single, bracketed, word = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(next(x for x in (double, single, bracketed, word) if x is not None).strip())
        pos = match.end()
        if pos < len(path):
            if path[pos] == ".":
                pos += 1
                if pos == len(path):
                    raise PathError(f"path {path!r} ends with a dot")
            elif path[pos] != "[":
                raise PathError(f"cannot read path {path!r} at character {pos + 1}")
    if not tokens:
        raise PathError("empty path: write a dotted path such as train.lr or stages.mix.weights")
    return tokens


def format_path(tokens: list[Token]) -> str:
    text = ""
    for token in tokens:
        if isinstance(token, int):
            text += f"[{token}]"
        elif re.fullmatch(r"[^.\[\]\"']+", token):
            text += f".{token}" if text else token
        else:
            text += f'["{token}"]'
    return text


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``; other unions stay as they are (leaves)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(annotation)[0])
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _container(annotation: Any) -> str:
    """'model', 'dict', 'list' or 'leaf': what a path can do below a value of this type."""
    annotation = _strip_optional(annotation)
    if _is_model(annotation):
        return "model"
    origin = typing.get_origin(annotation)
    if origin is dict:
        return "dict"
    if origin is list:
        return "list"
    return "leaf"


def _item_type(annotation: Any) -> Any:
    """The value type of ``dict[str, X]`` or the item type of ``list[X]``."""
    args = typing.get_args(_strip_optional(annotation))
    return args[-1] if args else Any


def _empty_like(annotation: Any) -> Any:
    return [] if _container(annotation) == "list" else {}


def set_path(
    data: dict[str, Any], path: str, value: Any, *, registry: StageRegistry = REGISTRY
) -> list[Token]:
    """Set ``value`` at ``path`` in recipe ``data`` (the parsed YAML mapping, changed in place);
    return the path's tokens. Raises PathError naming the first key that does not exist, and
    then leaves ``data`` as it was."""
    work = copy.deepcopy(data)
    tokens = _set(work, path, value, registry)
    data.clear()
    data.update(work)
    return tokens


def _set(data: dict[str, Any], path: str, value: Any, registry: StageRegistry) -> list[Token]:
    tokens = parse_path(path)
    model: type[RecipeBase] = recipe_model(registry)
    cursor: Any = data
    annotation: Any = model
    i = 0
    while i < len(tokens):
        token, last = tokens[i], i == len(tokens) - 1
        walked = format_path(tokens[:i]) or "the recipe"
        kind = _container(annotation)
        if kind == "model" and annotation is model and token == "stages" and not last:
            cursor, annotation, i = _enter_stage(data, tokens, i, path, value, registry)
            continue
        if kind == "model":
            fields = _strip_optional(annotation).model_fields
            if not isinstance(token, str) or token not in fields:
                raise PathError(
                    f"unknown path {path!r}: {walked} has no key {token!r}"
                    + suggest(str(token), list(fields))
                )
            child_annotation = fields[token].annotation
        elif kind == "dict":
            token = str(token)
            child_annotation = _item_type(annotation)
        elif kind == "list":
            token = _list_index(cursor, token, path, walked)
            child_annotation = _item_type(annotation)
        else:
            raise PathError(f"unknown path {path!r}: {walked} is a single value, it has no key {token!r}")
        if last:
            cursor[token] = value
            return tokens
        if isinstance(cursor, dict) and cursor.get(token) is None:
            cursor[token] = _empty_like(child_annotation)
        cursor, annotation = cursor[token], child_annotation
        i += 1
    return tokens


def _list_index(cursor: Any, token: Token, path: str, walked: str) -> int:
    """A list item by index, or (for lists of named items such as sources) by name."""
    items = cursor if isinstance(cursor, list) else []
    if isinstance(token, str):
        names = [item.get("name") for item in items if isinstance(item, dict)]
        if token in names:
            return names.index(token)
        raise PathError(
            f"unknown path {path!r}: {walked} has no item named {token!r}"
            + suggest(token, [str(n) for n in names if n is not None])
        )
    if not -len(items) <= token < len(items):
        raise PathError(f"unknown path {path!r}: {walked} has {len(items)} items, no index {token}")
    return token


def _enter_stage(
    data: dict[str, Any], tokens: list[Token], i: int, path: str, value: Any, registry: StageRegistry
) -> tuple[Any, Any, int]:
    """Resolve ``stages.<name>`` or ``stages[i].<name>``: return the stage's options mapping, its
    config model and the index of the token after the stage name."""
    stages = data.get("stages") or []
    names = [next(iter(e)) if isinstance(e, dict) and len(e) == 1 else None for e in stages]
    shown = ", ".join(str(n) for n in names) or "none"
    token = tokens[i + 1]
    if isinstance(token, int):
        if not -len(stages) <= token < len(stages):
            raise PathError(f"unknown path {path!r}: the recipe has {len(stages)} stages, no stages[{token}]")
        index = token % len(stages)
        if i + 2 == len(tokens):  # stages[3]: the whole entry
            stages[index] = value
            return None, None, len(tokens)
        name = tokens[i + 2]
        if name != names[index]:
            raise PathError(
                f"unknown path {path!r}: stages[{index}] is {names[index]!r}, not {name!r} "
                f"(write stages[{index}].{names[index]}.<option>)"
            )
        after = i + 3
    else:
        if token not in names:
            raise PathError(
                f"unknown path {path!r}: the recipe has no stage {token!r}"
                + suggest(str(token), [str(n) for n in names if n])
                + f" (its stages: {shown})"
            )
        index, name, after = names.index(token), token, i + 2
    config = registry[str(name)].config
    if after == len(tokens):  # stages.mix: the stage's whole option mapping
        stages[index] = {name: value}
        return None, None, len(tokens)
    if stages[index][name] is None:
        stages[index][name] = {}
    return stages[index][name], config, after
