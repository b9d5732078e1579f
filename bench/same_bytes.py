"""Do two versions of curate write the same bytes? Runs each recipe under the code of a git
revision and under this working tree, from the same directory on the same data, and compares
every file of the two run directories (the dataset, rejected records, every step's shards, tokens,
the tokenizer, the score), leaving out only files that hold timings or the Python module path of
a pickled object; JSON files are compared without their timings (keys such as ``wall_s``,
``tokens_per_s``, ``elapsed``). Both runs use the same run directory, one after the other.

    python bench/same_bytes.py BASE_REV [RECIPE ...] [--train-steps N] [--workers N]

``--train-steps 0`` (the default) drops each recipe's ``train:`` block (curation and tokenizing
only); ``N`` keeps it with N steps (and N DPO steps), so the trainer and scorer run too. Exit
status 1 when a compared file differs. For refactors: a change in behaviour shows as a byte.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
RECIPES = ["recipes/web.yaml", "recipes/quickstart.yaml", "recipes/sft.yaml", "recipes/preference.yaml"]
# Timings and wall-clock stamps, the lock, the run card (it shows timings), and pickles (they
# name the module of each class they hold, which a refactor may move).
VOLATILE_NAMES = {".lock", "manifest.json", "report.html", "_fit_stats.json", "train_log.jsonl"}
VOLATILE_DIRS = {"_done", "stats", "logs"}
VOLATILE_SUFFIXES = {".pkl", ".log"}
CONTENT = "_CONTENT"
"""A step's list of its files' content hashes (``curate.exec.rundir``), timing files included;
compared without the volatile files and the JSON files (those are compared on their own, less
their timings)."""
JSON = (".json", ".jsonl")
TIMING = re.compile(r"(^|_)(s|elapsed|seconds|time)$|_per_s$")
"""Keys of JSON files that hold a duration or a rate (compared without them)."""

RUN = """
import sys, yaml
import curate
assert curate.__file__.startswith(sys.argv[4]), f"imported {curate.__file__}, not the code under {sys.argv[4]}"
from curate.exec.pipe import run_recipe
from curate.recipe import recipe_from_data
data = yaml.safe_load(open(sys.argv[1]))
recipe = recipe_from_data(data, source_name=sys.argv[1])
run_recipe(recipe, run_dir=sys.argv[2], mode="force", workers=int(sys.argv[3]), report=False)
"""


def volatile(rel: Path) -> bool:
    return (
        rel.name in VOLATILE_NAMES
        or rel.suffix in VOLATILE_SUFFIXES
        or any(part in VOLATILE_DIRS for part in rel.parts[:-1])
    )


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def digest(path: Path) -> str:
    """sha256 of the file; of a JSON (lines) file, of its content less its timings."""
    data = path.read_bytes()
    if path.name == CONTENT:  # a step's content hashes: not those of files that hold timings
        hashes = json.loads(data)
        kept = {k: v for k, v in hashes.items() if not volatile(Path(k)) and Path(k).suffix not in JSON}
        data = json.dumps(kept, sort_keys=True).encode()
    elif path.suffix in JSON:
        lines = (
            [json.loads(line) for line in data.splitlines() if line.strip()]
            if path.suffix == ".jsonl"
            else [json.loads(data)]
        )
        data = json.dumps(_without_timings(lines), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def digests(run_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run_dir)): digest(p)
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not volatile(p.relative_to(run_dir))
    }


def recipe_data(path: str, train_steps: int) -> dict:
    data = yaml.safe_load((REPO / path).read_text())
    if train_steps <= 0:
        data.pop("train", None)
    elif data.get("train"):
        data["train"]["steps"] = train_steps
        if data["train"].get("dpo"):
            data["train"]["dpo"]["steps"] = train_steps
    return data


def run(code: Path, recipe: Path, run_dir: Path, workers: int) -> None:
    """Run ``recipe`` with the curate under ``code``: from the repository root (the recipes' paths are
    relative to it) but with ``-P``, so that the root's own curate/ is not the one imported."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-P", "-c", RUN, str(recipe), str(run_dir), str(workers), str(code)]
    subprocess.run(command, cwd=REPO, env=env, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="git revision to compare this working tree with")
    parser.add_argument("recipes", nargs="*", default=RECIPES)
    parser.add_argument("--train-steps", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="work here and keep the runs (default: a temporary directory)"
    )
    args = parser.parse_args()
    differ = 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = (
        contextlib.nullcontext(tempfile.mkdtemp(dir=args.keep))
        if args.keep
        else tempfile.TemporaryDirectory()
    )
    with work as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.base, "curate"], cwd=REPO, capture_output=True, check=True
        )
        archive_path = Path(tmp) / "base.tar"
        archive_path.write_bytes(archive.stdout)
        with tarfile.open(archive_path) as tar:
            tar.extractall(base, filter="data")
        for path in args.recipes:
            recipe = Path(tmp) / Path(path).name
            recipe.write_text(yaml.safe_dump(recipe_data(path, args.train_steps)))
            # both runs at the same path: files that record the run directory compare equal
            run_dir = Path(tmp) / "run" / recipe.stem
            found = {}
            for name, code in (("base", base), ("new", REPO)):
                run(code, recipe, run_dir, args.workers)
                found[name] = digests(run_dir)
                run_dir.rename(Path(tmp) / f"{recipe.stem}-{name}")
            before, after = found["base"], found["new"]
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            differ += len(changed)
            print(json.dumps({"recipe": path, "files": len(after), "differ": changed}))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
