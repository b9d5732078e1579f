"""CPU training throughput: curate's trainer against a Hugging Face ``transformers`` GPT-2 of the
same shape (n_layer, n_head, n_embd, vocab, sequence length) and batch, trained in the same run.

Both train on the same packed rows with AdamW, gradient clipping at 1.0 and no dropout; tokens/s
counts input tokens (batch x context) over the timed steps, after ``--warmup`` untimed steps.
Rounds alternate between the two so that load from other processes hits both alike; the table
shows the median of the rounds.

``transformers`` is a bench-only dependency; run from a separate environment, e.g.::

    python -m venv /work/bench-peers/venv-hf
    /work/bench-peers/venv-hf/bin/pip install torch==2.13.0 transformers pydantic xxhash orjson sentencepiece rich
    /work/bench-peers/venv-hf/bin/python bench/bench_train.py --preset tiny --batch 16 --seq-len 256
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
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.io.tokens import TokenWriter
from curate.train.data import TokenLoader
from curate.train.loop import TrainConfig, train
from curate.train.model import GPT, PRESETS, count_params, preset_config


def write_tokens(directory: Path, *, vocab: int, seq_len: int, rows: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with TokenWriter(directory, vocab_size=vocab, seq_len=seq_len + 1) as w:
        w.write(
            rng.integers(0, vocab, size=(rows, seq_len + 1)), np.ones((rows, seq_len + 1), dtype=np.uint8)
        )
    return directory


def curate_tokens_per_s(tokens: Path, args: argparse.Namespace, mlp: str, out: Path) -> float:
    """Times ``train`` itself; its warmup steps run in a separate short call that also builds the model."""
    cfg = TrainConfig(
        preset=args.preset,
        model={"mlp": mlp},
        steps=args.steps,
        batch_size=args.batch,
        lr=3e-4,
        eval_every=0,
        log_every=args.steps,
        save_optimizer=False,
        threads=args.threads,
    )
    train(
        tokens,
        cfg.model_copy(update={"steps": args.warmup}),
        out_dir=out / "warm",
        progress=False,
        resume=False,
    )
    result = train(tokens, cfg, out_dir=out / "run", progress=False, resume=False)
    return result.tokens_per_s


def hf_model(args: argparse.Namespace):
    from transformers import GPT2Config, GPT2LMHeadModel

    shape = PRESETS[args.preset]
    config = GPT2Config(
        vocab_size=args.vocab,
        n_positions=args.seq_len,
        n_embd=shape["n_embd"],
        n_layer=shape["n_layer"],
        n_head=shape["n_head"],
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=True,
    )
    return GPT2LMHeadModel(config)


def hf_tokens_per_s(tokens: Path, args: argparse.Namespace) -> float:
    """The loop an HF user writes: model(input_ids, labels) -> loss, backward, clip, AdamW step."""
    torch.manual_seed(0)
    model = hf_model(args)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    loader = TokenLoader(tokens, batch_size=args.batch, seed=0)
    before = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)

    def step() -> None:
        batch = loader.next_batch()
        loss = model(input_ids=batch.x, labels=batch.x).loss  # HF shifts labels inside
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    wall = time.perf_counter() - t0
    torch.set_num_threads(before)
    return args.steps * args.batch * args.seq_len / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--seq-len", type=int, default=256, help="context: tokens the model reads per row")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before each timed run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--mlp", default="both", choices=["swiglu", "gelu", "both"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import transformers

    mlps = ["gelu", "swiglu"] if args.mlp == "both" else [args.mlp]
    arms = [f"curate-{m}" for m in mlps] + ["hf-gpt2"]
    runs: dict[str, list[float]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        tokens = write_tokens(
            Path(tmp) / "tokens", vocab=args.vocab, seq_len=args.seq_len, rows=max(64, 4 * args.batch)
        )
        for r in range(args.rounds):
            for arm in arms:
                if arm == "hf-gpt2":
                    runs[arm].append(hf_tokens_per_s(tokens, args))
                else:
                    runs[arm].append(
                        curate_tokens_per_s(tokens, args, arm.split("-")[1], Path(tmp) / f"{arm}-{r}")
                    )
                print(f"round {r} {arm:14s} {runs[arm][-1]:10,.0f} tok/s", flush=True)

    params = {
        f"curate-{m}": count_params(
            GPT(preset_config(args.preset, vocab_size=args.vocab, seq_len=args.seq_len, mlp=m))
        )
        for m in mlps
    }
    params["hf-gpt2"] = count_params(hf_model(args))
    hf = statistics.median(runs["hf-gpt2"])
    results = {
        "preset": args.preset,
        "shape": PRESETS[args.preset],
        "vocab": args.vocab,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "steps": args.steps,
        "rounds": args.rounds,
        "threads": args.threads or torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "arms": {
            arm: {
                "tokens_per_s_median": statistics.median(v),
                "tokens_per_s_rounds": v,
                "params": params[arm],
                "ratio_vs_hf": statistics.median(v) / hf,
            }
            for arm, v in runs.items()
        },
    }
    print(
        f"\n{args.preset} {PRESETS[args.preset]} vocab {args.vocab} seq_len {args.seq_len} batch {args.batch} threads {results['threads']}"
    )
    print(f"{'arm':14s} {'params':>10s} {'tok/s (median)':>16s} {'vs HF':>7s}")
    for arm, row in results["arms"].items():
        print(
            f"{arm:14s} {row['params']:10,d} {row['tokens_per_s_median']:16,.0f} {row['ratio_vs_hf']:6.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
