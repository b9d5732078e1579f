"""Write sample_data/hf-tokenizer/: a small Hugging Face tokenizer trained on the sample data.

    python sample_data/make_hf_tokenizer.py              # rewrites sample_data/hf-tokenizer/
    python sample_data/make_hf_tokenizer.py --out DIR    # writes elsewhere

A byte-level BPE tokenizer (2,000 ids) shaped like Qwen 2.5's: ChatML's special tokens
(``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>``), ``<|endoftext|>`` as eos and pad, no BOS, and a
ChatML ``chat_template`` in its ``tokenizer_config.json`` (the one of ``curate.tokenize.testing``, in
the shape of Qwen 2.5's), for ``template: model`` (recipes/sft-hf.yaml). It is trained with the ``tokenizers`` library on the web pages and chat contents of sample_data/ and
saved with ``transformers``' ``save_pretrained``, so ``tokenize: {hf: sample_data/hf-tokenizer}``
reads the same files a real model's tokenizer directory has. Offline, a few seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from curate.tokenize.testing import build_hf_tokenizer, sample_texts  # noqa: E402

VOCAB_SIZE = 2000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "hf-tokenizer")
    args = parser.parse_args(argv)
    out = build_hf_tokenizer(
        args.out, sample_texts(HERE), family="qwen", vocab_size=VOCAB_SIZE, chat_template=True
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
