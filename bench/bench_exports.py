"""Export writers' throughput against a raw numpy write of the same tokens.

    python bench/bench_exports.py [--tokens 20000000] [--seq-len 1024] [--vocab 32000] [--repeats 3] [--json out.json]

Synthetic records (random ids, lengths 50..2000, a loss mask on the second half of each) are
packed once (best fit, as for SFT); then, alternating the sides, median of ``--repeats``:

- ``raw``: ``rows.tobytes()`` written to one file (what a hand-rolled memmap export costs);
- ``nanogpt``: curate's ``TokenWriter`` (rows, masks, document starts, index.json);
- ``hf`` (packed): Parquet rows with input_ids, labels and seq_lengths, zstd;
- ``hf`` (records): one Parquet row per record;
- ``megatron``: the indexed dataset ``.bin`` + ``.idx``, one document per record.

Each writer's figure is packed tokens per CPU second of the process, including ``close`` (files
flushed and renamed); the ratio is writer / raw (higher is better, 1.0 = as fast as the raw write).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.exports import ExportInfo, Exports
from curate.io.tokens import TokenWriter
from curate.tokenize.pack import Packer


def records(tokens: int, vocab: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out, total = [], 0
    while total < tokens:
        n = int(rng.integers(50, 2000))
        ids = rng.integers(0, vocab, size=n, dtype=np.uint32)
        mask = np.zeros(n, dtype=np.uint8)
        mask[n // 2 :] = 1
        out.append((ids, mask))
        total += n
    return out


def pack(recs, seq_len: int):
    """The packed batches (rows, masks, starts) and the records as admitted, as finalize sees them."""
    batches, admitted = [], []
    packer = Packer(lambda r, m, s: batches.append((r, m, s)), seq_len, "best_fit", "truncate", 0)
    for ids, mask in recs:
        kept = packer.add("s", ids, mask, splittable=False)
        if kept is not None:
            admitted.append(kept)
    packer.close()
    return batches, admitted


def timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=20_000_000)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    batches, admitted = pack(records(args.tokens, args.vocab), args.seq_len)
    packed = sum(r.size for r, _, _ in batches)

    def raw(root: Path) -> None:
        with open(root / "raw.bin", "wb") as f:
            for rows, _, _ in batches:
                f.write(np.ascontiguousarray(rows, dtype=np.uint16).tobytes())

    def nanogpt(root: Path) -> None:
        writer = TokenWriter(root / "tokens", vocab_size=args.vocab, seq_len=args.seq_len)
        for rows, masks, starts in batches:
            writer.write(rows, masks)
            writer.add_doc_starts(starts)
        writer.close()

    def export(name: str, hf_rows: str = "packed"):
        def run(root: Path) -> None:
            exports = Exports([name], ExportInfo(root, args.vocab, args.seq_len, hf_rows=hf_rows))
            for rows, masks, starts in batches:
                exports.add_rows(rows, masks, starts)
            for ids, mask in admitted:
                exports.add_record(ids, mask)
            exports.close()

        return run

    sides = {
        "raw": raw,
        "nanogpt": nanogpt,
        "hf_packed": export("hf"),
        "hf_records": export("hf", "records"),
        "megatron": export("megatron"),
    }
    seconds: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(args.repeats):
        for name, fn in sides.items():
            with tempfile.TemporaryDirectory() as tmp:
                seconds[name].append(timed(lambda fn=fn, tmp=tmp: fn(Path(tmp))))
    median = {k: statistics.median(v) for k, v in seconds.items()}
    result = {
        "packed_tokens": packed,
        "records": len(admitted),
        "seq_len": args.seq_len,
        "tokens_per_cpu_s": {k: round(packed / v) for k, v in median.items()},
        "ratio_to_raw": {k: round(median["raw"] / v, 3) for k, v in median.items() if k != "raw"},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
