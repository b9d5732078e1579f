"""Benchmark curate's dedupe stage against rensa, datatrove, naive datasketch and text-dedup, in one run.

    python bench/bench_dedupe.py --corpus /work/bench-data/corpus-dev [--bench-home /work/bench-peers]
        [--configs default,dt14x8,verify] [--peers rensa_minhash,datatrove_minhash,datasketch_naive]
        [--baseline rensa_minhash] [--peer-python PYTHON] [--repeats 1]
        [--shard-size 5000] [--threads 1] [--out /work/bench-data/dedupe-bench]

curate against rensa alone, 3 interleaved repeats, with the interpreter that has rensa installed:

    python bench/bench_dedupe.py --corpus /work/bench-corpora/corpus-dev --configs default \
        --peers rensa_minhash,datasketch_naive --baseline rensa_minhash --peer-python "$(which python)" --repeats 3

The corpus is one built by ``shared/bench/make_corpus.py`` (``corpus.jsonl`` + ``truth.json``).
Every tool runs as its own process, one after the other, interleaved over ``--repeats``:

- ``curate <config>``: this script in ``--worker`` mode. It runs the stage functions as the pipe
  loop does, over shards of ``--shard-size`` records of ``corpus.jsonl`` in corpus order, read with
  polars (``id``, ``text``) anew for each pass: ``summarize`` per shard, ``fit``,
  ``rescan``/``refit`` when verifying, ``apply`` per shard, and writes the kept records as Parquet.
  Only one shard is in memory at a time. The timing covers reading (twice, or three times when
  verifying), the stage and writing; the peers' timings also include their reading and writing.
  ``--threads`` caps the thread pools of every tool (POLARS_MAX_THREADS for curate, RAYON_NUM_THREADS
  for rensa, OMP/OPENBLAS/MKL_NUM_THREADS for both), 1 by default: records/s is then per core.
- peers: the scripts of ``shared/bench/peers`` with the peers' virtual environments made by
  ``shared/bench/setup_peers.sh`` under ``--bench-home``, or ``--peer-python`` (an interpreter
  with the peer's package, e.g. this one for rensa and datasketch) for every peer but text-dedup.

Each tool's kept ids are scored by ``shared/bench/score_dedup.py``. Printed and written to
``--out/summary.md``: wall seconds (median of the repeats), records/s (per core with ``--threads 1``),
records per CPU-second (user + sys of the tool's process and its children, from getrusage), their
ratios to the ``--baseline`` peer's measured in the same run, CPU seconds, peak RSS, dedupe state
bytes per record (curate), precision and recall/F1 at each true-Jaccard threshold; then, for each
curate config, the baseline ratios paired repeat by repeat (the machine is noisy: tools of one
repeat run back to back). Nothing is written inside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = next(
    (p / "shared" / "bench" for p in REPO.parents if (p / "shared" / "bench" / "score_dedup.py").exists()),
    Path("/work/shared/bench"),
)
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "dt14x8": {"minhash": {"bands": 14, "rows": 8}},
    "verify": {"minhash": {"bands": 20, "rows": 5, "verify": True}},
}
PEERS = ("rensa_minhash", "datatrove_minhash", "datasketch_naive", "textdedup_minhash")
THRESHOLDS = ("0.0", "0.5", "0.7", "0.8", "0.9")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path, help="corpus directory (corpus.jsonl + truth.json)")
    ap.add_argument(
        "--bench-home", type=Path, default=Path(os.environ.get("BENCH_HOME", "/work/bench-peers"))
    )
    ap.add_argument("--shared-bench", type=Path, default=Path(os.environ.get("SHARED_BENCH", SHARED_BENCH)))
    ap.add_argument("--out", type=Path, default=Path("/work/bench-data/dedupe-bench"))
    ap.add_argument(
        "--configs", default="default,dt14x8,verify", help=f"curate configs: {', '.join(CONFIGS)}"
    )
    ap.add_argument("--peers", default=",".join(PEERS), help="peer scripts to run ('' for none)")
    ap.add_argument(
        "--baseline",
        default="datatrove_minhash",
        help="peer the ratios are taken against (the first peer that ran when it did not)",
    )
    ap.add_argument(
        "--peer-python",
        type=Path,
        help="interpreter for every peer but text-dedup, instead of BENCH_HOME/.venv-peers",
    )
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--shard-size", type=int, default=5000)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="thread pools of every tool (polars, rayon, BLAS): 1 = per core",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    return ap.parse_args()


# ---------------------------------------------------------------------------------------------
# the curate worker (a separate process, so that its peak RSS and CPU time are its own)
# ---------------------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def read_shards(path: Path, shard_size: int):
    """The corpus as shards of ``shard_size`` records (``id``, ``source``, ``text``), read lazily
    from the JSONL each time it is iterated, as the pipe loop reads a stage's input shards."""
    import io

    import polars as pl

    from curate.stages.base import ShardInfo

    def parse(index: int, lines: list[bytes]):
        frame = pl.read_ndjson(io.BytesIO(b"".join(lines))).select("id", "text")
        return ShardInfo(index, "corpus", "text"), frame.with_columns(pl.lit("corpus").alias("source"))

    with path.open("rb") as f:
        lines, index = [], 0
        for line in f:
            lines.append(line)
            if len(lines) == shard_size:
                yield parse(index, lines)
                lines, index = [], index + 1
        if lines:
            yield parse(index, lines)


def run_curate(corpus: Path, config: dict[str, Any], shard_size: int, work: Path) -> dict[str, Any]:
    """Dedupe the corpus with the stage functions, streaming its shards from the JSONL for each
    pass (summarize, rescan when verifying, apply) and writing the kept records as Parquet."""
    sys.path.insert(0, str(REPO))
    from curate.stages.dedupe import DedupeConfig, apply, fit, refit, rescan, summarize

    cfg = DedupeConfig.model_validate(config)
    path = corpus / "corpus.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    wall0, cpu0 = time.perf_counter(), _cpu_seconds()
    partials = [summarize(batch, cfg, shard) for shard, batch in read_shards(path, shard_size)]
    t_summarize = time.perf_counter()
    fitted = fit(partials, cfg, None)
    if fitted.needs_rescan:
        found = [rescan(batch, cfg, fitted.state, shard) for shard, batch in read_shards(path, shard_size)]
        fitted = refit(found, cfg, fitted.state, None)
    t_fit = time.perf_counter()
    kept_ids, n_docs = [], 0
    for shard, batch in read_shards(path, shard_size):
        result = apply(batch, cfg, fitted.state, shard)
        result.kept.write_parquet(work / f"part-{shard.index:05d}.parquet", compression="zstd")
        kept_ids.extend(result.kept["id"].to_list())
        n_docs += batch.height
    wall = time.perf_counter() - wall0
    cpu = _cpu_seconds() - cpu0
    (work / "kept_ids.txt").write_text("".join(f"{i}\n" for i in kept_ids))
    stats = fitted.stats
    return {
        "tool": "curate",
        "n_docs": n_docs,
        "n_kept": len(kept_ids),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "docs_per_s": round(n_docs / wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "phases_s": {
            "read_summarize": round(t_summarize - wall0, 3),
            "fit": round(t_fit - t_summarize, 3),
            "read_apply_write": round(time.perf_counter() - t_fit, 3),
        },
        "stats": {k: v for k, v in stats.items() if k != "minhash"},
        "minhash": stats.get("minhash"),
    }


# ---------------------------------------------------------------------------------------------
# the orchestrator
# ---------------------------------------------------------------------------------------------


def thread_env(threads: int) -> dict[str, str]:
    """The environment that caps every tool's thread pools at ``threads``."""
    n = str(threads)
    caps = (
        "POLARS_MAX_THREADS",
        "RAYON_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    )
    return dict(os.environ, **dict.fromkeys(caps, n))


def curate_job(args: argparse.Namespace, name: str, run_dir: Path) -> dict[str, Any]:
    env = thread_env(args.threads)
    spec = json.dumps(
        {
            "corpus": str(args.corpus),
            "config": CONFIGS[name],
            "shard_size": args.shard_size,
            "work": str(run_dir),
        }
    )
    proc = subprocess.run(
        [sys.executable, __file__, "--corpus", str(args.corpus), "--worker", spec],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"curate {name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["kept_path"] = str(run_dir / "kept_ids.txt")
    return result


def peer_job(args: argparse.Namespace, peer: str, run_dir: Path) -> dict[str, Any] | None:
    venv = ".venv-textdedup" if peer == "textdedup_minhash" else ".venv-peers"
    python = args.bench_home / venv / "bin" / "python"
    if args.peer_python and peer != "textdedup_minhash":
        python = args.peer_python
    if not python.exists():
        print(f"{peer}: {python} missing (run shared/bench/setup_peers.sh), skipped", file=sys.stderr)
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(
        thread_env(args.threads),
        HF_ASSETS_CACHE=str(args.bench_home / "data" / "hf_assets"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONHASHSEED="0",
    )
    kept, result = run_dir / "kept_ids.txt", run_dir / "result.json"
    cmd = [
        str(python),
        str(args.shared_bench / "peers" / f"{peer}.py"),
        "--corpus",
        str(args.corpus / "corpus.jsonl"),
        "--work",
        str(run_dir / "work"),
        "--out",
        str(kept),
        "--result",
        str(result),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    (run_dir / "stderr.txt").write_text(proc.stderr)
    if proc.returncode != 0:
        print(f"{peer} FAILED (see {run_dir / 'stderr.txt'}):\n{proc.stderr[-1500:]}", file=sys.stderr)
        return None
    out = json.loads(result.read_text())
    out["kept_path"] = str(kept)
    subprocess.run(["rm", "-rf", str(run_dir / "work")], check=False)
    return out


def score(args: argparse.Namespace, kept_path: str, out: Path) -> dict[str, Any]:
    subprocess.run(
        [
            sys.executable,
            str(args.shared_bench / "score_dedup.py"),
            "--corpus",
            str(args.corpus / "corpus.jsonl"),
            "--truth",
            str(args.corpus / "truth.json"),
            "--kept",
            kept_path,
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def fmt(x: float | None, nd: int = 3) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def per_cpu_s(r: dict[str, Any]) -> float:
    return r["n_docs"] / r["cpu_s"]


def per_s(r: dict[str, Any]) -> float:
    return r["n_docs"] / r["wall_s"]


def table(rows: list[dict[str, Any]], baseline: dict[str, Any] | None) -> str:
    base = baseline["label"] if baseline else "baseline"
    head = (
        f"| tool | wall s | records/s | × {base} | CPU s | records/CPU-s | × {base} CPU | peak RSS MB | "
        "state B/rec | precision | R@0.8 | " + " | ".join(f"F1@{t}" for t in THRESHOLDS) + " |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        s = r["score"]
        ratio = cpu_ratio = None
        if baseline:
            ratio = per_s(r) / per_s(baseline)
            cpu_ratio = per_cpu_s(r) / per_cpu_s(baseline)
        state = r.get("stats", {}).get("partial_bytes_per_record")
        f1 = " | ".join(fmt(s["by_threshold"][t]["f1"], 4) for t in THRESHOLDS)
        lines.append(
            f"| {r['label']} | {r['wall_s']:.1f} | {per_s(r):.0f} | {fmt(ratio, 2)} | {r['cpu_s']:.1f} | "
            f"{per_cpu_s(r):.0f} | {fmt(cpu_ratio, 2)} | {r['peak_rss_mb']:.0f} | {fmt(state, 0)} | "
            f"{s['precision']:.4f} | {s['by_threshold']['0.8']['recall']:.4f} | {f1} |"
        )
    return "\n".join(lines)


def paired_ratios(runs: dict[str, list[dict[str, Any]]], baseline: str) -> list[str]:
    """Per curate config: its records/s and records/CPU-s over the baseline's, repeat by repeat."""
    base = {r["rep"]: r for r in runs.get(baseline, [])}
    out = []
    for label, results in runs.items():
        pairs = [(r, base[r["rep"]]) for r in results if label.startswith("curate") and r["rep"] in base]
        if not pairs:
            continue
        wall = [per_s(c) / per_s(b) for c, b in pairs]
        cpu = [per_cpu_s(c) / per_cpu_s(b) for c, b in pairs]
        out.append(
            f"- {label} / {baseline}, paired by repeat: records/s "
            f"{', '.join(f'{x:.2f}' for x in wall)} (median **{statistics.median(wall):.2f}**); "
            f"records/CPU-s {', '.join(f'{x:.2f}' for x in cpu)} (median **{statistics.median(cpu):.2f}**)"
        )
    return out


def main() -> None:
    args = parse_args()
    if args.worker:
        spec = json.loads(args.worker)
        print(
            json.dumps(
                run_curate(Path(spec["corpus"]), spec["config"], spec["shard_size"], Path(spec["work"]))
            )
        )
        return
    args.corpus = args.corpus.resolve()
    name = args.corpus.name
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    jobs = [("curate " + c, c) for c in args.configs.split(",") if c] + [
        (p, p) for p in args.peers.split(",") if p
    ]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in jobs}
    for rep in range(args.repeats):
        for label, key in jobs:
            run_dir = out / label.replace(" ", "-") / f"rep{rep}"
            result = (
                curate_job(args, key, run_dir) if label.startswith("curate") else peer_job(args, key, run_dir)
            )
            if result is None:
                continue
            result["rep"] = rep
            print(
                f"[{rep}] {label}: {result['wall_s']:.1f}s wall, {result['cpu_s']:.1f}s CPU, "
                f"{result['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
            runs[label].append(result)
    rows = []
    for label, results in runs.items():
        if not results:
            continue
        median = sorted(results, key=lambda r: r["wall_s"])[len(results) // 2]
        row = dict(
            median,
            label=label,
            wall_s=statistics.median(r["wall_s"] for r in results),
            cpu_s=statistics.median(r["cpu_s"] for r in results),
            peak_rss_mb=max(r["peak_rss_mb"] for r in results),
        )
        row["score"] = score(args, median["kept_path"], out / f"score-{label.replace(' ', '-')}.json")
        rows.append(row)
    peers = [r for r in rows if not r["label"].startswith("curate")]
    baseline = next((r for r in peers if r["label"] == args.baseline), peers[0] if peers else None)
    meta = (
        f"corpus `{name}`: {rows[0]['n_docs'] if rows else 0} records; repeats {args.repeats} (median); "
        f"curate shard size {args.shard_size}; thread pools capped at {args.threads}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )
    md = [f"## dedupe on {name}", "", meta, "", table(rows, baseline), ""]
    if baseline:
        md += paired_ratios(runs, baseline["label"])
    for r in rows:
        if r["label"].startswith("curate"):
            mh = r.get("minhash") or {}
            curve = ", ".join(f"{p['jaccard']}: {p['p_detect']}" for p in mh.get("s_curve", []))
            md.append(
                f"- {r['label']}: phases {r['phases_s']}; bands x rows {mh.get('bands')} x {mh.get('rows')}; "
                f"state after fit {r['stats'].get('state_bytes_per_record')} B/record; clusters "
                f"{r['stats'].get('clusters')}; removed {r['stats'].get('removed')}; S-curve {curve}"
            )
    text = "\n".join(md)
    (out / "summary.md").write_text(text + "\n")
    (out / "runs.json").write_text(json.dumps(runs, indent=1))
    print(text)


if __name__ == "__main__":
    main()
