"""Whole-pipeline benchmark: per-core throughput of the streaming stages and peak memory vs corpus size.

Runs `curate run` (one worker, so the figures are per core) on a corpus and on the same corpus
repeated N times (as N files), with the streaming batch stages clean + quality + language, and
reports for each size: records/s per step from the run's own stats (the step's seconds with one
worker: reading, writing and every pass of a global stage included), wall time, and the peak RSS
of the run's process (from the kernel, via wait4). Streaming means the peak RSS should not grow
with the corpus. --per-stage also runs each stage alone, to give every stage its own peak RSS.

    python bench/bench_pipeline.py --corpus /work/bench-data/corpus-dev/corpus.jsonl --scales 1,10

The corpus is built by shared/bench/make_corpus.py (not committed). Nothing is written in the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STREAMING = ["clean: {normalize: NFC, strip_html: true}", "quality: {}", "language: {}"]
ALONE = ["clean: {normalize: NFC, strip_html: true}", "quality: {}", "language: {}", "dedupe: {}"]


def recipe_text(data: Path, stages: list[str], shard_mb: float) -> str:
    lines = [f'name: bench\nsources:\n  - {{name: corpus, path: "{data}/*.jsonl"}}\nstages:']
    lines += [f"  - {stage}" for stage in stages] or ["  []"]
    lines.append(f"execution: {{shard_mb: {shard_mb}}}\n")
    return "\n".join(lines).replace("stages:\n  []", "stages: []")


def run_once(data: Path, work: Path, shard_mb: float, stages: list[str] = STREAMING) -> dict:
    recipe = work / "recipe.yaml"
    recipe.write_text(recipe_text(data, stages, shard_mb))
    shutil.rmtree(work / "run", ignore_errors=True)
    run_dir = work / "run"
    cmd = [sys.executable, "-m", "curate", "run", str(recipe), "--out", str(run_dir), "--workers", "1", "-q"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "POLARS_MAX_THREADS": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"curate run failed with status {status}")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    steps = {s["stage"]: s for s in manifest["steps"]}
    size = sum(p.stat().st_size for p in data.glob("*.jsonl"))
    return {
        "records": manifest["accounting"]["records_in"],
        "mb": size / 1e6,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "steps": {
            name: {
                "records_in": s["records"]["in"],
                "seconds": s["seconds"],
                # one worker: the step's wall time is its time on one core (summarize + fit + apply for global stages)
                "records_per_core_s": s["records"]["in"] / s["seconds"] if s["seconds"] else None,
            }
            for name, s in steps.items()
            if name not in ("output",)
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, type=Path, help="corpus.jsonl from make_corpus.py")
    ap.add_argument("--scales", default="1,10", help="comma-separated repetition counts")
    ap.add_argument("--shard-mb", type=float, default=16.0)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument(
        "--per-stage",
        action="store_true",
        help="also run each stage alone on the x1 corpus (peak RSS per stage)",
    )
    args = ap.parse_args()
    results = {}
    if args.per_stage:
        per_stage(args)
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp:
        for scale in [int(s) for s in args.scales.split(",")]:
            work = Path(tmp) / f"x{scale}"
            data = work / "data"
            data.mkdir(parents=True)
            for i in range(scale):  # hard links: N files of the same bytes, N times the records
                os.link(args.corpus, data / f"part-{i:03d}.jsonl")
            results[scale] = run_once(data, work, args.shard_mb)
            shutil.rmtree(work)
            r = results[scale]
            print(
                f"x{scale}: {r['records']:,} records, {r['mb']:.0f} MB, wall {r['wall_s']:.1f}s, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
            )
    print(
        "| corpus | records | MB | wall s | peak RSS MB | clean rec/s/core | quality rec/s/core | language rec/s/core | read rec/s/core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, r in results.items():
        rate = {k: v["records_per_core_s"] for k, v in r["steps"].items()}
        print(
            f"| x{scale} | {r['records']:,} | {r['mb']:.0f} | {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{rate['clean']:,.0f} | {rate['quality']:,.0f} | {rate['language']:,.0f} | {rate['read']:,.0f} |"
        )
    scales = sorted(results)
    if len(scales) > 1:
        lo, hi = results[scales[0]], results[scales[-1]]
        print(
            f"\npeak RSS x{scales[-1]} / x{scales[0]}: {hi['peak_rss_mb'] / lo['peak_rss_mb']:.2f} "
            f"(corpus {hi['records'] / lo['records']:.0f}x larger)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def per_stage(args: argparse.Namespace) -> None:
    """Each stage alone (after read) on the corpus, and read + output alone as the baseline."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        os.link(args.corpus, data / "part-000.jsonl")
        for stages in [[], *[[s] for s in ALONE]]:
            r = run_once(data, Path(tmp), args.shard_mb, stages)
            name = stages[0].split(":")[0] if stages else "read + output only"
            step = r["steps"].get(name, {})
            rows.append((name, step.get("records_in"), step.get("records_per_core_s"), r["peak_rss_mb"]))
    print("| stage (alone, 1 worker) | records in | records/s per core | peak RSS MB of the run |")
    print("|---|---:|---:|---:|")
    for name, n, rate, rss in rows:
        print(
            f"| {name} | {n or '':,} | {rate or 0:,.0f} | {rss:.0f} |" if n else f"| {name} | | | {rss:.0f} |"
        )
    print()


if __name__ == "__main__":
    main()
