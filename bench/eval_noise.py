"""How large is an eval set's own sampling error, and how many eval tokens would bring it under a
seed difference?

Scores a trained checkpoint on eval sets (JSONL, text or chat records) and reports, for the first
N documents of each (N doubling up to all of them), bits per byte with the half-width of its 95%
bootstrap interval over documents (what score.json writes as ``bpb_ci95``), and by the 1/sqrt(N)
rule the documents and tokens the set would need for a half-width of ``--target``. With a second
checkpoint (``--other``, e.g. the same recipe with another seed) it also reports the bootstrap
half-width of the *paired* difference over the same documents, which is what a sweep's two
variants, scored on one eval set, share.

    python bench/eval_noise.py runs/quickstart/train/checkpoint.pt \\
        --eval web=sample_data/eval/web_eval.jsonl --eval chat=sample_data/eval/chat_eval.jsonl
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from curate.stats import bootstrap_ratio
from curate.train.checkpoint import load_checkpoint
from curate.train.evalset import read_eval_records
from curate.train.score import encode_records, load_tokenizer, resolve_start_id, sequence_nll


def per_document(checkpoint: str, records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bits, bytes and tokens of every document (text or chat records)."""
    ckpt = load_checkpoint(checkpoint, device="cpu")
    tok = load_tokenizer(ckpt.tokenizer["path"])
    _, seqs = encode_records(records, tok, start_id=resolve_start_id(tok, ckpt.special_ids))
    nll, count = sequence_nll(ckpt.model, seqs)
    return nll / math.log(2), np.array([s.n_bytes for s in seqs], dtype=np.float64), count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--eval", action="append", required=True, help="NAME=PATH of a JSONL eval set")
    parser.add_argument("--other", help="a second checkpoint: the paired difference's bootstrap too")
    parser.add_argument("--target", type=float, default=0.01, help="half-width to reach (bpb)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for spec in args.eval:
        name, path = spec.split("=", 1)
        records = read_eval_records(path)
        bits, nbytes, tokens = per_document(args.checkpoint, records)
        other = per_document(args.other, records)[0] if args.other else None
        print(
            f"\n{name}: {len(records)} documents, {int(tokens.sum()):,} tokens, {int(nbytes.sum()):,} bytes"
        )
        header = f"{'docs':>6} {'tokens':>9} {'bpb':>7} {'± (95%)':>8} {'docs for ±' + str(args.target):>14} {'tokens for it':>14}"
        print(header + ("  paired Δ ± (95%)" if other is not None else ""))
        n = min(25, len(records))
        while True:
            interval = bootstrap_ratio(bits[:n], nbytes[:n])
            scale = (interval.half_width / args.target) ** 2
            line = (
                f"{n:>6} {int(tokens[:n].sum()):>9,} {interval.value:>7.4f} {interval.half_width:>8.4f} "
                f"{math.ceil(n * scale):>14,} {int(tokens[:n].sum() * scale):>14,}"
            )
            if other is not None:
                diff = bootstrap_ratio(bits[:n] - other[:n], nbytes[:n])
                line += f"  {diff.value:+.4f} ± {diff.half_width:.4f}"
            print(line)
            if n == len(records):
                break
            n = min(2 * n, len(records))


if __name__ == "__main__":
    main()
