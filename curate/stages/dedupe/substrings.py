"""Exact repeated substrings: remove spans of at least N tokens that occur more than once.

Recipe: ``- dedupe: {substrings: {min_tokens: 50, unit: words, keep: first}}``. The method is the
one of Lee et al. 2022 ("Deduplicating training data makes language models better",
google-research/deduplicate-text-datasets): the text of many records is concatenated into one
token sequence, its suffix array (libdivsufsort, through ``pydivsufsort``) and LCP array (Kasai)
are built, and every window of ``min_tokens`` tokens shared by two suffixes is a repeat.

- Tokens: ``words`` are curate.text words (whitespace-separated, every CJK character a word of its
  own; whitespace is Unicode White_Space), hashed to 64 bits and renumbered densely per chunk;
  ``bytes`` are the UTF-8 bytes. Spacing between words does not matter for ``words``.
- No match crosses a record: the LCP of two suffixes is capped at what is left of either record
  (the same effect as Lee et al.'s unique per-document separators, without growing the alphabet).
- Windows: suffixes whose first ``min_tokens`` tokens are equal are adjacent in the suffix array,
  so each maximal run of capped LCP >= N is one distinct window and its suffixes are all its
  occurrences. ``keep: first`` removes every occurrence but the earliest in stable order (shard
  index, row, position); ``keep: none`` removes all of them. The removed windows of a record are
  merged into spans; with ``words`` a span takes the whitespace after it along (or before it, at
  the end of the text), with ``bytes`` it is cut to whole characters.
- Chunks, for bounded memory: records in stable order are cut into chunks of ``chunk_mb`` of text
  (a record belongs to the chunk in which its first byte falls), one suffix array per chunk. A
  window repeated inside one chunk is found (all its occurrences in that chunk); a window whose
  occurrences lie in different chunks, at most once in each, is not. The cut depends only on the
  records and their order, never on shard sizes or workers, so the result is the same for any.
- Passes: ``summarize``/``fit`` do the document-level dedupe as usual, then ask for a rescan; the
  rescan stores each shard's surviving texts (one copy of the text on disk, under the stage's
  ``_rescan/``); ``refit`` streams those files chunk by chunk (one chunk's text and arrays in memory
  at a time) and keeps, per record, the token intervals to remove; ``apply`` cuts them out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field

from curate.errors import StageError
from curate.records import REASON, TEXT, kind_of
from curate.stages.base import BatchResult, Options, ShardInfo
from curate.terminal import printable
from curate.text import CJK_CHAR

REASON_TOO_SHORT = "dup_substring:too_short"
CHARS_REMOVED = "chars_removed"
TOP_SPANS = 10
_SHOWN_CHARS = 120
_TOKEN_SEED = 0x5B57
# Unicode White_Space, spelt out so that polars (Rust regex) and Python's re split words alike.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WORD_PATTERN = f"{CJK_CHAR}|[^{_WHITESPACE}{CJK_CHAR[1:-1]}]+"
_WORD_RE = re.compile(WORD_PATTERN)
Unit = Literal["words", "bytes"]


class SubstringsConfig(Options):
    """Exact repeated substrings (suffix array, Lee et al. 2022): spans removed inside records."""

    min_tokens: int = Field(
        default=50,
        ge=2,
        le=1_000_000,
        description="Shortest repeated span removed, in units (Lee et al. use 50 BPE tokens; 50 words is a "
        "long sentence).",
    )
    unit: Unit = Field(
        default="words",
        description="words: curate.text words (whitespace-separated, every CJK character a word); bytes: UTF-8 "
        "bytes (spans are cut to whole characters).",
    )
    keep: Literal["first", "none"] = Field(
        default="first",
        description="first: keep the earliest occurrence of each repeated span (stable order: shard index, row, "
        "position) and remove the others; none: remove every occurrence.",
    )
    chunk_mb: float = Field(
        default=256.0,
        gt=0,
        description="Text per suffix array, in MB; the fit needs about 5x this in RAM with words and 16x with bytes. A span "
        "is found when it repeats inside one chunk; a span whose occurrences all fall in different chunks "
        "(at most one in each) is not.",
    )
    min_chars_left: int = Field(
        default=1,
        ge=0,
        description="A record left with fewer non-whitespace characters than this is dropped (reason "
        "dup_substring:too_short); 1 drops the records that were emptied.",
    )


# ---------------------------------------------------------------------------------------------
# Data passed between the passes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubstringTexts:
    """The rescan's partial: one shard's texts that take part (records not dropped as documents)."""

    shard: int
    source: str
    rows: np.ndarray  # int64, ascending
    texts: pl.Series


@dataclass(frozen=True)
class DedupeRescan:
    """The rescan's partial when substrings are on: the texts, and verification's candidates (or None)."""

    candidates: Any
    texts: SubstringTexts


@dataclass(frozen=True)
class SubstringSpans:
    """What ``apply`` cuts from one shard: per row, intervals of token (or byte) positions."""

    rows: np.ndarray  # int64, ascending
    offsets: (
        np.ndarray
    )  # int64, len(rows) + 1: the intervals of rows[i] are starts/ends[offsets[i]:offsets[i+1]]
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64, exclusive


@dataclass(frozen=True)
class SubstringState:
    """Spans per shard index; ``pending_stats`` holds the document fit's stats while the rescan runs."""

    spans: dict[int, SubstringSpans]
    pending_stats: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# rescan
# ---------------------------------------------------------------------------------------------


def rescan_texts(batch: pl.DataFrame, shard: ShardInfo, dropped_rows: np.ndarray | None) -> SubstringTexts:
    """The texts of the shard's rows that the document-level dedupe keeps (all rows if not known yet)."""
    if batch.height and kind_of(batch) != "text":
        raise StageError(
            f"dedupe: substrings works on text records only, and source {shard.source!r} holds "
            f"{kind_of(batch)} records; limit the step with `sources:` or use a separate dedupe step"
        )
    rows = np.arange(batch.height, dtype=np.int64)
    if dropped_rows is not None and len(dropped_rows):
        rows = np.setdiff1d(rows, dropped_rows)
    texts = batch[TEXT].gather(rows).fill_null("") if batch.height else pl.Series(TEXT, [], pl.String)
    return SubstringTexts(shard.index, shard.source, rows, texts.rechunk())


# ---------------------------------------------------------------------------------------------
# refit: chunks -> suffix array -> repeated windows -> spans per record
# ---------------------------------------------------------------------------------------------


@dataclass
class _Segment:
    shard: int
    rows: np.ndarray
    texts: pl.Series


def _chunks(parts: Iterator[SubstringTexts], budget: int) -> Iterator[list[_Segment]]:
    """Records in stable order, cut where a record's first byte enters the next ``budget`` bytes."""
    buffer: list[_Segment] = []
    current = 0
    offset = 0
    for part in parts:
        if len(part.rows) == 0:
            continue
        nbytes = part.texts.str.len_bytes().to_numpy().astype(np.int64)
        starts = offset + np.cumsum(nbytes) - nbytes
        offset += int(nbytes.sum())
        chunk = starts // budget
        bounds = np.flatnonzero(np.diff(chunk)) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(chunk)], strict=True):
            if chunk[lo] != current and buffer:
                yield buffer
                buffer = []
            current = int(chunk[lo])
            buffer.append(_Segment(part.shard, part.rows[lo:hi], part.texts.slice(lo, hi - lo)))
    if buffer:
        yield buffer


def word_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Character start and end of every word of ``text`` (the same words the fit counts)."""
    found = [m.span() for m in _WORD_RE.finditer(text)]
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    spans = np.array(found, dtype=np.int64)
    return spans[:, 0], spans[:, 1]


def _tokens(texts: pl.Series, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's token sequence (dense ids, or bytes) and the number of tokens per record."""
    if unit == "bytes":
        counts = texts.str.len_bytes().to_numpy().astype(np.int64)
        data = np.frombuffer(b"".join(t.encode("utf-8") for t in texts.to_list()), dtype=np.uint8)
        return data, counts  # read-only: repeated_windows copies it when it adds the separators
    words = texts.str.extract_all(WORD_PATTERN)
    counts = words.list.len().fill_null(0).to_numpy().astype(np.int64)
    hashes = words.explode().drop_nulls().hash(_TOKEN_SEED).to_numpy()
    del words
    _, ids = np.unique(hashes, return_inverse=True)
    return ids.astype(np.int32).reshape(-1), counts


def suffix_array(tokens: np.ndarray) -> np.ndarray:
    """Suffix array (int32 or int64) of ``tokens``: uint8 bytes, or dense non-negative int ids.

    libdivsufsort sorts bytes only; ids are written big-endian in the fewest bytes that hold them
    (3 for up to 16.7 M distinct words) and only the suffixes at token boundaries are kept, which
    orders them as the token sequence would."""
    from pydivsufsort import divsufsort

    if tokens.dtype == np.uint8:
        return divsufsort(np.ascontiguousarray(tokens) if tokens.flags.writeable else tokens.copy())
    width = max(1, (int(tokens.max(initial=0)).bit_length() + 7) // 8)
    raw = np.empty((len(tokens), width), dtype=np.uint8)
    for k in range(width):
        raw[:, k] = (tokens >> (8 * (width - 1 - k))) & 0xFF
    sa = divsufsort(raw.reshape(-1))
    del raw
    if width == 1:
        return sa
    kept = np.empty(len(tokens), dtype=sa.dtype)
    filled = 0
    step = 1 << 24
    for lo in range(0, len(sa), step):  # filter in blocks: no full-size temporaries
        block = sa[lo : lo + step]
        aligned = block[block % width == 0] // width
        kept[filled : filled + len(aligned)] = aligned
        filled += len(aligned)
    return kept


def repeated_windows(
    tokens: np.ndarray, counts: np.ndarray, *, min_tokens: int, keep: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Start positions of the windows to remove (ascending), and per distinct repeated window its
    number of occurrences, its first position and the position of its first removed occurrence."""
    from pydivsufsort import kasai

    empty = np.zeros(0, dtype=np.int64)
    if len(tokens) < 2:
        return empty, empty, empty, empty
    # A separator (a value no token has: 0xFF is never in UTF-8) ends every record, so a suffix
    # whose first min_tokens tokens run past its record's end never shares them with one that does
    # not: the suffixes of a window are adjacent in the suffix array. Common prefixes that run on
    # through equal separators into the next records are cut at the end of the record.
    record_ends = np.cumsum(counts)
    if tokens.dtype == np.uint8:
        if (tokens == 0xFF).any():
            raise StageError("dedupe: substrings found the byte 0xFF, which UTF-8 text never holds")
        separator = 0xFF
    else:
        separator = int(tokens.max(initial=0)) + 1
    tokens = np.insert(tokens, record_ends, separator)
    n = len(tokens)
    sa = suffix_array(tokens)
    lcp = kasai(tokens, sa)[: n - 1]  # lcp[i]: common prefix of suffixes sa[i] and sa[i + 1]
    del tokens
    sep_at = record_ends + np.arange(len(counts))  # where each separator sits
    same = np.empty(n - 1, dtype=np.int8)
    step = 1 << 22
    for lo in range(0, n - 1, step):  # in blocks: no full-size temporaries besides sa and lcp
        at = sa[lo : lo + step + 1].astype(np.int64)
        left = sep_at[np.searchsorted(sep_at, at)] - at  # tokens left in the record
        common = np.minimum(np.minimum(lcp[lo : lo + step], left[:-1]), left[1:])
        same[lo : lo + len(common)] = common >= min_tokens
    del lcp
    # runs of same == 1 join suffixes sa[i]..sa[j]: one window, all its occurrences
    bound = np.zeros(1, dtype=np.int8)
    edges = np.diff(np.concatenate([bound, same, bound]))  # int8 throughout: 1 B per token
    run_lo = np.flatnonzero(edges == 1)
    run_hi = np.flatnonzero(edges == -1) + 1  # exclusive, in SA order
    del same, edges
    if len(run_lo) == 0:
        return empty, empty, empty, empty
    sizes = run_hi - run_lo
    heads = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=heads[1:])
    index = sa.dtype  # int32 below 2^31 tokens: half the memory of int64
    picks = np.repeat((run_lo - heads).astype(index), sizes)
    picks += np.arange(len(picks), dtype=index)
    positions = sa[picks]
    del sa, picks
    is_first = positions == np.repeat(np.minimum.reduceat(positions, heads), sizes)
    firsts = positions[is_first]  # one per run, in run order
    if keep == "first":
        removed = positions[~is_first]
        positions[is_first] = np.iinfo(index).max
        second = np.minimum.reduceat(positions, heads)
    else:
        removed = positions
        second = firsts
    del is_first
    removed.sort()

    def unshifted(at: np.ndarray) -> np.ndarray:  # positions without the separators
        at = at.astype(np.int64)
        return at - np.searchsorted(sep_at, at)

    return unshifted(removed), sizes.astype(np.int64), unshifted(firsts), unshifted(second)


def merge_windows(
    windows: np.ndarray, record_starts: np.ndarray, min_tokens: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of the windows [w, w + min_tokens) (sorted starts) as (record, start, end) per span,
    positions relative to the record."""
    if len(windows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    record = np.searchsorted(record_starts, windows, side="right") - 1
    local = windows - record_starts[record]
    new = np.ones(len(windows), dtype=bool)
    new[1:] = (record[1:] != record[:-1]) | (local[1:] > local[:-1] + min_tokens)
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:] - 1, [len(windows) - 1]])
    return record[first], local[first], local[last] + min_tokens


@dataclass
class _Found:
    """What the fit collects over the chunks."""

    spans: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]
    top: dict[str, list[int]]
    tokens: int = 0
    tokens_removed: int = 0
    windows: int = 0
    chunks: int = 0
    largest_chunk_bytes: int = 0
    largest_chunk_tokens: int = 0


def _span_text(text: str, start: int, end: int, unit: Unit) -> str:
    if unit == "bytes":
        shown = text.encode("utf-8")[start:end].decode("utf-8", errors="ignore")
    else:
        lo, hi = word_spans(text)
        shown = text[lo[start] : hi[end - 1]]
    shown = " ".join(shown.split())
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return printable(shown)


def _chunk(segments: list[_Segment], cfg: SubstringsConfig, found: _Found) -> None:
    texts = pl.concat([s.texts for s in segments], rechunk=True)
    tokens, counts = _tokens(texts, cfg.unit)
    found.chunks += 1
    found.tokens += len(tokens)
    found.largest_chunk_tokens = max(found.largest_chunk_tokens, len(tokens))
    found.largest_chunk_bytes = max(found.largest_chunk_bytes, int(texts.str.len_bytes().sum() or 0))
    windows, sizes, _, shown_at = repeated_windows(tokens, counts, min_tokens=cfg.min_tokens, keep=cfg.keep)
    del tokens
    found.windows += len(sizes)
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    record, lo, hi = merge_windows(windows, starts, cfg.min_tokens)
    found.tokens_removed += int((hi - lo).sum())
    shard_of = np.concatenate([np.full(len(s.rows), s.shard, dtype=np.int64) for s in segments])
    row_of = np.concatenate([s.rows for s in segments])
    for shard in np.unique(shard_of[record]).tolist():
        sel = shard_of[record] == shard
        found.spans.setdefault(shard, []).append((row_of[record[sel]], lo[sel], hi[sel], record[sel]))
    # the most repeated windows, shown as the whole removed span around one removed occurrence
    span_at = starts[record] + lo  # where each span starts in the chunk, ascending
    seen: set[int] = set()
    shown: dict[str, list[int]] = {}
    for g in np.argsort(-sizes, kind="stable")[: TOP_SPANS * 8].tolist():
        span = int(np.searchsorted(span_at, shown_at[g], side="right")) - 1
        if span < 0 or span in seen:
            continue
        seen.add(span)
        key = _span_text(texts[int(record[span])], int(lo[span]), int(hi[span]), cfg.unit)
        entry = shown.setdefault(key, [0, int(hi[span] - lo[span])])
        entry[0] = max(entry[0], int(sizes[g]))  # shifted windows of one span: count it once
        if len(seen) >= TOP_SPANS:
            break
    for key, (count, length) in shown.items():  # summed over chunks
        entry = found.top.setdefault(key, [0, length])
        entry[0] += count


def fit(
    parts: Sequence[SubstringTexts], cfg: SubstringsConfig, dropped: dict[int, np.ndarray] | None = None
) -> tuple[dict[int, SubstringSpans], dict[str, Any]]:
    """Spans to remove per shard, and stats, from the rescan's texts in shard order (streamed).

    ``dropped``: rows per shard that the document-level dedupe drops after all (verification ran
    in the same rescan); they take no part."""
    found = _Found({}, {})

    def filtered() -> Iterator[SubstringTexts]:
        for part in parts:
            gone = (dropped or {}).get(part.shard)
            if gone is not None and len(gone):
                keep = ~np.isin(part.rows, gone)
                part = SubstringTexts(part.shard, part.source, part.rows[keep], part.texts.filter(keep))
            yield part

    for segments in _chunks(filtered(), max(1, round(cfg.chunk_mb * 1e6))):
        _chunk(segments, cfg, found)
    spans = {shard: _shard_spans(pieces) for shard, pieces in sorted(found.spans.items())}
    top = sorted(found.top.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_SPANS]
    records = sum(len(s.rows) for s in spans.values())
    state = SubstringState(spans)
    stats = {
        "min_tokens": cfg.min_tokens,
        "unit": cfg.unit,
        "keep": cfg.keep,
        "chunks": found.chunks,
        "chunk_mb": cfg.chunk_mb,
        "largest_chunk_bytes": found.largest_chunk_bytes,
        "tokens": found.tokens,
        "tokens_removed": found.tokens_removed,
        "repeated_windows": found.windows,
        "records_with_spans": records,
        "state_bytes": state_nbytes(state),
        "most_repeated": [{"occurrences": n, "tokens": length, "text": text} for text, (n, length) in top],
    }
    return spans, stats


def _shard_spans(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> SubstringSpans:
    rows = np.concatenate([p[0] for p in pieces])
    lo = np.concatenate([p[1] for p in pieces])
    hi = np.concatenate([p[2] for p in pieces])
    order = np.lexsort((lo, rows))  # chunks arrive in order; this only makes it explicit
    rows, lo, hi = rows[order], lo[order], hi[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = rows[1:] != rows[:-1]
    first = np.flatnonzero(new)
    offsets = np.append(first, len(rows)).astype(np.int64)
    return SubstringSpans(rows[first], offsets, lo, hi)


def state_nbytes(state: SubstringState) -> int:
    return sum(a.nbytes for s in state.spans.values() for a in (s.rows, s.offsets, s.starts, s.ends))


# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------


def cut_words(text: str, starts: np.ndarray, ends: np.ndarray) -> str:
    """``text`` without the words [starts[i], ends[i]) and the whitespace after each span (before
    it, for a span that runs to the end)."""
    lo, hi = word_spans(text)
    if len(ends) and ends[-1] > len(lo):
        raise StageError(
            f"dedupe: a record has {len(lo)} words but the fit removes up to word {int(ends[-1])}; "
            "the stage input changed between fit and apply, rerun the stage"
        )
    pieces, at = [], 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b < len(lo):
            cut_lo, cut_hi = lo[a], lo[b]
        else:
            cut_lo, cut_hi = (hi[a - 1] if a > 0 else 0), len(text)
        pieces.append(text[at:cut_lo])
        at = cut_hi
    pieces.append(text[at:])
    return "".join(pieces)


def cut_bytes(text: str, starts: np.ndarray, ends: np.ndarray) -> str:
    """``text`` without the UTF-8 bytes [starts[i], ends[i]), each narrowed to whole characters."""
    data = text.encode("utf-8")
    pieces, at = [], 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        while a < len(data) and (data[a] & 0xC0) == 0x80:
            a += 1
        while b < len(data) and b > a and (data[b] & 0xC0) == 0x80:
            b -= 1
        if b <= a:
            continue
        pieces.append(data[at:a])
        at = b
    pieces.append(data[at:])
    return b"".join(pieces).decode("utf-8")


def apply(
    batch: pl.DataFrame, cfg: SubstringsConfig, spans: SubstringSpans | None, shard: ShardInfo
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, dict[str, float]]:
    """``batch`` with the spans cut from its texts, which rows are now too short, the characters
    removed per row, and counters (totals per source)."""
    removed = np.zeros(batch.height, dtype=np.int64)
    too_short = np.zeros(batch.height, dtype=bool)
    if spans is None or len(spans.rows) == 0:
        return batch, too_short, removed, {}
    if TEXT not in batch.columns:
        raise StageError(f"dedupe: substrings found spans in shard {shard.index}, which has no text column")
    if int(spans.rows[-1]) >= batch.height:
        raise StageError(
            f"dedupe: shard {shard.index} has {batch.height} records but the substring fit saw more; rerun the stage"
        )
    cut = cut_bytes if cfg.unit == "bytes" else cut_words
    texts = batch[TEXT].to_list()
    for i, row in enumerate(spans.rows.tolist()):
        lo, hi = spans.offsets[i], spans.offsets[i + 1]
        old = texts[row] or ""
        new = cut(old, spans.starts[lo:hi], spans.ends[lo:hi])
        removed[row] = len(old) - len(new)
        texts[row] = new
        too_short[row] = len("".join(new.split())) < cfg.min_chars_left
    edited = batch.with_columns(pl.Series(TEXT, texts, dtype=pl.String))
    counters = {
        "substrings.records_edited": float(len(spans.rows)),
        "substrings.chars_removed": float(removed.sum()),
        f"substrings.chars_removed.{shard.source}": float(removed.sum()),
    }
    return edited, too_short, removed, counters


def too_short_rows(batch: pl.DataFrame, rows: np.ndarray, removed: np.ndarray) -> pl.DataFrame:
    """The dropped frame for rows left too short (their text before the cut, and the count)."""
    return batch[rows].with_columns(
        pl.lit(REASON_TOO_SHORT, dtype=pl.String).alias(REASON),
        pl.Series(CHARS_REMOVED, removed[rows], dtype=pl.Int64),
    )


def result_with(
    result: BatchResult,
    kept_rows: np.ndarray,
    original: pl.DataFrame,
    cfg: SubstringsConfig,
    spans: SubstringSpans | None,
    shard: ShardInfo,
) -> BatchResult:
    """Cut the spans from the kept records of a document-level result (``kept_rows``: the batch
    rows that ``result.kept`` holds, in order) and drop the records left too short. The dropped
    frame always has a ``chars_removed`` column (null for records dropped as whole documents)."""
    dropped = result.dropped
    if CHARS_REMOVED not in dropped.columns:
        dropped = dropped.with_columns(pl.lit(None, dtype=pl.Int64).alias(CHARS_REMOVED))
    if spans is None or len(spans.rows) == 0:
        return BatchResult(result.kept, dropped, result.counters)
    edited, too_short, removed, counters = apply(original, cfg, spans, shard)
    gone = np.ones(original.height, dtype=bool)
    gone[kept_rows] = False
    if (removed[gone] > 0).any():
        raise StageError(
            f"dedupe: shard {shard.index}: the substring fit cut records the document fit dropped"
        )
    short = np.flatnonzero(too_short)
    stays = kept_rows[~np.isin(kept_rows, short)]
    if len(short):
        dropped = pl.concat([dropped, too_short_rows(original, short, removed)], how="diagonal_relaxed")
    counters = {**result.counters, **counters, "substrings.records_too_short": float(len(short))}
    return BatchResult(edited[stays], dropped, counters)


class Mapped(Sequence):
    """``fn`` of each item of a lazily loaded sequence (the rescan partials), loaded when read."""

    def __init__(self, items: Sequence[Any], fn: Any) -> None:
        self.items, self.fn = items, fn

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.fn(self.items[i])

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]
