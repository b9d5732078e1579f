"""A Hugging Face causal LM behind curate's model interface (``init_from: hf:PATH``).

``HFCausalLM`` wraps ``transformers.AutoModelForCausalLM.from_pretrained(PATH,
local_files_only=True)``, loaded in float32 (the loop's autocast runs bf16 on CUDA), optionally
with a LoRA adapter through ``peft`` (``lora:``; only the adapter trains, and only the adapter is
in the checkpoint) and gradient checkpointing.

Packed rows: the loop passes ``position_ids`` that restart at 0 at every document start of a row
(from the token index's document starts). transformers (>= 4.5x, checked on 5.25) reads restarting
position ids without an attention mask as packed sequences and builds a block-diagonal causal mask
for the ``sdpa`` and ``eager`` attention (and varlen kernels for flash-attention-2): on the CPU and
on GPUs without flash-attention, a document never attends to the one packed before it, at the cost
of an explicit (B, 1, T, T) mask instead of the causal kernel. A document cut across two rows starts
its second part at position 0, as the bundled GPT does.

Loss: on the CPU the summed cross-entropy is fused with the output projection (the bundled GPT's
``linear_cross_entropy``: the (B*T, V) logits never exist whole) where the architecture's logits
are a plain bias-free projection; elsewhere it is the cross-entropy of the model's logits.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from curate.errors import RecipeError
from curate.train.model import IGNORE_INDEX, config_from_dict, linear_cross_entropy
from curate.train.models.base import CausalLM
from curate.train.models.hf_dir import (
    CONV1D_TYPES,
    lora_targets,
    model_fingerprint,
    read_config,
    require_extra,
    resolve_model_dir,
    text_config,
)

# Architectures whose logits are exactly ``lm_head(final hidden state)``: the fused CPU loss applies.
PLAIN_HEAD_TYPES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gpt2", "olmo", "olmo2", "smollm3", "phi3"}
)


@dataclass(frozen=True)
class HFModelConfig:
    """What rebuilds an ``HFCausalLM``: the base model's directory and file versions, the context
    it is trained and scored at, and the adapter."""

    path: str
    seq_len: int
    vocab_size: int = 0  # rows of the output; filled in when the model is built
    model_type: str = ""
    fingerprint: str = ""
    lora: dict[str, Any] | None = None
    gradient_checkpointing: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HFModelConfig:
        return config_from_dict(cls, data)


def _peft_config(lora: dict[str, Any], model_type: str):
    from peft import LoraConfig

    targets = lora.get("target_modules") or lora_targets(model_type)
    return LoraConfig(
        r=lora.get("r", 16),
        lora_alpha=lora.get("alpha", 32.0),
        lora_dropout=lora.get("dropout", 0.05),
        target_modules=targets,
        fan_in_fan_out=model_type in CONV1D_TYPES,
        bias="none",
        task_type="CAUSAL_LM",
    )


class HFCausalLM(CausalLM):
    kind: ClassVar[str] = "hf"
    packs_documents: ClassVar[bool] = True

    def __init__(self, config: HFModelConfig, *, seed: int = 0) -> None:
        super().__init__()
        require_extra(lora=config.lora is not None)
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        directory = resolve_model_dir(config.path)
        hf_logging.set_verbosity_error()  # no "loading weights" chatter or bars on the run's terminal
        hf_logging.disable_progress_bar()
        lm = AutoModelForCausalLM.from_pretrained(
            str(directory), local_files_only=True, dtype=torch.float32, attn_implementation="sdpa"
        )
        lm.config.use_cache = False
        if config.gradient_checkpointing:
            enable = getattr(lm, "activation_checkpointing_enable", None)  # transformers >= 5.2x
            if enable is not None:
                enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model_type = text_config(read_config(directory)).get("model_type", lm.config.model_type)
        self.base = lm  # the transformers model (the adapter's layers are injected into it)
        if config.lora is not None:
            from peft import get_peft_model

            torch.manual_seed(seed)  # the adapter's initialisation
            with warnings.catch_warnings():
                # peft 0.21 reads transformers' deprecated is_gradient_checkpointing: not ours to fix
                warnings.filterwarnings(
                    "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
                )
                lm = get_peft_model(lm, _peft_config(config.lora, model_type))
        self.lm = lm
        self.config = HFModelConfig(
            **{
                **config.to_dict(),
                "path": str(directory),
                "vocab_size": self.base.get_input_embeddings().num_embeddings,
                "model_type": model_type,
                "fingerprint": config.fingerprint or model_fingerprint(directory),
            }
        )
        self._fused = (
            model_type in PLAIN_HEAD_TYPES
            and getattr(self.base.get_output_embeddings(), "bias", None) is None
        )

    @property
    def is_lora(self) -> bool:
        return self.config.lora is not None

    def without_adapter(self) -> contextlib.AbstractContextManager:
        """A context in which the model is its base: the LoRA adapter disabled (peft's
        ``disable_adapter``), the same weights in memory, no copy. Full fine-tuning: the model as it is."""
        return self.lm.disable_adapter() if self.is_lora else contextlib.nullcontext()

    def _hidden(self, idx: torch.Tensor, position_ids: torch.Tensor | None) -> torch.Tensor:
        out = self.base.get_decoder()(input_ids=idx, position_ids=position_ids, use_cache=False)
        return out.last_hidden_state

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        reduction: Literal["mean", "sum"] = "mean",
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (B, T, V), or with ``targets`` the cross-entropy skipping ``IGNORE_INDEX``."""
        if position_ids is None:
            position_ids = torch.arange(idx.size(1), device=idx.device).expand(idx.size(0), -1)
        if targets is not None and self._fused and idx.device.type == "cpu" and torch.is_grad_enabled():
            B, T = idx.shape
            x = self._hidden(idx, position_ids)
            head = self.base.get_output_embeddings().weight
            loss = linear_cross_entropy(x.reshape(B * T, -1), head, targets.reshape(B * T), head.size(0))
            return loss if reduction == "sum" else loss / (targets != IGNORE_INDEX).sum().clamp_min(1)
        logits = self.lm(input_ids=idx, position_ids=position_ids, use_cache=False).logits
        if targets is None:
            return logits
        return F.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction=reduction,
        )

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """Every weight (full fine-tuning) or the adapter's weights only (LoRA)."""
        if not self.is_lora:
            return {k: v.detach().cpu() for k, v in self.base.state_dict().items()}
        return {n: p.detach().cpu() for n, p in self.lm.named_parameters() if p.requires_grad}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        if not self.is_lora:
            self.base.load_state_dict(state)
            return
        expected = {n for n, p in self.lm.named_parameters() if p.requires_grad}
        if set(state) != expected:
            raise RecipeError(
                f"the checkpoint's adapter holds {len(state)} tensors, this LoRA config {len(expected)}: "
                "it was trained with another lora: block"
            )
        self.lm.load_state_dict(state, strict=False)

    def save_pretrained(
        self, directory: str | os.PathLike, *, tokenizer: str | os.PathLike | None = None
    ) -> Path:
        """The adapter (LoRA) or the whole model, as ``save_pretrained`` writes it, plus the
        tokenizer's files: ``PeftModel.from_pretrained(base, DIR)`` or
        ``AutoModelForCausalLM.from_pretrained(DIR)`` loads it as it is."""
        import shutil

        directory = Path(directory)
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        self.lm.save_pretrained(str(directory))
        if tokenizer is not None:
            from curate.tokenize.hf import read_files

            for name, data in read_files(tokenizer).items():
                (directory / name).write_bytes(data)
        return directory


def build_hf_model(
    spec: str, *, context: int, lora: dict[str, Any] | None, gradient_checkpointing: bool, seed: int
) -> HFCausalLM:
    """The model of ``init_from: hf:SPEC`` for rows of ``context`` tokens."""
    return HFCausalLM(
        HFModelConfig(
            path=str(resolve_model_dir(spec)),
            seq_len=context,
            lora=lora,
            gradient_checkpointing=gradient_checkpointing,
        ),
        seed=seed,
    )
