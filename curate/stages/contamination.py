"""N-gram contamination: benchmark text found inside training records, the way lm-eval's Janitor
(and GPT-3's decontamination) finds it, vectorised with numpy.

Texts become words: lowercase, punctuation deleted, split at whitespace, and (``normalize:
unicode``, the default) every Han, Hiragana, Katakana or Hangul character a word of its own, so
that Chinese and Japanese benchmarks are caught. A benchmark *item* (one record of a benchmark
file) is indexed as the 64-bit hashes of its word n-grams; an item with fewer than n words (but at
least ``min_tokens``) as the hash of all its words. A training text is contaminated where one of
its n-grams (or a run of words equal to a short item) has a hash in the index.

Everything runs on arrays: the texts of a batch are joined into one string and decoded to code
points (UTF-32), each code point is lowercased and classed (word, separator, deleted, CJK) by
table lookup, word hashes are differences of a prefix sum of polynomial terms, n-gram hashes a
rolling combination of word hashes, and the lookup a bitmap prefilter plus ``np.searchsorted`` on
the sorted index. Only the records that match come back to Python, to be cut.

``normalize: janitor`` reproduces lm-eval's ``Janitor`` exactly: ASCII letters lowercased,
``string.punctuation`` deleted, words split at whitespace only (no CJK splitting), and a training
n-gram that contains a word made only of punctuation never matches (the Janitor joins the raw
words and looks the result up, so the empty word leaves a double space no registered n-gram has).
``cut`` follows ``Janitor._split_chunks``: each matched n-gram is removed with ``window`` characters
either side, fragments of ``min_fragment`` characters or fewer are dropped, and a text with more
than ``max_matches`` matched n-grams is dropped whole.
"""

from __future__ import annotations

import string
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Normalize = Literal["unicode", "janitor"]

# Code point classes.
WORD, CJK, SEP, DEL = 0, 1, 2, 3

_BMP = 0x10000
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_R = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64
_R_INV = np.uint64(pow(int(_R), -1, 1 << 64))
_P = np.uint64(0x100000001B3)
_LEN_SALT = np.uint64(0xD6E8FEB86659FD93)
_MASK = (1 << 64) - 1

CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # halfwidth Katakana and Hangul
)
SUPPLEMENTARY_CJK = (0x20000, 0x3FFFF)  # CJK extensions B..H
SUPPLEMENTARY_SYMBOLS = (0x1F000, 0x1FAFF)  # emoji, pictographs, game symbols


@dataclass(frozen=True)
class _Tables:
    lower: np.ndarray  # uint64[0x10000]: the lowercase of each BMP code point (one code point)
    cls: np.ndarray  # uint8[0x10000]: WORD / SEP / DEL / CJK
    cjk: bool  # supplementary CJK code points are CJK (unicode) or words (janitor)
    supplementary_symbols_deleted: bool


_TABLES: dict[str, _Tables] = {}


def _tables(mode: Normalize) -> _Tables:
    """The code point tables of a normalisation (built once per process, ~50 ms)."""
    if mode in _TABLES:
        return _TABLES[mode]
    lower = np.arange(_BMP, dtype=np.uint64)
    cls = np.zeros(_BMP, dtype=np.uint8)
    for cp in range(_BMP):
        ch = chr(cp)
        if ch.isspace():
            cls[cp] = SEP
    if mode == "janitor":
        for ch in string.ascii_uppercase:
            lower[ord(ch)] = ord(ch.lower())
        for ch in string.punctuation:
            cls[ord(ch)] = DEL
        tables = _Tables(lower, cls, cjk=False, supplementary_symbols_deleted=False)
    else:
        for cp in range(_BMP):
            if cls[cp] == SEP or 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            low = ch.lower()
            if len(low) == 1:
                lower[cp] = ord(low)
            if unicodedata.category(ch)[0] in "PS":
                cls[cp] = DEL
        for a, b in CJK_RANGES:
            cls[a : b + 1] = np.where(cls[a : b + 1] == WORD, CJK, cls[a : b + 1])
        tables = _Tables(lower, cls, cjk=True, supplementary_symbols_deleted=True)
    _TABLES[mode] = tables
    return tables


_POWERS: list[np.ndarray] = []
_MAX_CACHED_POWERS = 1 << 22


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """R**j and R**-j modulo 2**64 for j < size (kept per process, grown on demand)."""
    if not _POWERS or _POWERS[0].size < size:
        if size > _MAX_CACHED_POWERS:
            return _power_arrays(size)
        size = min(_MAX_CACHED_POWERS, max(size, 1 << 21, 2 * (_POWERS[0].size if _POWERS else 0)))
        _POWERS[:] = _power_arrays(size)
    return _POWERS[0], _POWERS[1]


def _power_arrays(size: int) -> tuple[np.ndarray, np.ndarray]:
    powers = np.full(size, _R, dtype=np.uint64)
    powers[0] = 1
    np.cumprod(powers, out=powers)
    inv = np.full(size, _R_INV, dtype=np.uint64)
    inv[0] = 1
    np.cumprod(inv, out=inv)
    return powers, inv


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array (and returned)."""
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


@dataclass
class Words:
    """The words of a batch of texts, in order: their hashes, their records, their character spans
    in their record's text (first and last character, inclusive: the Janitor's convention), and
    whether a word is *void* (made only of deleted characters; janitor mode keeps those so that no
    n-gram across them matches)."""

    hashes: np.ndarray  # uint64
    record: np.ndarray  # int64
    start: np.ndarray  # int64, character index in the record's text
    end: np.ndarray  # int64, inclusive
    void: np.ndarray | None  # bool, or None when there are none
    n_records: int

    def __len__(self) -> int:
        return len(self.hashes)


def words(texts: Sequence[str | None], *, mode: Normalize = "unicode", keep_void: bool = False) -> Words:
    """Split ``texts`` into normalised words, vectorised (see the module docstring).

    ``keep_void``: keep words made only of punctuation as void words (janitor mode's training
    side); otherwise they are left out (the index side, and unicode mode)."""
    tables = _tables(mode)
    texts = [t if isinstance(t, str) else "" for t in texts]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
    joined = "\n".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cp.size == 0:
        return _no_words(len(texts))
    n = cp.size
    all_bmp = int(cp.max()) < _BMP
    if all_bmp:
        cls = tables.cls[cp]
    else:
        bmp = cp < _BMP
        cls = tables.cls[np.where(bmp, cp, 0)]
        hcp = cp[~bmp]
        hcls = np.full(hcp.size, WORD, dtype=np.uint8)
        if tables.cjk:
            hcls[(hcp >= SUPPLEMENTARY_CJK[0]) & (hcp <= SUPPLEMENTARY_CJK[1])] = CJK
        if tables.supplementary_symbols_deleted:
            hcls[(hcp >= SUPPLEMENTARY_SYMBOLS[0]) & (hcp <= SUPPLEMENTARY_SYMBOLS[1])] = DEL
        cls[~bmp] = hcls
    # Segments: maximal runs of non-separator characters, each CJK character one of its own.
    notsep = cls != SEP
    iscjk = cls == CJK if tables.cjk else None
    if iscjk is None or not iscjk.any():
        first = np.flatnonzero(notsep[1:] > notsep[:-1]) + 1
        last = np.flatnonzero(notsep[:-1] > notsep[1:])
        if notsep[0]:
            first = np.concatenate(([0], first))
        if notsep[-1]:
            last = np.concatenate((last, [n - 1]))
    else:
        brk = ~notsep | iscjk
        seg_first = notsep.copy()
        seg_first[1:] &= brk[:-1] | iscjk[1:]
        seg_last = notsep.copy()
        seg_last[:-1] &= brk[1:] | iscjk[:-1]
        first = np.flatnonzero(seg_first)
        last = np.flatnonzero(seg_last)
    if first.size == 0:
        return _no_words(len(texts))
    # Hash of a segment: sum of its kept characters c_j * R**j (j counted from its first kept
    # character), from prefix sums over the kept characters.
    kept = cls <= CJK  # WORD or CJK
    kpos = np.flatnonzero(kept)
    counts = np.cumsum(kept, dtype=np.int32 if n < 1 << 31 else np.int64)  # kept up to and at each position
    k_end = counts[last]  # exclusive end of each segment's kept characters, in kept order
    k_begin = counts[first] - kept[first]
    del counts
    nonempty = k_end > k_begin
    powers, inv = _powers(kpos.size + 1)
    kept_cp = cp[kpos]
    if all_bmp:
        terms = tables.lower[kept_cp]
    else:
        terms = np.where(
            kept_cp < _BMP, tables.lower[np.minimum(kept_cp, _BMP - 1)], kept_cp.astype(np.uint64)
        )
    terms *= powers[: kpos.size]
    prefix = np.zeros(kpos.size + 1, dtype=np.uint64)
    np.cumsum(terms, out=prefix[1:])
    del terms
    seg_hash = prefix[k_end] - prefix[k_begin]
    seg_hash *= inv[k_begin]
    seg_hash += (k_end - k_begin).astype(np.uint64) * _LEN_SALT
    _mix(seg_hash)
    record = np.searchsorted(starts, first, side="right") - 1
    void: np.ndarray | None = None
    if keep_void:
        void = ~nonempty
        if not void.any():
            void = None
    else:
        if not nonempty.all():
            seg_hash, first, last, record = (
                seg_hash[nonempty],
                first[nonempty],
                last[nonempty],
                record[nonempty],
            )
    base = starts[record]
    return Words(seg_hash, record, first - base, last - base, void, len(texts))


def _no_words(n_records: int) -> Words:
    empty = np.zeros(0, dtype=np.int64)
    return Words(np.zeros(0, dtype=np.uint64), empty, empty, empty, None, n_records)


def ngram_hashes(w: Words, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every run of ``m`` consecutive words inside one record, and the index of each
    run's first word. Runs across a void word are left out."""
    for _length, g, valid in rolling_hashes(w, [m]):
        at = np.flatnonzero(valid(np.arange(len(g))))
        return g[at], at
    return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)


def rolling_hashes(
    w: Words, lengths: Sequence[int]
) -> Iterator[tuple[int, np.ndarray, Callable[[np.ndarray], np.ndarray]]]:
    """For each of ``lengths`` (ascending) that fits: (m, the hash of the run of m words starting at
    every word, a function telling which of given start positions are runs inside one record and
    across no void word). The runs of all lengths come from one rolling pass."""
    total = len(w)
    wanted = sorted(m for m in set(lengths) if m <= total)
    if not wanted:
        return
    state = w.hashes.copy()
    voids = None if w.void is None else np.concatenate(([0], np.cumsum(w.void, dtype=np.int64)))
    length = 1
    for m in wanted:
        while length < m:
            count = total - length
            state = state[:count]
            state *= _P
            state += w.hashes[length : length + count]
            length += 1
        g = state + np.uint64((m * int(_LEN_SALT)) & _MASK)
        _mix(g)

        def valid(at: np.ndarray, m: int = m) -> np.ndarray:
            ok = w.record[at] == w.record[at + m - 1]
            if voids is not None:
                ok &= voids[at + m] == voids[at]
            return ok

        yield m, g, valid


# ---------------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True)
class _Table:
    """Sorted n-gram hashes of one length, the item each came from first, and a bitmap prefilter."""

    hashes: np.ndarray  # uint64, sorted, unique
    items: np.ndarray  # uint32
    bitmap: np.ndarray  # uint8
    shift: np.uint64

    @classmethod
    def build(cls, hashes: np.ndarray, items: np.ndarray) -> _Table:
        unique, first = np.unique(hashes, return_index=True)
        bits = max(16, int(np.ceil(np.log2(max(1, unique.size) * 16))))
        shift = np.uint64(64 - bits)
        bitmap = np.zeros(1 << (bits - 3), dtype=np.uint8)
        pos = unique >> shift
        np.bitwise_or.at(
            bitmap,
            (pos >> np.uint64(3)).astype(np.intp),
            np.left_shift(1, (pos & np.uint64(7)).astype(np.uint8)).astype(np.uint8),
        )
        return cls(unique, items[first].astype(np.uint32), bitmap, shift)

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``queries`` that are in the table, their items)."""
        if self.hashes.size == 0 or queries.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
        pos = queries >> self.shift
        maybe = (
            self.bitmap[(pos >> np.uint64(3)).astype(np.intp)] >> (pos & np.uint64(7)).astype(np.uint8)
        ) & 1
        cand = np.flatnonzero(maybe)
        if cand.size == 0:
            return cand, np.zeros(0, dtype=np.uint32)
        q = queries[cand]
        order = np.argsort(q, kind="stable")
        sq = q[order]
        at = np.searchsorted(self.hashes, sq)
        at[at == self.hashes.size] = 0
        found = self.hashes[at] == sq
        hit = np.sort(cand[order[found]])
        j = np.searchsorted(self.hashes, queries[hit])
        return hit, self.items[j]

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + self.items.nbytes + self.bitmap.nbytes


@dataclass(frozen=True)
class Benchmark:
    """The items of one named benchmark: their texts (as indexed) and where each came from."""

    name: str
    texts: list[str]
    origins: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NgramIndex:
    n: int
    mode: Normalize
    names: tuple[str, ...]
    item_starts: np.ndarray  # int64[len(names) + 1]: items of benchmark b are [starts[b], starts[b+1])
    tables: dict[int, _Table]  # by n-gram length: n, and the lengths of short items
    previews: tuple[str, ...]  # per item, its text cut to PREVIEW_CHARS
    origins: tuple[str, ...]  # per item, file:row
    ngrams: tuple[int, ...]  # per benchmark, distinct n-grams indexed
    skipped: tuple[int, ...]  # per benchmark, items with fewer than min_tokens words

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tables.values())

    @property
    def size(self) -> int:
        return sum(t.hashes.size for t in self.tables.values())

    def benchmark_of(self, items: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.item_starts, items, side="right") - 1


PREVIEW_CHARS = 160


def build_index(
    benchmarks: Sequence[Benchmark], *, n: int, mode: Normalize = "unicode", min_tokens: int = 1
) -> NgramIndex:
    """Index the items of ``benchmarks``: their n-grams, and whole items shorter than n words."""
    texts = [t for b in benchmarks for t in b.texts]
    starts = np.zeros(len(benchmarks) + 1, dtype=np.int64)
    np.cumsum([len(b.texts) for b in benchmarks], out=starts[1:])
    by_length: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    skipped = [0] * len(benchmarks)
    for lo, hi in _chunks(texts, 1 << 20):
        w = words(texts[lo:hi], mode=mode)
        per_item = np.bincount(w.record, minlength=w.n_records)
        g, at = ngram_hashes(w, n)
        if g.size:
            hashes, items = by_length.setdefault(n, ([], []))
            hashes.append(g)
            items.append(w.record[at] + lo)
        short = np.flatnonzero((per_item < n) & (per_item >= min_tokens))
        too_short = np.flatnonzero(per_item < min_tokens)
        for item in too_short:
            skipped[int(np.searchsorted(starts, item + lo, side="right") - 1)] += 1
        if short.size:
            offsets = np.concatenate(([0], np.cumsum(per_item)))
            for m in np.unique(per_item[short]):
                which = short[per_item[short] == m]
                sub = Words(
                    np.concatenate([w.hashes[offsets[i] : offsets[i + 1]] for i in which]),
                    np.repeat(which, m),
                    np.zeros(0, dtype=np.int64),
                    np.zeros(0, dtype=np.int64),
                    None,
                    w.n_records,
                )
                gm, atm = ngram_hashes(sub, int(m))
                hashes, items = by_length.setdefault(int(m), ([], []))
                hashes.append(gm)
                items.append(sub.record[atm] + lo)
    tables = {
        m: _Table.build(np.concatenate(h), np.concatenate(i)) for m, (h, i) in sorted(by_length.items())
    }
    ngrams = [0] * len(benchmarks)
    for table in tables.values():
        bench = np.searchsorted(starts, table.items, side="right") - 1
        for b, c in zip(*np.unique(bench, return_counts=True), strict=True):
            ngrams[int(b)] += int(c)
    previews = tuple(_preview(t) for t in texts)
    origins = tuple(o for b in benchmarks for o in (b.origins or [""] * len(b.texts)))
    return NgramIndex(
        n=n,
        mode=mode,
        names=tuple(b.name for b in benchmarks),
        item_starts=starts,
        tables=tables,
        previews=previews,
        origins=origins,
        ngrams=tuple(ngrams),
        skipped=tuple(skipped),
    )


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Scanning


@dataclass(frozen=True)
class Matches:
    """Every matched n-gram of a batch: its record, its benchmark item, and its character span in
    the record's text (inclusive end), sorted by record, then start, then end."""

    record: np.ndarray  # int64
    item: np.ndarray  # uint32
    start: np.ndarray  # int64
    end: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.record)


def scan(texts: Sequence[str | None], index: NgramIndex, *, chunk_chars: int = 1 << 20) -> Matches:
    """The matched n-grams of ``texts`` (processed in chunks of about ``chunk_chars`` characters,
    so that memory stays bounded whatever the batch size)."""
    parts = [_scan_chunk(texts[lo:hi], index, offset=lo) for lo, hi in _chunks(texts, chunk_chars)]
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return Matches(e, np.zeros(0, dtype=np.uint32), e, e)
    record, item, start, end = (np.concatenate([p[k] for p in parts]) for k in range(4))
    order = np.lexsort((end, start, record))
    return Matches(record[order], item[order], start[order], end[order])


def _chunks(texts: Sequence[str | None], chunk_chars: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) slices of ``texts`` of about ``chunk_chars`` characters (at least one text each)."""
    lo = 0
    while lo < len(texts):
        hi, size = lo, 0
        while hi < len(texts) and (hi == lo or size < chunk_chars):
            size += len(texts[hi] or "")
            hi += 1
        yield lo, hi
        lo = hi


def _scan_chunk(texts: Sequence[str | None], index: NgramIndex, *, offset: int) -> tuple[np.ndarray, ...]:
    w = words(texts, mode=index.mode, keep_void=index.mode == "janitor")
    out: list[tuple[np.ndarray, ...]] = []
    for m, g, valid in rolling_hashes(w, list(index.tables)):
        hit, items = index.tables[m].lookup(g)
        if hit.size:
            ok = valid(hit)
            first, items = hit[ok], items[ok]
            out.append((w.record[first] + offset, items, w.start[first], w.end[first + m - 1]))
    if not out:
        e = np.zeros(0, dtype=np.int64)
        return e, np.zeros(0, dtype=np.uint32), e, e
    return tuple(np.concatenate([o[k] for o in out]) for k in range(4))


def cut(
    text: str,
    spans: Sequence[tuple[int, int]],
    *,
    window: int = 200,
    min_fragment: int = 200,
    max_matches: int = 10,
) -> list[str]:
    """``Janitor._split_chunks``: the fragments of ``text`` left after removing every matched span
    (first and last character, in text order) with ``window`` characters either side; fragments of
    ``min_fragment`` characters or fewer are left out, and a text with more than ``max_matches``
    matched spans has none left."""
    chunks: list[str] = []
    splice = 0
    end = -1
    for i, (start, end) in enumerate(spans):
        if i >= max_matches:
            return []
        start = max(0, start - window)
        end = min(len(text), end + window)
        if start - splice > min_fragment:
            chunks.append(text[splice:start])
        splice = end
    if end < len(text) - min_fragment:
        chunks.append(text[end + 1 :])
    return chunks


__all__ = [
    "Benchmark",
    "Matches",
    "NgramIndex",
    "Words",
    "build_index",
    "cut",
    "ngram_hashes",
    "scan",
    "words",
]

if sys.byteorder != "little":  # pragma: no cover
    raise ImportError(
        "curate.stages.contamination decodes UTF-32-LE in place: a little-endian machine is needed"
    )
