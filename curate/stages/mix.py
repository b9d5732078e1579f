"""mix: sample the curated sources into one training mix with requested shares.

A global stage (DESIGN.md, "Mix"). Every shard holds records of one source.

- ``summarize`` counts a shard's records and tokens per bucket of a seeded hash of the record
  id (tens of KB per shard, never texts).
- ``fit`` turns the per-source totals into a sampling plan: how much of the target each source
  gets (weights, temperature or natural sizes; per-source min/max), checks every source against
  its repetition cap, and fixes for each source a number of whole epochs plus the hash buckets
  that get one more copy. The buckets have equal *relative* width (512 per halving of the hash
  value), so whatever fraction of a source the plan takes, it lands within half a bucket, about
  0.1% of that fraction; and the realised figures are known exactly in ``fit`` because the
  buckets' contents are.
- ``apply`` hashes the ids of a shard again and emits each record as often as the plan says.
  Copies after the first get the id ``<id>#r<n>`` and ``epoch = n``; records the plan leaves
  out are dropped with reason ``mix_not_sampled`` (the pipe loop keeps them under ``rejected/``).

The selection depends only on ``(seed, record id)``: not on shard order, shard sizes or the
number of workers. Records are taken in hash order, so a larger target or weight takes a superset
of what a smaller one took.

Tokens are real when ``tokenizer`` names a sentencepiece ``.model`` or a Hugging Face tokenizer
directory (counted through :class:`curate.tokenize.base.Tokenizer`, no special tokens); otherwise
they are estimated (:func:`estimate_tokens`). The stats say which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import xxhash
from pydantic import Field, field_validator, model_validator

from curate.errors import StageError
from curate.io.memo import once_per_file_version
from curate.records import ID, REASON, text_view
from curate.stages.base import (
    BatchResult,
    Counters,
    FitResult,
    GlobalStage,
    Options,
    ShardInfo,
    StageConfig,
    StageContext,
    check_known_sources,
)
from curate.text import cjk_count_expr
from curate.tokenize.base import Tokenizer

MixUnit = Literal["records", "tokens"]

NOT_SAMPLED = "mix_not_sampled"
EPOCH = "epoch"
REPEAT_MARK = "#r"

BUCKET_STEPS = 512
"""Buckets per halving of the hash fraction: the plan's resolution is 1/512 of any fraction taken."""
BUCKET_LEVELS = 32
"""Halvings covered; hash fractions below 2**-32 share bucket 0."""
BUCKETS = 1 + BUCKET_LEVELS * BUCKET_STEPS

BYTES_PER_TOKEN = 4
"""Estimate for non-CJK text: ~4 UTF-8 bytes per token, the usual rule of thumb for English with
BPE vocabularies of tens of thousands of pieces (small vocabularies give more tokens)."""
TOKENS_PER_CJK_CHAR = 1
"""Estimate for Han/Hiragana/Katakana: about one token per character with multilingual BPE
vocabularies (more with English-centred ones, fewer with large CJK-aware ones). Counting these
3-byte characters as bytes/4 would give 0.75 per character, and chars/4 a quarter."""

ESTIMATE_RULE = (
    f"estimate: ceil(non-CJK UTF-8 bytes / {BYTES_PER_TOKEN}) + {TOKENS_PER_CJK_CHAR} per CJK character"
)
_EPS = 1e-9
_ENCODE_CHUNK = 1024


class MixTarget(Options):
    """How big the mix is: exactly one of ``records`` or ``tokens``."""

    records: int | None = Field(None, gt=0, description="Number of records (repeats included) in the mix.")
    tokens: int | None = Field(
        None,
        gt=0,
        description="Number of tokens in the mix (real tokens with `tokenizer`, else estimated).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> MixTarget:
        if (self.records is None) == (self.tokens is None):
            raise ValueError("give exactly one of `records: N` or `tokens: N`")
        return self

    @property
    def unit(self) -> MixUnit:
        return "records" if self.records is not None else "tokens"

    @property
    def amount(self) -> int:
        return self.records if self.records is not None else self.tokens  # type: ignore[return-value]


class SourceLimits(Options):
    """Bounds for one source. Amounts are in the target's unit (tokens when there is no target)."""

    max_epochs: float | None = Field(
        None, gt=0, description="Repetition cap for this source, overriding the stage's `max_epochs`."
    )
    min: int | None = Field(
        None,
        ge=0,
        description="Take at least this much from the source (the other sources share what is left).",
    )
    max: int | None = Field(
        None,
        ge=0,
        description="Take at most this much from the source (its surplus goes to the other sources).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> SourceLimits:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


class MixConfig(StageConfig):
    """Options of the mix stage (recipe: ``- mix: {weights: {...}, target: {tokens: N}, max_epochs: 3}``)."""

    weights: dict[str, float] | None = Field(
        None,
        description=(
            "Share of the mix per source, in the target's unit; normalised to sum 1. Must name every "
            "source (weight 0 drops one). Unset with no `temperature`: shares proportional to size."
        ),
    )
    temperature: float | None = Field(
        None,
        gt=0,
        description=(
            "Instead of weights: weight proportional to size^(1/T). T=1 keeps natural sizes, larger T "
            "flattens towards uniform (XLM-R and mT5 use T=1/0.3, about 3.3)."
        ),
    )
    target: MixTarget | None = Field(
        None,
        description=(
            "Size of the mix: {records: N} or {tokens: N}. Unset: the largest mix with the requested "
            "shares (in tokens) that repeats no record; with no weights that is every record once."
        ),
    )
    max_epochs: float = Field(
        4.0,
        gt=0,
        description=(
            "How many times a source may be repeated (taken amount / source size). Default 4: up to "
            "~4 epochs of repeated data cost about as little as fresh data (Muennighoff et al. 2023, "
            "'Scaling Data-Constrained Language Models')."
        ),
    )
    per_source: dict[str, SourceLimits] = Field(
        default_factory=dict,
        description="Per-source bounds: {name: {max_epochs, min, max}}; min/max in the target's unit.",
    )
    allow_shortfall: bool = Field(
        False,
        description=(
            "When a source cannot give its share within its cap, take what the cap allows and report "
            "the shortfall instead of failing."
        ),
    )
    tokenizer: str | None = Field(
        None,
        description=(
            "Path of a sentencepiece .model or a Hugging Face tokenizer directory to count real tokens. "
            f"Unset: tokens are estimated from UTF-8 bytes ({ESTIMATE_RULE})."
        ),
    )
    seed: int = Field(
        0,
        ge=0,
        lt=2**64,
        description=(
            "Seed of the record hash that picks partial epochs. Independent of the run seed, so "
            "changing the training seed keeps the data."
        ),
    )

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, weights: dict[str, float] | None) -> dict[str, float] | None:
        if weights is None:
            return None
        bad = {name: w for name, w in weights.items() if not (math.isfinite(w) and w >= 0)}
        if bad:
            raise ValueError(f"weights must be finite and >= 0, got {bad}")
        if sum(weights.values()) <= 0:
            raise ValueError(f"weights must sum to more than 0, got {weights}")
        return weights

    @model_validator(mode="after")
    def _one_weighting(self) -> MixConfig:
        if self.weights is not None and self.temperature is not None:
            raise ValueError("give either `weights` or `temperature`, not both")
        return self

    def check_source_names(self, known: Sequence[str]) -> None:
        super().check_source_names(known)
        check_known_sources("weights", self.weights or {}, known)
        check_known_sources("per_source", self.per_source, known)
        mixed = [name for name in known if self.applies_to(name)]
        missing = [name for name in mixed if self.weights is not None and name not in self.weights]
        if missing:
            raise ValueError(
                f"weights give no weight to source(s) {missing}; name every source the stage mixes "
                f"({', '.join(mixed)}) and give weight 0 to leave one out"
            )

    @property
    def unit(self) -> MixUnit:
        return self.target.unit if self.target is not None else "tokens"

    def epochs_cap(self, source: str) -> float:
        limits = self.per_source.get(source)
        return limits.max_epochs if limits and limits.max_epochs is not None else self.max_epochs


# ---------------------------------------------------------------------------------------------
# Per-record figures: token counts and the seeded id hash


def estimate_tokens(texts: pl.Series) -> np.ndarray:
    """Estimated tokens per text (int64): ``ceil(non-CJK UTF-8 bytes / 4) + CJK characters``.

    Fair to unspaced scripts: a Chinese paragraph and its English translation get about the same
    estimate, where a plain bytes/4 rule would undercount the Chinese side and chars/4 would count
    it at a quarter. Vectorised; the CJK regex only runs on texts that are not pure ASCII (the
    regex scan is ~20x slower than the byte/char counts that tell them apart).
    """
    lengths = texts.to_frame("text").select(
        pl.col("text").str.len_bytes().fill_null(0).cast(pl.Int64).alias("bytes"),
        pl.col("text").str.len_chars().fill_null(0).cast(pl.Int64).alias("chars"),
    )
    n_bytes = lengths["bytes"].to_numpy()
    wide = n_bytes != lengths["chars"].to_numpy()
    cjk = np.zeros(len(texts), np.int64)
    if wide.any():
        counted = texts.filter(pl.Series(wide)).to_frame("text").select(cjk_count_expr(pl.col("text")))
        cjk[wide] = counted.to_series().to_numpy()
    # BMP Han/Kana are 3 bytes in UTF-8 (the rare extension-B+ ideographs are 4: one byte off each).
    other_bytes = np.maximum(n_bytes - 3 * cjk, 0)
    return (other_bytes + (BYTES_PER_TOKEN - 1)) // BYTES_PER_TOKEN + TOKENS_PER_CJK_CHAR * cjk


def _load_tokenizer(path: str) -> Tokenizer:
    """The tokenizer at ``path``, loaded once per process and version of its file (for a Hugging
    Face directory: of its tokenizer.json too)."""
    return _cached_tokenizer((path, _tokenizer_file(path)))


def _tokenizer_file(path: str) -> str:
    """The file whose version stands for the tokenizer's (a Hugging Face directory: its tokenizer.json)."""
    from curate.tokenize.load import is_hf

    return str(Path(path) / "tokenizer.json") if Path(path).is_dir() and is_hf(path) else path


@once_per_file_version(maxsize=4)
def _cached_tokenizer(paths: tuple[str, str]) -> Tokenizer:
    from curate.tokenize.load import load_tokenizer

    path = paths[0]
    if not Path(path).exists():
        raise StageError(
            f"mix: tokenizer model {path!r} not found. Point `tokenizer` at a sentencepiece .model "
            "(e.g. RUN_DIR/tokenizer/ of an earlier run) or a Hugging Face tokenizer directory, or remove "
            "it to use the token estimate."
        )
    try:
        return load_tokenizer(path, num_threads=1)
    except StageError as exc:
        raise StageError(f"mix: cannot load tokenizer model {path!r}: {exc}") from exc


def token_method(tokenizer: str | None) -> str:
    """How tokens are counted, as the stats report it."""
    if not tokenizer:
        return ESTIMATE_RULE
    from curate.tokenize.load import is_hf

    return f"{'hf' if is_hf(tokenizer) else 'sentencepiece'}: {tokenizer}"


def record_tokens(batch: pl.DataFrame, *, tokenizer: str | None = None) -> np.ndarray:
    """Tokens of every record's text view (int64): real with a tokenizer, else estimated."""
    texts = text_view(batch)
    if tokenizer is None:
        return estimate_tokens(texts)
    encoder = _load_tokenizer(tokenizer)
    lengths = np.zeros(len(texts), np.int64)
    # In chunks, so that a shard's token ids never exist all at once; one thread, as the
    # executor already runs one shard per core.
    for start in range(0, len(texts), _ENCODE_CHUNK):
        chunk = texts.slice(start, _ENCODE_CHUNK).fill_null("").to_list()
        _, counts = encoder.encode_texts(chunk)
        lengths[start : start + counts.size] = counts
    return lengths


def id_hashes(ids: pl.Series, *, seed: int) -> np.ndarray:
    """xxh3-64 of each id's UTF-8 bytes with ``seed`` (uint64): stable across versions and machines."""
    digest = xxhash.xxh3_64_intdigest
    raw = ids.cast(pl.Binary).to_list()
    return np.fromiter((digest(b, seed) for b in raw), dtype=np.uint64, count=len(raw))


def hash_buckets(hashes: np.ndarray) -> np.ndarray:
    """Bucket (0..BUCKETS-1) of each hash; larger hashes never get smaller buckets.

    The hash as a fraction of 2**64 is ``m * 2**e`` (``m`` in [0.5, 1)): the bucket is the level
    ``e`` and ``m`` cut into ``BUCKET_STEPS`` steps, like a float with a 9-bit mantissa. The
    lowest fraction ``f`` of a source thus sits in buckets of width ~``f / 512`` for any ``f``.
    """
    fraction = hashes.astype(np.float64) * 2.0**-64
    mantissa, exponent = np.frexp(fraction)
    step = np.floor((mantissa - 0.5) * (2 * BUCKET_STEPS))
    bucket = 1 + (exponent + BUCKET_LEVELS - 1) * BUCKET_STEPS + step
    bucket = np.where(fraction < 2.0**-BUCKET_LEVELS, 0, bucket)
    return np.clip(bucket, 0, BUCKETS - 1).astype(np.intp)  # a fraction rounded up to 1.0 -> top


def id_buckets(ids: pl.Series, *, seed: int) -> np.ndarray:
    """The hash bucket of every id under ``seed``."""
    return hash_buckets(id_hashes(ids, seed=seed))


# ---------------------------------------------------------------------------------------------
# summarize


@dataclass(frozen=True)
class MixPartial:
    """What one shard tells ``fit``: its source's records and tokens, in total and per hash bucket.

    Sparse: only the buckets the shard has records in (most of the finest ones stay empty).
    """

    source: str
    records: int
    tokens: int
    buckets: np.ndarray
    bucket_records: np.ndarray
    bucket_tokens: np.ndarray
    token_count: str


def summarize(batch: pl.DataFrame, cfg: MixConfig, shard: ShardInfo) -> MixPartial:
    """Count the shard's records and tokens per hash bucket of ``(seed, id)``."""
    tokens = record_tokens(batch, tokenizer=cfg.tokenizer) if batch.height else np.zeros(0, np.int64)
    buckets = id_buckets(batch[ID], seed=cfg.seed) if batch.height else np.zeros(0, np.intp)
    used, slot = np.unique(buckets, return_inverse=True)
    bucket_tokens = np.zeros(len(used), np.int64)
    np.add.at(bucket_tokens, slot, tokens)
    return MixPartial(
        source=shard.source,
        records=batch.height,
        tokens=int(tokens.sum()),
        buckets=used.astype(np.uint16),
        bucket_records=np.bincount(slot, minlength=len(used)).astype(np.int64),
        bucket_tokens=bucket_tokens,
        token_count=token_method(cfg.tokenizer),
    )


# ---------------------------------------------------------------------------------------------
# fit


@dataclass(frozen=True)
class SourcePlan:
    """Every record of the source is emitted ``whole_epochs`` times, plus once more if its hash
    bucket is below ``extra_buckets``."""

    whole_epochs: int
    extra_buckets: int

    def copies(self, buckets: np.ndarray) -> np.ndarray:
        return self.whole_epochs + (buckets < self.extra_buckets).astype(np.int64)


@dataclass(frozen=True)
class MixPlan:
    """The state ``apply`` gets: the hash seed and a plan per source."""

    seed: int
    sources: dict[str, SourcePlan]


@dataclass(frozen=True)
class _Source:
    """A source's totals, merged over its shards."""

    name: str
    kind: str
    records: int
    tokens: int
    bucket_records: np.ndarray
    bucket_tokens: np.ndarray

    def size(self, unit: MixUnit) -> int:
        return self.records if unit == "records" else self.tokens

    def buckets(self, unit: MixUnit) -> np.ndarray:
        return self.bucket_records if unit == "records" else self.bucket_tokens


def _merge(partials: Sequence[MixPartial], source_kinds: Mapping[str, str]) -> dict[str, _Source]:
    unknown = sorted({p.source for p in partials} - set(source_kinds))
    if unknown:
        raise StageError(
            f"mix: shards of sources {unknown} that the run does not declare ({sorted(source_kinds)})"
        )
    methods = {p.token_count for p in partials}
    if len(methods) > 1:
        raise StageError(f"mix: shards counted tokens in different ways: {sorted(methods)}")
    merged = {}
    for name in sorted(source_kinds):
        mine = [p for p in partials if p.source == name]
        records, tokens = np.zeros(BUCKETS, np.int64), np.zeros(BUCKETS, np.int64)
        for p in mine:
            np.add.at(records, p.buckets.astype(np.intp), p.bucket_records)
            np.add.at(tokens, p.buckets.astype(np.intp), p.bucket_tokens)
        merged[name] = _Source(
            name=name,
            kind=str(source_kinds[name]),
            records=sum(p.records for p in mine),
            tokens=sum(p.tokens for p in mine),
            bucket_records=records,
            bucket_tokens=tokens,
        )
    return merged


def _check_names(cfg: MixConfig, known: Sequence[str]) -> None:
    try:
        cfg.check_source_names(known)
    except ValueError as exc:
        raise StageError(f"mix: {exc}") from None


def temperature_weights(sizes: Sequence[float], temperature: float) -> np.ndarray:
    """Shares proportional to ``size ** (1 / temperature)`` (all zero if every size is zero)."""
    powered = np.asarray(sizes, dtype=np.float64) ** (1.0 / temperature)
    total = powered.sum()
    return powered / total if total > 0 else powered


def _shares(cfg: MixConfig, sources: Sequence[_Source]) -> tuple[np.ndarray, str]:
    if cfg.weights is not None:
        raw = np.array([cfg.weights[s.name] for s in sources], dtype=np.float64)
        return raw / raw.sum(), "weights"
    sizes = [s.size(cfg.unit) for s in sources]
    if cfg.temperature is not None:
        return temperature_weights(sizes, cfg.temperature), "temperature"
    return temperature_weights(sizes, 1.0), "size"


def allocate(shares: np.ndarray, target: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Amounts ``clip(lam * share, lower, upper)`` that sum to ``target``.

    The bounds take what they force and the rest is shared in proportion to ``shares``. The
    caller makes sure the target is reachable: ``sum(lower) <= target <= reachable maximum``.
    The total is piecewise linear in ``lam`` with breakpoints where a source meets a bound, so
    ``lam`` is solved exactly on the segment that crosses the target (no bisection, no overflow
    for sources with vanishing shares).
    """
    positive = shares > 0

    def amounts(lam: float) -> np.ndarray:
        scaled = np.multiply(shares, lam, out=np.zeros_like(shares), where=positive)
        return np.clip(scaled, lower, upper)

    with np.errstate(divide="ignore", over="ignore"):
        knees = np.concatenate([lower[positive] / shares[positive], upper[positive] / shares[positive]])
    knees = np.unique(knees[np.isfinite(knees)])
    previous = amounts(0.0)
    for knee in knees:
        current = amounts(knee)
        gained = current.sum() - previous.sum()
        if current.sum() >= target:
            # every amount is linear in lam between two knees: interpolate the vectors themselves
            step = (target - previous.sum()) / gained if gained > 0 else 1.0
            return _settle(previous + step * (current - previous), target, lower, upper)
        previous = current
    # Past every finite knee, the sources still below their upper bound grow in proportion to their
    # shares (those whose knee overflowed too): water-fill the rest among them.
    amounts = previous.copy()
    for _ in range(len(shares)):
        remaining = target - amounts.sum()
        open_ = positive & (amounts < upper)
        if remaining <= 0 or not open_.any():
            break
        portion = np.zeros_like(shares)
        portion[open_] = shares[open_] / shares[open_].sum()
        amounts = np.minimum(amounts + remaining * portion, upper)
    return _settle(amounts, target, lower, upper)


def _settle(amounts: np.ndarray, target: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Put the last rounding error of the solve on the source with the most room to take it."""
    error = target - amounts.sum()
    room = (upper - amounts) if error > 0 else (amounts - lower)
    i = int(np.argmax(room))
    if room[i] >= abs(error):
        amounts = amounts.copy()
        amounts[i] += error
    return amounts


def _largest_unrepeated(
    shares: np.ndarray, lower: np.ndarray, upper: np.ndarray, once: np.ndarray
) -> np.ndarray:
    """Amounts for no target: the largest mix at these shares in which no source passes ``once``.

    Sources whose own ``max`` stops them first do not limit the others. Empty sources get their
    minimum (the caller reports empty sources that were given a share).
    """
    usable = once > 0
    limiting = (shares > 0) & usable & (upper > once)
    lam = float(np.min(once[limiting] / shares[limiting])) if limiting.any() else math.inf
    scaled = np.multiply(shares, lam, out=np.zeros_like(shares), where=shares > 0)
    return np.where(usable, np.clip(scaled, lower, upper), lower)


def _bounds(cfg: MixConfig, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.zeros(len(names)), np.full(len(names), math.inf)
    for i, name in enumerate(names):
        limits = cfg.per_source.get(name)
        if limits is not None:
            lower[i] = limits.min or 0
            upper[i] = math.inf if limits.max is None else limits.max
    return lower, upper


def _plan_amounts(cfg: MixConfig, sources: Sequence[_Source], shares: np.ndarray) -> np.ndarray:
    """How much of each source the mix wants (target's unit), before the repetition caps."""
    names = [s.name for s in sources]
    lower, upper = _bounds(cfg, names)
    unit = cfg.unit
    if shares.sum() <= 0 and not cfg.allow_shortfall:  # only when weighting by size and all are empty
        raise StageError(f"mix: every source is empty ({names}): nothing is left to mix")
    if cfg.target is None:
        sizes = np.array([s.size(unit) for s in sources], dtype=np.float64)
        empty = [n for n, share, size in zip(names, shares, sizes, strict=True) if share > 0 and size == 0]
        if empty and not cfg.allow_shortfall:
            raise StageError(
                f"mix: source(s) {empty} have a share but no {unit} left after the earlier stages; "
                "give them weight 0, or set allow_shortfall: true to mix the other sources"
            )
        once = np.minimum(1.0, [cfg.epochs_cap(n) for n in names]) * sizes
        return _largest_unrepeated(shares, lower, upper, once)
    target = float(cfg.target.amount)
    if lower.sum() > target:
        raise StageError(
            f"mix: the per-source minimums sum to {lower.sum():.0f} {unit}, more than the target of "
            f"{target:.0f} {unit}; lower them or raise the target"
        )
    reachable = float(np.where(shares > 0, upper, lower).sum())
    if reachable < target:
        if not cfg.allow_shortfall:
            raise StageError(
                f"mix: the per-source maximums allow at most {reachable:.0f} {unit}, less than the target "
                f"of {target:.0f} {unit}; raise them, lower the target, or set allow_shortfall: true"
            )
        target = reachable
    return allocate(shares, target, lower, upper)


def _cap_error(source: _Source, unit: MixUnit, wanted: float, cap: float) -> str:
    size = source.size(unit)
    needed = "inf" if size == 0 else f"{wanted / size:.2f}"
    return (
        f"source {source.name!r} has {source.records} records / {source.tokens} tokens; its share needs "
        f"{wanted:.0f} {unit} = {needed} epochs, over its cap max_epochs={cap:g}"
    )


def _apply_caps(
    cfg: MixConfig, sources: Sequence[_Source], wanted: np.ndarray
) -> tuple[np.ndarray, dict[str, float]]:
    """Clip each source to ``max_epochs x size``: an error, or a shortfall with ``allow_shortfall``."""
    unit = cfg.unit
    taken, short, problems = wanted.copy(), {}, []
    for i, source in enumerate(sources):
        cap = cfg.epochs_cap(source.name)
        ceiling = cap * source.size(unit)
        if wanted[i] > ceiling * (1 + _EPS) + _EPS:
            problems.append(_cap_error(source, unit, wanted[i], cap))
            short[source.name] = float(wanted[i] - ceiling)
            taken[i] = ceiling
    if problems and not cfg.allow_shortfall:
        raise StageError(
            "mix: the requested shares cannot be met within the repetition caps: "
            + "; ".join(problems)
            + ". Lower the target or these sources' weights, raise max_epochs (globally or in "
            "per_source), or set allow_shortfall: true to take what the caps allow."
        )
    return taken, short


def _source_plan(source: _Source, unit: MixUnit, amount: float, cap: float) -> SourcePlan:
    """Whole epochs plus the hash buckets whose content comes closest to the remaining amount."""
    size = source.size(unit)
    if size == 0 or amount <= 0:
        return SourcePlan(whole_epochs=0, extra_buckets=0)
    whole = int(amount // size)
    rest = amount - whole * size
    cumulative = np.concatenate([[0], np.cumsum(source.buckets(unit))])
    allowed = cumulative <= max(0.0, cap * size - whole * size) + _EPS
    distance = np.where(allowed, np.abs(cumulative - rest), np.inf)
    return SourcePlan(whole_epochs=whole, extra_buckets=int(np.argmin(distance)))


def _realised(source: _Source, plan: SourcePlan) -> dict[str, int]:
    extra_records = int(source.bucket_records[: plan.extra_buckets].sum())
    extra_tokens = int(source.bucket_tokens[: plan.extra_buckets].sum())
    repeated = source.records if plan.whole_epochs >= 2 else extra_records if plan.whole_epochs == 1 else 0
    return {
        "records_out": plan.whole_epochs * source.records + extra_records,
        "tokens_out": plan.whole_epochs * source.tokens + extra_tokens,
        "records_repeated": repeated,
        "records_not_sampled": source.records - extra_records if plan.whole_epochs == 0 else 0,
        "max_copies": plan.whole_epochs + (1 if extra_records else 0),
    }


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def fit(partials: Sequence[MixPartial], cfg: MixConfig, ctx: StageContext) -> FitResult:
    """Turn the shards' counts into a sampling plan and the stats that compare it with the request."""
    mixed = {name: kind for name, kind in ctx.source_kinds.items() if cfg.applies_to(name)}
    _check_names(cfg, list(ctx.source_kinds))
    sources_by_name = _merge(partials, mixed)
    sources = list(sources_by_name.values())
    unit = cfg.unit
    shares, weighting = _shares(cfg, sources)
    wanted = _plan_amounts(cfg, sources, shares)
    taken, short = _apply_caps(cfg, sources, wanted)
    plans = {s.name: _source_plan(s, unit, taken[i], cfg.epochs_cap(s.name)) for i, s in enumerate(sources)}
    stats = _stats(cfg, sources, shares, weighting, wanted, short, plans, partials)
    return FitResult(state=MixPlan(seed=cfg.seed, sources=plans), stats=stats)


def _stats(
    cfg: MixConfig,
    sources: Sequence[_Source],
    shares: np.ndarray,
    weighting: str,
    wanted: np.ndarray,
    short: dict[str, float],
    plans: dict[str, SourcePlan],
    partials: Sequence[MixPartial],
) -> dict[str, Any]:
    unit = cfg.unit
    realised = {s.name: _realised(s, plans[s.name]) for s in sources}
    total_records = sum(r["records_out"] for r in realised.values())
    total_tokens = sum(r["tokens_out"] for r in realised.values())
    per_source = {}
    for i, s in enumerate(sources):
        got = realised[s.name]
        per_source[s.name] = {
            "kind": s.kind,
            "records": s.records,
            "tokens": s.tokens,
            "requested_share": float(shares[i]),
            "planned": float(wanted[i]),
            "planned_share": _ratio(float(wanted[i]), float(wanted.sum())),
            "max_epochs": cfg.epochs_cap(s.name),
            **got,
            "share_records": _ratio(got["records_out"], total_records),
            "share_tokens": _ratio(got["tokens_out"], total_tokens),
            "epochs_records": _ratio(got["records_out"], s.records),
            "epochs_tokens": _ratio(got["tokens_out"], s.tokens),
            "whole_epochs": plans[s.name].whole_epochs,
            "shortfall": short.get(s.name, 0.0),
        }
    methods = {p.token_count for p in partials}
    empty = [s.name for i, s in enumerate(sources) if shares[i] > 0 and s.size(unit) == 0]
    requested_total = cfg.target.amount if cfg.target is not None else None
    realised_total = total_records if unit == "records" else total_tokens
    return {
        "unit": unit,
        "target": requested_total,
        "weighting": weighting,
        "temperature": cfg.temperature,
        "seed": cfg.seed,
        "tokens_counted": "real" if cfg.tokenizer else "estimated",
        "token_count": methods.pop() if methods else token_method(cfg.tokenizer),
        "hash_buckets": BUCKETS,
        "records_out": total_records,
        "tokens_out": total_tokens,
        "shortfall": (
            {
                "requested": requested_total,
                "realised": realised_total,
                "sources": short,
                "empty_sources": empty,
            }
            if short or empty
            else None
        ),
        "sources": per_source,
    }


# ---------------------------------------------------------------------------------------------
# apply


def _copies(batch: pl.DataFrame, plan: MixPlan, source: str) -> np.ndarray:
    try:
        source_plan = plan.sources[source]
    except KeyError:
        raise StageError(f"mix: no plan for source {source!r} (planned: {sorted(plan.sources)})") from None
    if batch.height == 0:
        return np.zeros(0, np.int64)
    return source_plan.copies(id_buckets(batch[ID], seed=plan.seed))


def apply(batch: pl.DataFrame, cfg: MixConfig, state: MixPlan, shard: ShardInfo) -> BatchResult:
    """Emit each record as many times as planned: epoch 0 first in input order, then each repeat epoch.

    Copy ``n >= 1`` of a record gets the id ``<id>#r<n>``; every kept row has an ``epoch`` column.
    Blocks per epoch keep copies of one document apart in the output.
    """
    copies = pl.Series("copies", _copies(batch, state, shard.source))
    epochs = []
    for epoch in range(int(copies.max() or 0)):
        block = batch.filter(copies > epoch)
        if epoch:
            block = block.with_columns((pl.col(ID) + f"{REPEAT_MARK}{epoch}").alias(ID))
        epochs.append(block.with_columns(pl.lit(epoch, dtype=pl.Int32).alias(EPOCH)))
    kept = pl.concat(epochs) if epochs else batch.clear().with_columns(pl.lit(0, dtype=pl.Int32).alias(EPOCH))
    dropped = batch.filter(copies == 0).with_columns(pl.lit(NOT_SAMPLED, dtype=pl.String).alias(REASON))
    source = shard.source
    counters: Counters = {
        f"{source}.records_in": batch.height,
        f"{source}.records_out": kept.height,
        f"{source}.repeat_copies": kept.height - int((copies > 0).sum()),
        f"{source}.not_sampled": dropped.height,
    }
    return BatchResult(kept=kept, dropped=dropped, counters=counters)


def inputs(cfg: MixConfig) -> list[str]:
    """The tokenizer that counts real tokens is an input of the cache key."""
    return [_tokenizer_file(cfg.tokenizer)] if cfg.tokenizer else []


STAGE = GlobalStage(name="mix", config=MixConfig, summarize=summarize, fit=fit, apply=apply, inputs=inputs)
