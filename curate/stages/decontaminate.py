"""decontaminate: keep eval and benchmark text out of the training data.

Two checks, each optional:

- **The run's own eval set** (``eval``): a record whose id equals an eval record's ``id``, or whose
  text equals an eval record's text up to surrounding and repeated whitespace, is dropped
  (``on_overlap: drop``, reason ``eval_overlap``) or stops the run (``on_overlap: error``). A
  recipe with a ``train.eval`` block gets this stage automatically, just before its first
  mix/format/tokenize stage, unless it lists one itself; a listed one without ``eval`` gets the
  recipe's eval sets and task files filled in (all of them). A multiple-choice task item
  (``{context, choices, answer}``) counts as the text of its context and correct choice.
- **N-gram overlap** (``ngram``, and named benchmark files in ``against``): a record that shares
  an n-gram of normalised words (13 by default, as GPT-3 and lm-eval's Janitor) with a benchmark
  item, or contains a whole item shorter than n words, is dropped or cut (``ngram.action``), with
  reason ``contaminated:<benchmark>``. The eval set is indexed too, as benchmark ``eval``. See
  ``curate.stages.contamination`` for the normalisation and the vectorised scan.

Chat and preference records are checked through ``view`` (all turns by default): a contaminated
turn drops the whole conversation or pair; ``cut`` applies to text records only, and a
contaminated chat or preference record is dropped even under ``cut`` (counted as
``contaminated.cut_as_drop``).
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

import curate.stages.contamination as contamination
from curate.errors import InputError, StageError
from curate.io.fs import file_version
from curate.io.jsonl import read_jsonl
from curate.io.memo import once_per_file_version
from curate.records import ID, TEXT, TURN_SEPARATOR, TextView, kind_of, text_view
from curate.stages.base import BatchResult, BatchStage, Options, StageConfig, partition

REASON = "eval_overlap"
DECONTAMINATE_BEFORE = ("mix", "format", "tokenize")
"""The stages that turn records into training data. A recipe that scores on an eval set is
decontaminated before the first of them (``recipe.resolve_implied``), and a run's overlap with an
eval set is counted where the first of them starts (``train.pipeline.eval_overlap``)."""
CONTAMINATED = "contaminated"
EVAL_NAME = "eval"
TOP_ITEMS = 5
FRAGMENT_SEPARATOR = "\n\n"


class Benchmark(Options):
    """One named benchmark of ``decontaminate.against`` (or just its path)."""

    path: str | list[str] = Field(
        description="JSONL (.jsonl, .json, .gz, .zst), Parquet files or HF save_to_disk directories; globs "
        "allowed. Relative paths are looked up in the working directory, then in the recipe file's directory."
    )
    fields: tuple[str, ...] | None = Field(
        default=None,
        description="The fields whose text makes an item, in this order (e.g. [question, choices, answer, "
        "context]); strings inside lists and mappings count. Unset: every string field of each record.",
    )
    split: str | None = Field(
        default=None,
        description="For an HF directory holding several splits (a DatasetDict): the split to read. Unset: all.",
    )

    @property
    def patterns(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class NgramOptions(Options):
    """How benchmark text is looked for inside training records (``decontaminate.ngram``)."""

    n: int = Field(
        default=13,
        ge=1,
        description="Words per n-gram (13: GPT-3 and lm-eval; datatrove uses 12). Items of fewer words are "
        "matched whole.",
    )
    action: Literal["drop", "cut"] = Field(
        default="drop",
        description="drop: remove a contaminated record (reason contaminated:<benchmark>). cut: lm-eval's "
        "Janitor: remove each matched span with `window` characters either side, keep the fragments longer "
        "than `min_fragment` (joined by a blank line), drop the record if none is left or more than "
        "`max_matches` n-grams matched. cut applies to text records; a contaminated chat or preference "
        "record is dropped.",
    )
    normalize: contamination.Normalize = Field(
        default="unicode",
        description="unicode: lowercase every script, delete Unicode punctuation and symbols, every Han, "
        "Hiragana, Katakana and Hangul character a word of its own. janitor: exactly lm-eval's Janitor (ASCII "
        "lowercase, ASCII punctuation deleted, words at whitespace only, a training n-gram across a word of "
        "punctuation only never matches).",
    )
    min_tokens: int = Field(
        default=3,
        ge=1,
        description="Items with fewer words than this are not indexed (a one-word answer would match every "
        "page that has the word); they are counted in the stats.",
    )
    window: int = Field(default=200, ge=0, description="cut: characters removed either side of a match.")
    min_fragment: int = Field(
        default=200,
        ge=0,
        description="cut: a fragment before a match is kept if longer than this; the rest after the last "
        "match if the cut ends more than this many characters before the end (the Janitor's rules).",
    )
    max_matches: int = Field(
        default=10, ge=0, description="cut: a record with more matched n-grams than this is dropped whole."
    )


class DecontaminateConfig(StageConfig):
    eval: str | list[str] | None = Field(
        default=None,
        description="Eval set files (JSONL or Parquet, globs allowed): text, messages or prompt/chosen/rejected records. "
        "Relative paths are looked up in the working directory, then in the recipe file's directory. "
        "Filled in with every eval set and task file of train.eval (path, sets, tasks) when the recipe scores on any; "
        "a task item {context, choices, answer} counts as its context and correct choice.",
    )
    on_overlap: Literal["error", "drop"] = Field(
        default="error",
        description="error: stop the run naming the overlapping records; drop: remove them from the training data (reason eval_overlap). "
        "Applies to records equal to an eval record (id or text); n-gram matches follow ngram.action.",
    )
    ngram: NgramOptions | None = Field(
        default=None,
        description="Look for benchmark (and eval) n-grams inside records, e.g. {n: 13, action: drop}. Unset: "
        "on with its defaults when `against` names benchmarks, else off (the eval set is matched by id and "
        "text only).",
    )
    against: dict[str, str | list[str] | Benchmark] = Field(
        default_factory=dict,
        description="Named benchmark files to decontaminate against, e.g. {mmlu: bench/mmlu/*.parquet, gsm8k: "
        "{path: bench/gsm8k.jsonl, fields: [question, answer]}}. Each record of a file is one item; removal "
        "reasons name the benchmark (contaminated:mmlu). The recipe's eval set is added as `eval`.",
    )
    view: TextView = Field(
        default_factory=TextView, description="Which parts of chat/preference records are compared."
    )

    @field_validator("against")
    @classmethod
    def _benchmarks(cls, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in value.items():
            if name == EVAL_NAME:
                raise ValueError(
                    f"against: {EVAL_NAME!r} is the name of the recipe's eval set; name the benchmark otherwise"
                )
            if not name or any(c in name for c in ". \t\n:"):
                raise ValueError(
                    f"against: benchmark name {name!r} must be non-empty without '.', ':' or spaces"
                )
            out[name] = spec if isinstance(spec, Benchmark) else Benchmark(path=spec)
        return out

    @property
    def patterns(self) -> list[str]:
        if self.eval is None:
            return []
        return [self.eval] if isinstance(self.eval, str) else list(self.eval)

    @property
    def benchmarks(self) -> dict[str, Benchmark]:
        return self.against  # type: ignore[return-value]  # normalised by the validator

    @property
    def ngram_options(self) -> NgramOptions | None:
        """The n-gram options in force: set, implied by ``against``, or None (off)."""
        if self.ngram is not None:
            return self.ngram
        return NgramOptions() if self.against else None


def eval_files(cfg: DecontaminateConfig) -> list[str]:
    files = sorted({f for p in cfg.patterns for f in glob.glob(p, recursive=True) if os.path.isfile(f)})
    if not files:
        raise StageError(f"decontaminate: eval path {cfg.eval!r} matches no file")
    return files


def _record_text(record: dict[str, Any]) -> str | None:
    def contents(value: Any) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [m.get("content", "") for m in value if isinstance(m, dict)]
        return []

    if isinstance(record.get("text"), str):
        return record["text"]
    if isinstance(record.get("context"), str) and isinstance(record.get("choices"), list):
        return _task_text(record)
    if "messages" in record:
        return TURN_SEPARATOR.join(contents(record["messages"]))
    parts = [c for key in ("prompt", "chosen", "rejected") for c in contents(record.get(key))]
    return TURN_SEPARATOR.join(parts) if parts else None


def _task_text(item: dict[str, Any]) -> str:
    """A multiple-choice task item (``{context, choices, answer}``) as the text a contaminated
    document would hold: the context followed by the correct choice (all choices when the answer
    does not index one)."""
    choices, answer = item["choices"], item.get("answer")
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(choices):
        picked = [choices[answer]]
    else:
        picked = choices
    return " ".join([item["context"], *(c for c in picked if isinstance(c, str))]).strip()


def _normalised(texts: pl.Series) -> pl.Series:
    return texts.str.replace_all(r"\s+", " ").str.strip_chars()


@once_per_file_version(maxsize=4)
def _fingerprints(files: tuple[str, ...]) -> tuple[frozenset[str], pl.Series]:
    from curate.train.evalset import read_eval_records

    records = read_eval_records(list(files))
    ids = frozenset(str(r["id"]) for r in records if r.get("id") is not None)
    texts = pl.Series([_record_text(r) for r in records], dtype=pl.String).drop_nulls()
    return ids, _normalised(texts).hash(seed=0).unique()


def eval_fingerprints(cfg: DecontaminateConfig) -> tuple[frozenset[str], pl.Series]:
    """Ids and hashes of normalised texts of the eval set (loaded once per process)."""
    files = eval_files(cfg)
    return _fingerprints(tuple(files))


# -- benchmark files ----------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    """Every string inside ``value``: itself, or those in its lists and mappings, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _is_hf_dir(path: str) -> bool:
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, f))
        for f in ("dataset_info.json", "state.json", "dataset_dict.json")
    )


def benchmark_files(name: str, spec: Benchmark) -> list[str]:
    """The files and HF directories of benchmark ``name``; a StageError naming it if none."""
    from curate.io import fs

    found: set[str] = set()
    for pattern in spec.patterns:
        if fs.is_url(pattern):
            found.update(fs.glob_files(pattern))
            continue
        for match in glob.glob(pattern, recursive=True):
            if os.path.isfile(match) or _is_hf_dir(match):
                found.add(os.path.abspath(match))
    if not found:
        raise StageError(
            f"against.{name}: path {spec.path!r} matches no file or HF dataset directory "
            f"(looked in {os.getcwd()}); fix the path or remove the benchmark"
        )
    return sorted(found)


def _rows(path: str, split: str | None) -> list[dict[str, Any]]:
    if _is_hf_dir(path):
        import datasets  # a save_to_disk directory: read from disk, never the network

        loaded = datasets.load_from_disk(path)
        if not isinstance(loaded, datasets.DatasetDict):
            return loaded.data.table.to_pylist()
        if split is None:
            return [row for part in loaded.values() for row in part.data.table.to_pylist()]
        if split not in loaded:
            raise StageError(f"{path}: split {split!r} not in {list(loaded)}; set `split:`")
        return loaded[split].data.table.to_pylist()
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    try:
        return read_jsonl(path)
    except InputError as exc:
        raise StageError(str(exc)) from None


def read_benchmark(name: str, spec: Benchmark) -> contamination.Benchmark:
    """The items of one benchmark: per record, the strings of its fields joined by newlines."""
    texts: list[str] = []
    origins: list[str] = []
    seen_fields: set[str] = set()
    for path in benchmark_files(name, spec):
        try:
            rows = _rows(path, spec.split)
        except StageError:
            raise
        except Exception as exc:  # pyarrow, datasets, zstd raise many types: all mean "unreadable"
            raise StageError(f"against.{name}: cannot read {path!r}: {type(exc).__name__}: {exc}") from None
        base = os.path.basename(path.rstrip("/"))
        for i, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                continue
            keys = spec.fields if spec.fields is not None else tuple(row)
            seen_fields.update(k for k in keys if k in row)
            text = "\n".join(s for k in keys for s in _strings(row.get(k)))
            if text.strip():
                texts.append(text)
                origins.append(f"{base}:{i}")
    missing = [f for f in spec.fields or () if f not in seen_fields]
    if missing:
        raise StageError(
            f"against.{name}: no record of {spec.path!r} has the field(s) {missing}; "
            "fix `fields` (or leave it out to read every string field)"
        )
    return contamination.Benchmark(name, texts, origins)


def _eval_benchmark(files: list[str]) -> contamination.Benchmark:
    from curate.train.evalset import read_eval_records

    records = read_eval_records(files)
    texts, origins = [], []
    for i, record in enumerate(records, 1):
        text = _record_text(record)
        if text and text.strip():
            texts.append(text)
            origins.append(str(record.get("id") or f"eval:{i}"))
    return contamination.Benchmark(EVAL_NAME, texts, origins)


def _version(path: str) -> Any:
    if os.path.isdir(path):
        return tuple(
            (os.path.relpath(os.path.join(d, f), path), file_version(os.path.join(d, f)))
            for d, _, names in sorted(os.walk(path))
            for f in sorted(names)
        )
    return file_version(path)


@functools.lru_cache(maxsize=4)
def _cached_index(key: tuple[Any, ...], versions: tuple[Any, ...]) -> contamination.NgramIndex:
    """The n-gram index of ``key`` (benchmarks, eval files, options), built once per process and
    file version (``versions`` is only part of the cache key)."""
    benchmarks_key, eval_key, n, mode, min_tokens = key
    benchmarks = [_eval_benchmark(list(eval_key))] if eval_key else []
    for name, path, fields, split in benchmarks_key:
        spec = Benchmark(path=list(path), fields=fields, split=split)
        benchmarks.append(read_benchmark(name, spec))
    return contamination.build_index(benchmarks, n=n, mode=mode, min_tokens=min_tokens)


def ngram_index(cfg: DecontaminateConfig) -> contamination.NgramIndex | None:
    """The n-gram index of the eval set and the benchmarks (None when n-gram matching is off)."""
    opts = cfg.ngram_options
    if opts is None:
        return None
    evals = tuple(eval_files(cfg)) if cfg.eval is not None else ()
    benchmarks = tuple(
        (name, tuple(spec.patterns), spec.fields, spec.split) for name, spec in cfg.benchmarks.items()
    )
    files = [f for name, spec in cfg.benchmarks.items() for f in benchmark_files(name, spec)]
    versions = tuple(_version(f) for f in [*evals, *files])
    key = (benchmarks, evals, opts.n, opts.normalize, opts.min_tokens)
    return _cached_index(key, (tuple(files), versions))


# -- the stage ------------------------------------------------------------------------------------


def _eval_overlap(batch: pl.DataFrame, cfg: DecontaminateConfig, view: pl.Series) -> pl.Series:
    ids, hashes = eval_fingerprints(cfg)
    overlap = _normalised(view).hash(seed=0).is_in(hashes.implode()) | batch[ID].is_in(list(ids))
    count = int(overlap.sum())
    if count and cfg.on_overlap == "error":
        examples = ", ".join(batch.filter(overlap)[ID].head(3).to_list())
        raise StageError(
            f"{count} training record(s) are in the eval set {cfg.eval!r} (e.g. {examples}): scores would be "
            "inflated; remove them from the inputs, or set train.eval.on_overlap: drop to drop them"
        )
    return overlap


def apply(batch: pl.DataFrame, cfg: DecontaminateConfig) -> BatchResult:
    if cfg.eval is None and cfg.ngram_options is None:
        raise StageError(
            "decontaminate has nothing to check against: give it `eval` (or score the recipe on an eval "
            "set) or benchmark files in `against`"
        )
    index = ngram_index(cfg)
    if batch.height == 0:
        return partition(batch, [])
    view = text_view(batch, cfg.view)
    reasons: list[str | None] = [None] * batch.height
    counters: dict[str, float] = {}
    if cfg.eval is not None:
        overlap = _eval_overlap(batch, cfg, view)
        for i in np.flatnonzero(overlap.to_numpy()):
            reasons[int(i)] = REASON
        counters[REASON] = float(overlap.sum())
    if index is None:
        return partition(batch, reasons, counters)
    opts = cfg.ngram_options
    assert opts is not None
    texts = view.to_list()
    found = contamination.scan(texts, index)
    if len(found) == 0:
        return partition(batch, reasons, counters)
    bench = index.benchmark_of(found.item)
    nb = len(index.names)
    # Matched n-grams per (record, benchmark); a record's reason names the benchmark it shares most with.
    key = found.record * nb + bench
    pairs, per_pair = np.unique(key, return_counts=True)
    rec_of, bench_of = pairs // nb, pairs % nb
    for b in range(nb):
        mine = bench_of == b
        if mine.any():
            name = index.names[b]
            counters[f"{CONTAMINATED}.{name}.records"] = float(mine.sum())
            counters[f"{CONTAMINATED}.{name}.ngrams"] = float(per_pair[mine].sum())
    items, item_records = np.unique(
        np.unique(found.record * (1 << 32) + found.item.astype(np.int64)) & 0xFFFFFFFF, return_counts=True
    )
    for item, count in zip(items.tolist(), item_records.tolist(), strict=True):
        b = int(index.benchmark_of(np.array([item]))[0])
        counters[f"{CONTAMINATED}.{index.names[b]}.item.{item - int(index.item_starts[b])}"] = float(count)
    order = np.lexsort((bench_of, -per_pair, rec_of))  # per record: most n-grams first, then benchmark order
    rec_sorted = rec_of[order]
    first = np.concatenate(([True], rec_sorted[1:] != rec_sorted[:-1]))
    chosen = dict(zip(rec_sorted[first].tolist(), bench_of[order][first].tolist(), strict=True))
    cutting = opts.action == "cut" and kind_of(batch) == "text"
    new_texts: dict[int, str] = {}
    for r, b in chosen.items():
        if reasons[r] is not None:
            continue
        reason = f"{CONTAMINATED}:{index.names[b]}"
        if not cutting:
            reasons[r] = reason
            continue
        lo = int(np.searchsorted(found.record, r, side="left"))
        hi = int(np.searchsorted(found.record, r, side="right"))
        spans = list(zip(found.start[lo:hi].tolist(), found.end[lo:hi].tolist(), strict=True))
        text = texts[r]
        fragments = contamination.cut(
            text, spans, window=opts.window, min_fragment=opts.min_fragment, max_matches=opts.max_matches
        )
        if not fragments:
            reasons[r] = reason
        else:
            new_texts[r] = FRAGMENT_SEPARATOR.join(fragments)
            counters[f"{CONTAMINATED}.cut_records"] = counters.get(f"{CONTAMINATED}.cut_records", 0.0) + 1
            removed = len(text) - sum(len(f) for f in fragments)
            counters[f"{CONTAMINATED}.cut_chars"] = counters.get(f"{CONTAMINATED}.cut_chars", 0.0) + removed
    if opts.action == "cut" and not cutting:
        dropped = sum(1 for r in chosen if reasons[r] is not None and reasons[r] != REASON)
        counters[f"{CONTAMINATED}.cut_as_drop"] = float(dropped)
    if new_texts:
        column = batch[TEXT].to_list()
        for r, text in new_texts.items():
            column[r] = text
        batch = batch.with_columns(pl.Series(TEXT, column, dtype=pl.String))
    return partition(batch, reasons, counters)


def check(cfg: DecontaminateConfig) -> None:
    if cfg.eval is None and cfg.ngram_options is None:
        raise StageError(
            "decontaminate has nothing to check against: give it `eval` (or score the recipe on an eval "
            "set) or benchmark files in `against`"
        )
    if cfg.eval is not None:
        eval_fingerprints(cfg)
    ngram_index(cfg)


def inputs(cfg: DecontaminateConfig) -> list[str]:
    files = eval_files(cfg) if cfg.eval is not None else []
    for name, spec in cfg.benchmarks.items():
        try:
            found = benchmark_files(name, spec)
        except StageError:  # the preflight check reports it, with the stage's place in the recipe
            continue
        for path in found:
            if os.path.isdir(path):
                files += sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names)
            else:
                files.append(path)
    return files


def digest(counters: Mapping[str, float], cfg: DecontaminateConfig) -> dict[str, Any]:
    """The step's per-benchmark figures (``contamination`` in its stats): records hit, n-grams
    matched, items indexed, and the items found in the most records (top 5, text cut short). The
    per-item counters are folded into it."""
    opts = cfg.ngram_options
    if opts is None:
        return {}
    kept = {k: v for k, v in counters.items() if ".item." not in k}
    try:
        index = ngram_index(cfg)
    except Exception:  # the files went away after the run read them: figures without item texts
        index = None
    names = (
        list(index.names)
        if index is not None
        else [EVAL_NAME, *cfg.benchmarks]
        if cfg.eval
        else list(cfg.benchmarks)
    )
    out: dict[str, Any] = {}
    for b, name in enumerate(names):
        prefix = f"{CONTAMINATED}.{name}.item."
        items = sorted(
            ((int(k[len(prefix) :]), int(v)) for k, v in counters.items() if k.startswith(prefix)),
            key=lambda kv: (-kv[1], kv[0]),
        )
        top = []
        for item, count in items[:TOP_ITEMS]:
            entry: dict[str, Any] = {"item": item, "records": count}
            if index is not None:
                g = int(index.item_starts[b]) + item
                entry["origin"], entry["text"] = index.origins[g], index.previews[g]
            top.append(entry)
        out[name] = {
            "records": int(counters.get(f"{CONTAMINATED}.{name}.records", 0)),
            "ngrams_matched": int(counters.get(f"{CONTAMINATED}.{name}.ngrams", 0)),
            "items_found": len(items),
            "top_items": top,
        }
        if index is not None:
            out[name]["items"] = int(index.item_starts[b + 1] - index.item_starts[b])
            out[name]["ngrams_indexed"] = index.ngrams[b]
            out[name]["items_too_short"] = index.skipped[b]
    return {"counters": kept, "contamination": {"n": opts.n, "action": opts.action, "benchmarks": out}}


STAGE = BatchStage(
    name="decontaminate", config=DecontaminateConfig, apply=apply, check=check, inputs=inputs, digest=digest
)
