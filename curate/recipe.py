"""The recipe: sources, stages, output, execution — validated by pydantic, explained on error.

A recipe is YAML read with ``yaml.safe_load`` and validated with ``Recipe.model_validate``. Stage
entries are single-key mappings (``- dedupe: {threshold: 0.8}``) validated against the config
model of the stage with that name in the registry, so an unknown key is reported at its full path
(``stages[2].dedupe.treshold``) with its line in the file and the closest valid name.
"""

from __future__ import annotations

import copy
import functools
import glob
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from curate.errors import RecipeError, suggest
from curate.io.fs import is_url
from curate.io.readers import check_sources_exist, input_warnings  # noqa: F401 - re-exported
from curate.io.sources import CHAT_FORMATS, NAME_PATTERN, PREFERENCE_FORMATS, Source, looked_in
from curate.recipe_errors import explain_errors, stage_tag, yaml_line
from curate.stages import REGISTRY, StageRegistry
from curate.stages.decontaminate import DECONTAMINATE_BEFORE
from curate.track.config import TrackConfig
from curate.train.config import TrainConfig

ChatFormat = Literal["alpaca", "sharegpt", "messages", "prompt_response"]
PreferenceFormat = Literal["preference", "hh", "ratings"]
_NAME = NAME_PATTERN


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Output(Strict):
    """How the final dataset is written to RUN_DIR/output/."""

    format: Literal["parquet", "jsonl", "both"] = Field(
        default="parquet", description="Parquet (zstd) shards, JSONL shards, or both."
    )
    compression_level: int = Field(default=3, ge=1, le=22, description="zstd level for Parquet output.")


class Execution(Strict):
    """Where and how shards run. The output bytes do not depend on these settings (but for shard_mb)."""

    executor: Literal["local", "ray"] = Field(
        default="local",
        description='local: processes on this machine. ray: Ray tasks on a cluster (pip install "curate[ray]"; '
        "the run directory must be on storage every node sees). Same output bytes either way.",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Parallel worker processes (default: CPU count); with ray, tasks in flight (default: the "
        "cluster's CPUs).",
    )
    address: str | None = Field(
        default=None,
        description="executor ray: the cluster. auto joins the cluster `ray start` runs on this node, "
        "ray://HOST:PORT connects through Ray Client. Unset: the job's cluster under `ray job submit` "
        "(RAY_ADDRESS), else a Ray instance started on this machine.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        description="executor ray: times a task is retried when its worker process dies (killed, out of memory, "
        "node lost). Tasks are idempotent, so a retry writes the same bytes.",
    )
    shard_mb: float = Field(
        default=32.0,
        gt=0,
        description="Target size of a shard of input, in MB. Plain JSONL files are split at line breaks to this "
        "size; readers flush a shard when it reaches it. Changing it changes shard boundaries (and ids' order).",
    )

    @model_validator(mode="after")
    def _address_needs_ray(self) -> Execution:
        if self.address is not None and self.executor != "ray":
            raise ValueError(f"address {self.address!r} is only used with executor: ray")
        return self


def _entry_model(name: str, config: type[BaseModel]) -> type[BaseModel]:
    def none_means_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get(name, 0) is None:
            return {name: {}}
        return data

    return create_model(
        f"{name}_stage",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __validators__={
            "_none_means_defaults": model_validator(mode="before")(classmethod(none_means_defaults))
        },
        **{name: (config, Field(default_factory=config))},
    )


def stage_union(registry: StageRegistry) -> Any:
    """The pydantic type of one stage entry: a union tagged by the entry's single key."""
    if not registry:
        raise RecipeError("no stages are registered")
    members = tuple(Annotated[_entry_model(n, s.config), Tag(n)] for n, s in registry.items())
    return Annotated[
        Union[members],  # noqa: UP007 - a runtime-built union needs the subscription form
        Discriminator(
            stage_tag,
            custom_error_type="unknown_stage",
            custom_error_message="not a known stage",
        ),
    ]


class RecipeBase(Strict):
    name: str = Field(description="Run name; the run directory defaults to runs/<name>.")
    description: str | None = Field(default=None, description="Free text shown in the run card.")
    seed: int = Field(default=0, description="Seed for every random choice (sampling, MinHash, training).")
    sources: list[Source] = Field(min_length=1, description="Inputs, each with a name.")
    output: Output = Field(default_factory=Output, description="How the final dataset is written.")
    execution: Execution = Field(default_factory=Execution, description="Executor, workers, shard size.")
    train: TrainConfig | None = Field(
        default=None,
        description="Fine-tune the bundled model on the tokenized output and score it on train.eval "
        "(needs a tokenize stage). Unset: no training.",
    )
    track: TrackConfig | None = Field(
        default=None,
        description="Log the finished run to MLflow and/or Weights & Biases (pip install 'curate[track]'); "
        "in a sweep's base recipe, the sweep and each of its runs. Unset: not logged (see docs/tracking.md).",
    )

    @field_validator("name")
    @classmethod
    def _run_name_is_simple(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"recipe name {value!r} must be letters, digits, '_', '.' or '-'")
        return value

    @field_validator("sources")
    @classmethod
    def _source_names_unique(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}; give each a distinct name")
            seen.add(source.name)
        return sources

    @model_validator(mode="after")
    def _train_needs_tokens(self) -> RecipeBase:
        if self.train is not None and "tokenize" not in [name for name, _ in self.stage_list()]:
            raise ValueError("train: needs a tokenize stage to train on; add `- tokenize: {}` after format")
        return self

    @model_validator(mode="after")
    def _named_sources_exist(self) -> RecipeBase:
        names = [s.name for s in self.sources]
        for i, (stage, config) in enumerate(self.stage_list()):
            try:
                config.check_source_names(names)
            except ValueError as exc:
                raise ValueError(f"stages[{i}].{stage}.{exc}") from None
        init_from = self.train.init_from if self.train is not None else ""
        if init_from.startswith("base:") and (base := init_from.removeprefix("base:")) not in names:
            raise ValueError(
                f"train.init_from names base:{base}, but {base!r} is not a source of this recipe"
                f"{suggest(base, names)}"
            )
        return self

    @model_validator(mode="after")
    def _format_fits_sources(self) -> RecipeBase:
        """A format stage that would drop every record of a source by its kind (known from the
        source's ``format:``) is a mistake to report now, not after the steps before it ran."""
        for i, (stage, config) in enumerate(self.stage_list()):
            if stage != "format":
                continue
            kind = getattr(config, "kind", None)
            for source in self.sources:
                if not config.applies_to(source.name):  # type: ignore[attr-defined]
                    continue
                why = _format_drops(kind, source.kind, config)
                if why:
                    raise ValueError(f"stages[{i}].format.kind: {why.format(source=source)}")
            break  # a later format stage sees formatted records
        return self

    def stage_list(self) -> list[tuple[str, BaseModel]]:
        """(stage name, config) pairs in recipe order."""
        pairs = []
        for entry in self.stages:  # type: ignore[attr-defined]
            (name,) = type(entry).model_fields
            pairs.append((name, getattr(entry, name)))
        return pairs

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def stage_config(self, name: str) -> BaseModel | None:
        """The options of the recipe's last stage called ``name`` (for ``tokenize``, the one whose
        tokenizer and tokens the run keeps), or None when it has no such stage."""
        configs = [config for stage, config in self.stage_list() if stage == name]
        return configs[-1] if configs else None


_CHAT_FIX = (
    "set the source's `format:` to its chat shape ({chats}){extra}, or list only the sources that "
    "fit in this stage's `sources:`"
)


def _format_drops(kind: str | None, source_kind: str, config: Any) -> str | None:
    """Why a format stage of ``kind`` would drop every record of a source of ``source_kind``."""
    chats = ", ".join(CHAT_FORMATS)
    if kind == "sft" and source_kind == "text" and not getattr(config, "keep_text", False):
        return (
            "kind sft makes conversations, but source {source.name!r} is plain text (format: {source.format}), "
            "so every record of it would be dropped: "
            + _CHAT_FIX.format(chats=chats, extra=", add keep_text: true to train on its text")
        )
    if kind == "preference" and source_kind in ("text", "chat"):
        shapes = ", ".join(PREFERENCE_FORMATS)
        return (
            "kind preference makes pairs, but source {source.name!r} is "
            + ("plain text" if source_kind == "text" else "a chat")
            + " (format: {source.format}), so every record of it would be dropped: set the source's "
            f"`format:` to its comparison shape ({shapes}), or list only the sources that fit in this "
            "stage's `sources:`"
        )
    if kind == "sft" and source_kind == "preference" and not getattr(config, "preference_to_sft", True):
        return (
            "kind sft with preference_to_sft: false drops comparisons, and source {source.name!r} is "
            "one (format: {source.format}), so every record of it would be dropped: set "
            "preference_to_sft: true, or leave the source out of "
            "this stage's `sources:`"
        )
    return None


@functools.lru_cache(maxsize=8)
def _recipe_model(names: tuple[str, ...], registry_id: int) -> type[RecipeBase]:
    registry = _REGISTRIES[registry_id]
    return create_model(
        "Recipe",
        __base__=RecipeBase,
        stages=(
            list[stage_union(registry)],
            Field(default_factory=list, description="Stages, run in order."),
        ),
    )


_REGISTRIES: dict[int, StageRegistry] = {}


def recipe_model(registry: StageRegistry = REGISTRY) -> type[RecipeBase]:
    """The Recipe model for a stage registry (the default registry unless testing)."""
    _REGISTRIES[id(registry)] = registry
    return _recipe_model(tuple(registry), id(registry))


# ---------------------------------------------------------------------------------------------
# Loading and explaining errors


def read_config_file(path: Path, what: str) -> str:
    """The text of a recipe or sweep file, or a RecipeError saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{what} file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read {what} file {str(path)!r}: {exc}") from None


def load_recipe(
    path: str | Path, *, registry: StageRegistry = REGISTRY, check_inputs: bool = True
) -> RecipeBase:
    """Read, validate and (optionally) check the inputs of a recipe file; raise RecipeError with
    every problem, each with its path in the recipe and its line."""
    path = Path(path)
    data, root = load_yaml(read_config_file(path, "recipe"), source_name=str(path))
    if isinstance(data, dict):
        data = resolve_paths(data, base_dir=path.parent)
    recipe = parse_recipe_data(data, source_name=str(path), root=root, registry=registry)
    if check_inputs:
        check_sources_exist(recipe.sources, base_dir=path.parent)
        check_train_inputs(recipe, root=root, base_dir=path.parent, source_name=str(path))
    return recipe


def parse_recipe(
    text: str, *, source_name: str = "<recipe>", registry: StageRegistry = REGISTRY
) -> RecipeBase:
    data, root = load_yaml(text, source_name=source_name)
    return parse_recipe_data(data, source_name=source_name, root=root, registry=registry)


def parse_recipe_data(
    data: Any, *, source_name: str, root: yaml.Node | None, registry: StageRegistry = REGISTRY
) -> RecipeBase:
    if not isinstance(data, dict):
        raise RecipeError(
            f"{source_name}: a recipe is a YAML mapping with name, sources and stages; got {type(data).__name__}"
        )
    return recipe_from_data(data, source_name=source_name, root=root, registry=registry)


def recipe_from_data(
    data: dict[str, Any],
    *,
    source_name: str = "<recipe>",
    root: yaml.Node | None = None,
    registry: StageRegistry = REGISTRY,
) -> RecipeBase:
    """Validate recipe data (parsed YAML, or a recipe built by code such as a sweep variant) and
    fill in what it implies; errors name their path (and their line when ``root`` is the YAML
    node tree the data came from)."""
    model = recipe_model(registry)
    try:
        return resolve_implied(model.model_validate(data), registry=registry)
    except ValidationError as exc:
        raise explain_errors(exc, model, source_name=source_name, root=root, registry=registry) from None


def load_yaml(text: str, *, source_name: str) -> tuple[Any, yaml.Node | None]:
    """Parse YAML into (data, node tree); the node tree gives error lines. A syntax error is a
    RecipeError with its line and column."""
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} that starts on line {context_mark.line + 1})"
        raise RecipeError(f"{source_name}: not valid YAML{where}: {problem}") from None


_BUILT_IN = ("chatml", "llama3", "plain")


def resolve_implied(recipe: RecipeBase, *, registry: StageRegistry = REGISTRY) -> RecipeBase:
    """Fill in what a recipe implies, so that the resolved recipe says it explicitly:

    - tokenize renders conversations with the format stage's template and system prompt unless
      it names its own (the model must be trained on what it is scored with); a format stage with
      ``template: model`` or ``{jinja: PATH}`` renders with the tokenize stage's tokenizer unless
      it names its own;
    - a recipe that scores on an eval set gets a ``decontaminate`` stage before its first
      mix/format/tokenize stage (unless it has one), so no eval record is trained on.
    """
    pairs = recipe.stage_list()
    if not pairs or "decontaminate" not in registry:
        return recipe
    entries: list[dict[str, Any]] = []
    last_format: BaseModel | None = None
    loads = next((getattr(c, "loads", None) for n, c in pairs if n == "tokenize"), None)
    for name, config in pairs:
        data = config.model_dump(mode="json")
        if name == "format":
            last_format = config
            if data.get("tokenizer") is None and loads is not None and data.get("template") not in _BUILT_IN:
                data["tokenizer"] = (
                    loads  # template: model / {jinja: PATH} render with the tokenizer's tokens
                )
        if name == "tokenize" and last_format is not None:
            for key in ("template", "system_prompt"):
                if key not in config.model_fields_set:
                    data[key] = getattr(last_format, key)
        entries.append({name: data})
    names = [name for name, _ in pairs]
    evaluated = recipe.train is not None and recipe.train.eval.scored
    if evaluated:  # a listed decontaminate stage always checks every eval set and task the recipe scores on
        patterns = recipe.train.eval.all_patterns()  # type: ignore[union-attr]
        every = patterns[0] if len(patterns) == 1 else patterns
        for entry, (name, config) in zip(entries, pairs, strict=True):
            if name == "decontaminate" and getattr(config, "eval", "") is None:
                entry[name]["eval"] = every
    if evaluated and "decontaminate" not in names:
        at = next((i for i, n in enumerate(names) if n in DECONTAMINATE_BEFORE), len(names))
        eval_cfg = recipe.train.eval  # type: ignore[union-attr]
        entries.insert(at, {"decontaminate": {"eval": every, "on_overlap": eval_cfg.on_overlap}})
    data = recipe.model_dump(mode="json")
    data["stages"] = entries
    return type(recipe).model_validate(data)


# ---------------------------------------------------------------------------------------------
# Paths and inputs
#
# A relative path in a recipe is looked up in the working directory first (the shipped recipes
# live in recipes/ and name sample_data/... from the repository root), then in the directory of
# the recipe file; the first place where it matches is used, and an error names both places.

# The stage options that name files, by stage.
STAGE_PATH_FIELDS: dict[str, tuple[str, ...]] = {
    "language": ("model",),
    "classify": ("model",),
    "tokenize": ("model", "hf"),
    "decontaminate": ("eval",),
    "format": ("tokenizer",),
    "mix": ("tokenizer",),
    "dedupe": ("against",),
}


def _matches(pattern: str) -> bool:
    return bool(glob.glob(pattern, recursive=True)) or os.path.exists(pattern)


def _relocated(value: Any, base_dir: Path) -> Any:
    """``value`` (a path, a list of them, anything else) with each relative path that matches
    nothing in the working directory but something in ``base_dir`` joined to ``base_dir``."""
    if isinstance(value, list):
        return [_relocated(v, base_dir) for v in value]
    if not isinstance(value, str) or not value or is_url(value) or os.path.isabs(value):
        return value
    if _matches(value):
        return value
    moved = os.path.join(base_dir, value)
    return moved if _matches(moved) else value


def resolve_paths(data: dict[str, Any], *, base_dir: str | os.PathLike) -> dict[str, Any]:
    """A copy of recipe ``data`` in which every relative path (sources' path and data_files, the
    eval set, an init_from checkpoint, stage models and eval files) that matches nothing in the
    working directory but matches in ``base_dir`` (the recipe file's directory) points there."""
    base = Path(base_dir)
    if base.resolve() == Path.cwd().resolve():
        return data
    data = copy.deepcopy(data)
    for source in data.get("sources") or ():
        if isinstance(source, dict):
            for key in ("path", "data_files"):
                if key in source:
                    source[key] = _relocated(source[key], base)
    train = data.get("train")
    if isinstance(train, dict):
        init = train.get("init_from")
        if isinstance(init, str) and init.startswith("hf:"):
            train["init_from"] = "hf:" + _relocated(init[3:], base)
        elif isinstance(init, str) and init != "scratch" and not init.startswith("base:"):
            train["init_from"] = _relocated(init, base)
        evals = train.get("eval")
        if isinstance(evals, dict):
            if "path" in evals:
                evals["path"] = _relocated(evals["path"], base)
            for key in ("sets", "tasks"):
                for name, spec in (evals.get(key) or {}).items() if isinstance(evals.get(key), dict) else ():
                    if isinstance(spec, dict) and "path" in spec:
                        spec["path"] = _relocated(spec["path"], base)
                    else:
                        evals[key][name] = _relocated(spec, base)
    for entry in data.get("stages") or ():
        if isinstance(entry, dict) and len(entry) == 1:
            ((name, config),) = entry.items()
            if isinstance(config, dict):
                for key in STAGE_PATH_FIELDS.get(name, ()):
                    if key in config:
                        config[key] = _relocated(config[key], base)
                if isinstance(config.get("template"), dict) and "jinja" in config["template"]:
                    config["template"] = {
                        **config["template"],
                        "jinja": _relocated(config["template"]["jinja"], base),
                    }
                if name == "decontaminate" and isinstance(config.get("against"), dict):
                    for bench, spec in config["against"].items():
                        if isinstance(spec, dict) and "path" in spec:
                            spec["path"] = _relocated(spec["path"], base)
                        else:
                            config["against"][bench] = _relocated(spec, base)
    return data


def check_train_inputs(
    recipe: RecipeBase,
    *,
    root: yaml.Node | None = None,
    base_dir: str | os.PathLike | None = None,
    source_name: str | None = None,
) -> None:
    """The eval set (``train.eval.path``) exists and reads as eval records, and an init_from
    checkpoint exists; errors name the key (and its line when ``root`` is the recipe's YAML)."""
    from curate.errors import InputError
    from curate.train.evalset import read_eval_records

    train = recipe.train
    if train is None:
        return
    prefix = f"{source_name}: " if source_name else ""

    def at(*parts: str) -> str:
        line = yaml_line(root, ["train", *parts]) if root is not None else None
        return f"{prefix}train.{'.'.join(parts)}" + (f" (line {line})" if line else "")

    named: list[tuple[tuple[str, ...], str, Any]] = []
    if train.eval.path is not None:
        named.append((("eval", "path"), "eval set", train.eval.path))
    named += [(("eval", "sets", n), "eval set", p) for n, p in train.eval.sets.items()]
    named += [(("eval", "tasks", n), "task", t.path) for n, t in train.eval.task_specs.items()]
    for key, what, paths in named:
        patterns = [paths] if isinstance(paths, str) else list(paths)
        for pattern in patterns:
            if not is_url(pattern) and not _matches(pattern):
                raise RecipeError(
                    f"{at(*key)}: {what} {pattern!r} matches no file{looked_in(pattern, base_dir)}"
                )
        try:
            read_eval_records(patterns)  # its shape is checked by curate.train.evalset.check_eval_set
        except InputError as exc:
            raise InputError(f"{at(*key)}: {exc}") from None
    init = train.init_from
    if init.startswith("hf:"):
        from curate.train.models.hf_dir import check_hf_init

        check_hf_init(train, recipe.stage_config("tokenize"), where=at("init_from"))
    elif init != "scratch" and not init.startswith("base:") and not Path(init).is_file():
        raise RecipeError(f"{at('init_from')}: checkpoint {init!r} does not exist{looked_in(init, base_dir)}")


def dump_resolved(recipe: RecipeBase) -> str:
    """The recipe with every default filled in, as YAML (written to the run directory)."""
    data = recipe.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
