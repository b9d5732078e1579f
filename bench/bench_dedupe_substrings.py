"""Benchmark dedupe's exact repeated substrings: seconds and peak memory per byte of text.

    python bench/bench_dedupe_substrings.py --corpus /work/bench-corpora/corpus-dev/corpus.jsonl
        [--mb 20] [--units words,bytes] [--chunk-mb 0] [--min-tokens 50]
        [--peer-python /tmp/substr-venv/bin/python]   # a Python with PySAIS, for the library comparison

The texts of ``corpus.jsonl`` (replicated when it holds fewer than ``--mb`` MB of text; replicas
repeat every span, so they are a worst case for the amount removed, not for the suffix array) are
cut into shards of 5000 records. Every measurement runs in a fresh process, one after the other:

- ``fit <unit>``: ``substrings.fit`` over the shards' texts (tokenise, suffix array, LCP, windows,
  spans) and ``substrings.apply`` on every shard. Peak RSS above the process's RSS with the texts
  loaded is the fit's own memory; divided by the text bytes it is comparable to
  deduplicate-text-datasets' published figure (C4: ~600 GB of RAM for ~300 GB of text, ~2 B/B).
- ``raw pydivsufsort``: ``divsufsort`` + ``kasai`` on the UTF-8 bytes of the same text: speed is
  given as a ratio to it (the machine is noisy; absolute seconds are for scale only).
- ``raw PySAIS`` (with ``--peer-python``): PySAIS's SA-IS on the same bytes (no LCP).

Seconds and MB per 100 MB of text are extrapolated linearly from the measured size (suffix array
construction is O(n) to O(n log n); state it with the figure). Nothing is written in the repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

SHARD = 5000


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    """Current RSS; also resets the peak (VmHWM) so that loading the corpus does not count."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_mb("VmRSS:")


def _peak_mb() -> float:
    return _status_mb("VmHWM:")


def load_texts(corpus: Path, mb: float) -> list[str]:
    texts = pl.read_ndjson(corpus, schema={"text": pl.String})["text"].drop_nulls().to_list()
    out, size, want = [], 0, int(mb * 1e6)
    while size < want:
        for t in texts:
            out.append(t)
            size += len(t.encode("utf-8"))
            if size >= want:
                break
    return out


def worker(args: argparse.Namespace) -> dict:
    texts = load_texts(Path(args.corpus), args.mb)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    if args.worker == "raw-pysais":
        import PySAIS

        data = "".join(texts).encode("utf-8")
        del texts
        base, start = _rss_mb(), time.perf_counter()
        PySAIS.sais(data)
        return {"seconds": time.perf_counter() - start, "bytes": nbytes, "extra_peak_mb": _peak_mb() - base}
    if args.worker == "raw-divsufsort":
        from pydivsufsort import divsufsort, kasai

        data = np.frombuffer(bytearray("".join(texts).encode("utf-8")), dtype=np.uint8)
        del texts
        base, start = _rss_mb(), time.perf_counter()
        sa = divsufsort(data)
        kasai(data, sa)
        return {"seconds": time.perf_counter() - start, "bytes": nbytes, "extra_peak_mb": _peak_mb() - base}

    from curate.stages.base import ShardInfo
    from curate.stages.dedupe import substrings as sub

    unit = args.worker.split("-", 1)[1]
    frame = pl.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
    del texts
    shards = [frame.slice(i, SHARD) for i in range(0, frame.height, SHARD)]
    parts = [
        sub.SubstringTexts(k, "web", np.arange(s.height, dtype=np.int64), s["text"].rechunk())
        for k, s in enumerate(shards)
    ]
    chunk_mb = args.chunk_mb or args.mb * 2
    cfg = sub.SubstringsConfig(min_tokens=args.min_tokens, unit=unit, chunk_mb=chunk_mb)
    base, start = _rss_mb(), time.perf_counter()
    spans, stats = sub.fit(parts, cfg)
    fit_seconds = time.perf_counter() - start
    fit_peak = _peak_mb() - base
    start = time.perf_counter()
    removed = 0
    for k, s in enumerate(shards):
        _, _, chars, _ = sub.apply(s, cfg, spans.get(k), ShardInfo(k, "web", "text"))
        removed += int(chars.sum())
    return {
        "seconds": fit_seconds,
        "apply_seconds": time.perf_counter() - start,
        "bytes": nbytes,
        "extra_peak_mb": fit_peak,
        "chars": int(frame["text"].str.len_chars().sum()),
        "chars_removed": removed,
        "tokens": stats["tokens"],
        "tokens_removed": stats["tokens_removed"],
        "chunks": stats["chunks"],
        "records_with_spans": stats["records_with_spans"],
        "state_bytes": stats["state_bytes"],
        "most_repeated": stats["most_repeated"][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default="/work/bench-corpora/corpus-dev/corpus.jsonl")
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text to measure")
    parser.add_argument("--units", default="words,bytes")
    parser.add_argument("--chunk-mb", type=float, default=0.0, help="0: the whole text in one chunk")
    parser.add_argument("--min-tokens", type=int, default=50)
    parser.add_argument("--peer-python", default=None, help="a Python with PySAIS installed")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    common = ["--corpus", args.corpus, "--mb", str(args.mb), "--chunk-mb", str(args.chunk_mb)]
    common += ["--min-tokens", str(args.min_tokens)]
    runs = [("raw-divsufsort", sys.executable)] + [
        (f"fit-{u}", sys.executable) for u in args.units.split(",")
    ]
    if args.peer_python:
        runs.append(("raw-pysais", args.peer_python))
    results = {}
    for name, python in runs:
        out = subprocess.run(
            [python, __file__, "--worker", name, *common], capture_output=True, text=True, check=True
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    raw = results["raw-divsufsort"]["seconds"]
    print(
        f"text: {results['raw-divsufsort']['bytes'] / 1e6:.1f} MB of {args.corpus}, min_tokens {args.min_tokens}"
    )
    print(
        f"{'run':<16} {'s':>7} {'x raw SA':>8} {'s/100MB':>8} {'peak MB':>8} {'B RAM/B':>8} {'vs LeeEtAl':>10}"
    )
    for name, r in results.items():
        per_byte = r["extra_peak_mb"] * 1e6 / r["bytes"]
        print(
            f"{name:<16} {r['seconds']:7.2f} {r['seconds'] / raw:8.2f} {r['seconds'] * 1e8 / r['bytes']:8.1f} "
            f"{r['extra_peak_mb']:8.0f} {per_byte:8.2f} {per_byte / 2.0:10.2f}"
        )
    for name, r in results.items():
        if name.startswith("fit-"):
            print(
                f"{name}: apply {r['apply_seconds']:.1f} s, {r['chunks']} chunk(s), removed "
                f"{r['chars_removed'] / max(r['chars'], 1):.1%} of the characters from {r['records_with_spans']} "
                f"records, state {r['state_bytes'] / 1e6:.2f} MB; top: "
                + "; ".join(f"{t['occurrences']}x {t['text'][:40]!r}" for t in r["most_repeated"])
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
