"""Benchmark the Ray executor against the local one on the same corpus, in one run.

    python bench/bench_ray.py --corpus /work/bench-data/corpus-dev [--workers 2] [--rounds 2]
        [--shard-mb 4] [--out /work/bench-data/ray-bench]

The corpus is one built by ``shared/bench/make_corpus.py`` (``corpus.jsonl``). Needs the ray
extra. Nothing is written inside the repository.

1. Executor overhead: the recipe quality + dedupe + language runs on the whole corpus with the
   local executor (a process pool of ``--workers``) and with Ray (a local Ray instance of
   ``--workers`` CPUs, started once, its start-up timed apart), alternating for ``--rounds``,
   each run in a fresh run directory. Reported: wall seconds (median), the Ray / local ratio
   measured in the same run, records/s per worker, seconds per step; the outputs are checked to be
   byte-identical.
2. Growth of the dedupe state and shuffle: the dedupe stage alone on the first 1/4, 1/2 and all
   of the corpus (1x, 2x, 4x), on Ray. Reported per input record: the partials (what summarize
   keeps), the shuffle files of the partitioned fit (scatter, links, forests, merges), the records
   that come back to the driver, and the final state; plus the single-process fit's seconds
   (local, one worker) next to the partitioned fit's. The partitioned fit is forced (by default
   it starts at 16 MB of partials, ~130k records, more than this corpus).
3. The fit alone at scale, on synthetic partials (``--fit-records``; 14 bands, families of
   near duplicates, 1 record in 10 an exact duplicate): seconds and the driver's peak traced
   memory of the single-process fit, and of the partitioned fit on Ray with P partitions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

RECIPE = """
name: {name}
sources:
  - {{name: corpus, path: "{path}", id_field: id}}
stages:
{stages}
execution: {{shard_mb: {shard_mb}}}
"""
FULL = """  - quality: {}
  - dedupe: {}
  - language: {keep: [en, de, fr, es, it, pt, nl, ru, zh, ja], min_score: 0.5}
"""
DEDUPE = "  - dedupe: {}\n"


def tree_bytes(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def run_once(recipe_text: str, run_dir: Path, executor: Any) -> dict[str, Any]:
    from curate.exec.pipe import run_recipe
    from curate.recipe import parse_recipe

    if run_dir.parent.exists():
        shutil.rmtree(run_dir.parent)
    started = time.perf_counter()
    result = run_recipe(parse_recipe(recipe_text), run_dir=run_dir, executor=executor)
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "records": result.manifest["accounting"]["records_in"],
        "steps": {s["stage"]: round(s["seconds"], 2) for s in result.steps},
        "dedupe": next(s for s in result.steps if s["stage"] == "dedupe"),
    }


def slice_corpus(corpus: Path, out: Path, fraction: float) -> Path:
    lines = corpus.read_bytes().splitlines(keepends=True)
    keep = lines[: int(len(lines) * fraction)]
    path = out / f"slice-{fraction:g}" / "corpus.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(keep))
    return path


def per_record(value: float, records: int) -> float:
    return round(value / max(records, 1), 1)


def overhead(args: argparse.Namespace, ray_executor: Any, local_executor: Any) -> dict[str, Any]:
    corpus = args.corpus / "corpus.jsonl"
    text = RECIPE.format(name="bench", path=corpus, stages=FULL, shard_mb=args.shard_mb)
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    for r in range(args.rounds):
        for name, executor in (("local", local_executor), ("ray", ray_executor)):
            result = run_once(text, args.out / f"{name}-{r}" / "run", executor)
            runs[name].append(result)
            print(f"[round {r}] {name}: {result['wall']:.1f} s, steps {result['steps']}", flush=True)
        same = tree_bytes(args.out / f"local-{r}" / "run" / "output") == tree_bytes(
            args.out / f"ray-{r}" / "run" / "output"
        )
        if not same:
            raise SystemExit("local and Ray outputs differ")
    # round 0 is cold (the pool spawns its processes, Ray its workers); later rounds reuse them
    warm = {k: v[1:] or v for k, v in runs.items()}
    walls = {k: statistics.median(x["wall"] for x in v) for k, v in warm.items()}
    ratios = [ray["wall"] / local["wall"] for local, ray in zip(warm["local"], warm["ray"], strict=True)]
    records = runs["local"][0]["records"]
    return {
        "records": records,
        "cold": {k: round(v[0]["wall"], 2) for k, v in runs.items()},
        "cold_ratio": round(runs["ray"][0]["wall"] / runs["local"][0]["wall"], 3),
        "wall": walls,
        "ray_over_local": round(statistics.median(ratios), 3),
        "ratios": [round(x, 3) for x in ratios],
        "records_per_s_per_worker": {k: round(records / w / args.workers, 1) for k, w in walls.items()},
        "steps": {k: v[-1]["steps"] for k, v in runs.items()},
        "identical_output": True,
    }


def growth(args: argparse.Namespace, ray_executor: Any, single_executor: Any) -> list[dict[str, Any]]:
    from curate.stages.dedupe import partitioned

    partitioned.SMALL_BYTES = 0  # partition the fit even for this small corpus
    rows = []
    for fraction, label in ((0.25, "1x"), (0.5, "2x"), (1.0, "4x")):
        path = slice_corpus(args.corpus / "corpus.jsonl", args.out / "slices", fraction)
        text = RECIPE.format(name=f"g{label}", path=path, stages=DEDUPE, shard_mb=args.shard_mb)
        ray_run = run_once(text, args.out / f"growth-ray-{label}" / "run", ray_executor)
        single = run_once(text, args.out / f"growth-single-{label}" / "run", single_executor)
        fit, one = ray_run["dedupe"]["fit"], single["dedupe"]["fit"]
        n = fit["records"]
        dist = fit["partitioned"]
        shuffle = dist["shuffle_bytes"] + dist["edge_bytes"] + dist["forest_bytes"] + dist["merge_bytes"]
        row = {
            "scale": label,
            "records": n,
            "shards": fit["shards"],
            "partitions": dist["partitions"],
            "partial_B_per_record": fit["partial_bytes_per_record"],
            "scatter_B_per_record": per_record(dist["shuffle_bytes"], n),
            "links_B_per_record": per_record(dist["edge_bytes"], n),
            "forests_B_per_record": per_record(dist["forest_bytes"] + dist["merge_bytes"], n),
            "shuffle_total_B_per_record": per_record(shuffle, n),
            "clustered_records": dist["clustered_records"],
            "clustered_fraction": round(dist["clustered_records"] / max(n, 1), 4),
            "state_B_per_record": fit["state_bytes_per_record"],
            "candidate_pairs": fit["candidate_pairs"],
            "removed": fit["removed"],
            "fit_s_partitioned_ray": round(fit["fit_seconds"], 3),
            "fit_s_single_process": round(one["fit_seconds"], 3),
            "same_removals": fit["removed"] == one["removed"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def synthetic_partials(records: int, shard_rows: int, out: Path, seed: int = 0) -> list[Path]:
    """Partials of ``records`` records: 14 band keys each, 30% of records in families of ~3 near
    duplicates (a band key shared with the family with probability 0.6), 10% exact duplicates."""
    import numpy as np
    import polars as pl

    from curate.io import state as state_file
    from curate.stages.dedupe import DedupePartial
    from curate.stages.dedupe.shingles import U64, splitmix64, token_hash_fingerprint

    rng = np.random.default_rng(seed)
    bands, files = 14, []
    out.mkdir(parents=True, exist_ok=True)
    for shard, start in enumerate(range(0, records, shard_rows)):
        rows = min(shard_rows, records - start)
        index = start + np.arange(rows)
        in_family = rng.random(rows) < 0.3
        family = np.where(in_family, rng.integers(0, max(1, int(records * 0.1)), rows), -1 - index)
        shared = (rng.random((rows, bands)) < 0.6) & in_family[:, None]
        base = np.where(shared, family[:, None], index[:, None] + (1 << 40)) * bands + np.arange(bands)
        exact_dup = rng.random(rows) < 0.1
        exact = np.where(exact_dup, rng.integers(0, max(1, records // 20), rows), index + (1 << 45))
        part = DedupePartial(
            shard=shard,
            source="synthetic",
            rows=rows,
            ids=pl.Series("id", [f"s{i}" for i in index.tolist()], dtype=pl.String),
            exact=splitmix64(exact.astype(U64) + U64(1 << 50)),
            bands=splitmix64(base.astype(U64)),
            unsigned=np.zeros(0, dtype=np.int64),
            hash_fingerprint=token_hash_fingerprint(),
        )
        path = state_file.save(part, out / f"{shard:05d}.npz")
        files.append(path)
    return files


def fit_at_scale(args: argparse.Namespace, ray_executor: Any) -> list[dict[str, Any]]:
    import gc
    import tracemalloc

    from curate.io import state as state_file
    from curate.stages.base import StageContext
    from curate.stages.dedupe import DedupeConfig, fit, partitioned

    cfg = DedupeConfig()
    rows = []
    for records in args.fit_records:
        files = synthetic_partials(records, 50_000, args.out / f"fit-{records}")
        stage_dir = args.out / f"fit-{records}-stage"
        stage_dir.mkdir(exist_ok=True)
        size = sum(f.stat().st_size for f in files)
        runs = [("single", 1), *(("partitioned", p) for p in args.fit_partitions)]
        removed = None
        for mode, p in runs:
            gc.collect()
            tracemalloc.start()
            started = time.perf_counter()
            if mode == "single":
                parts = [state_file.load(f) for f in files]
                result = fit(parts, cfg)
                del parts
            else:
                partitioned.SMALL_BYTES = 0
                ctx = StageContext(
                    args.out,
                    stage_dir,
                    0,
                    {},
                    (),
                    map_tasks=ray_executor.map_unordered,
                    workers=p,
                    partial_files=tuple(files),
                )
                result = fit(files, cfg, ctx)  # the partitioned fit reads the files, not this list
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            removed = removed or result.stats["removed"]
            row = {
                "records": records,
                "partial_MB": round(size / 1e6, 1),
                "fit": mode,
                "partitions": result.stats.get("partitioned", {}).get("partitions", 1),
                "seconds": round(seconds, 2),
                "driver_peak_MB": round(peak / 1e6, 1),
                "same_removals": result.stats["removed"] == removed,
                "removed": result.stats["removed"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            del result
        shutil.rmtree(args.out / f"fit-{records}")
        shutil.rmtree(stage_dir, ignore_errors=True)
    return rows


def markdown(result: dict[str, Any]) -> str:
    o = result["overhead"]
    lines = [
        f"## Ray executor vs local executor ({result['machine']})",
        "",
        f"corpus `{result['corpus']}`: {o['records']} records; {result['workers']} workers each; "
        f"shard_mb {result['shard_mb']}; recipe quality + dedupe + language; {result['rounds']} rounds alternating.",
        "",
        "| executor | cold wall s (round 0) | warm wall s (median) | warm records/s per worker "
        "| warm ratio to local (paired) |",
        "|---|---:|---:|---:|---:|",
        f"| local (process pool) | {o['cold']['local']:.1f} | {o['wall']['local']:.1f} | "
        f"{o['records_per_s_per_worker']['local']} | 1.00 |",
        f"| ray (local instance) | {o['cold']['ray']:.1f} | {o['wall']['ray']:.1f} | "
        f"{o['records_per_s_per_worker']['ray']} | {o['ray_over_local']:.2f} (rounds: {o['ratios']}) |",
        "",
        f"Cold ratio (round 0, Ray / local): {o['cold_ratio']:.2f}.",
        "",
        f"Ray start-up (ray.init, not in the walls above): {result['ray_init_s']:.1f} s. Outputs byte-identical: "
        f"{o['identical_output']}. Seconds per step (last round): local {o['steps']['local']}, ray {o['steps']['ray']}.",
        "",
        "### Dedupe state and shuffle per input record (Ray, partitioned fit)",
        "",
        "| scale | records | shards | partitions | partials B/rec | scatter B/rec | links B/rec | forests B/rec "
        "| shuffle total B/rec | clustered | state B/rec | fit s partitioned | fit s single process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in result["growth"]:
        lines.append(
            f"| {g['scale']} | {g['records']} | {g['shards']} | {g['partitions']} | {g['partial_B_per_record']} | "
            f"{g['scatter_B_per_record']} | {g['links_B_per_record']} | {g['forests_B_per_record']} | "
            f"{g['shuffle_total_B_per_record']} | {g['clustered_fraction']:.1%} | {g['state_B_per_record']} | "
            f"{g['fit_s_partitioned_ray']} | {g['fit_s_single_process']} |"
        )
    if result.get("fit_at_scale"):
        lines += [
            "",
            "### The dedupe fit alone at scale (synthetic partials, 14 bands)",
            "",
            "| records | partials MB | fit | partitions | seconds | driver peak MB (traced) | same removals |",
            "|---:|---:|---|---:|---:|---:|---|",
        ]
        for f in result["fit_at_scale"]:
            lines.append(
                f"| {f['records']} | {f['partial_MB']} | {f['fit']} | {f['partitions']} | {f['seconds']} | "
                f"{f['driver_peak_MB']} | {f['same_removals']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--shard-mb", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=Path("/work/bench-data/ray-bench"))
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--fit-records", type=int, nargs="*", default=[250_000, 1_000_000, 2_000_000])
    parser.add_argument("--fit-partitions", type=int, nargs="*", default=[2, 8])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import ray

    from curate.exec.executor import LocalExecutor
    from curate.exec.ray_executor import RayExecutor

    started = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="warning")
    ray_init = time.perf_counter() - started
    ray_executor, local_executor, single = (
        RayExecutor(args.workers),
        LocalExecutor(args.workers),
        LocalExecutor(1),
    )
    try:
        result: dict[str, Any] = {
            "corpus": str(args.corpus),
            "workers": args.workers,
            "rounds": args.rounds,
            "shard_mb": args.shard_mb,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, shared",
            "ray_init_s": ray_init,
        }
        if not args.skip_overhead:
            result["overhead"] = overhead(args, ray_executor, local_executor)
        if not args.skip_growth:
            result["growth"] = growth(args, ray_executor, single)
        result["fit_at_scale"] = fit_at_scale(args, ray_executor)
        result["load_average"] = os.getloadavg()
    finally:
        local_executor.close()
        ray_executor.close()
        ray.shutdown()
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    if "overhead" in result and "growth" in result:
        text = markdown(result)
        (args.out / "summary.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
