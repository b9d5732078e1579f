"""MinHash signatures for a whole batch, LSH band keys, and the banding parameters.

A permutation is ``x -> a * x + b (mod 2^64)`` with ``a`` odd, applied to shingle hashes that
are already uniformly mixed (splitmix64), and the minimum is kept per record. Taking the top 32
bits of the minimum (``min(v) >> 32 == min(v >> 32)``) gives a 32-bit signature value. Estimates
from these signatures are unbiased with the binomial spread ``sqrt(J (1 - J) / num_perm)``
(checked in the tests). The batch is cut into chunks of ~64k shingles so that the working array
stays in the CPU cache: one multiply, one add and one ``minimum.reduceat`` per permutation and
chunk, over every shingle of the chunk at once.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from curate.stages.dedupe.config import MinHashConfig
from curate.stages.dedupe.shingles import U64, Shingles, splitmix64

CHUNK_SHINGLES = 1 << 16
_BAND_MUL = U64(0xC2B2AE3D27D4EB4F)
S_CURVE_POINTS = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))


def permutations(num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``num`` hash permutations (multipliers ``a``, odd, and offsets ``b``), a pure function of ``seed``."""
    base = np.arange(num, dtype=U64) + (U64(seed) << U64(20))
    a = splitmix64(base) | U64(1)
    b = splitmix64(a ^ U64(0xD6E8FEB86659FD93))
    return a, b


def _chunks(records: np.ndarray, offsets: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Split ``records`` (ascending, each with >= 1 shingle) into runs of about ``size`` shingles."""
    ends = np.cumsum(offsets[records + 1] - offsets[records])
    cuts = np.searchsorted(ends, np.arange(size, int(ends[-1]), size), side="left") + 1
    bounds = sorted(set([0, *cuts.tolist(), len(records)]))
    return list(itertools.pairwise(bounds))


def signatures(
    shingles: Shingles, a: np.ndarray, b: np.ndarray, *, chunk: int = CHUNK_SHINGLES
) -> np.ndarray:
    """MinHash signatures, ``(records, len(a))`` uint32. Records without shingles get all ``0xFFFFFFFF``."""
    n, num = len(shingles), len(a)
    sig = np.full((n, num), 0xFFFFFFFF, dtype=np.uint32)
    offsets, hashes = shingles.offsets, shingles.hashes
    records = np.flatnonzero(np.diff(offsets) > 0)
    if len(records) == 0:
        return sig
    shift = U64(32)
    for lo, hi in _chunks(records, offsets, chunk):
        recs = records[lo:hi]
        start = offsets[recs[0]]
        values = hashes[start : offsets[recs[-1] + 1]]
        seg = offsets[recs] - start
        buf = np.empty_like(values)
        block = np.empty((len(recs), num), dtype=np.uint32)
        for p in range(num):
            np.multiply(values, a[p], out=buf)
            buf += b[p]
            block[:, p] = np.minimum.reduceat(buf, seg) >> shift
        sig[recs] = block
    return sig


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band and record, ``(records, bands)`` uint64: equal keys = equal band rows."""
    used = sig[:, : bands * rows].reshape(len(sig), bands, rows).astype(U64)
    h = used[:, :, 0].copy()
    for j in range(1, rows):
        h = h * _BAND_MUL + used[:, :, j]
    return splitmix64(h)


@functools.lru_cache(maxsize=64)
def _optimal(threshold: float, num_perm: int, fp_weight: float, fn_weight: float) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, fp_weight, fn_weight)
    return int(bands), int(rows)


def lsh_params(cfg: MinHashConfig) -> tuple[int, int]:
    """(bands, rows): the config's own, or datasketch's optimum for its threshold, num_perm and weights."""
    if cfg.bands is not None and cfg.rows is not None:
        return cfg.bands, cfg.rows
    return _optimal(cfg.threshold, cfg.num_perm, cfg.false_positive_weight, cfg.false_negative_weight)


def detection_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that a pair with this Jaccard shares at least one band: ``1 - (1 - s^r)^b``."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


def s_curve(bands: int, rows: int, points: tuple[float, ...] = S_CURVE_POINTS) -> list[dict[str, float]]:
    """The LSH S-curve at the given Jaccard values, for the stats."""
    return [{"jaccard": s, "p_detect": round(detection_probability(s, bands, rows), 4)} for s in points]
