"""The dedupe GlobalStage: summarize -> fit (-> rescan -> refit when verifying) -> apply.

- ``summarize`` (per shard): the text view, normalised; its exact hash; MinHash signatures of the
  whole batch and their LSH band keys. The partial keeps per record: the id, the exact hash
  (8 B), one 8-byte key per band, and the length or score when the keep rule needs them. No text.
- ``fit`` (once, on the driver; or split into sub-tasks on the executor, see ``partitioned.py``;
  both end with ``graph.clusters_state``):
  records are numbered in stable order (shard index, row). Equal exact hashes
  and equal band keys (per band) are grouped by sorting; each group links its members to its
  first record. Connected components of these links are the duplicate clusters; the keep rule
  picks one survivor per cluster and every other member is dropped: ``exact_dup`` when its
  normalised text equals the survivor's, else ``minhash_dup``.
- ``rescan``/``refit`` (only with ``minhash.verify``): ``fit`` asks for one more pass; ``rescan``
  shingles only the records that take part in an unverified candidate pair of its shard, and
  ``refit`` computes the exact Jaccard of every candidate pair and keeps the links >= threshold.
  The price is one more read of the stage input, and shingle sets held for candidates only:
  ~8 B per distinct shingle of each candidate (candidates are usually a few % of the records).
  Keeping per-record shingles in the partials instead would cost ~8 B per shingle of *every*
  record (kilobytes each), far beyond the ~130 B per record the keys cost.
- ``apply`` (per shard): drops the shard's rows listed in the state, with evidence columns
  ``dup_of`` (the survivor's id) and ``cluster`` (the stable position of the cluster's first
  record in the stage input, an integer that does not depend on how the input is sharded).

Without verification, links are transitive as in datatrove: A~B and B~C cluster A and C even if
A and C are less similar than the threshold. A link made by LSH alone has a small chance of
joining a pair below the threshold (the S-curve in the stats gives it).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import xxhash

from curate.errors import StageError
from curate.records import ID, META, REASON, text_view
from curate.stages.base import BatchResult, FitResult, ShardInfo, StageContext, empty_dropped
from curate.stages.dedupe import index, substrings
from curate.stages.dedupe.cluster import (
    components,
    sorted_unique,
    star_edges,
    unique_groups,
    unique_pairs,
)
from curate.stages.dedupe.config import DedupeConfig, MinHashConfig
from curate.stages.dedupe.graph import (
    REASONS,
    DedupePartial,
    DedupeState,
    Graph,
    Layout,
    Pending,
    keep_priority,
    minhash_stats,
    scoped,
)
from curate.stages.dedupe.lines import apply_units, configured, count_units, fit_all_units, with_units
from curate.stages.dedupe.minhash import band_keys, lsh_params, permutations, signatures
from curate.stages.dedupe.normalize import flatten, normalize_texts, text_hashes, word_pattern
from curate.stages.dedupe.partitioned import fit_partitioned, fit_partitions
from curate.stages.dedupe.shingles import (
    U64,
    Shingles,
    ngram_hashes,
    ranges,
    sequence_hashes,
    shingle_texts,
    token_hash_fingerprint,
    word_token_hashes,
)

DUP_OF, CLUSTER = "dup_of", "cluster"
SLICE_BYTES = 2 << 20  # text per slice in summarize: bounds the token and shingle arrays (~50 MB)
_EXACT_SEED = 0x5EED


# ---------------------------------------------------------------------------------------------
# Partials and state (the partials and state both fits share are in graph.py)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateShingles:
    """``rescan``'s partial: the shingle sets of one shard's candidate rows."""

    shard: int
    rows: np.ndarray
    sets: Shingles


# ---------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Texts:
    """What dedupe derives from a batch's text view."""

    normalized: pl.Series
    words: tuple[np.ndarray, np.ndarray] | None  # token hashes (flat) and tokens per record

    @functools.cached_property
    def word_sequences(self) -> np.ndarray:
        """One hash per record of its word sequence."""
        assert self.words is not None
        return sequence_hashes(*self.words)


def _texts(view: pl.Series, cfg: DedupeConfig) -> _Texts:
    normalized = normalize_texts(view, cfg.normalize)
    need_words = (cfg.exact and cfg.normalize.whitespace) or (
        cfg.minhash is not None and cfg.minhash.shingle == "words"
    )
    words = word_token_hashes(normalized, pattern=word_pattern(cfg.normalize)) if need_words else None
    return _Texts(normalized, words)


def _exact_keys(texts: _Texts, cfg: DedupeConfig) -> np.ndarray:
    """Exact-duplicate hash: of the token sequence (equal up to spacing) when whitespace is
    collapsed, else of the normalised text itself."""
    if cfg.normalize.whitespace and texts.words is not None:
        return texts.word_sequences
    return text_hashes(flatten(texts.normalized, cfg.normalize), seed=_EXACT_SEED)


def _shingles(texts: _Texts, cfg: DedupeConfig, mh: MinHashConfig) -> tuple[Shingles, np.ndarray]:
    """Shingles of every record, and a key per record that is equal only for records whose
    shingles are equal (records sharing a key are signed once)."""
    if mh.shingle == "words" and texts.words is not None:
        return ngram_hashes(*texts.words, mh.ngram), texts.word_sequences
    flat = flatten(texts.normalized, cfg.normalize)
    return shingle_texts(flat, kind="chars", n=mh.ngram), text_hashes(flat, seed=_EXACT_SEED)


def record_shingles(batch: pl.DataFrame, cfg: DedupeConfig) -> Shingles:
    """The shingles dedupe compares for each record of ``batch`` (its text view, normalised)."""
    if cfg.minhash is None:
        raise StageError("dedupe: shingles need minhash options (minhash is off)")
    return _shingles(_texts(text_view(batch, cfg.view), cfg), cfg, cfg.minhash)[0]


def minhash_band_keys(
    shingles: Shingles, same: np.ndarray, mh: MinHashConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Band keys ``(records, bands)`` and the rows that have no shingle.

    Records with the same ``same`` key have the same shingles and are signed once.
    """
    bands, rows = lsh_params(mh)
    first, inverse = unique_groups(same)
    unique = shingles.select(first)
    a, b = permutations(bands * rows, mh.seed)
    keys = band_keys(signatures(unique, a, b), bands, rows)[inverse]
    unsigned = np.flatnonzero((unique.counts == 0)[inverse])
    return keys, unsigned


def _scores(batch: pl.DataFrame, column: str) -> np.ndarray:
    """The keep-rule score of each record: a numeric column, or else a key of the meta JSON."""
    if column in batch.columns:
        values = batch[column]
        if not values.dtype.is_numeric():
            raise StageError(f"dedupe: score_column {column!r} has type {values.dtype}, not a number")
    elif META in batch.columns:
        path = "$." + column
        values = batch.select(
            pl.col(META).str.json_path_match(path).cast(pl.Float64, strict=False)
        ).to_series()
    else:
        raise StageError(
            f"dedupe: score_column {column!r} is neither a column ({', '.join(batch.columns)}) nor a meta key "
            "(the batch has no meta column)"
        )
    return values.cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _slices(view: pl.Series, budget: int) -> list[tuple[int, int]]:
    """Row ranges of about ``budget`` bytes of text each (at least one row each)."""
    ends = np.cumsum(view.str.len_bytes().fill_null(0).to_numpy().astype(np.int64))
    cuts = np.searchsorted(ends, np.arange(budget, int(ends[-1]) if len(ends) else 0, budget), side="right")
    bounds = sorted({0, *(c for c in cuts.tolist() if 0 < c < len(ends)), len(ends)})
    return list(itertools.pairwise(bounds))


def _keys(
    view: pl.Series, cfg: DedupeConfig
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Exact keys, band keys and unsigned rows of the text ``view``, computed in slices of
    ~SLICE_BYTES of text so that the token and shingle arrays of a large shard never all exist at
    once (every key depends on its own record only, so slicing changes nothing else)."""
    exact, bands, unsigned = [], [], []
    for lo, hi in _slices(view, SLICE_BYTES):
        texts = _texts(view.slice(lo, hi - lo), cfg)
        if cfg.exact:
            exact.append(_exact_keys(texts, cfg))
        if cfg.minhash is not None:
            keys, empty = minhash_band_keys(*_shingles(texts, cfg, cfg.minhash), cfg.minhash)
            bands.append(keys)
            unsigned.append(empty + lo)
    return (
        np.concatenate(exact) if exact else None,
        np.concatenate(bands) if bands else None,
        np.concatenate(unsigned) if unsigned else None,
    )


def summarize(batch: pl.DataFrame, cfg: DedupeConfig, shard: ShardInfo) -> DedupePartial:
    """Hashes and band keys of one shard (see the module docstring)."""
    if ID not in batch.columns:
        raise StageError(f"dedupe: shard {shard.index} has no {ID!r} column")
    view = text_view(batch, cfg.view)
    if batch.height == 0:
        exact = np.zeros(0, dtype=U64) if cfg.exact else None
        bands = unsigned = None
        if cfg.minhash is not None:
            bands, unsigned = (
                np.zeros((0, lsh_params(cfg.minhash)[0]), dtype=U64),
                np.zeros(0, dtype=np.int64),
            )
    elif cfg.exact or cfg.minhash is not None:
        exact, bands, unsigned = _keys(view, cfg)
    else:  # lines/paragraphs only: no document keys (and no text normalised for them)
        exact = bands = unsigned = None
    length = view.str.len_chars().fill_null(0).to_numpy().astype(np.uint32) if cfg.keep == "longest" else None
    score = _scores(batch, cfg.score_column) if cfg.keep == "score" and cfg.score_column else None
    return DedupePartial(
        shard=shard.index,
        source=shard.source,
        rows=batch.height,
        ids=batch[ID].rechunk(),
        exact=exact,
        bands=bands,
        unsigned=unsigned,
        length=length,
        score=score,
        hash_fingerprint=token_hash_fingerprint(),
        units=count_units(batch, cfg, shard) if configured(cfg) else None,
    )


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


def _in_order(partials: Sequence[DedupePartial]) -> list[DedupePartial]:
    parts = sorted(partials, key=lambda p: p.shard)
    seen = [p.shard for p in parts]
    if len(set(seen)) != len(seen):
        raise StageError(f"dedupe: shard indices repeat among the partials: {seen}")
    if len({p.hash_fingerprint for p in parts}) > 1:
        raise StageError(
            "dedupe: the shards were summarized with different polars versions (their word hashes differ); "
            "rerun the stage with one installation (e.g. --force)"
        )
    return parts


def _layout(parts: list[DedupePartial]) -> Layout:
    starts = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([p.rows for p in parts], out=starts[1:])
    return Layout(np.array([p.shard for p in parts], dtype=np.int64), starts)


def _scope_salt(parts: list[DedupePartial], cfg: DedupeConfig) -> np.ndarray | None:
    """Per record, a hash of its source when duplicates only count within a source."""
    if cfg.scope == "global":
        return None
    salts = [xxhash.xxh3_64_intdigest(p.source.encode("utf-8")) for p in parts]
    return np.repeat(np.array(salts, dtype=U64), [p.rows for p in parts])


def _column(parts: list[DedupePartial], name: str, dtype: type) -> np.ndarray:
    """One per-record array of all partials, in stable order."""
    arrays = [getattr(p, name) for p in parts if getattr(p, name) is not None]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


def _exact_pairs(parts: list[DedupePartial], salt: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    keys = scoped(_column(parts, "exact", U64), salt)
    return star_edges(keys, np.arange(len(keys)))


def _near_pairs(
    parts: list[DedupePartial], layout: Layout, salt: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([p.bands for p in parts if p.bands is not None])
    signed = np.ones(layout.total, dtype=bool)
    for p, start in zip(parts, layout.starts[:-1].tolist(), strict=True):
        if p.unsigned is not None:
            signed[p.unsigned + start] = False
    nodes = np.flatnonzero(signed)
    pairs = [
        star_edges(scoped(keys[nodes, band], None if salt is None else salt[nodes]), nodes)
        for band in range(keys.shape[1])
    ]
    return unique_pairs(
        np.concatenate([left for left, _ in pairs]),
        np.concatenate([right for _, right in pairs]),
        layout.total,
    )


def _priority(parts: list[DedupePartial], nodes: np.ndarray, cfg: DedupeConfig) -> list[np.ndarray]:
    length = _column(parts, "length", np.uint32)[nodes] if cfg.keep == "longest" else None
    score = _column(parts, "score", np.float64)[nodes] if cfg.keep == "score" else None
    return keep_priority(cfg, length=length, score=score)


def _graph(parts: list[DedupePartial], cfg: DedupeConfig, exact_pairs, near_pairs) -> Graph:
    nodes = sorted_unique(np.concatenate([*exact_pairs, *near_pairs]))
    ids = (
        pl.concat([p.ids for p in parts], rechunk=True).gather(nodes)
        if len(nodes)
        else pl.Series(ID, [], pl.String)
    )
    exact = _column(parts, "exact", U64)[nodes] if cfg.exact else None
    return Graph(nodes, ids, exact, _priority(parts, nodes, cfg), exact_pairs)


def _finish(
    layout: Layout, graph: Graph, near_pairs, stats: dict[str, Any], cfg: DedupeConfig, hits
) -> FitResult:
    """Clusters, survivors and the per-shard drop lists, from the final set of links (and the
    records that hit an ``against`` index, see ``index.finish``)."""
    left = np.concatenate([graph.exact_pairs[0], near_pairs[0]])
    right = np.concatenate([graph.exact_pairs[1], near_pairs[1]])
    labels = components(graph.nodes, left, right) if len(graph.nodes) else np.zeros(0, dtype=np.int64)
    return index.finish(layout, graph.nodes, labels, graph.ids, graph.exact, graph.priority, stats, cfg, hits)


def fit(partials: Sequence[DedupePartial], cfg: DedupeConfig, ctx: StageContext | None = None) -> FitResult:
    """Clusters of duplicates and the rows to drop, over all shards; then the repeated
    lines/paragraphs to remove (``lines.py``), or, with ``substrings`` on, the rescan that collects
    the kept records' texts (verification's rescan, when on, collects them too)."""
    if configured(cfg):
        return _fit_units(partials, cfg, ctx)
    if cfg.substrings is None:
        return _fit_documents(partials, cfg, ctx)
    documents = cfg.exact or cfg.minhash is not None
    result = _fit_documents(partials, cfg, ctx if documents else None)
    if result.needs_rescan:
        return result
    pending = substrings.SubstringState({}, pending_stats=result.stats)
    return FitResult(dataclasses.replace(result.state, substrings=pending), result.stats, needs_rescan=True)


def _fit_units(partials: Sequence[DedupePartial], cfg: DedupeConfig, ctx: StageContext | None) -> FitResult:
    """The document-level fit (when on) and the repeated lines/paragraphs (``lines.py``)."""
    units, stats, rows = fit_all_units(partials, cfg, ctx)
    if not cfg.exact and cfg.minhash is None:  # lines/paragraphs only
        stats = {"records": sum(rows.values()), "shards": len(rows), **stats}
        return FitResult(
            DedupeState(dict(sorted(rows.items())), {}, pl.Series(ID, [], pl.String), units=units), stats
        )
    return with_units(_fit_documents(partials, cfg, ctx), units, stats)


def _fit_documents(
    partials: Sequence[DedupePartial], cfg: DedupeConfig, ctx: StageContext | None = None
) -> FitResult:
    """Clusters of duplicates over all shards and the rows to drop (see the module docstring).

    With an executor in ``ctx`` and a large input or several workers, the same result is computed
    by sub-tasks on the executor (``partitioned.py``) instead of in this process."""
    hits = index.against_hits(partials, cfg, ctx)
    partitions = fit_partitions(ctx, cfg, len(partials))
    if partitions > 1:
        assert ctx is not None
        return fit_partitioned(ctx.partial_files, cfg, ctx, partitions=partitions, hits=hits)
    parts = _in_order(partials)
    layout = _layout(parts)
    salt = _scope_salt(parts, cfg)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    exact_pairs = _exact_pairs(parts, salt) if cfg.exact and parts else empty
    near_pairs = _near_pairs(parts, layout, salt) if cfg.minhash is not None and parts else empty
    if cfg.exact and len(near_pairs[0]):
        exact = _column(parts, "exact", U64)
        differ = exact[near_pairs[0]] != exact[near_pairs[1]]
        near_pairs = (near_pairs[0][differ], near_pairs[1][differ])
    partial_bytes = sum(p.nbytes for p in parts)
    stats: dict[str, Any] = {
        "records": layout.total,
        "shards": len(parts),
        "exact": cfg.exact,
        "scope": cfg.scope,
        "keep": cfg.keep,
        "exact_pairs": len(exact_pairs[0]),
        "candidate_pairs": len(near_pairs[0]),
        "records_without_shingles": int(sum(len(p.unsigned) for p in parts if p.unsigned is not None)),
        "partial_bytes": partial_bytes,
        "partial_bytes_per_record": round(partial_bytes / max(layout.total, 1), 2),
    }
    if cfg.minhash is not None:
        stats["minhash"] = minhash_stats(cfg.minhash)
    graph = _graph(parts, cfg, exact_pairs, near_pairs)
    if cfg.minhash is not None and cfg.minhash.verify and len(near_pairs[0]):
        involved = sorted_unique(np.concatenate(near_pairs))
        shard_of, row_of = layout.locate(involved)
        candidates = {int(s): row_of[shard_of == s] for s in sorted_unique(shard_of).tolist()}
        pending = Pending(layout, graph, near_pairs, candidates, stats, hits)
        rows = {int(s): int(n) for s, n in zip(layout.shards, np.diff(layout.starts), strict=True)}
        return FitResult(
            DedupeState(rows, {}, pl.Series(ID, [], pl.String), pending), stats, needs_rescan=True
        )
    return _finish(layout, graph, near_pairs, stats, cfg, hits)


# ---------------------------------------------------------------------------------------------
# rescan + refit (exact-Jaccard verification)
# ---------------------------------------------------------------------------------------------


def rescan(batch: pl.DataFrame, cfg: DedupeConfig, state: DedupeState, shard: ShardInfo) -> Any:
    """Candidates' shingle sets (verification) and, with ``substrings`` on, the kept records' texts."""
    candidates = _rescan_candidates(batch, cfg, state, shard)
    if cfg.substrings is None:
        return candidates
    drops = state.drops.get(shard.index)
    texts = substrings.rescan_texts(batch, shard, None if drops is None else drops.rows)
    return substrings.DedupeRescan(candidates, texts)


def _rescan_candidates(
    batch: pl.DataFrame, cfg: DedupeConfig, state: DedupeState, shard: ShardInfo
) -> CandidateShingles | None:
    """Shingle sets of this shard's candidate rows only (None when it has none)."""
    if state.pending is None or cfg.minhash is None:
        return None
    rows = state.pending.candidates.get(shard.index)
    if rows is None or len(rows) == 0:
        return None
    return CandidateShingles(shard.index, rows, shingle_sets(record_shingles(batch[rows], cfg)))


_TAG_BITS = 24  # record or pair number in the top bits of a 64-bit sort key
_HASH_BITS = 64 - _TAG_BITS  # the top 40 bits of a shingle hash below it
_MAX_TAGGED = 1 << _TAG_BITS


def _tagged(tags: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    return (tags.astype(U64) << U64(_HASH_BITS)) | (hashes >> U64(_TAG_BITS))


def shingle_sets(shingles: Shingles) -> Shingles:
    """Each record's shingles without repeats, as sorted 40-bit hashes (for exact Jaccard).

    Truncating to 40 bits lets one ``np.sort`` of (record, hash) keys do the work of a lexsort;
    two different shingles of a pair then collide with probability 2^-40 (for two 5000-shingle
    documents, ~2e-5 spurious common shingles out of thousands).
    """
    if len(shingles) > _MAX_TAGGED:
        raise StageError(f"dedupe: {len(shingles)} candidate records in one shard, at most {_MAX_TAGGED}")
    records = np.repeat(np.arange(len(shingles), dtype=np.int64), shingles.counts)
    keys = sorted_unique(_tagged(records, shingles.hashes))
    counts = np.bincount((keys >> U64(_HASH_BITS)).astype(np.int64), minlength=len(shingles))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Shingles(keys & U64((1 << _HASH_BITS) - 1), offsets)


def pair_jaccard(sets: Shingles, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact Jaccard of each pair (``left[i]``, ``right[i]``) of records of ``sets`` (from
    ``shingle_sets``): both sets of every pair are tagged with the pair's number, sorted together,
    and equal neighbours counted; vectorised over up to 2^24 pairs at a time."""
    out = np.empty(len(left), dtype=np.float64)
    counts = sets.counts
    for start in range(0, len(left), _MAX_TAGGED):
        lft, rgt = left[start : start + _MAX_TAGGED], right[start : start + _MAX_TAGGED]
        pair = np.arange(len(lft), dtype=np.int64)
        keys = np.concatenate(
            [
                (np.repeat(pair, counts[lft]).astype(U64) << U64(_HASH_BITS))
                | sets.hashes[ranges(sets.offsets, lft)],
                (np.repeat(pair, counts[rgt]).astype(U64) << U64(_HASH_BITS))
                | sets.hashes[ranges(sets.offsets, rgt)],
            ]
        )
        keys.sort()
        common = keys[1:][keys[1:] == keys[:-1]]
        inter = np.bincount((common >> U64(_HASH_BITS)).astype(np.int64), minlength=len(lft))
        union = counts[lft] + counts[rgt] - inter
        out[start : start + len(lft)] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return out


def refit(
    partials: Sequence[Any], cfg: DedupeConfig, state: DedupeState, ctx: StageContext | None = None
) -> FitResult:
    """Verification (when on), then the substring fit over the rescan's texts (when on)."""
    if cfg.substrings is None:
        return _refit_verify(partials, cfg, state, ctx)
    if state.pending is not None:
        result = _refit_verify(substrings.Mapped(partials, lambda p: p.candidates), cfg, state, ctx)
        dropped = {shard: d.rows for shard, d in result.state.drops.items()}
    else:
        if state.substrings is None or state.substrings.pending_stats is None:
            raise StageError("dedupe: refit called but fit asked for no rescan; rerun the stage")
        result = FitResult(state, dict(state.substrings.pending_stats))
        dropped = None
    spans, stats = substrings.fit(substrings.Mapped(partials, lambda p: p.texts), cfg.substrings, dropped)
    final = dataclasses.replace(result.state, substrings=substrings.SubstringState(spans))
    return FitResult(final, {**result.stats, "substrings": stats})


def _refit_verify(
    partials: Sequence[CandidateShingles | None],
    cfg: DedupeConfig,
    state: DedupeState,
    ctx: StageContext | None = None,
) -> FitResult:
    """Keep the candidate pairs whose exact Jaccard reaches the threshold, then cluster as ``fit`` does."""
    pending = state.pending
    if pending is None or cfg.minhash is None:
        raise StageError("dedupe: refit called without a pending verification (fit did not ask for a rescan)")
    parts = sorted((p for p in partials if p is not None), key=lambda p: p.shard)
    shard_slot = {int(s): i for i, s in enumerate(pending.layout.shards)}
    # Shards in order and rows ascending within each: positions come out ascending.
    positions = np.concatenate([pending.layout.starts[shard_slot[p.shard]] + p.rows for p in parts])
    counts = np.concatenate([p.sets.counts for p in parts])
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    sets = Shingles(np.concatenate([p.sets.hashes for p in parts]), offsets)
    left, right = pending.near_pairs
    if not (np.isin(left, positions).all() and np.isin(right, positions).all()):
        raise StageError("dedupe: the rescan pass did not return every candidate record; rerun the stage")
    jaccard = pair_jaccard(sets, np.searchsorted(positions, left), np.searchsorted(positions, right))
    keep = jaccard >= cfg.minhash.threshold
    stats = dict(pending.stats)
    stats["verified_pairs"] = int(keep.sum())
    stats["rejected_by_verify"] = int((~keep).sum())
    result = _finish(pending.layout, pending.graph, (left[keep], right[keep]), stats, cfg, pending.hits)
    return result if state.units is None else with_units(result, state.units, {})


# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------


def _with_evidence(
    dropped: pl.DataFrame, reason: pl.Series, dup_of: pl.Series, cluster: pl.Series
) -> pl.DataFrame:
    return dropped.with_columns(reason.alias(REASON), dup_of.alias(DUP_OF), cluster.alias(CLUSTER))


def apply(batch: pl.DataFrame, cfg: DedupeConfig, state: DedupeState, shard: ShardInfo) -> BatchResult:
    """Drop this shard's duplicates; ``dropped`` carries ``reason``, ``dup_of`` and ``cluster``.
    Then remove repeated lines/paragraphs (``lines.py``) or cut repeated spans (``substrings.py``)
    from the records left."""
    result = _apply_documents(batch, cfg, state, shard)
    if not state.units and cfg.substrings is None:
        return result
    drops = state.drops.get(shard.index)
    kept_rows = np.arange(batch.height, dtype=np.int64)
    if drops is not None:
        kept_rows = np.setdiff1d(kept_rows, drops.rows)
    if state.units:
        return apply_units(result, cfg, state.units, shard, rows=kept_rows)
    if state.substrings is None or state.substrings.pending_stats is not None:
        raise StageError("dedupe: substrings is on but its rescan pass has not run; rerun the stage")
    spans = state.substrings.spans.get(shard.index)
    return substrings.result_with(result, kept_rows, batch, cfg.substrings, spans, shard)


def _apply_documents(
    batch: pl.DataFrame, cfg: DedupeConfig, state: DedupeState, shard: ShardInfo
) -> BatchResult:
    """Drop this shard's whole-record duplicates."""
    if state.pending is not None:
        raise StageError(
            "dedupe: minhash.verify is on but the rescan pass has not run (the executor must call rescan and "
            "refit when fit returns needs_rescan)"
        )
    expected = state.rows.get(shard.index)
    if expected is None:
        raise StageError(f"dedupe: shard {shard.index} was not among the shards fit saw; rerun the stage")
    if expected != batch.height:
        raise StageError(
            f"dedupe: shard {shard.index} has {batch.height} records but was summarized with {expected}; "
            "the stage input changed between fit and apply, rerun the stage"
        )
    drops = state.drops.get(shard.index)
    if drops is None:
        empty = empty_dropped(batch)
        none = pl.Series([], dtype=pl.String)
        return BatchResult(batch, _with_evidence(empty, empty[REASON], none, pl.Series([], dtype=pl.Int64)))
    mask = np.zeros(batch.height, dtype=bool)
    mask[drops.rows] = True
    dropped = _with_evidence(
        batch[drops.rows],
        pl.Series(
            (np.array([*REASONS, *state.reasons], dtype=object) if state.reasons else REASONS)[drops.reason],
            dtype=pl.String,
        ),
        state.survivor_ids.gather(drops.survivor),
        pl.Series(drops.cluster, dtype=pl.Int64),
    )
    return BatchResult(batch.filter(pl.Series(~mask)), dropped)
