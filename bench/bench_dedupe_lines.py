"""Repeated-line removal (``dedupe: {lines: ...}``) on a corpus with injected boilerplate.

Usage: python bench/bench_dedupe_lines.py [/work/bench-corpora/corpus-dev] [--limit N] [--shard-rows N]

The corpus (../shared/bench/make_corpus.py) injects 0-2 header and 1-3 footer boilerplate lines
into some duplicate variants (truth.json: clusters -> variants -> ops.boilerplate). The truth lines
of a record are its first ``header`` and last ``footer`` non-blank lines; records whose lines were
merged by whitespace noise (fewer non-blank lines than header + footer + 1) are left out of the
truth and of the scores.

Prints, per configuration: records/s and MB/s of text per core (process CPU seconds of
summarize + fit + apply, one process), as a ratio to a raw baseline in the same run (split every
text into lines and xxh3 each line, nothing else); partial bytes per distinct line and state bytes
per repeated line; precision and recall of the removed lines against the injected ones, with the
false positives split into lines of records in a duplicate cluster (content the corpus repeats on
purpose: a correct removal that the boilerplate truth does not list) and of other records.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from curate.stages.base import ShardInfo
from curate.stages.dedupe import DedupeConfig, fit, summarize
from curate.stages.dedupe.lines import _removed_units, split_lines, units_of


def load(root: Path, limit: int | None) -> tuple[pl.DataFrame, dict[str, tuple[int, int]], set[str]]:
    frame = pl.read_ndjson(root / "corpus.jsonl", n_rows=limit).select("id", "source", "text", "dup_cluster")
    truth = json.loads((root / "truth.json").read_text())
    boiler = {}
    for cluster in truth["clusters"]:
        for variant in cluster["variants"]:
            ops = variant["ops"].get("boilerplate")
            if ops:
                boiler[variant["id"]] = (ops["header"], ops["footer"])
    clustered = set(frame.filter(pl.col("dup_cluster").is_not_null())["id"].to_list())
    return frame, boiler, clustered


def raw_baseline(texts: list[str]) -> float:
    """CPU seconds to split every text into lines and hash each line with xxh3."""
    digest = xxhash.xxh3_64_intdigest
    start = time.process_time()
    n = 0
    for text in texts:
        for line in text.split("\n"):
            n ^= digest(line.encode("utf-8"))
    return time.process_time() - start


def run(frame: pl.DataFrame, cfg: DedupeConfig, shard_rows: int) -> dict:
    shards = [
        (ShardInfo(i, "web", "text"), frame.slice(o, shard_rows).drop("dup_cluster"))
        for i, o in enumerate(range(0, frame.height, shard_rows))
    ]
    start = time.process_time()
    partials = [summarize(b, cfg, s) for s, b in shards]
    result = fit(partials, cfg)
    from curate.stages.dedupe import apply

    dropped = 0
    for s, b in shards:
        dropped += apply(b, cfg, result.state, s).dropped.height
    seconds = time.process_time() - start
    # which lines apply removes (the same functions apply uses), for precision/recall
    removed: dict[str, list[bool]] = {}
    repeated: dict[str, list[bool]] = {}
    hashes = result.state.units["lines"].hashes
    for s, b in shards:
        lines = split_lines(b["text"])
        units = units_of(lines, "lines", cfg.lines, cfg.normalize)
        gone = _removed_units(units, result.state.units["lines"], np.arange(b.height), s.index)
        ids = b["id"].to_list()
        nonblank = np.flatnonzero(~lines.blank)
        unit = units.line_unit[nonblank]
        flags = gone[unit]
        rep = units.keyed[unit] & np.isin(units.keys[unit], hashes)
        bounds = np.searchsorted(lines.record[nonblank], np.arange(b.height + 1))
        for r in range(b.height):
            lo, hi = bounds[r], bounds[r + 1]
            removed[ids[r]] = flags[lo:hi].tolist()
            repeated[ids[r]] = rep[lo:hi].tolist()
    return {
        "seconds": seconds,
        "stats": result.stats["lines"],
        "dropped": dropped,
        "removed": removed,
        "repeated": repeated,
    }


def score(
    removed: dict[str, list[bool]],
    repeated: dict[str, list[bool]],
    boiler: dict[str, tuple[int, int]],
    clustered: set[str],
) -> dict:
    """Precision/recall of removed lines; ``recall_of_repeated``: among injected lines whose key
    occurs at least min_repeats times (a unique injected line, e.g. a URL with a random path, cannot
    be found by any line dedupe)."""
    tp = fn = fp_cluster = fp_other = 0
    tp_rep = n_rep = 0
    skipped = 0
    for record, flags in removed.items():
        truth = np.zeros(len(flags), dtype=bool)
        if record in boiler:
            head, foot = boiler[record]
            if len(flags) < head + foot + 1:
                skipped += 1
                continue
            truth[:head] = True
            if foot:
                truth[len(flags) - foot :] = True
        got = np.array(flags, dtype=bool)
        rep = np.array(repeated[record], dtype=bool)
        tp_rep += int((got & truth & rep).sum())
        n_rep += int((truth & rep).sum())
        tp += int((got & truth).sum())
        fn += int((~got & truth).sum())
        fp = int((got & ~truth).sum())
        if record in clustered:
            fp_cluster += fp
        else:
            fp_other += fp
    removed_total = tp + fp_cluster + fp_other
    return {
        "injected_lines": tp + fn,
        "removed_lines": removed_total,
        "precision": round(tp / max(removed_total, 1), 4),
        "precision_outside_clusters": round(tp / max(tp + fp_other, 1), 4),
        "recall": round(tp / max(tp + fn, 1), 4),
        "injected_lines_repeated": n_rep,
        "recall_of_repeated": round(tp_rep / max(n_rep, 1), 4),
        "fp_in_duplicate_clusters": fp_cluster,
        "fp_elsewhere": fp_other,
        "records_skipped_lines_merged": skipped,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default="/work/bench-corpora/corpus-dev")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--shard-rows", type=int, default=2500)
    args = parser.parse_args()
    frame, boiler, clustered = load(Path(args.corpus), args.limit)
    texts = frame["text"].to_list()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"corpus: {frame.height} records, {mb:.1f} MB, {len(boiler)} with injected boilerplate")
    for remove, min_chars, digits in [
        ("all_but_first", 10, False),
        ("all", 10, False),
        ("all", 5, False),
        ("all", 5, True),
        ("all", 20, False),
    ]:
        base = raw_baseline(texts)
        cfg = DedupeConfig.model_validate(
            {
                "exact": False,
                "minhash": False,
                "normalize": {"digits": digits},
                "lines": {"remove": remove, "min_chars": min_chars},
            }
        )
        out = run(frame, cfg, args.shard_rows)
        st = out["stats"]
        print(
            json.dumps(
                {
                    "remove": remove,
                    "min_chars": min_chars,
                    "fold_digits": digits,
                    "cpu_seconds": round(out["seconds"], 2),
                    "raw_baseline_cpu_seconds": round(base, 2),
                    "slowdown_vs_raw": round(out["seconds"] / base, 2),
                    "records_per_cpu_s": round(frame.height / out["seconds"]),
                    "mb_per_cpu_s": round(mb / out["seconds"], 2),
                    "raw_mb_per_cpu_s": round(mb / base, 2),
                    "distinct_lines": st["distinct"],
                    "repeated_lines": st["repeated"],
                    "partial_bytes_per_distinct_line": st["partial_bytes_per_distinct"],
                    "state_bytes_per_repeated_line": st["state_bytes_per_repeated"],
                    "records_dropped": out["dropped"],
                    **score(out["removed"], out["repeated"], boiler, clustered),
                    "top5": [(t["count"], t["text"][:40]) for t in st["top"][:5]],
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
