"""The package's import graph keeps to the layers drawn in docs/architecture.md.

Computed from the source with ``ast`` (nothing is imported): every ``import`` counts, at module
level or inside a function, ``TYPE_CHECKING`` blocks included, because a reader follows them all.
A *room* is a top-level subpackage (``curate/exec/``) or top-level module (``curate/recipe.py``);
an *arrow* is one room importing another. ``python -m tests.test_architecture`` prints the figures.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "curate"
ROOT = "curate"

# Low to high. A room may import rooms of its own layer or below; docs/architecture.md draws it.
LAYERS: dict[str, int] = {
    # 0: the floor — errors, record columns, text patterns, the version
    "errors": 0,
    "records": 0,
    "text": 0,
    "version": 0,
    "terminal": 0,
    "stats": 0,
    # 1: data shapes and files — record shapes and chat templates, reading and writing files
    "formats": 1,
    "io": 1,
    # 2: models the stages use — sentencepiece tokenizers and packing, fastText classifiers — and
    # the experiment trackers a finished run logs to (they read a run directory's files)
    "tokenize": 2,
    "classifiers": 2,
    "exports": 2,
    "track": 2,
    # 3: the stages, each a pure function plus its config
    "stages": 3,
    # 4: the recipe model that names stages, the explanation of its errors, and its JSON schema
    "recipe": 4,
    "recipe_errors": 4,
    "schema": 4,
    # 5: running a recipe — executors, the run directory, output, progress
    "exec": 5,
    # 6: what uses a run — training and scoring, reports, sweeps, the end-of-run tables
    "train": 6,
    "report": 6,
    "sweep": 6,
    "calibrate": 6,
    "summary": 6,
    # 7: entry points
    "cli": 7,
    "reference": 7,
    "__main__": 7,
    ROOT: 7,  # curate/__init__.py: curate.run() (imports lazily)
}

# Arrows from a lower layer up to a higher one that the layout explains, each with its reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    (
        "recipe",
        "train",
    ): "a recipe's train: section is validated by train/config.py (pydantic only, no torch)",
    ("stages", "train"): "decontaminate reads the eval set the trainer scores on (train/evalset.py, a leaf)",
    ("exec", "train"): "a recipe's last step trains and scores a model on the run (imported when it runs)",
    ("exec", "report"): "a run ends by writing its report.html (imported when it runs)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The deepest package module that ``name`` (a module or a name in a module) refers to."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules ``module`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                target = _resolve(name, known)
                if target and target != module:
                    found.add(target)
    return found


def module_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def room_arrows(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """Each arrow between rooms, with the module imports that draw it."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source, targets in graph.items():
        for target in sorted(targets):
            if room(source) != room(target):
                arrows[room(source), room(target)].append(f"{source} -> {target}")
    return dict(arrows)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def upward(arrows: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    return {
        (a, b): lines
        for (a, b), lines in arrows.items()
        if LAYERS.get(a, -1) < LAYERS.get(b, -1) or a not in LAYERS or b not in LAYERS
    }


def test_cycle_finder_finds_a_cycle_and_only_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_submodule_imports_resolve_to_modules(tmp_path):
    known = {
        "curate.x": tmp_path / "x" / "__init__.py",
        "curate.x.y": tmp_path / "x" / "y.py",
        "curate": tmp_path,
    }
    source = tmp_path / "x" / "z.py"
    source.parent.mkdir()
    source.write_text("from . import y\nfrom curate.x import thing\nimport curate\n")
    assert imports_of("curate.x.z", source, known) == {"curate.x.y", "curate.x", "curate"}


def test_every_room_has_a_layer():
    rooms = {room(name) for name in modules()}
    assert rooms - set(LAYERS) == set(), "add the new room to LAYERS here and to docs/architecture.md"


def test_no_import_cycle_between_modules():
    assert cycles(module_graph()) == []


def test_no_arrow_from_a_lower_layer_to_a_higher_one_beyond_the_allowlist():
    found = upward(room_arrows(module_graph()))
    unexplained = {arrow: lines for arrow, lines in found.items() if arrow not in ALLOWED_UPWARD}
    assert unexplained == {}, "an import goes up a layer: move the shared piece down, or explain it"
    gone = set(ALLOWED_UPWARD) - set(found)
    assert gone == set(), "this allowed arrow is gone: remove it from ALLOWED_UPWARD"


def main() -> None:
    graph = module_graph()
    arrows = room_arrows(graph)
    up = upward(arrows)
    print(f"rooms {len({room(m) for m in graph})}, arrows {len(arrows)}, upward {len(up)}, ", end="")
    print(f"cycles {len(cycles(graph))}")
    for (a, b), lines in sorted(up.items()):
        print(f"  up {a} -> {b}: {', '.join(lines)}")
    for group in cycles(graph):
        print(f"  cycle: {' <-> '.join(group)}")


if __name__ == "__main__":
    main()
