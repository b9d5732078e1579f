"""The interface the training loop, the scorer and DPO drive, whatever the model.

A :class:`CausalLM` is a torch module called like the bundled GPT::

    logits = model(idx)                                   # (B, T, V)
    loss = model(idx, targets, reduction="sum")           # summed CE, IGNORE_INDEX targets skipped
    loss = model(idx, targets, position_ids=pos)          # packs_documents: positions reset per document

with ``config.seq_len`` (the context it is trained and scored at), ``config.vocab_size`` (rows of
its output) and ``config.to_dict()``; ``param_groups`` for AdamW; ``checkpoint_state`` /
``load_checkpoint_state`` for what a resumable checkpoint keeps (every weight, or the adapter's).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class CausalLM(nn.Module):
    kind: ClassVar[str] = "gpt"
    # forward() takes position_ids that restart at every document start of a packed row, and keeps
    # each document's attention inside the document
    packs_documents: ClassVar[bool] = False
    config: Any

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups: decay on matrices and embeddings, none on norms and biases; trainable only."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """The tensors a checkpoint keeps (on the CPU)."""
        return {k: v.detach().cpu() for k, v in self.state_dict().items()}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        self.load_state_dict(state)
