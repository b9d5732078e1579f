"""GPU training throughput and MFU of curate's trainer (issue 4: gpt2-124m, bf16 + torch.compile,
target >= 40% MFU on an H100).

Trains the preset with ``train()`` on random packed rows and reads the throughput of the last
logging interval from ``metrics.jsonl`` (so compilation and warmup are excluded). MFU =
``flops_per_token`` (6 x matmul parameters + attention, PaLM appendix B) x tokens/s / peak dense
bf16 FLOP/s of the device (``--peak-tflops``; detected for H100 / H200 / A100).

    python bench/bench_train_gpu.py                       # gpt2-124m, bf16, compile, on cuda
    python bench/bench_train_gpu.py --device cpu --preset tiny --seq-len 128 --batch 4 --steps 6 --no-compile
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.io.tokens import TokenWriter
from curate.train.loop import TrainConfig, train
from curate.train.model import PRESETS, flops_per_token, preset_config

# Dense bf16 tensor-core peaks (no sparsity), from the vendor data sheets.
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="gpt2-124m", choices=sorted(PRESETS))
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--seq-len", type=int, default=1024, help="context: tokens the model reads per row")
    parser.add_argument("--batch", type=int, default=16, help="rows per micro-batch")
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak (default: detected)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    log_every = max(1, args.steps // 3)
    cfg = TrainConfig(
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch,
        grad_accum=args.grad_accum,
        lr=6e-4,
        device=args.device,
        dtype=args.dtype,
        compile=args.compile,
        eval_every=0,
        log_every=log_every,
        save_optimizer=False,
    )
    rows = max(256, 4 * args.batch * args.grad_accum)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        with TokenWriter(Path(tmp) / "tokens", vocab_size=args.vocab, seq_len=args.seq_len + 1) as w:
            w.write(
                rng.integers(0, args.vocab, size=(rows, args.seq_len + 1)),
                np.ones((rows, args.seq_len + 1), np.uint8),
            )
        result = train(Path(tmp) / "tokens", cfg, out_dir=Path(tmp) / "run", progress=False)
        logged = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
    tokens_per_s = logged[-1]["tokens_per_s"]  # last interval: compiled and warm
    model_cfg = preset_config(args.preset, vocab_size=args.vocab, seq_len=args.seq_len)
    flops = flops_per_token(model_cfg, args.seq_len)
    peak = args.peak_tflops or peak_tflops(result.device)
    out = {
        "device": torch.cuda.get_device_name(torch.device(result.device))
        if result.device.startswith("cuda")
        else result.device,
        "preset": args.preset,
        "params": result.n_params,
        "vocab": args.vocab,
        "seq_len": args.seq_len,
        "batch": args.batch,
        "grad_accum": args.grad_accum,
        "dtype": result.dtype,
        "compile": args.compile,
        "tokens_per_s": tokens_per_s,
        "flops_per_token": flops,
        "achieved_tflops": flops * tokens_per_s / 1e12,
        "mfu": flops * tokens_per_s / (peak * 1e12) if peak else None,
        "peak_tflops": peak,
        "final_loss": result.losses[-1],
        "torch": torch.__version__,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
