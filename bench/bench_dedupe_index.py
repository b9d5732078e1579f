"""Benchmark deduping new data against an index of an old corpus, against deduping everything again.

    python bench/bench_dedupe_index.py --corpus /work/bench-corpora/corpus-dev/corpus.jsonl [--new 0.1]

The corpus (``shared/bench/make_corpus.py``) is shuffled with a fixed seed and cut into an old part
(90%) and a new part (10%). Three runs of the same dedupe recipe (exact + MinHash, defaults), each
in its own run directory, with the same workers:

1. **old**: the 90% alone; writes the index (not timed against anything: it is the past run).
2. **against**: the 10% with ``dedupe: {against: [old run]}``; reads no old text.
3. **again**: the 100% (old first, then new), as one would without an index.

Reported: the dedupe step's seconds and records/s of each run (read step excluded; the whole run's
wall time too), the ratio again / against in the same process (the machine is shared: only ratios
mean anything), the index's bytes per record (from its files), and a check that the against run
removed exactly the new records the again run removed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.exec.pipe import run_recipe  # noqa: E402
from curate.recipe import parse_recipe  # noqa: E402
from curate.stages.dedupe.index import open_index  # noqa: E402

RECIPE = """
name: {name}
sources:
{sources}
stages:
  - dedupe: {{{against}}}
execution: {{shard_mb: {shard_mb}}}
"""


def recipe(name: str, files: list[Path], shard_mb: float, against: Path | None = None):
    sources = "\n".join(f"  - {{name: s{i}, path: {str(f)!r}, id_field: id}}" for i, f in enumerate(files))
    extra = f"against: [{str(against)!r}]" if against else ""
    return parse_recipe(RECIPE.format(name=name, sources=sources, against=extra, shard_mb=shard_mb))


def removed(run_dir: Path) -> set[str]:
    files = sorted((run_dir / "rejected" / "01-dedupe").glob("*.parquet"))
    return set(pl.concat([pl.read_parquet(f, columns=["id"]) for f in files])["id"]) if files else set()


def timed(name: str, files: list[Path], root: Path, args, against: Path | None = None) -> dict:
    started = time.perf_counter()
    result = run_recipe(
        recipe(name, files, args.shard_mb, against), run_dir=root / name, workers=args.workers
    )
    wall = time.perf_counter() - started
    step = result.steps[1]
    records = step["records"]["in"]
    return {
        "records": records,
        "removed": step["records"]["dropped"],
        "dedupe_seconds": round(step["seconds"], 3),
        "dedupe_records_per_s": round(records / step["seconds"], 1),
        "run_seconds": round(wall, 3),
        "index": step.get("finalize", {}).get("index"),
        "reasons": step["reasons"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--new", type=float, default=0.1, help="Share of the corpus that is new.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shard-mb", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    frame = (
        pl.read_ndjson(args.corpus).select("id", "text").sample(fraction=1.0, shuffle=True, seed=args.seed)
    )
    cut = round(frame.height * (1 - args.new))
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-index-") as tmp:
        root = Path(tmp)
        old_file, new_file = root / "old.jsonl", root / "new.jsonl"
        frame.head(cut).write_ndjson(old_file)
        frame.slice(cut).write_ndjson(new_file)
        old = timed("old", [old_file], root, args)
        against = timed("against", [new_file], root, args, against=root / "old")
        again = timed("again", [old_file, new_file], root, args)
        new_ids = set(frame.slice(cut)["id"])
        same = removed(root / "against") == (removed(root / "again") & new_ids)
        index = open_index(root / "old")
        index_bytes = index.nbytes
        files = {Path(f).name: Path(f).stat().st_size for f in index.files()}
    figures = {
        "corpus": str(args.corpus),
        "records": frame.height,
        "new_share": args.new,
        "workers": args.workers,
        "old": old,
        "against": against,
        "again": again,
        "ratio_dedupe_seconds_again_over_against": round(
            again["dedupe_seconds"] / against["dedupe_seconds"], 2
        ),
        "ratio_run_seconds_again_over_against": round(again["run_seconds"] / against["run_seconds"], 2),
        "new_records_per_s": {
            "against": round(against["records"] / against["dedupe_seconds"], 1),
            "again": round(against["records"] / again["dedupe_seconds"], 1),
        },
        "index_bytes": index_bytes,
        "index_bytes_per_record": round(index_bytes / max(index.records, 1), 2),
        "index_files": files,
        "against_removes_what_again_removes": same,
    }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
