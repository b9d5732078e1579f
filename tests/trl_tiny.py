"""A tiny random causal LM and a Hugging Face tokenizer, built offline, for handing curate's
outputs and exports to TRL's own dataset preparation (no download, no training to speak of)."""

from __future__ import annotations

from pathlib import Path

from curate.formats.templates import all_special_tokens

PAD = "<pad>"


def hf_tokenizer(texts: list[str], *, eos: str = "<|im_end|>", vocab_size: int = 400):
    """A byte-level BPE tokenizer trained on ``texts`` with the templates' special tokens, as a
    transformers tokenizer whose EOS is ``eos`` (a chat model's end-of-turn, as Qwen's is)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, *all_special_tokens()],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=eos, pad_token=PAD)


def tiny_model(directory: Path, *, vocab_size: int) -> Path:
    """A random 1-layer Llama with ``vocab_size`` embeddings, saved to ``directory``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


def trainer_args(config_class, output_dir: Path, **options):
    """TRL config for a CPU run that writes nothing anywhere else (activation_checkpointing set
    explicitly: TRL's default sets the deprecated gradient_checkpointing, a FutureWarning)."""
    return config_class(
        output_dir=str(output_dir),
        report_to=[],
        use_cpu=True,
        activation_checkpointing=False,
        dataset_num_proc=None,
        **options,
    )
