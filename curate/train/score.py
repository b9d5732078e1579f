"""Scoring a model on a held-out eval set: NLL, perplexity, bits per byte, preference accuracy.

What is scored, exactly (the numbers are only comparable across recipes of one experiment, which
share the tokenizer and the eval set):

- **text** records (``{"text": ...}``): the document is encoded as ``[start] + encode(text)``;
  every token of ``encode(text)`` is a target, the first one predicted from the start token alone
  (``bos`` if the tokens were packed with one, else the end-of-document token that separates
  packed documents, see ``resolve_start_id``). No end-of-document token is scored. The bytes
  scored are all UTF-8 bytes of the original ``text``.
- **chat** records (``{"messages": [...]}``): rendered through the chat template (ChatML unless
  another encoder is given); the targets are exactly the training-mask tokens: each assistant
  turn's content and its end-of-turn token. The bytes scored are the UTF-8 bytes of the assistant
  contents (the end-of-turn token adds NLL but no bytes: ending the answer is part of the task).
- **preference** records (``{"prompt", "chosen", "rejected"}``, strings or message lists): each
  response is scored given the prompt; its log-probability is minus the summed NLL of its target
  tokens. Accuracy is the share of pairs whose margin ``logp(chosen) - logp(rejected)`` is > 0
  (ties count as wrong, as in TRL's ``rewards/accuracies``). A summed log-probability favours
  the shorter response, so the same figures are also given per target token and per byte, with
  the pairs' length bias (see ``preference_metrics``). NLL, perplexity and bits per byte are
  reported over the chosen responses.

Metrics: ``nll`` = sum NLL / target tokens (nats), ``ppl = exp(nll)``,
``bpb`` = sum NLL / (ln 2 x bytes scored).

Sequences longer than the model's context are scored in windows of ``seq_len`` tokens advancing
by ``stride`` (default: ``seq_len``, no overlap); each target is scored once, with the window's
preceding tokens as its context (at most ``seq_len``), as in the Hugging Face perplexity guide.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch
import torch.nn.functional as F

from curate.errors import InputError
from curate.io.writers import write_atomic
from curate.tokenize.base import Tokenizer
from curate.train.checkpoint import Checkpoint, load_checkpoint
from curate.train.evalset import EvalKind, eval_kind
from curate.train.model import GPT, IGNORE_INDEX, count_params
from curate.train.models.base import CausalLM

Message = Mapping[str, str]


@dataclass(frozen=True)
class Encoded:
    """One scored sequence: token ids, which positions are targets, and the UTF-8 bytes they encode."""

    ids: list[int]
    target: list[bool]
    n_bytes: int


ChatEncoder = Callable[[Sequence[Message]], Encoded]


# -- eval set ------------------------------------------------------------------------------------


TokenizerLike = str | os.PathLike | Tokenizer | Any
"""A tokenizer, the path of one (a sentencepiece ``.model``, a Hugging Face directory), or a
``sentencepiece.SentencePieceProcessor``."""


def load_tokenizer(tokenizer: TokenizerLike) -> Tokenizer:
    """The tokenizer interface over ``tokenizer`` (see :data:`TokenizerLike`)."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if not isinstance(tokenizer, str | os.PathLike):  # a SentencePieceProcessor
        from curate.tokenize.encoder import SentencePieceTokenizer

        return SentencePieceTokenizer(tokenizer.serialized_model_proto())
    from curate.tokenize.load import load_tokenizer as load

    if not Path(tokenizer).exists():
        raise InputError(
            f"no tokenizer at {tokenizer}: point to the run's tokenizer/*.model (or its tokenizer/ directory)"
        )
    return load(tokenizer)


def resolve_start_id(tokenizer: TokenizerLike, special_ids: Mapping[str, int] | None = None) -> int:
    """The token that every scored sequence starts from.

    ``special_ids`` are those of the packed tokens (recorded in the checkpoint): ``bos`` when the
    tokenize stage starts documents with one, else ``eos``, which is what precedes a document in
    a concatenated stream. Without them: the tokenizer's BOS, else its EOS.
    """
    tok = load_tokenizer(tokenizer)
    special_ids = special_ids or {}
    for key in ("bos", "eos"):
        if special_ids.get(key, -1) >= 0:
            return int(special_ids[key])
    for value in (tok.bos_id, tok.eos_id):
        if value is not None:
            return int(value)
    raise InputError("the tokenizer has neither a BOS nor an EOS id: train it with bos_id or eos_id >= 0")


def _encode(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode_texts([text])[0].tolist()


def encode_text(text: str, tokenizer: TokenizerLike, *, start_id: int) -> Encoded:
    ids = _encode(load_tokenizer(tokenizer), text)
    return Encoded([start_id, *ids], [False] + [True] * len(ids), len(text.encode("utf-8")))


def chatml_encoder(tokenizer: TokenizerLike, *, start_id: int) -> ChatEncoder:
    """ChatML (``<|im_start|>role\\ncontent<|im_end|>\\n``) with targets on assistant contents and
    their ``<|im_end|>``. The markers are single ids when the tokenizer has them as symbols."""
    tok = load_tokenizer(tokenizer)
    im_start, im_end = (tok.encode_markup(m).tolist() for m in ("<|im_start|>", "<|im_end|>"))

    def encode(messages: Sequence[Message]) -> Encoded:
        ids, target, n_bytes = [start_id], [False], 0
        for m in messages:
            header = im_start + _encode(tok, f"{m['role']}\n")
            body = _encode(tok, m["content"]) + im_end
            tail = _encode(tok, "\n")
            is_target = m["role"] == "assistant"
            ids += header + body + tail
            target += [False] * len(header) + [is_target] * len(body) + [False] * len(tail)
            n_bytes += len(m["content"].encode("utf-8")) if is_target else 0
        return Encoded(ids, target, n_bytes)

    return encode


def _as_messages(value: str | Sequence[Message], role: str) -> list[Message]:
    return [{"role": role, "content": value}] if isinstance(value, str) else list(value)


def encode_records(
    records: Sequence[Mapping[str, Any]],
    tokenizer: TokenizerLike,
    *,
    start_id: int,
    chat_encoder: ChatEncoder | None = None,
) -> tuple[EvalKind, list[Encoded]]:
    """Encode an eval set: one sequence per text or chat record, two per preference pair
    (chosen at even positions, rejected at odd ones)."""
    sp = load_tokenizer(tokenizer)
    kind = eval_kind(records)
    if kind == "text":
        return kind, [encode_text(r["text"], sp, start_id=start_id) for r in records]
    chat = chat_encoder or chatml_encoder(sp, start_id=start_id)
    if kind == "chat":
        return kind, [chat(r["messages"]) for r in records]
    seqs: list[Encoded] = []
    for r in records:
        prompt = _as_messages(r.get("prompt") or [], "user")
        for side in ("chosen", "rejected"):
            seqs.append(chat([*prompt, *_as_messages(r[side], "assistant")]))
    return kind, seqs


# -- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    seq: int  # which sequence
    ids: list[int]  # model input, length <= context
    targets: list[int]  # next tokens; IGNORE_INDEX where not scored


def _windows(seqs: Sequence[Encoded], context: int, stride: int) -> list[_Window]:
    out: list[_Window] = []
    for s, enc in enumerate(seqs):
        n = len(enc.ids)
        for a in range(0, max(n - 1, 0), stride):  # new targets at positions a+1 .. b
            b = min(a + stride, n - 1)
            lo = max(0, b - context)
            targets = [enc.ids[j + 1] if j >= a and enc.target[j + 1] else IGNORE_INDEX for j in range(lo, b)]
            if any(t != IGNORE_INDEX for t in targets):  # e.g. a window of prompt only: nothing to score
                out.append(_Window(s, enc.ids[lo:b], targets))
    return out


@torch.inference_mode()
def sequence_nll(
    model: GPT,
    seqs: Sequence[Encoded],
    *,
    batch_size: int = 16,
    stride: int | None = None,
    context: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Summed NLL (nats, float64) and number of targets of each sequence, scored in windows."""
    context = context or model.config.seq_len
    stride = stride or context
    if not 0 < stride <= context:
        raise ValueError(f"stride must be in [1, {context}], got {stride}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nll = np.zeros(len(seqs), dtype=np.float64)
    count = np.zeros(len(seqs), dtype=np.int64)
    windows = sorted(_windows(seqs, context, stride), key=lambda w: len(w.ids))  # similar lengths together
    for i in range(0, len(windows), batch_size):
        chunk = windows[i : i + batch_size]
        width = max(len(w.ids) for w in chunk)
        x = torch.zeros((len(chunk), width), dtype=torch.long)
        y = torch.full((len(chunk), width), IGNORE_INDEX, dtype=torch.long)
        for row, w in enumerate(chunk):  # right padding: causal attention keeps it out of real positions
            x[row, : len(w.ids)] = torch.tensor(w.ids)
            y[row, : len(w.targets)] = torch.tensor(w.targets)
        x, y = x.to(device), y.to(device)
        logits = model(x)  # (B, T, V)
        token_nll = F.cross_entropy(
            logits.float().transpose(1, 2), y, ignore_index=IGNORE_INDEX, reduction="none"
        )  # (B, T), 0 where ignored
        per_row = token_nll.double().sum(dim=1).cpu().numpy()
        per_count = (y != IGNORE_INDEX).sum(dim=1).cpu().numpy()
        for row, w in enumerate(chunk):
            nll[w.seq] += per_row[row]
            count[w.seq] += per_count[row]
    model.train(was_training)
    return nll, count


def _share_and_mean(margin: np.ndarray) -> tuple[float, float]:
    return float((margin > 0).mean()), float(margin.mean())


def preference_metrics(nll: np.ndarray, count: np.ndarray, n_bytes: np.ndarray) -> dict[str, Any]:
    """Preference figures of pairs from per-response summed NLL, target tokens and bytes
    (chosen at even positions, rejected at odd ones).

    - ``pref_accuracy``/``pref_margin``: on summed log-probabilities, ``logp(c) - logp(r)``. A sum
      grows more negative with every token, so it favours the shorter response.
    - ``pref_accuracy_per_token``/``pref_margin_per_token``: on the mean log-probability per target
      token, ``logp(c)/tokens(c) - logp(r)/tokens(r)``; ``..._per_byte`` likewise per UTF-8 byte
      of the response (tokenizer-free). Both take length out of the comparison.
    - ``pref_chosen_longer``: the share of pairs whose chosen response has more bytes than the
      rejected one; ``pref_length_ratio``: the mean of bytes(chosen) / bytes(rejected). Far from
      0.5 and 1, the pairs are length-confounded and the summed figures measure length as much
      as preference.
    """
    chosen, rejected = slice(0, None, 2), slice(1, None, 2)
    logp = -np.asarray(nll, dtype=np.float64)
    tokens = np.maximum(np.asarray(count, dtype=np.float64), 1)
    size = np.maximum(np.asarray(n_bytes, dtype=np.float64), 1)
    summed = logp[chosen] - logp[rejected]
    per_token = logp[chosen] / tokens[chosen] - logp[rejected] / tokens[rejected]
    per_byte = logp[chosen] / size[chosen] - logp[rejected] / size[rejected]
    out: dict[str, Any] = {"pairs": int(summed.size)}
    for suffix, margin in (("", summed), ("_per_token", per_token), ("_per_byte", per_byte)):
        out[f"pref_accuracy{suffix}"], out[f"pref_margin{suffix}"] = _share_and_mean(margin)
    out.update(length_bias(n_bytes[chosen], n_bytes[rejected]))
    return out


def length_bias(chosen_bytes: Sequence[int], rejected_bytes: Sequence[int]) -> dict[str, float]:
    """How the lengths of preference pairs lean: ``pref_chosen_longer`` (share of pairs whose
    chosen response is longer, in bytes) and ``pref_length_ratio`` (mean chosen/rejected bytes)."""
    c = np.asarray(chosen_bytes, dtype=np.float64)
    r = np.asarray(rejected_bytes, dtype=np.float64)
    return {
        "pref_chosen_longer": float((c > r).mean()) if c.size else float("nan"),
        "pref_length_ratio": float((c / np.maximum(r, 1)).mean()) if c.size else float("nan"),
    }


def summarize(kind: EvalKind, seqs: Sequence[Encoded], nll: np.ndarray, count: np.ndarray) -> dict[str, Any]:
    """Metrics of an eval set from per-sequence NLL sums and target counts."""
    if kind == "preference":
        chosen = slice(0, None, 2)
        pref = preference_metrics(nll, count, np.array([s.n_bytes for s in seqs], dtype=np.int64))
        seqs, nll, count = seqs[chosen], nll[chosen], count[chosen]
    else:
        pref = {}
    total_nll, tokens = float(nll.sum()), int(count.sum())
    n_bytes = sum(s.n_bytes for s in seqs)
    mean = total_nll / tokens if tokens else float("nan")
    return {
        "kind": kind,
        "records": len(seqs),
        "tokens": tokens,
        "bytes": n_bytes,
        "nll": mean,
        "ppl": math.exp(mean) if tokens else float("nan"),
        "bpb": total_nll / (math.log(2) * n_bytes) if n_bytes else float("nan"),
        **pref,
    }


def bpb_interval(
    kind: EvalKind, seqs: Sequence[Encoded], nll: np.ndarray, *, confidence: float = 0.95
) -> dict[str, Any]:
    """The eval set's own sampling error of bits per byte: a bootstrap over its documents (the
    chosen responses of preference pairs), 2000 resamples, seeded. ``bpb_low``/``bpb_high``: the
    95% interval; ``bpb_ci95``: its half-width, the figure to set beside the seed-to-seed spread.
    How far the score would move on another draw of documents of the same kind."""
    if kind == "preference":
        seqs, nll = seqs[0::2], nll[0::2]
    n_bytes = np.array([s.n_bytes for s in seqs], dtype=np.float64)
    if not len(seqs) or n_bytes.sum() <= 0:
        return {}
    from curate.stats import bootstrap_ratio

    interval = bootstrap_ratio(
        np.asarray(nll, dtype=np.float64) / math.log(2), n_bytes, confidence=confidence
    )
    return {
        "bpb_low": interval.low,
        "bpb_high": interval.high,
        "bpb_ci95": interval.half_width,
        "bootstrap_docs": len(seqs),
    }


def doc_scores(kind: EvalKind, seqs: Sequence[Encoded], nll: np.ndarray, records: Sequence[Any]) -> Any:
    """Each document's bits and bytes (``curate.train.eval_docs.DocScores``; the chosen responses
    of preference pairs), whose ``sum(bits) / sum(bytes)`` is the set's bits per byte."""
    from curate.train.eval_docs import DocScores, records_fingerprint

    if kind == "preference":
        seqs, nll = seqs[0::2], nll[0::2]
    return DocScores(
        np.asarray(nll, dtype=np.float64) / math.log(2),
        np.array([s.n_bytes for s in seqs], dtype=np.int64),
        records_fingerprint(records),
    )


def _model_of(
    model: GPT | Checkpoint | str | os.PathLike, device: torch.device | str | None
) -> tuple[GPT, Checkpoint | None]:
    if isinstance(model, CausalLM):  # the bundled GPT or a Hugging Face model
        if device is not None:
            model = model.to(device)
        return model, None
    ckpt = model if isinstance(model, Checkpoint) else load_checkpoint(model, device=device or "cpu")
    if device is not None:
        ckpt.model.to(device)
    return ckpt.model, ckpt


def score(
    model: GPT | Checkpoint | str | os.PathLike,
    records: Sequence[Mapping[str, Any]],
    tokenizer: TokenizerLike | None = None,
    *,
    batch_size: int = 16,
    stride: int | None = None,
    device: torch.device | str | None = None,
    start_id: int | None = None,
    chat_encoder: ChatEncoder | None = None,
    per_document: bool = False,
) -> dict[str, Any]:
    """Score ``model`` (a GPT, a loaded checkpoint or a checkpoint path) on eval ``records``.

    ``per_document``: also return ``docs``, each document's bits and bytes (:func:`doc_scores`;
    not JSON: ``curate.train.eval_docs.write_eval_docs`` writes it).

    Returns the metrics of ``summarize``, the eval set's bootstrap interval of bits per byte
    (``bpb_low``, ``bpb_high``, ``bpb_ci95``: see :func:`bpb_interval`), ``wall_s``, ``tokens_per_s`` (scored tokens),
    ``device``, ``n_params``, ``context`` and ``stride``. A checkpoint's recorded tokenizer must
    match ``tokenizer`` (by sha256); without ``tokenizer``, the recorded one is used.
    """
    t0 = time.perf_counter()
    gpt, ckpt = _model_of(model, device)
    if tokenizer is None:
        if ckpt is None or ckpt.tokenizer is None:
            raise InputError("no tokenizer given and the model records none: pass the tokenizer's path")
        tokenizer = ckpt.tokenizer["path"]
    if ckpt is not None and isinstance(tokenizer, str | os.PathLike):
        ckpt.check_tokenizer(tokenizer)
    sp = load_tokenizer(tokenizer)
    if sp.vocab_size > gpt.config.vocab_size:
        raise InputError(
            f"tokenizer has {sp.vocab_size} pieces but the model only {gpt.config.vocab_size}: "
            "score with the tokenizer the model was trained with"
        )
    if start_id is None:
        start_id = resolve_start_id(sp, ckpt.special_ids if ckpt else None)
    kind, seqs = encode_records(records, sp, start_id=start_id, chat_encoder=chat_encoder)
    nll, count = sequence_nll(gpt, seqs, batch_size=batch_size, stride=stride)
    metrics = summarize(kind, seqs, nll, count)
    docs = {"docs": doc_scores(kind, seqs, nll, records)} if per_document else {}
    wall = time.perf_counter() - t0
    return {
        **metrics,
        **bpb_interval(kind, seqs, nll),
        **docs,
        "wall_s": wall,
        "tokens_per_s": metrics["tokens"] / wall if wall > 0 else float("nan"),
        "device": str(next(gpt.parameters()).device),
        "n_params": count_params(gpt),
        "context": gpt.config.seq_len,
        "stride": stride or gpt.config.seq_len,
    }


PREF_KEYS = (
    "pref_accuracy",
    "pref_margin",
    "pref_accuracy_per_token",
    "pref_margin_per_token",
    "pref_accuracy_per_byte",
    "pref_margin_per_byte",
)
METRIC_KEYS = ("nll", "ppl", "bpb", *PREF_KEYS)


SCORE_ABOUT = (
    "metrics: the score, the final checkpoint on the whole eval set (eval: what it covered). "
    "last_periodic_eval: the last eval during training, on the first train.eval.periodic_records "
    "records of each eval set only: a progress check, not the score."
)


def score_report(
    metrics: Mapping[str, Any], train: Mapping[str, Any] | None = None, *, seed: int | None = None
) -> dict[str, Any]:
    """The contents of ``RUN_DIR/score.json``: the metrics, what the eval covered, and how the
    model was trained (``TrainResult.to_dict()``: tokens seen, wall time, tokens/s, ...).

    ``metrics`` is the score. The last of the evals run during training (``last_eval`` of the
    train result: the first ``train.eval.periodic_records`` records only) is kept apart as
    ``last_periodic_eval``, so that one file does not hold two unexplained perplexities."""
    train = dict(train or {})
    periodic = train.pop("last_eval", None)
    return {
        "about": SCORE_ABOUT,
        "metrics": {k: metrics[k] for k in METRIC_KEYS if k in metrics},
        "last_periodic_eval": periodic,
        "eval": {k: v for k, v in metrics.items() if k not in METRIC_KEYS},
        "train": train,
        "tokens_seen": train.get("tokens_seen"),
        "wall_s": train.get("wall_s"),
        "tokens_per_s": train.get("tokens_per_s"),
        "device": train.get("device", metrics.get("device")),
        "n_params": metrics.get("n_params", train.get("n_params")),
        "seed": seed if seed is not None else train.get("seed"),
    }


AVG_KEYS = ("bpb", "nll")
MULTI_ABOUT = (
    "sets: the score on each named eval set (metrics, and eval: what it covered); avg: the mean of "
    "bpb and nll over the sets (ppl: exp of that nll), which is also the run's score (metrics) when there are several; "
    "tasks: multiple-choice tasks (acc, acc_norm, acc_bytes, bpb of the correct choice)."
)


def set_entry(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A set's score as ``score.json`` holds it under ``sets``: its metrics and what it covered."""
    return {
        "metrics": {k: metrics[k] for k in METRIC_KEYS if k in metrics},
        "eval": {k: v for k, v in metrics.items() if k not in METRIC_KEYS},
    }


def average(sets: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The mean over eval sets of each of ``AVG_KEYS`` that every set has (``sets``: name -> metrics),
    and ``ppl = exp(mean nll)``, the geometric mean of the sets' perplexities."""
    out: dict[str, float] = {}
    for key in AVG_KEYS:
        values = [m.get(key) for m in sets.values()]
        if values and all(isinstance(v, (int, float)) for v in values):
            out[key] = float(np.mean(values))
    if "nll" in out:
        out["ppl"] = math.exp(out["nll"])  # the geometric mean of the sets' perplexities
    return out


def sets_report(
    sets: Mapping[str, Mapping[str, Any]],
    tasks: Mapping[str, Mapping[str, Any]] | None = None,
    train: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
) -> dict[str, Any]:
    """``score.json`` for named eval sets (name -> metrics of ``score``) and multiple-choice tasks
    (name -> metrics of ``score_task``).

    With one set, ``metrics`` and ``eval`` are that set's, exactly as ``score_report`` writes
    them for a single eval set. With several, ``metrics`` is the ``avg`` over the sets and
    ``eval`` lists the sets with their summed records, tokens and bytes. Either way ``sets``
    holds each set's ``metrics`` and ``eval``, ``avg`` the mean over them, and ``tasks`` each
    task's metrics."""
    if len(sets) == 1:
        report = score_report(next(iter(sets.values())), train, seed=seed)
    else:
        first = next(iter(sets.values()), {})
        combined = {
            "sets": list(sets),
            **{k: sum(m.get(k, 0) for m in sets.values()) for k in ("records", "tokens", "bytes", "wall_s")},
            **{k: first[k] for k in ("device", "n_params", "context", "stride") if k in first},
        }
        report = score_report({**combined, **average(sets)} if sets else {}, train, seed=seed)
    if sets:
        report["sets"] = {name: set_entry(m) for name, m in sets.items()}
        report["avg"] = average(sets)
    if tasks:
        report["tasks"] = {name: dict(m) for name, m in tasks.items()}
    if len(sets) > 1 or tasks:
        report["about"] = f"{report['about']} {MULTI_ABOUT}"
    return report


def write_score_json(path: str | os.PathLike, report: Mapping[str, Any]) -> Path:
    """Write ``report`` as JSON atomically (NaN written as null)."""
    data = orjson.dumps(
        report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
    )
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))
