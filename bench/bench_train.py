"""CPU training throughput: curate's trainer against a Hugging Face ``transformers`` GPT-2 of the
same shape (n_layer, n_head, n_embd, vocab, context) and batch, trained in the same run.

All arms train on the same packed rows with AdamW, gradient clipping at 1.0 and no dropout;
tokens/s counts input tokens (batch x context). The arms' steps are interleaved (one step of each
in turn, the order rotating) so that load from other processes on a shared machine hits them
alike; each arm's figure is its median step. The curate arms run the trainer's own parts
(``build_model``, ``make_optimizer``, ``TokenLoader``, ``train_step``); an end-to-end ``train()``
run is timed at the end as a check that the loop adds nothing.

``transformers`` is a bench-only dependency; run from a separate environment, e.g.::

    python -m venv /work/bench-peers/venv-hf
    /work/bench-peers/venv-hf/bin/pip install torch==2.13.0 transformers -e .
    /work/bench-peers/venv-hf/bin/python bench/bench_train.py --preset tiny --batch 16 --seq-len 256
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.io.tokens import TokenWriter
from curate.train.data import TokenLoader
from curate.train.loop import TrainConfig, build_model, make_optimizer, train, train_step
from curate.train.model import PRESETS, count_params


def write_tokens(directory: Path, *, vocab: int, seq_len: int, rows: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with TokenWriter(directory, vocab_size=vocab, seq_len=seq_len + 1) as w:
        w.write(
            rng.integers(0, vocab, size=(rows, seq_len + 1)), np.ones((rows, seq_len + 1), dtype=np.uint8)
        )
    return directory


def curate_config(args: argparse.Namespace, mlp: str, steps: int) -> TrainConfig:
    return TrainConfig(
        preset=args.preset,
        model={"mlp": mlp},
        steps=steps,
        batch_size=args.batch,
        lr=3e-4,
        eval_every=0,
        log_every=steps,
        save_optimizer=False,
    )


def curate_step(tokens: Path, args: argparse.Namespace, mlp: str) -> tuple[Callable[[], None], int]:
    """One step of curate's trainer, built from the trainer's own parts."""
    cfg = curate_config(args, mlp, args.steps)
    loader = TokenLoader(tokens, batch_size=args.batch, seed=0)
    model = build_model(cfg, loader.data.index)
    optimizer = make_optimizer(
        model, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas, device=torch.device("cpu")
    )

    def step() -> None:
        train_step(model, model, optimizer, [loader.next_batch()], lr=cfg.lr, clip=cfg.clip, amp=None)

    return step, count_params(model)


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


def hf_step(tokens: Path, args: argparse.Namespace) -> tuple[Callable[[], None], int]:
    """The loop an HF user writes: model(input_ids, labels) -> loss, backward, clip, AdamW step."""
    torch.manual_seed(0)
    model = hf_model(args)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    loader = TokenLoader(tokens, batch_size=args.batch, seed=0)

    def step() -> None:
        batch = loader.next_batch()
        loss = model(input_ids=batch.x, labels=batch.x).loss  # HF shifts the labels inside
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step, count_params(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--seq-len", type=int, default=256, help="context: tokens the model reads per row")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per arm")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per arm first")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
    tokens_per_step = args.batch * args.seq_len
    with tempfile.TemporaryDirectory() as tmp:
        tokens = write_tokens(
            Path(tmp) / "tokens", vocab=args.vocab, seq_len=args.seq_len, rows=max(64, 4 * args.batch)
        )
        arms = {
            "curate-swiglu": curate_step(tokens, args, "swiglu"),
            "curate-gelu": curate_step(tokens, args, "gelu"),
            "hf-gpt2": hf_step(tokens, args),
        }
        wall: dict[str, list[float]] = {name: [] for name in arms}
        cpu: dict[str, list[float]] = {name: [] for name in arms}
        names = list(arms)
        for i in range(args.warmup + args.steps):
            for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate who goes first
                t, c = time.perf_counter(), time.process_time()
                arms[name][0]()
                if i >= args.warmup:
                    wall[name].append(time.perf_counter() - t)
                    cpu[name].append(time.process_time() - c)
        end_to_end = train(
            tokens, curate_config(args, "swiglu", args.steps), out_dir=Path(tmp) / "e2e", progress=False
        )

    hf_wall, hf_cpu = statistics.median(wall["hf-gpt2"]), statistics.median(cpu["hf-gpt2"])
    results = {
        "preset": args.preset,
        "shape": {k: v for k, v in PRESETS[args.preset].items() if k != "mlp"},
        "vocab": args.vocab,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "steps": args.steps,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "arms": {
            name: {
                "params": arms[name][1],
                "tokens_per_s": tokens_per_step / statistics.median(wall[name]),
                "ratio_vs_hf": hf_wall / statistics.median(wall[name]),
                "cpu_ratio_vs_hf": hf_cpu / statistics.median(cpu[name]),
            }
            for name in names
        },
        "train_end_to_end_tokens_per_s": end_to_end.tokens_per_s,
    }
    print(
        f"{args.preset} {results['shape']} vocab {args.vocab} context {args.seq_len} batch {args.batch} threads {results['threads']} ({args.steps} interleaved steps per arm)"
    )
    print(f"{'arm':14s} {'params':>10s} {'tok/s':>9s} {'vs HF':>7s} {'CPU-time vs HF':>15s}")
    for name, row in results["arms"].items():
        print(
            f"{name:14s} {row['params']:10,d} {row['tokens_per_s']:9,.0f} {row['ratio_vs_hf']:6.2f}x {row['cpu_ratio_vs_hf']:14.2f}x"
        )
    print(f"train() end to end (curate-swiglu): {end_to_end.tokens_per_s:,.0f} tok/s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
