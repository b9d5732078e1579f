"""CPU fine-tuning throughput of a Hugging Face model: curate's loop (``init_from: hf:PATH``)
against ``transformers.Trainer`` on the same model, rows, batch order and optimizer, in one run.

The model is a random Llama built from a config (no download) with the vocabulary of
``sample_data/hf-tokenizer``; the rows are the sample web pages tokenized with that tokenizer and
packed with their document starts. Both arms:

- see the same rows in the same order (the order of curate's loader, fed to the Trainer through a
  sequential sampler), with the same per-document position ids (packed documents kept apart);
- use AdamW (betas 0.9/0.95, eps 1e-8, no weight decay), a constant learning rate, clipping at
  1.0, float32 on the CPU, one micro-batch per step.

So their loss curves must agree step by step (up to float rounding); the bench reports the largest
difference. tokens/s counts input tokens (batch x context) over the training loop's wall time
(``TrainResult.wall_s``; the Trainer's ``train_runtime``). The arms run one after the other,
``--repeats`` times in alternating order; ``speedup`` compares each arm's best run,
``speedup_median`` is the median of the per-repeat ratios (the figure to quote on a busy machine).

    python bench/bench_train_hf.py                     # hidden 256, 4 layers, seq 256, batch 8, 20 steps
    python bench/bench_train_hf.py --lora              # the same with a LoRA adapter (curate) / peft (Trainer)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.io.tokens import TokenWriter
from curate.tokenize.hf import HFTokenizer, read_files
from curate.tokenize.testing import sample_texts
from curate.train.config import LoraConfig, TrainConfig
from curate.train.data import TokenLoader
from curate.train.loop import train
from curate.train.models.testing import build_tiny_model

REPO = Path(__file__).resolve().parents[1]
TOKENIZER = REPO / "sample_data" / "hf-tokenizer"


def pack(directory: Path, seq_len: int) -> Path:
    tok = HFTokenizer(read_files(TOKENIZER))
    ids, _, lengths = tok.encode_documents(sample_texts(REPO / "sample_data"))
    n = ids.size // seq_len
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    with TokenWriter(directory, vocab_size=tok.vocab_size, seq_len=seq_len, special_ids=tok.ids_info()) as w:
        w.write(ids[: n * seq_len].reshape(n, seq_len), np.ones((n, seq_len), dtype=np.uint8))
        w.add_doc_starts(starts[starts < n * seq_len])
    return directory


def row_positions(rows: np.ndarray, doc_starts: np.ndarray, seq_len: int) -> np.ndarray:
    """Per-document position ids of whole rows (the Trainer's input is the row; curate's, row[:-1])."""
    out = np.empty((rows.size, seq_len), dtype=np.int64)
    for i, r in enumerate(rows):
        flags = np.zeros(seq_len, dtype=bool)
        lo, hi = np.searchsorted(doc_starts, [r * seq_len, (r + 1) * seq_len])
        flags[np.asarray(doc_starts[lo:hi], dtype=np.int64) - r * seq_len] = True
        t = np.arange(seq_len)
        out[i] = t - np.maximum.accumulate(np.where(flags, t, 0))
    return out


def curate_arm(tokens: Path, model_dir: Path, args, out: Path) -> dict:
    cfg = TrainConfig(
        init_from=f"hf:{model_dir}",
        steps=args.steps,
        batch_size=args.batch,
        lr=args.lr,
        min_lr=args.lr,
        warmup=0,
        weight_decay=0.0,
        clip=1.0,
        device="cpu",
        dtype="float32",
        eval_every=0,
        log_every=1,
        checkpoint_every=0,
        save_optimizer=False,
        lora=LoraConfig(r=16, alpha=32, dropout=0.0) if args.lora else None,
    )
    result = train(tokens, cfg, out_dir=out, progress=False, resume=False)
    return {"tokens_per_s": result.tokens_per_s, "wall_s": result.wall_s, "losses": result.losses}


def trainer_arm(tokens: Path, model_dir: Path, args, out: Path) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    loader = TokenLoader(tokens, batch_size=args.batch, seed=0)
    seq_len = loader.data.index.seq_len
    rows = np.concatenate([loader.next_rows() for _ in range(args.steps)])
    ids = np.asarray(loader.data.tokens[rows], dtype=np.int64)
    data = Dataset.from_dict(
        {
            "input_ids": ids.tolist(),
            "labels": ids.tolist(),  # the mask is all ones: every next token is a target, as in curate's rows
            "position_ids": row_positions(rows, np.asarray(loader.data.doc_starts), seq_len).tolist(),
        }
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), local_files_only=True, dtype=torch.float32, attn_implementation="sdpa"
    )
    if args.lora:
        from peft import LoraConfig as PeftLora
        from peft import get_peft_model

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = get_peft_model(
                model,
                PeftLora(
                    r=16,
                    lora_alpha=32,
                    lora_dropout=0.0,
                    target_modules=[
                        "q_proj",
                        "k_proj",
                        "v_proj",
                        "o_proj",
                        "gate_proj",
                        "up_proj",
                        "down_proj",
                    ],
                    task_type="CAUSAL_LM",
                ),
            )
    targs = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=0,
    )

    class InOrder(Trainer):
        def _get_train_sampler(self, *a, **kw):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    trainer = InOrder(model=model, args=targs, train_dataset=data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    wall = output.metrics["train_runtime"]
    return {"tokens_per_s": args.steps * args.batch * (seq_len - 1) / wall, "wall_s": wall, "losses": losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=257, help="tokens per packed row (context + 1)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_model(
            root / "model",
            tokenizer=TOKENIZER,
            arch="llama",
            hidden=args.hidden,
            layers=args.layers,
            heads=args.heads,
            positions=max(1024, args.seq_len),
        )
        tokens = pack(root / "tokens", args.seq_len)
        runs: dict[str, list[dict]] = {"curate": [], "trainer": []}
        for rep in range(args.repeats):
            order = ["curate", "trainer"] if rep % 2 == 0 else ["trainer", "curate"]
            for arm in order:
                fn = curate_arm if arm == "curate" else trainer_arm
                runs[arm].append(fn(tokens, model_dir, args, root / f"{arm}{rep}"))
        best = {arm: max(r, key=lambda x: x["tokens_per_s"]) for arm, r in runs.items()}
        a, b = np.array(best["curate"]["losses"]), np.array(best["trainer"]["losses"])
        n = min(a.size, b.size)
        report = {
            "model": f"llama hidden {args.hidden} x {args.layers} layers, vocab {HFTokenizer(read_files(TOKENIZER)).vocab_size}",
            "lora": args.lora,
            "batch": args.batch,
            "context": args.seq_len - 1,
            "steps": args.steps,
            "threads": torch.get_num_threads(),
            "curate_tokens_per_s": [r["tokens_per_s"] for r in runs["curate"]],
            "trainer_tokens_per_s": [r["tokens_per_s"] for r in runs["trainer"]],
            "speedup": best["curate"]["tokens_per_s"] / best["trainer"]["tokens_per_s"],
            # the median of the per-repeat ratios (each repeat runs both arms back to back)
            "speedup_median": float(
                np.median(
                    [
                        c["tokens_per_s"] / t["tokens_per_s"]
                        for c, t in zip(runs["curate"], runs["trainer"], strict=True)
                    ]
                )
            ),
            "loss_first": [float(a[0]), float(b[0])],
            "loss_last": [float(a[n - 1]), float(b[n - 1])],
            "max_abs_loss_diff": float(np.abs(a[:n] - b[:n]).max()),
        }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
