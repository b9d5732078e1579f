"""Repeated lines and paragraphs removed from inside records (``dedupe: {lines: {...}}`` and
``dedupe: {paragraphs: {...}}``), in the dedupe stage's three passes.

- Units. A record's text is cut into lines at ``\\n`` (each line keeps its terminator, so kept
  lines are written back byte for byte); a paragraph is a run of non-blank lines together with the
  blank lines that follow it. A unit's key is the 64-bit xxh3 hash of its text normalised by the
  stage's ``normalize`` (Unicode form, case... then punctuation to spaces and whitespace collapsed);
  a unit shorter than ``min_chars`` after normalisation (blank lines, ``}``) gets no key: it is
  never counted nor removed.
- ``summarize`` (per shard, :func:`count_units`): per distinct key its count in the shard and, for
  ``remove: all_but_first``, the first row that holds it: 8 + 4 (+ 4) bytes per distinct unit.
  No text, except a few dozen samples of the shard's most repeated units for the stats.
- ``fit`` (:func:`fit_units`): counts are summed over shards; the keys counted at least
  ``min_repeats`` times, with their total count and the stable position (shard index << 32 | row)
  of the first record holding them, are the state (:class:`RepeatedUnits`). On an executor and a
  large input the same is computed per partition of the key space (:func:`fit_units_partitioned`:
  each shard's counts are spilled to a file grouped by partition, each partition is merged by a
  sub-task that holds ~1/P of the keys), as the MinHash fit does; the result is identical.
- ``apply`` (:func:`apply_units`): every keyed unit whose key is in the state is removed
  (``all``), or every one but the first occurrence (``all_but_first``: the unit in the record at
  the stored first position, the first such unit in that record). Characters removed are counted
  per source; a record that lost units and is left shorter than ``min_remaining_chars``, or lost
  more than ``max_removed_fraction`` of its characters, is removed with reason
  ``dup_lines:too_short`` / ``dup_lines:mostly_removed`` (``dup_paragraphs:*`` likewise).

With both ``lines`` and ``paragraphs`` on, both are counted on the original text and the union of
what they remove goes (a line inside a removed paragraph is attributed to paragraphs).

In a step that also removes whole documents (``exact``/``minhash``), units are counted over the
whole step input, the documents the step drops included: with ``remove: all`` the survivor of a
cluster of exact duplicates loses every unit; ``all_but_first`` with ``keep: first`` keeps it
whole. To count over the survivors only, put ``lines`` in a second dedupe step.

Against an existing corpus (``against:``): every dedupe step's index holds each distinct unit
key it saw with its count (``index.py``, kinds ``lines`` and ``paragraphs``). The fit adds the
indexes' counts to the input's, and a unit an index holds has its first occurrence in the old
corpus (``first`` is ``OUTSIDE``): with ``all_but_first`` every copy in the new data goes, with
``all`` every copy goes once old + new counts reach ``min_repeats``. That is what a run over old
and new data together, old first, removes from the new records.
:func:`unit_keys` computes the keys of any texts the same way, and :func:`distinct_keys` every
distinct key of a fit's partials.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xxhash

from curate.errors import StageError
from curate.records import REASON, TEXT
from curate.stages.base import BatchResult, FitResult, ShardInfo, StageContext
from curate.stages.dedupe.config import DedupeConfig, Normalization, RepeatedUnitsConfig
from curate.terminal import printable

KINDS = ("paragraphs", "lines")
"""The unit kinds, in the order removals are attributed."""
SEEDS = {"lines": 0x11E5, "paragraphs": 0x9A2A}
"""xxh3 seed of each kind's keys (a line and a one-line paragraph get different keys)."""
SAMPLES = 32
"""Most repeated units per shard whose text is kept for the stats."""
SAMPLE_CHARS = 160
TOP = 20
"""Most repeated units listed in the stats."""
U64 = np.uint64
WORK_DIR = "_fit_units"
_ROW_BITS = 32
OUTSIDE = -1
"""``RepeatedUnits.first`` of a unit whose first occurrence is in an ``against`` index's corpus."""
_TRAILING_BREAKS = r"(?:\r?\n[[\s\x1c-\x1f]&&[^\n]]*)+\z"
"""Line breaks and blanks that end a text (whitespace as Python's ``str.isspace``: Unicode
White_Space and the separators U+001C-U+001F)."""


def reason(kind: str, why: str) -> str:
    """``dup_lines:too_short`` and the like."""
    return f"dup_{kind}:{why}"


def configured(cfg: DedupeConfig) -> dict[str, RepeatedUnitsConfig]:
    """The unit kinds this config turns on, in ``KINDS`` order."""
    return {kind: getattr(cfg, kind) for kind in KINDS if getattr(cfg, kind) is not None}


# ---------------------------------------------------------------------------------------------
# Units of a batch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lines:
    """The lines of a batch's texts, flat: each with its terminator and its record's row."""

    texts: pl.Series  # the record texts (nulls as "")
    pieces: pl.Series  # every line with its "\n" (the last line of a text may have none)
    record: np.ndarray  # int64 row of each line's record
    blank: np.ndarray  # bool: only whitespace

    @property
    def content(self) -> pl.Series:
        return self.pieces.str.strip_suffix("\n")


def split_lines(texts: pl.Series) -> Lines:
    texts = texts.fill_null("").rename(TEXT)
    lists = texts.str.split("\n", inclusive=True)
    lens = lists.list.len().fill_null(0).to_numpy().astype(np.int64)
    pieces = (
        lists.filter(pl.Series(lens > 0)).explode().fill_null("")
        if lens.sum()
        else pl.Series([], dtype=pl.String)
    )
    record = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    blank = (pieces.str.strip_chars() == "").to_numpy() if len(pieces) else np.zeros(0, dtype=bool)
    return Lines(texts, pieces.rename(TEXT), record, blank)


def normalized_lines(lines: Lines, norm: Normalization) -> pl.Series:
    """Each line's content with the character-level normalisation (``normalize_texts``) and
    punctuation turned into spaces, whitespace as it is: the text both kinds' keys start from.

    Per line, the same as normalising the whole text and cutting it at ``\\n``: no step changes,
    makes or crosses a ``\\n`` (it is a starter with no composition, neither cased nor
    case-ignorable, neither digit, mark, punctuation nor symbol). So a paragraph's normalised
    text is its lines' joined with ``\\n``."""
    from curate.stages.dedupe.normalize import PUNCT, normalize_texts

    out = normalize_texts(lines.content, norm)
    if norm.punctuation:
        out = out.str.replace_all(PUNCT + "+", " ")
    return out


def _collapsed(texts: pl.Series, norm: Normalization) -> pl.Series:
    """``normalize.flatten``'s whitespace step (punctuation is already spaces)."""
    from curate.stages.dedupe.normalize import collapse_whitespace

    return collapse_whitespace(texts) if norm.whitespace else texts


def _line_texts(lines: Lines, norm: Normalization) -> pl.Series:
    """``flatten(normalize_texts(line))`` of each line, in one regex pass when punctuation and
    whitespace are both folded: a run of punctuation and whitespace becomes one space."""
    from curate.stages.dedupe.normalize import flatten, normalize_texts, punct_and_space

    char = normalize_texts(lines.content, norm)
    if norm.punctuation and norm.whitespace:
        return punct_and_space(char)
    return flatten(char, norm)


@dataclass(frozen=True)
class Units:
    """One kind's units of a batch: which lines each covers, its record and its key."""

    first_line: np.ndarray  # int64 index into Lines of each unit's first line
    line_unit: np.ndarray  # int64 unit of every line
    record: np.ndarray  # int64 row of each unit's record
    keyed: np.ndarray  # bool: long enough to have a key
    keys: np.ndarray  # uint64 (0 where not keyed)


def _hashes(texts: pl.Series, seed: int) -> np.ndarray:
    """xxh3 of each text's UTF-8 bytes (taken as bytes from polars: no str made, none encoded)."""
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(b, seed) for b in texts.cast(pl.Binary).to_list()), U64, len(texts))


def units_of(
    lines: Lines,
    kind: str,
    unit_cfg: RepeatedUnitsConfig,
    norm: Normalization,
    *,
    normalized: pl.Series | None = None,
) -> Units:
    """The units of ``kind`` of ``lines`` and their keys (``normalized``: the lines'
    ``normalized_lines``, when the caller has them; paragraphs are made of them)."""
    n = len(lines.pieces)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Units(empty, empty, empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=U64))
    new_record = np.ones(n, dtype=bool)
    new_record[1:] = lines.record[1:] != lines.record[:-1]
    if kind == "lines":
        start = np.ones(n, dtype=bool)
        flat = _line_texts(lines, norm) if normalized is None else _collapsed(normalized, norm)
    else:  # a paragraph starts at a record's first line or at a non-blank line after a blank one
        after_blank = np.zeros(n, dtype=bool)
        after_blank[1:] = lines.blank[:-1]
        start = new_record | (~lines.blank & after_blank)
    line_unit = np.cumsum(start) - 1
    first_line = np.flatnonzero(start)
    if kind == "paragraphs":
        if normalized is None:
            normalized = normalized_lines(lines, norm)
        frame = pl.DataFrame({"u": line_unit[~lines.blank], TEXT: normalized.filter(pl.Series(~lines.blank))})
        joined = frame.group_by("u", maintain_order=True).agg(pl.col(TEXT).str.join("\n"))
        texts = pl.Series(TEXT, [""] * len(first_line), dtype=pl.String).scatter(
            joined["u"].to_numpy(), joined[TEXT]
        )
        flat = _collapsed(texts, norm)
    keyed = (flat.str.len_chars() >= unit_cfg.min_chars).to_numpy()
    keys = np.zeros(len(first_line), dtype=U64)
    keys[keyed] = _hashes(flat.filter(pl.Series(keyed)), SEEDS[kind])
    return Units(first_line, line_unit, lines.record[first_line], keyed, keys)


def unit_keys(
    texts: pl.Series, kind: str, *, unit_cfg: RepeatedUnitsConfig, norm: Normalization
) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the keyed units of ``texts``, as the stage computes them, and each one's row."""
    units = units_of(split_lines(texts), kind, unit_cfg, norm)
    return units.keys[units.keyed], units.record[units.keyed]


def _unit_text(lines: Lines, units: Units, unit: int) -> str:
    """The original text of one unit (for the stats), made printable and truncated."""
    end = units.first_line[unit + 1] if unit + 1 < len(units.first_line) else len(lines.pieces)
    text = "".join(
        lines.pieces.slice(int(units.first_line[unit]), int(end - units.first_line[unit])).to_list()
    )
    text = text.strip()
    if len(text) > SAMPLE_CHARS:
        text = text[: SAMPLE_CHARS - 1] + "…"
    return printable(text)


# ---------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitCounts:
    """One shard's count of each distinct unit key (``summarize``'s part for one kind)."""

    keys: np.ndarray  # uint64, ascending, distinct
    counts: np.ndarray  # uint32
    first_row: np.ndarray | None  # uint32 row of the first record holding the key (all_but_first)
    units: int  # keyed units counted
    sample_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=U64))
    sample_texts: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        extra = 0 if self.first_row is None else self.first_row.nbytes
        return int(self.keys.nbytes + self.counts.nbytes + extra)


def _check_text(batch: pl.DataFrame, shard: ShardInfo) -> None:
    if shard.kind != "text" or TEXT not in batch.columns:
        raise StageError(
            f"dedupe: lines/paragraphs remove text from plain text records only, and shard {shard.index} of "
            f"source {shard.source!r} holds {shard.kind} records; set this step's sources: to its text sources "
            "(and dedupe the others in a step without lines/paragraphs)"
        )


def count_units(batch: pl.DataFrame, cfg: DedupeConfig, shard: ShardInfo) -> dict[str, UnitCounts]:
    """Per kind on, the count of each distinct unit key of this shard (see the module docstring)."""
    _check_text(batch, shard)
    lines = split_lines(batch[TEXT])
    out = {}
    kinds = configured(cfg)
    normalized = normalized_lines(lines, cfg.normalize) if len(kinds) > 1 else None
    for kind, unit_cfg in kinds.items():
        units = units_of(lines, kind, unit_cfg, cfg.normalize, normalized=normalized)
        keys = units.keys[units.keyed]
        distinct, first, counts = np.unique(keys, return_index=True, return_counts=True)
        first_row = None
        if unit_cfg.remove == "all_but_first":
            first_row = units.record[units.keyed][first].astype(np.uint32)
        top = np.flatnonzero(counts >= 2)
        top = top[np.argsort(-counts[top], kind="stable")[:SAMPLES]]
        unit_index = np.flatnonzero(units.keyed)[first[top]]
        out[kind] = UnitCounts(
            keys=distinct,
            counts=counts.astype(np.uint32),
            first_row=first_row,
            units=len(keys),
            sample_keys=distinct[top],
            sample_texts=[_unit_text(lines, units, int(u)) for u in unit_index],
        )
    return out


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepeatedUnits:
    """The units of one kind that ``apply`` removes: every key counted at least ``min_repeats``
    times over the input. ``hashes`` is what an index of this corpus's repeated units holds."""

    hashes: np.ndarray  # uint64, ascending: xxh3 (seed SEEDS[kind]) of the normalised unit text
    counts: np.ndarray  # uint64 occurrences over the input (an against index's not included)
    first: np.ndarray | None  # int64 shard index << 32 | row of the first record holding it,
    # OUTSIDE when an against index holds it (all_but_first)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.counts.nbytes + (0 if self.first is None else self.first.nbytes))


def _reduce(
    keys: np.ndarray,
    counts: np.ndarray,
    codes: np.ndarray | None,
    min_repeats: int,
    prior: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[RepeatedUnits, int, int]:
    """Sum counts of equal keys; keep those >= min_repeats. Returns them, the distinct keys and
    how many of those ``prior`` knows. ``prior`` gives each distinct key's occurrences in the
    ``against`` indexes: they add to the count, and a key found there has its first occurrence
    there (``first`` is ``OUTSIDE``: every occurrence of this input goes)."""
    if len(keys) == 0:
        return (
            RepeatedUnits(
                np.zeros(0, U64), np.zeros(0, U64), None if codes is None else np.zeros(0, np.int64)
            ),
            0,
            0,
        )
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    total = np.add.reduceat(counts[order].astype(U64), starts)
    distinct = keys[starts]
    seen = np.zeros(len(distinct), dtype=U64) if prior is None else prior(distinct)
    keep = total + seen >= min_repeats
    first = None
    if codes is not None:
        first = np.minimum.reduceat(codes[order], starts)
        first[seen > 0] = OUTSIDE
        first = first[keep]
    return RepeatedUnits(distinct[keep], total[keep], first), len(starts), int((seen > 0).sum())


def _prior(cfg: DedupeConfig, kind: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """Occurrences of keys in the step's ``against`` indexes (None without ``against``)."""
    if not cfg.against:
        return None
    from curate.stages.dedupe.index import open_index, unit_counts

    paths = tuple(str(open_index(p).path) for p in cfg.against)
    return lambda keys: unit_counts(keys, paths, kind)


def _codes(shard: int, rows: np.ndarray | None) -> np.ndarray | None:
    if rows is None:
        return None
    return (np.int64(shard) << np.int64(_ROW_BITS)) | rows.astype(np.int64)


def _top(
    repeated: RepeatedUnits, samples: dict[int, str], unit_cfg: RepeatedUnitsConfig
) -> list[dict[str, Any]]:
    best = np.argsort(-repeated.counts.astype(np.int64), kind="stable")[:TOP]
    return [
        {
            "count": int(repeated.counts[i]),
            "text": samples.get(int(repeated.hashes[i]), "(text not sampled)"),
        }
        for i in best.tolist()
    ]


def _kind_stats(
    repeated: RepeatedUnits,
    distinct: int,
    units: int,
    partial_bytes: int,
    samples: dict[int, str],
    unit_cfg: RepeatedUnitsConfig,
) -> dict[str, Any]:
    occurrences = int(repeated.counts.sum())
    kept = 0 if repeated.first is None else int((repeated.first != OUTSIDE).sum())
    removable = occurrences - kept
    return {
        "min_repeats": unit_cfg.min_repeats,
        "min_chars": unit_cfg.min_chars,
        "remove": unit_cfg.remove,
        "units": units,
        "distinct": distinct,
        "repeated": len(repeated.hashes),
        "repeated_occurrences": occurrences,
        "removable_occurrences": removable,
        "partial_bytes": partial_bytes,
        "partial_bytes_per_distinct": round(partial_bytes / max(distinct, 1), 2),
        "state_bytes": repeated.nbytes,
        "state_bytes_per_repeated": round(repeated.nbytes / max(len(repeated.hashes), 1), 2),
        "top": _top(repeated, samples, unit_cfg),
    }


def fit_units(
    partials: Iterable[Any], cfg: DedupeConfig
) -> tuple[dict[str, RepeatedUnits], dict[str, Any], dict[int, int]]:
    """The repeated units of every kind on, from the partials (any order), in this process:
    the state, the stats per kind and the rows of each shard."""
    kinds = configured(cfg)
    keys: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    counts: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    codes: dict[str, list[np.ndarray]] = {k: [] for k in kinds}
    units = dict.fromkeys(kinds, 0)
    nbytes = dict.fromkeys(kinds, 0)
    samples: dict[str, dict[int, str]] = {k: {} for k in kinds}
    rows: dict[int, int] = {}
    for part in partials:
        if part.shard in rows:
            raise StageError(f"dedupe: shard {part.shard} appears twice among the partials")
        rows[part.shard] = part.rows
        for kind in kinds:
            found = (part.units or {}).get(kind)
            if found is None:
                raise StageError(
                    f"dedupe: the partial of shard {part.shard} has no {kind} counts; rerun the stage"
                )
            keys[kind].append(found.keys)
            counts[kind].append(found.counts)
            code = _codes(part.shard, found.first_row)
            if code is not None:
                codes[kind].append(code)
            units[kind] += found.units
            nbytes[kind] += found.nbytes
            for key, text in zip(found.sample_keys.tolist(), found.sample_texts, strict=True):
                samples[kind].setdefault(int(key), text)
    state, stats = {}, {}
    for kind, unit_cfg in kinds.items():
        flat = np.concatenate(keys[kind]) if keys[kind] else np.zeros(0, U64)
        flat_counts = np.concatenate(counts[kind]) if counts[kind] else np.zeros(0, np.uint32)
        flat_codes = None
        if unit_cfg.remove == "all_but_first":
            flat_codes = np.concatenate(codes[kind]) if codes[kind] else np.zeros(0, np.int64)
        repeated, distinct, known = _reduce(
            flat, flat_counts, flat_codes, unit_cfg.min_repeats, _prior(cfg, kind)
        )
        state[kind] = repeated
        stats[kind] = _kind_stats(repeated, distinct, units[kind], nbytes[kind], samples[kind], unit_cfg)
        if cfg.against:
            stats[kind]["in_index"] = known
    return state, stats, rows


def distinct_keys(partials: Iterable[Any], kind: str) -> np.ndarray:
    """Every distinct unit key of ``kind`` in the partials (sorted uint64): what an index of a
    corpus's lines holds, to dedupe new data against it."""
    arrays = [p.units[kind].keys for p in partials if p.units and kind in p.units]
    return np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, U64)


# -- partitioned: spill per partition, merge per partition ------------------------------------


@dataclass(frozen=True)
class UnitScatterTask:
    partial: str
    output: str
    kinds: tuple[str, ...]
    partitions: int


def scatter_units(task: UnitScatterTask) -> dict[str, Any]:
    """Route one shard's unit counts to their partitions, one cell per (partition, kind)."""
    from curate.stages.dedupe.partitioned import _load, _partition, write_cells

    part = _load(task.partial)
    columns: list[list[np.ndarray]] = [[], [], []]
    cells = []
    info: dict[str, Any] = {"shard": part.shard, "rows": part.rows, "file": task.output, "kinds": {}}
    for k, kind in enumerate(task.kinds):
        found = (part.units or {}).get(kind)
        if found is None:
            raise StageError(
                f"dedupe: the partial of shard {part.shard} has no {kind} counts; rerun the stage"
            )
        columns[0].append(found.keys)
        columns[1].append(found.counts)
        rows = found.first_row if found.first_row is not None else np.zeros(len(found.keys), np.uint32)
        columns[2].append(rows)
        cells.append(_partition(found.keys, task.partitions) * len(task.kinds) + k)
        info["kinds"][kind] = {
            "units": found.units,
            "nbytes": found.nbytes,
            "samples": list(zip(found.sample_keys.tolist(), found.sample_texts, strict=True)),
        }
    arrays = [np.concatenate(c) for c in columns]
    info["bytes"] = write_cells(
        Path(task.output), arrays, np.concatenate(cells), task.partitions * len(task.kinds)
    )
    return info


@dataclass(frozen=True)
class UnitMergeTask:
    partition: int
    files: tuple[str, ...]  # scatter files
    shards: tuple[int, ...]  # their shard indices
    kinds: tuple[str, ...]
    min_repeats: tuple[int, ...]
    first: tuple[bool, ...]  # per kind: keep first positions (all_but_first)
    output: str
    against: tuple[str, ...] = ()  # index directories whose counts add to the input's


def merge_units(task: UnitMergeTask) -> dict[str, Any]:
    """Sum one partition's counts over shards; write the repeated keys (one cell per kind)."""
    from curate.stages.dedupe.partitioned import read_cells, write_cells

    per = len(task.kinds)
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in task.kinds]
    for path, shard in zip(task.files, task.shards, strict=True):
        offsets, (keys, counts, rows) = read_cells(path, task.partition * per, (task.partition + 1) * per, 3)
        for k in range(per):
            lo, hi = offsets[k], offsets[k + 1]
            parts[k].append((keys[lo:hi], counts[lo:hi], _codes(shard, rows[lo:hi])))
    out_columns: list[list[np.ndarray]] = [[], [], []]
    cells, distinct, known = [], [], []
    for k in range(per):
        keys = np.concatenate([p[0] for p in parts[k]]) if parts[k] else np.zeros(0, U64)
        counts = np.concatenate([p[1] for p in parts[k]]) if parts[k] else np.zeros(0, np.uint32)
        codes = np.concatenate([p[2] for p in parts[k]]) if parts[k] else np.zeros(0, np.int64)
        prior = None
        if task.against:
            from curate.stages.dedupe.index import unit_counts

            kind = task.kinds[k]
            prior = lambda keys, kind=kind: unit_counts(keys, task.against, kind)  # noqa: E731
        repeated, n, found = _reduce(keys, counts, codes, task.min_repeats[k], prior)
        distinct.append(n)
        known.append(found)
        out_columns[0].append(repeated.hashes)
        out_columns[1].append(repeated.counts)
        out_columns[2].append(repeated.first)
        cells.append(np.full(len(repeated.hashes), k, dtype=np.int64))
    size = write_cells(
        Path(task.output), [np.concatenate(c) for c in out_columns], np.concatenate(cells), per
    )
    return {
        "partition": task.partition,
        "output": task.output,
        "distinct": distinct,
        "in_index": known,
        "bytes": size,
    }


def fit_units_partitioned(
    files: Sequence[Path], cfg: DedupeConfig, ctx: StageContext, *, partitions: int
) -> tuple[dict[str, RepeatedUnits], dict[str, Any], dict[int, int]]:
    """``fit_units`` as sub-tasks on the executor: each holds ~1/``partitions`` of the keys."""
    from curate.stages.dedupe.partitioned import read_cells

    if ctx.map_tasks is None:
        raise StageError("dedupe: a partitioned fit needs an executor to map its sub-tasks on")
    kinds = configured(cfg)
    names = tuple(kinds)
    work = Path(ctx.stage_dir) / WORK_DIR
    shutil.rmtree(work, ignore_errors=True)
    against: tuple[str, ...] = ()
    if cfg.against:
        from curate.stages.dedupe.index import open_index

        against = tuple(str(open_index(p).path) for p in cfg.against)
    tasks = [
        UnitScatterTask(str(f), str(work / "scatter" / f"{i:06d}.npy"), names, partitions)
        for i, f in enumerate(files)
    ]
    infos = sorted(ctx.map_tasks(scatter_units, tasks), key=lambda i: i["shard"])
    seen = [i["shard"] for i in infos]
    if len(set(seen)) != len(seen):
        raise StageError(f"dedupe: shard indices repeat among the partials: {seen}")
    merges = [
        UnitMergeTask(
            p,
            tuple(i["file"] for i in infos),
            tuple(seen),
            names,
            tuple(c.min_repeats for c in kinds.values()),
            tuple(c.remove == "all_but_first" for c in kinds.values()),
            str(work / "merged" / f"{p:05d}.npy"),
            against,
        )
        for p in range(partitions)
    ]
    merged = sorted(ctx.map_tasks(merge_units, merges), key=lambda r: r["partition"])
    state, stats = {}, {}
    for k, (kind, unit_cfg) in enumerate(kinds.items()):
        hashes, counts, first = [], [], []
        for result in merged:  # partitions are ascending ranges of the key space
            _, (h, c, f) = read_cells(result["output"], k, k + 1, 3)
            hashes.append(h.copy())
            counts.append(c.copy())
            first.append(f.copy())
        repeated = RepeatedUnits(
            np.concatenate(hashes),
            np.concatenate(counts),
            np.concatenate(first) if unit_cfg.remove == "all_but_first" else None,
        )
        samples: dict[int, str] = {}
        for info in infos:
            for key, text in info["kinds"][kind]["samples"]:
                samples.setdefault(int(key), text)
        state[kind] = repeated
        stats[kind] = _kind_stats(
            repeated,
            sum(r["distinct"][k] for r in merged),
            sum(i["kinds"][kind]["units"] for i in infos),
            sum(i["kinds"][kind]["nbytes"] for i in infos),
            samples,
            unit_cfg,
        )
        if cfg.against:
            stats[kind]["in_index"] = sum(r["in_index"][k] for r in merged)
        stats[kind]["partitioned"] = {
            "partitions": partitions,
            "shuffle_bytes": sum(i["bytes"] for i in infos),
            "merge_bytes": sum(r["bytes"] for r in merged),
        }
    shutil.rmtree(work, ignore_errors=True)
    return state, stats, {i["shard"]: i["rows"] for i in infos}


def unit_partitions(ctx: StageContext | None, shards: int) -> int:
    """Partitions of the units fit: as the MinHash fit decides (``partitioned.fit_partitions``)
    by the size of the partials and the executor's workers, verification aside."""
    import math
    import os

    from curate.stages.dedupe import partitioned

    if ctx is None or ctx.map_tasks is None or shards == 0 or len(ctx.partial_files) != shards:
        return 1
    size = sum(os.path.getsize(f) for f in ctx.partial_files)
    by_size = math.ceil(size / partitioned.PARTITION_BYTES)
    if by_size <= 1 and (ctx.workers <= 1 or size < partitioned.SMALL_BYTES):
        return 1
    return max(ctx.workers, by_size, 2)


def fit_all_units(
    partials: Sequence[Any], cfg: DedupeConfig, ctx: StageContext | None
) -> tuple[dict[str, RepeatedUnits], dict[str, Any], dict[int, int]]:
    """The units fit, partitioned on an executor when the input is large (same result)."""
    partitions = unit_partitions(ctx, len(partials))
    if partitions > 1:
        assert ctx is not None
        return fit_units_partitioned(ctx.partial_files, cfg, ctx, partitions=partitions)
    return fit_units(partials, cfg)


def with_units(result: FitResult, units: dict[str, RepeatedUnits], stats: dict[str, Any]) -> FitResult:
    """``result`` with the units state and stats added."""
    from dataclasses import replace

    return FitResult(replace(result.state, units=units), {**result.stats, **stats}, result.needs_rescan)


# ---------------------------------------------------------------------------------------------
# apply
# ---------------------------------------------------------------------------------------------


def _removed_units(units: Units, repeated: RepeatedUnits, rows: np.ndarray, shard: int) -> np.ndarray:
    """Bool per unit: its key is repeated and it is not the occurrence kept (all_but_first)."""
    hit = np.zeros(len(units.keys), dtype=bool)
    if len(repeated.hashes) == 0:
        return hit
    slot = np.searchsorted(repeated.hashes, units.keys)
    slot_ok = np.minimum(slot, len(repeated.hashes) - 1)
    hit = units.keyed & (slot < len(repeated.hashes)) & (repeated.hashes[slot_ok] == units.keys)
    if repeated.first is None:
        return hit
    candidates = np.flatnonzero(hit)
    code = _codes(shard, rows[units.record[candidates]])
    first_here = repeated.first[slot_ok[candidates]] == code
    # only the first unit with that key in the first record is kept
    order = np.lexsort((candidates, units.keys[candidates], units.record[candidates]))
    cand_sorted = candidates[order]
    lead = np.ones(len(cand_sorted), dtype=bool)
    lead[1:] = (units.record[cand_sorted][1:] != units.record[cand_sorted][:-1]) | (
        units.keys[cand_sorted][1:] != units.keys[cand_sorted][:-1]
    )
    first_in_record = np.zeros(len(candidates), dtype=bool)
    first_in_record[order] = lead
    hit[candidates[first_here & first_in_record]] = False
    return hit


def _rebuilt_texts(lines: Lines, gone: np.ndarray, changed: np.ndarray) -> pl.Series:
    """The texts with the ``gone`` lines cut out (the records ``changed`` lost some). Kept lines
    are joined as they were; a text that ended inside a removed unit loses its trailing line
    breaks and ends as the original ended (with one ``\\n`` if it had one, unless empty)."""
    rows = pl.Series(lines.record[~gone])
    joined = (
        pl.DataFrame({"r": rows, TEXT: lines.pieces.filter(pl.Series(~gone))})
        .filter(pl.col("r").is_in(pl.Series(changed).implode()))
        .group_by("r", maintain_order=True)
        .agg(pl.col(TEXT).str.join(""))
    )
    texts = pl.Series(TEXT, [""] * len(changed), dtype=pl.String).scatter(
        np.searchsorted(changed, joined["r"].to_numpy()), joined[TEXT]
    )
    last = np.searchsorted(lines.record, changed, side="right") - 1  # each changed record's last line
    original = lines.texts.gather(changed)
    trimmed = texts.str.replace(_TRAILING_BREAKS, "")
    ended = (trimmed + "\n").zip_with(original.str.ends_with("\n") & (trimmed != ""), trimmed)
    texts = ended.zip_with(pl.Series(gone[last]), texts)
    return lines.texts.clone().scatter(changed, texts)  # scatter writes in place


def apply_units(
    result: BatchResult,
    cfg: DedupeConfig,
    units: dict[str, RepeatedUnits],
    shard: ShardInfo,
    *,
    rows: np.ndarray,
) -> BatchResult:
    """Remove the repeated units from the records ``result`` kept; drop the remnants (see the
    module docstring). ``rows`` are the kept records' rows in the stage's input shard."""
    kept = result.kept
    if kept.height == 0:
        return result
    _check_text(kept, shard)
    kinds = configured(cfg)
    lines = split_lines(kept[TEXT])
    removed_by = np.full(len(lines.pieces), -1, dtype=np.int8)  # kind index that removed each line
    matched = []
    normalized = normalized_lines(lines, cfg.normalize) if len(kinds) > 1 else None
    for k, (kind, unit_cfg) in enumerate(kinds.items()):
        found = units_of(lines, kind, unit_cfg, cfg.normalize, normalized=normalized)
        gone = _removed_units(found, units[kind], rows, shard.index)
        matched.append(int(gone.sum()))
        removed_by[(removed_by < 0) & gone[found.line_unit]] = k
    if not (removed_by >= 0).any():
        return BatchResult(result.kept, result.dropped, {**result.counters, **_zero(kinds, kept, shard)})
    lengths = lines.pieces.str.len_chars().to_numpy().astype(np.int64)
    gone = removed_by >= 0
    changed = np.unique(lines.record[gone])
    removed_chars = np.zeros((len(kinds), kept.height), dtype=np.int64)
    for k in range(len(kinds)):
        removed_chars[k] = np.bincount(
            lines.record[removed_by == k], lengths[removed_by == k], minlength=kept.height
        )
    new_texts = _rebuilt_texts(lines, gone, changed)
    before = lines.texts.str.len_chars().to_numpy().astype(np.int64)
    after = new_texts.str.len_chars().to_numpy().astype(np.int64)
    why = np.full(kept.height, None, dtype=object)
    undecided = np.ones(kept.height, dtype=bool)
    for k, (kind, unit_cfg) in enumerate(kinds.items()):  # the first kind that removed text decides
        lost = undecided & (removed_chars[k] > 0)
        short = lost & (after < unit_cfg.min_remaining_chars)
        mostly = lost & ~short & (before - after > unit_cfg.max_removed_fraction * before)
        why[short] = reason(kind, "too_short")
        why[mostly] = reason(kind, "mostly_removed")
        undecided &= ~(short | mostly)
    drop = ~undecided
    updated = kept.with_columns(new_texts)
    dropped_units = kept.filter(pl.Series(drop)).with_columns(
        pl.Series(REASON, why[drop].tolist(), dtype=pl.String)
    )
    evidence = [  # dup_of, cluster: the document dedupe's evidence, none here
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in result.dropped.schema.items()
        if name not in dropped_units.columns
    ]
    dropped_units = dropped_units.with_columns(evidence)
    dropped = pl.concat([result.dropped, dropped_units.select(result.dropped.columns)])
    counters = dict(result.counters)
    for k, kind in enumerate(kinds):
        prefix = f"dup_{kind}"
        counters[f"{prefix}.chars_in.{shard.source}"] = float(before.sum())
        counters[f"{prefix}.chars_removed.{shard.source}"] = float(removed_chars[k].sum())
        counters[f"{prefix}.units_removed"] = float(matched[k])
        counters[f"{prefix}.records_changed"] = float((removed_chars[k] > 0).sum())
    return BatchResult(updated.filter(pl.Series(~drop)), dropped, counters)


def _zero(kinds: dict[str, RepeatedUnitsConfig], kept: pl.DataFrame, shard: ShardInfo) -> dict[str, float]:
    chars = float(kept[TEXT].fill_null("").str.len_chars().sum())
    out: dict[str, float] = {}
    for kind in kinds:
        prefix = f"dup_{kind}"
        out |= {
            f"{prefix}.chars_in.{shard.source}": chars,
            f"{prefix}.chars_removed.{shard.source}": 0.0,
            f"{prefix}.units_removed": 0.0,
            f"{prefix}.records_changed": 0.0,
        }
    return out
