"""Write sample_data/hf-model/: a tiny random Hugging Face causal LM for sample_data/hf-tokenizer.

    python sample_data/make_hf_model.py              # rewrites sample_data/hf-model/
    python sample_data/make_hf_model.py --out DIR    # writes elsewhere

A Qwen2-shaped model (2 layers, width 32, 4 heads, vocabulary 2,000 = the sample tokenizer's, its
eos id), random weights (seed 0, std 0.1) saved in bfloat16 with ``save_pretrained`` (~170 KB), so
that ``recipes/sft-hf-lora.yaml`` fine-tunes "your own model" on the CPU in seconds. It knows
nothing: its base score is that of a random model. Offline, a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str] | None = None) -> int:
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from curate.tokenize.hf import HFTokenizer, read_files
    from curate.train.models.testing import tiny_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "hf-model")
    args = parser.parse_args(argv)
    hf_logging.disable_progress_bar()
    tok = HFTokenizer(read_files(HERE / "hf-tokenizer"))
    config = tiny_config(
        "qwen2",
        vocab_size=tok.vocab_size,
        hidden=32,
        layers=2,
        heads=4,
        intermediate=64,
        positions=1024,
        eos_id=tok.eos_id,
        init_range=0.1,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).to(torch.bfloat16)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
