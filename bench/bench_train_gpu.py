"""GPU training throughput and MFU of curate's trainer (issue 4: gpt2-124m, bf16 + torch.compile,
target >= 40% MFU on an H100).

Trains the preset with ``train()`` on random packed rows and reads the throughput of the last
logging interval from ``metrics.jsonl`` (so compilation and warmup are excluded). MFU =
``flops_per_token`` (6 x matmul parameters + attention, PaLM appendix B) x tokens/s / peak dense
bf16 FLOP/s of the device (``--peak-tflops``; detected for H100 / H200 / A100).

    python bench/bench_train_gpu.py                       # gpt2-124m, bf16, compile, on cuda
    python bench/bench_train_gpu.py --device cpu --preset tiny --seq-len 128 --batch 4 --steps 6 --no-compile

A Hugging Face model in the same loop (``init_from: hf:PATH``), built from a config with random
weights (no download) and saved with ``save_pretrained``: ``--hf 124m`` (a Llama of GPT-2-124M's
size: 12 x 768, vocab 50257) or ``--hf 0.5b`` (Qwen2.5-0.5B's shape: 24 x 896, GQA 14/2 heads,
vocab 151936), fully or with ``--lora`` (r 16 on every projection); ``--doc-len N`` puts a document
start every N tokens (packed documents kept apart: an explicit block-diagonal mask for SDPA).
MFU counts 6 x matmul parameters per token for full fine-tuning and 4 x for LoRA (no weight
gradients of the frozen base) plus attention; peak memory is ``torch.cuda.max_memory_allocated``
(on the CPU: the process's peak RSS).

    python bench/bench_train_gpu.py --hf 124m                 # full, bf16, compile
    python bench/bench_train_gpu.py --hf 0.5b --lora --batch 8
    python bench/bench_train_gpu.py --hf 124m --smoke         # a tiny stand-in on the CPU: does it run
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
    parser.add_argument("--hf", choices=sorted(HF_SHAPES), help="a Hugging Face model of this size instead")
    parser.add_argument("--lora", action="store_true", help="with --hf: train a LoRA adapter")
    parser.add_argument("--grad-ckpt", action="store_true", help="with --hf: gradient checkpointing")
    parser.add_argument(
        "--doc-len", type=int, default=None, help="with --hf: a document start every N tokens"
    )
    parser.add_argument("--smoke", action="store_true", help="with --hf: a tiny model on the CPU, 4 steps")
    args = parser.parse_args()
    if args.hf:
        hf_main(args)
        return

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


# Shapes of the --hf models: (architecture, tiny_config arguments).
HF_SHAPES = {
    "124m": ("llama", dict(hidden=768, layers=12, heads=12, intermediate=2048, vocab_size=50257)),
    "0.5b": (
        "qwen2",
        dict(hidden=896, layers=24, heads=14, kv_heads=2, intermediate=4864, vocab_size=151936),
    ),
}
SMOKE = dict(hidden=64, layers=2, heads=4, intermediate=128, vocab_size=512)


def hf_flops_per_token(model, seq_len: int, *, lora: bool) -> float:
    """(6 or 4) x matmul parameters (every weight matrix but the input embedding; the output
    layer counts, tied or not) + 12 x layers x width x context for attention."""
    base = model.base
    config = base.config.get_text_config()
    hidden, layers = config.hidden_size, config.num_hidden_layers
    embedding = base.get_input_embeddings().weight
    matmul = sum(p.numel() for n, p in base.named_parameters() if p.dim() == 2 and "lora_" not in n)
    matmul -= embedding.numel()
    matmul += base.get_output_embeddings().weight.numel()  # the output layer, also when tied
    return (4 if lora else 6) * matmul + 12 * layers * hidden * seq_len


def hf_main(args) -> None:
    import resource

    from curate.train.config import LoraConfig
    from curate.train.models.hf import HFCausalLM, HFModelConfig
    from curate.train.models.testing import tiny_config

    arch, shape = HF_SHAPES[args.hf]
    if args.smoke:
        shape = SMOKE
        args.device, args.dtype, args.compile = "cpu", "float32", False
        args.seq_len, args.batch, args.steps = min(args.seq_len, 64), min(args.batch, 2), 4
    shape = dict(shape)
    vocab = shape.pop("vocab_size")
    log_every = max(1, args.steps // 3)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        from transformers import AutoModelForCausalLM

        torch.manual_seed(0)
        config = tiny_config(arch, vocab_size=vocab, positions=max(2048, args.seq_len + 1), **shape)
        AutoModelForCausalLM.from_config(config).save_pretrained(str(model_dir))
        rows = max(64, 4 * args.batch * args.grad_accum)
        width = args.seq_len + 1
        rng = np.random.default_rng(0)
        with TokenWriter(Path(tmp) / "tokens", vocab_size=vocab, seq_len=width) as w:
            w.write(rng.integers(0, vocab, size=(rows, width)), np.ones((rows, width), np.uint8))
            if args.doc_len:
                w.add_doc_starts(np.arange(0, rows * width, args.doc_len))
        cfg = TrainConfig(
            init_from=f"hf:{model_dir}",
            lora=LoraConfig(dropout=0.0) if args.lora else None,
            gradient_checkpointing=args.grad_ckpt,
            steps=args.steps,
            batch_size=args.batch,
            grad_accum=args.grad_accum,
            lr=2e-4 if args.lora else 6e-5,
            device=args.device,
            dtype=args.dtype,
            compile=args.compile,
            eval_every=0,
            log_every=log_every,
            checkpoint_every=0,
            save_optimizer=False,
        )
        if args.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        result = train(Path(tmp) / "tokens", cfg, out_dir=Path(tmp) / "run", progress=False)
        logged = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
        model = HFCausalLM(
            HFModelConfig(path=str(model_dir), seq_len=args.seq_len, lora={} if args.lora else None)
        )
        flops = hf_flops_per_token(model, args.seq_len, lora=args.lora)
        if result.device.startswith("cuda"):
            peak_mem = torch.cuda.max_memory_allocated(torch.device(result.device))
        else:
            peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tokens_per_s = logged[-1]["tokens_per_s"]  # last interval: compiled and warm
    peak = args.peak_tflops or peak_tflops(result.device)
    out = {
        "device": torch.cuda.get_device_name(torch.device(result.device))
        if result.device.startswith("cuda")
        else result.device,
        "hf": args.hf + (" (smoke: tiny stand-in)" if args.smoke else ""),
        "arch": arch,
        "mode": "lora" if args.lora else "full",
        "params": result.n_params,
        "vocab": vocab,
        "seq_len": args.seq_len,
        "doc_len": args.doc_len,
        "batch": args.batch,
        "grad_accum": args.grad_accum,
        "grad_ckpt": args.grad_ckpt,
        "dtype": result.dtype,
        "compile": args.compile,
        "tokens_per_s": tokens_per_s,
        "flops_per_token": flops,
        "achieved_tflops": flops * tokens_per_s / 1e12,
        "mfu": flops * tokens_per_s / (peak * 1e12) if peak else None,
        "peak_tflops": peak,
        "peak_memory_gb": peak_mem / 1e9,
        "final_loss": result.losses[-1],
        "torch": torch.__version__,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
