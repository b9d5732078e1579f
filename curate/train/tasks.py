"""Multiple-choice tasks scored by log-likelihood, as lm-evaluation-harness scores them.

A task is JSONL of ``{"context": str, "choices": [str, ...], "answer": int}``. For each item and
choice the model scores the continuation ``delimiter + choice`` given ``context`` (lm-eval's
``target_delimiter``, a space by default); the pair is encoded as lm-eval's ``_encode_pair`` does:
trailing spaces of the context move to the continuation, the whole string is encoded and the
context's tokens are split off, so that the tokens at the boundary are those of the whole text.
Curate's own models also get the run's start token before the context (what precedes every
document in training); an HF model scored through :class:`HFCausalLM` gets none, as in lm-eval.

Metrics (lm-eval's ``process_results`` of ``multiple_choice``, averaged over items):

- ``acc``: the choice with the highest log-likelihood is the answer;
- ``acc_norm``: the same after dividing each log-likelihood by the choice's length in
  characters (``len(choice)``, without the delimiter);
- ``acc_bytes``: the same per UTF-8 byte of the choice;
- ``bpb``: bits per byte of the correct continuation, summed NLL over all items divided by
  ``ln 2`` times its UTF-8 bytes (the continuation as scored, delimiter included): a continuous
  metric, which ranks recipes more reliably than accuracy at small scale (DataDecide).

Ties go to the first choice (``argmax``), as in lm-eval. Pairs longer than the model's context are
scored in windows (see ``curate.train.score``), where lm-eval truncates the context on the left.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import sentencepiece as spm
import torch

from curate.errors import InputError
from curate.train.checkpoint import Checkpoint
from curate.train.evalset import task_item_problem
from curate.train.model import GPT
from curate.train.score import Encoded, _model_of, load_tokenizer, resolve_start_id, sequence_nll

Encode = Callable[[str], list[int]]


def encode_pair(encode: Encode, context: str, continuation: str) -> tuple[list[int], list[int], str]:
    """Context and continuation tokens as lm-eval's ``_encode_pair`` makes them, and the
    continuation as scored (with the context's trailing spaces)."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    if not context:
        return [], list(encode(continuation)), continuation
    whole = list(encode(context + continuation))
    context_ids = list(encode(context))
    return whole[: len(context_ids)], whole[len(context_ids) :], continuation


def encode_task(
    items: Sequence[Mapping[str, Any]], encode: Encode, *, prefix: Sequence[int] = (), delimiter: str = " "
) -> list[Encoded]:
    """One scored sequence per (item, choice), in item order then choice order: ``prefix +
    context``, then the continuation as targets; ``n_bytes`` are the continuation's bytes."""
    seqs: list[Encoded] = []
    for i, item in enumerate(items, 1):
        problem = task_item_problem(item)
        if problem:
            raise InputError(f"task item {i}: {problem}")
        for choice in item["choices"]:
            context_ids, cont_ids, continuation = encode_pair(encode, item["context"], delimiter + choice)
            if not cont_ids:
                raise InputError(f"task item {i}: choice {choice!r} encodes to no token")
            if not prefix and not context_ids:
                raise InputError(f"task item {i}: an empty context needs a start token to score from")
            ids = [*prefix, *context_ids, *cont_ids]
            target = [False] * (len(prefix) + len(context_ids)) + [True] * len(cont_ids)
            seqs.append(Encoded(ids, target, len(continuation.encode("utf-8"))))
    return seqs


def task_metrics(
    items: Sequence[Mapping[str, Any]], loglikelihoods: Sequence[float], cont_bytes: Sequence[int]
) -> dict[str, Any]:
    """acc, acc_norm, acc_bytes and bpb of the correct continuation from the log-likelihood (nats)
    and the scored bytes of every (item, choice), flattened in item then choice order."""
    lls = np.asarray(loglikelihoods, dtype=np.float64)
    acc = acc_norm = acc_bytes = 0
    nll_correct, bytes_correct, at = 0.0, 0, 0
    for item in items:
        choices, gold = item["choices"], int(item["answer"])
        ll = lls[at : at + len(choices)]
        chars = np.array([float(len(c)) for c in choices])
        size = np.array([float(len(c.encode("utf-8"))) for c in choices])
        acc += int(np.argmax(ll) == gold)
        acc_norm += int(np.argmax(ll / chars) == gold)
        acc_bytes += int(np.argmax(ll / size) == gold)
        nll_correct -= float(ll[gold])
        bytes_correct += int(cont_bytes[at + gold])
        at += len(choices)
    n = len(items)
    return {
        "items": n,
        "chance": float(np.mean([1 / len(item["choices"]) for item in items])) if n else float("nan"),
        "acc": acc / n if n else float("nan"),
        "acc_norm": acc_norm / n if n else float("nan"),
        "acc_bytes": acc_bytes / n if n else float("nan"),
        "bpb": nll_correct / (math.log(2) * bytes_correct) if bytes_correct else float("nan"),
        "choices": at,
    }


class HFCausalLM(torch.nn.Module):
    """A Hugging Face causal LM seen as the scorer sees curate's GPT (``forward(ids) -> logits``,
    ``config.seq_len``): the thin path that lets ``score_task`` score the HF model lm-eval scores."""

    def __init__(self, model: Any, *, seq_len: int) -> None:
        super().__init__()
        self.hf = model
        self.config = SimpleNamespace(seq_len=seq_len)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=ids).logits


def score_task(
    model: GPT | HFCausalLM | Checkpoint | str | os.PathLike,
    items: Sequence[Mapping[str, Any]],
    tokenizer: str | os.PathLike | spm.SentencePieceProcessor | None = None,
    *,
    delimiter: str = " ",
    batch_size: int = 16,
    device: torch.device | str | None = None,
    encode: Encode | None = None,
    prefix: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Score ``model`` on the multiple-choice ``items`` (see the module's docstring).

    ``tokenizer``: the sentencepiece model (else the checkpoint's); ``encode`` and ``prefix``
    replace it (an HF tokenizer's ``encode`` without special tokens, and no prefix, for an
    :class:`HFCausalLM`). Returns ``task_metrics`` plus ``wall_s``."""
    t0 = time.perf_counter()
    if isinstance(model, HFCausalLM):
        gpt, ckpt = (model if device is None else model.to(device)), None
    else:
        gpt, ckpt = _model_of(model, device)
    if encode is None:
        if tokenizer is None:
            if ckpt is None or ckpt.tokenizer is None:
                raise InputError(
                    "no tokenizer given and the model records none: pass the sentencepiece .model"
                )
            tokenizer = ckpt.tokenizer["path"]
        sp = load_tokenizer(tokenizer)
        encode = _encoder(sp)
        if prefix is None:
            prefix = [resolve_start_id(sp, ckpt.special_ids if ckpt else None)]
    seqs = encode_task(items, encode, prefix=prefix or (), delimiter=delimiter)
    nll, _ = sequence_nll(gpt, seqs, batch_size=batch_size)  # type: ignore[arg-type]
    metrics = task_metrics(items, -nll, [s.n_bytes for s in seqs])
    return {**metrics, "delimiter": delimiter, "wall_s": time.perf_counter() - t0}


def _encoder(tokenizer: Any) -> Encode:
    """``encode(text) -> ids`` over the tokenizer interface (plain text, no special tokens)."""

    def encode(text: str) -> list[int]:
        ids, _ = tokenizer.encode_texts([text])
        return [int(i) for i in ids]

    return encode
