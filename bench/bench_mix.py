"""Benchmark: what the mix stage costs on a 1M-record corpus, against plain Parquet I/O.

Builds (once, cached in ``--dir``) a synthetic corpus of several sources and kinds in shards of
~50k records, then runs in fresh child processes, alternating, ``--rounds`` times:

- ``io``: read every shard with polars and write it back (what any stage pays at least);
- ``mix``: the pipe loop's work for mix: read every shard and ``summarize`` it, ``fit``, read
  every shard again, ``apply`` and write kept and dropped records.

It reports seconds for each part (compute timed apart from I/O), records/s, the mix compute's
cost as a ratio of the I/O pass measured in the same run, and peak RSS of each child.

    python bench/bench_mix.py                      # 1M records, 20 shards, estimated tokens
    python bench/bench_mix.py --records 200000 --tokenizer path/to.model
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from a checkout

from curate.records import MESSAGES_DTYPE
from curate.stages import mix
from curate.stages.base import ShardInfo, StageContext

SHARD_ROWS = 50_000
# name, kind, share of records, mean words (or CJK characters) per record
SOURCES = [
    ("web", "text", 0.50, 90),
    ("books", "text", 0.10, 400),
    ("zh", "text", 0.20, 150),
    ("code", "text", 0.15, 60),
    ("chat", "chat", 0.05, 80),
]
NON_ASCII_SHARE = 0.4
CORPUS_VERSION = 2
WEIGHTS = {"web": 0.45, "books": 0.2, "zh": 0.15, "code": 0.1, "chat": 0.1}


def _words(rng: np.random.Generator, n: int, mean: int) -> list[str]:
    vocab = np.array([f"w{i:x}{'abcdefgh'[i % 8] * (i % 7)}" for i in range(5000)])
    lengths = np.maximum(1, rng.lognormal(np.log(mean), 0.6, n).astype(np.int64))
    words = vocab[rng.zipf(1.3, int(lengths.sum())) % len(vocab)]
    ends = np.cumsum(lengths)
    texts = [" ".join(words[e - k : e]) for e, k in zip(ends, lengths, strict=True)]
    # Like English web text, ~40% of documents have a non-ASCII character (accents, curly quotes).
    accents = np.flatnonzero(rng.random(n) < NON_ASCII_SHARE)
    for i, mark in zip(accents, rng.choice(["café", "it’s", "naïve", "“quoted”"], len(accents)), strict=True):
        texts[i] = f"{texts[i]} {mark}"
    return texts


def _chinese(rng: np.random.Generator, n: int, mean: int) -> list[str]:
    lengths = np.maximum(1, rng.lognormal(np.log(mean), 0.6, n).astype(np.int64))
    codes = rng.integers(0x4E00, 0x4E00 + 3000, int(lengths.sum()))
    codes[rng.random(len(codes)) < 0.06] = 0xFF0C  # full-width comma
    big = "".join(map(chr, codes.tolist()))
    ends = np.cumsum(lengths)
    return [big[e - k : e] for e, k in zip(ends, lengths, strict=True)]


def _frame(name: str, kind: str, texts: list[str], first: int, shard: int) -> pl.DataFrame:
    ids = [f"{name}/part-{shard:05d}.jsonl:{first + i}" for i in range(len(texts))]
    columns = {"id": ids, "source": [name] * len(texts)}
    if kind == "chat":
        messages = [
            [
                {"role": "user", "content": t[: len(t) // 3]},
                {"role": "assistant", "content": t[len(t) // 3 :]},
            ]
            for t in texts
        ]
        frame = pl.DataFrame({**columns, "messages": messages}, schema_overrides={"messages": MESSAGES_DTYPE})
    else:
        frame = pl.DataFrame({**columns, "text": texts})
    return frame.with_columns(pl.lit("{}").alias("meta"))


def build_corpus(directory: Path, records: int, seed: int) -> list[dict]:
    """Write the shards (once) and return their list: path, source, kind, rows."""
    manifest = directory / f"shards-v{CORPUS_VERSION}.json"
    if manifest.exists():
        shards = json.loads(manifest.read_text())
        if sum(s["rows"] for s in shards) == records:
            return shards
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shards = []
    for name, kind, share, mean in SOURCES:
        total = int(records * share)
        for first in range(0, total, SHARD_ROWS):
            n = min(SHARD_ROWS, total - first)
            texts = _chinese(rng, n, mean) if name == "zh" else _words(rng, n, mean)
            path = directory / f"{len(shards):03d}-{name}.parquet"
            _frame(name, kind, texts, first, len(shards)).write_parquet(path)
            shards.append({"path": str(path), "source": name, "kind": kind, "rows": n})
    manifest.write_text(json.dumps(shards))
    return shards


def _peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_io(shards: list[dict], out: Path) -> dict:
    """Read every shard and write it back: the floor any stage pays."""
    start = time.perf_counter()
    for i, shard in enumerate(shards):
        pl.read_parquet(shard["path"]).write_parquet(out / f"io-{i:03d}.parquet")
    return {"io_s": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def run_encode(shards: list[dict], tokenizer: str) -> dict:
    """Raw sentencepiece encoding of the same texts (one thread): the floor for real token counts."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=tokenizer)
    seconds = 0.0
    for shard in shards:
        texts = mix.text_view(pl.read_parquet(shard["path"])).to_list()
        start = time.perf_counter()
        for first in range(0, len(texts), 1024):
            processor.encode(texts[first : first + 1024], num_threads=1)
        seconds += time.perf_counter() - start
    return {"encode_s": seconds, "peak_rss_mb": _peak_rss_mb()}


def run_mix(shards: list[dict], out: Path, cfg: mix.MixConfig) -> dict:
    """The pipe loop's work for mix, with compute timed apart from reads and writes."""
    infos = [ShardInfo(i, s["source"], s["kind"]) for i, s in enumerate(shards)]
    timings = dict.fromkeys(("read_s", "summarize_s", "fit_s", "apply_s", "write_s"), 0.0)

    def timed(key, fn, *args):
        start = time.perf_counter()
        value = fn(*args)
        timings[key] += time.perf_counter() - start
        return value

    start = time.perf_counter()
    partials = []
    for shard, info in zip(shards, infos, strict=True):
        batch = timed("read_s", pl.read_parquet, shard["path"])
        partials.append(timed("summarize_s", mix.summarize, batch, cfg, info))
    if cfg.target is None:  # default target: 80% of the corpus' tokens
        target = mix.MixTarget(tokens=int(0.8 * sum(p.tokens for p in partials)))
        cfg = cfg.model_copy(update={"target": target})
    kinds = {s["source"]: s["kind"] for s in shards}
    ctx = StageContext(run_dir=out, stage_dir=out, seed=0, source_kinds=kinds, shards=infos)
    fitted = timed("fit_s", mix.fit, partials, cfg, ctx)
    kept = dropped = 0
    for shard, info in zip(shards, infos, strict=True):
        batch = timed("read_s", pl.read_parquet, shard["path"])
        result = timed("apply_s", mix.apply, batch, cfg, fitted.state, info)
        timed("write_s", result.kept.write_parquet, out / f"mix-{info.index:03d}.parquet")
        timed("write_s", result.dropped.write_parquet, out / f"rejected-{info.index:03d}.parquet")
        kept += result.kept.height
        dropped += result.dropped.height
    timings["pipeline_s"] = time.perf_counter() - start
    partial_bytes = sum(len(p.buckets) * 18 + 64 for p in partials)
    return {
        **timings,
        "records_out": kept,
        "records_dropped": dropped,
        "partials_kb": partial_bytes / 1024,
        "peak_rss_mb": _peak_rss_mb(),
        "stats": fitted.stats,
    }


def _child(args: argparse.Namespace) -> None:
    shards = json.loads((args.dir / f"shards-v{CORPUS_VERSION}.json").read_text())
    out = args.dir / f"out-{args.phase}"
    out.mkdir(exist_ok=True)
    if args.phase == "io":
        result = run_io(shards, out)
    elif args.phase == "encode":
        result = run_encode(shards, args.tokenizer)
    else:
        target = mix.MixTarget(tokens=args.target_tokens) if args.target_tokens else None
        cfg = mix.MixConfig(weights=WEIGHTS, target=target, max_epochs=4, tokenizer=args.tokenizer)
        result = run_mix(shards, out, cfg)
    print(json.dumps(result))


def _spawn(args: argparse.Namespace, phase: str) -> dict:
    command = [
        sys.executable,
        __file__,
        "--dir",
        str(args.dir),
        "--phase",
        phase,
        "--records",
        str(args.records),
    ]
    command += ["--target-tokens", str(args.target_tokens)]
    if args.tokenizer:
        command += ["--tokenizer", args.tokenizer]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/curate-bench-mix"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tokenizer", default=None, help="sentencepiece .model: count real tokens")
    parser.add_argument("--target-tokens", type=int, default=0, help="default: 80%% of the corpus' tokens")
    parser.add_argument("--phase", choices=["io", "encode", "mix"], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.phase:
        _child(args)
        return

    start = time.perf_counter()
    shards = build_corpus(args.dir, args.records, args.seed)
    print(
        f"corpus: {sum(s['rows'] for s in shards)} records in {len(shards)} shards ({time.perf_counter() - start:.1f}s)"
    )
    phases = ("io", "encode", "mix") if args.tokenizer else ("io", "mix")
    runs = {phase: [] for phase in phases}
    for _ in range(args.rounds):
        for phase in phases:
            runs[phase].append(_spawn(args, phase))
    report(args, shards, runs)


def report(args: argparse.Namespace, shards: list[dict], runs: dict[str, list[dict]]) -> None:
    records = sum(s["rows"] for s in shards)

    def median(phase: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[phase])

    io_s = median("io", "io_s")
    compute = {k: median("mix", k) for k in ("summarize_s", "fit_s", "apply_s")}
    mix_compute = sum(compute.values())
    pipeline = median("mix", "pipeline_s")
    stats = runs["mix"][-1]["stats"]
    figures = {
        "records": records,
        "shards": len(shards),
        "rounds": args.rounds,
        "tokens": stats["token_count"],
        "io_read_write_s": io_s,
        **compute,
        "mix_compute_s": mix_compute,
        "mix_records_per_s": records / mix_compute,
        "mix_overhead_vs_io": mix_compute / io_s,
        "mix_pipeline_s": pipeline,
        "mix_pipeline_vs_io": pipeline / io_s,
        "partials_kb": runs["mix"][-1]["partials_kb"],
        "peak_rss_io_mb": max(r["peak_rss_mb"] for r in runs["io"]),
        "peak_rss_mix_mb": max(r["peak_rss_mb"] for r in runs["mix"]),
        "records_out": runs["mix"][-1]["records_out"],
        "records_dropped": runs["mix"][-1]["records_dropped"],
        "all_runs": runs | {"mix": [{k: v for k, v in r.items() if k != "stats"} for r in runs["mix"]]},
    }
    print(f"\nmix on {records:,} records, {len(shards)} shards; medians of {args.rounds} alternating rounds")
    print("| part | seconds | records/s |\n|---|---|---|")
    print(f"| read+write shards (polars) | {io_s:.2f} | {records / io_s:,.0f} |")
    for key, value in compute.items():
        print(f"| {key[:-2]} | {value:.2f} | {records / value:,.0f} |")
    print(f"| mix compute (summarize+fit+apply) | {mix_compute:.2f} | {records / mix_compute:,.0f} |")
    print(f"| mix pipeline (2 reads, compute, writes) | {pipeline:.2f} | {records / pipeline:,.0f} |")
    print(
        f"\nmix compute / read+write: {mix_compute / io_s:.2f}x; whole mix pipeline / read+write: {pipeline / io_s:.2f}x"
    )
    if "encode" in runs:
        encode_s = median("encode", "encode_s")
        figures["sentencepiece_encode_s"] = encode_s
        figures["summarize_vs_encode"] = compute["summarize_s"] / encode_s
        print(
            f"raw sentencepiece encode: {encode_s:.2f}s; summarize / encode: {compute['summarize_s'] / encode_s:.2f}x"
        )
    print(
        f"peak RSS: io {figures['peak_rss_io_mb']:.0f} MB, mix {figures['peak_rss_mix_mb']:.0f} MB; partials {figures['partials_kb']:.0f} KB"
    )
    print(f"tokens: {stats['token_count']}; target {stats['target']:,}; realised {stats['tokens_out']:,}")
    print(
        "| source | requested share | realised share (tokens) | realised share (records) | epochs |\n|---|---|---|---|---|"
    )
    for name, s in stats["sources"].items():
        print(
            f"| {name} | {s['requested_share']:.4f} | {s['share_tokens']:.4f} | {s['share_records']:.4f} | "
            f"{s['epochs_tokens']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
