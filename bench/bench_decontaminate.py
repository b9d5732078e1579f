"""Benchmark decontamination: curate's n-gram scan against lm-evaluation-harness's ``Janitor``.

On one corpus and one set of benchmark items (spans of 20-60 words cut from some of the corpus's
documents, so contamination is real, plus spans of held-out documents that are not in it, and
copies planted into other documents with changed case and whitespace), this script

1. runs the real ``lm_eval.decontamination.janitor.Janitor`` (python mode: lm-eval ships no build
   of its C++ helper) in the bench venv, in a subprocess: ``register_contaminant`` on every item,
   then ``clean`` on every text (timed), and per text the matched n-grams and the fragments;
2. runs curate's ``decontaminate`` stage on the same texts as one polars batch per shard-sized
   slice, with ``normalize: janitor`` and with the default ``normalize: unicode`` (CPU time of
   one process, POLARS_MAX_THREADS=1, best of --repeats), and ``contamination.cut`` on the matched spans;
3. compares, text by text: contaminated or not, and the fragments ``cut`` leaves against
   ``Janitor.clean``'s (curate applies cut to contaminated records only and keeps clean records
   whole; the comparison calls ``cut`` on every text, so that the Janitor's rule for clean texts
   of 200 characters or fewer is compared too).

Usage (lm-eval in its own venv, never the shared one)::

    python3 -m venv /tmp/lmeval-venv && /tmp/lmeval-venv/bin/pip install -c /tmp/constraints.txt lm-eval
    POLARS_MAX_THREADS=1 python bench/bench_decontaminate.py --corpus corpus/corpus.jsonl \\
        --janitor-python /tmp/lmeval-venv/bin/python

Without ``--corpus`` the texts of ``sample_data/web`` are used (repeated ``--repeat`` times).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.records import BASE_SCHEMA  # noqa: E402
from curate.stages import contamination  # noqa: E402
from curate.stages.decontaminate import DecontaminateConfig, apply, ngram_index  # noqa: E402

JANITOR_SCRIPT = r"""
import contextlib, hashlib, io, json, sys, time
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from lm_eval.decontamination import janitor as J
import lm_eval
items, texts, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
jan = J.Janitor()  # ngram_n=13, window_to_remove=200, too_dirty_cutoff=10, minimum_slice_length=200
sink = io.StringIO()
with contextlib.redirect_stdout(sink):  # python mode prints a warning on every call
    t0 = time.process_time()
    for item in items:
        jan.register_contaminant(item)
    t_register = time.process_time() - t0
    t_clean = float("inf")
    for _ in range(int(sys.argv[4])):  # best of N: CPU time of this process, one core
        t0 = time.process_time()
        cleaned = [jan.clean(t) for t in texts]
        t_clean = min(t_clean, time.process_time() - t0)
matched = [
    sum(1 for ng, _ in J.word_ngrams_indices(t, jan.ngram_n) if jan.normalize_string(ng) in jan.dirt_ngrams)
    for t in texts
]
digests = [hashlib.sha1(json.dumps(c).encode()).hexdigest() for c in cleaned]
json.dump({"version": lm_eval.__version__, "cpp": J.JANITOR_CPP, "register_s": t_register, "clean_s": t_clean,
           "ngrams": len(jan.dirt_ngrams), "matched": matched, "fragments": digests}, open(out, "w"))
"""


def load_texts(corpus: str | None, repeat: int, limit: int | None) -> list[str]:
    files = [corpus] if corpus else sorted(glob.glob(str(ROOT / "sample_data/web/*.jsonl")))
    texts = []
    for name in files:
        with open(name, "rb") as f:
            for line in f:
                try:
                    text = orjson.loads(line).get("text")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if isinstance(text, str) and text.strip():
                    texts.append(text)
    texts = texts * repeat
    return texts[:limit] if limit else texts


def make_items(texts: list[str], *, seed: int, n_items: int) -> tuple[list[str], list[str]]:
    """(benchmark items, training texts): items cut from documents, a third of them from documents
    held out of the training texts, and some planted into other documents with changes."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    held_out = set(order[: n_items // 3])
    items: list[str] = []
    for i in order[:n_items]:
        words = texts[i].split()
        if len(words) < 25:
            continue
        size = rng.randint(20, min(60, len(words)))
        at = rng.randint(0, len(words) - size)
        items.append(" ".join(words[at : at + size]))
    train = [t for i, t in enumerate(texts) if i not in held_out]
    for k, item in enumerate(items[: len(items) // 4]):  # plant some, shouted and re-spaced
        j = rng.randrange(len(train))
        changed = item.upper() if k % 2 else "\n  ".join(item.split())
        cut = rng.randint(0, len(train[j]))
        train[j] = train[j][:cut] + " " + changed + " " + train[j][cut:]
    return items, train


def frame(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {"id": [str(i) for i in range(n)], "source": ["web"] * n, "text": texts, "meta": [None] * n},
        schema=BASE_SCHEMA["text"],
    )


def run_curate(
    texts: list[str], cfg: DecontaminateConfig, shard_records: int, repeats: int
) -> tuple[float, int]:
    """CPU seconds (best of ``repeats``) to run the stage over ``texts`` in shard-sized batches
    (index already built), and the records it dropped."""
    batches = [frame(texts[i : i + shard_records]) for i in range(0, len(texts), shard_records)]
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        dropped = sum(apply(b, cfg).dropped.height for b in batches)
        best = min(best, time.process_time() - started)
    return best, dropped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", help="JSONL with a text field (default: sample_data/web)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--items", type=int, default=600, help="benchmark items to cut from the corpus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-records", type=int, default=5000)
    ap.add_argument("--janitor-python", default="/tmp/lmeval-venv/bin/python")
    ap.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    texts = load_texts(args.corpus, args.repeat, args.limit)
    items, train = make_items(texts, seed=args.seed, n_items=args.items)
    mb = sum(len(t.encode()) for t in train) / 1e6
    print(f"{len(train):,} texts, {mb:.1f} MB; {len(items)} benchmark items", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        bench_file = Path(tmp) / "bench.jsonl"
        bench_file.write_bytes(b"".join(orjson.dumps({"text": t}) + b"\n" for t in items))
        (Path(tmp) / "items.json").write_text(json.dumps(items))
        (Path(tmp) / "texts.json").write_text(json.dumps(train))
        out = Path(tmp) / "janitor.json"
        subprocess.run(
            [
                args.janitor_python,
                "-c",
                JANITOR_SCRIPT,
                f"{tmp}/items.json",
                f"{tmp}/texts.json",
                str(out),
                str(args.repeats),
            ],
            check=True,
        )
        jan = json.loads(out.read_text())

        results = {}
        for mode in ("janitor", "unicode"):
            cfg = DecontaminateConfig(against={"bench": str(bench_file)}, ngram={"normalize": mode})
            started = time.process_time()
            index = ngram_index(cfg)
            build_s = time.process_time() - started
            apply(frame(train[: args.shard_records]), cfg)  # warm up: code point tables, power tables
            seconds, dropped = run_curate(train, cfg, args.shard_records, args.repeats)
            found = contamination.scan(train, index)
            spans: dict[int, list[tuple[int, int]]] = {}
            for r, s, e in zip(found.record.tolist(), found.start.tolist(), found.end.tolist(), strict=True):
                spans.setdefault(r, []).append((s, e))
            matched = [len(spans.get(i, ())) for i in range(len(train))]
            fragments = [
                hashlib.sha1(json.dumps(contamination.cut(t, spans.get(i, []))).encode()).hexdigest()
                for i, t in enumerate(train)
            ]
            results[mode] = {
                "index_build_s": build_s,
                "index_ngrams": index.size,
                "index_bytes_per_ngram": index.nbytes / max(1, index.size),
                "seconds": seconds,
                "records_per_s": len(train) / seconds,
                "mb_per_s": mb / seconds,
                "contaminated": sum(1 for m in matched if m),
                "dropped": dropped,
                "same_contaminated": sum(
                    (a > 0) == (b > 0) for a, b in zip(matched, jan["matched"], strict=True)
                ),
                "same_matched_ngrams": sum(a == b for a, b in zip(matched, jan["matched"], strict=True)),
                "same_fragments": sum(a == b for a, b in zip(fragments, jan["fragments"], strict=True)),
            }

    janitor = {
        "version": jan["version"],
        "cpp": jan["cpp"],
        "ngrams": jan["ngrams"],
        "seconds": jan["clean_s"],
        "records_per_s": len(train) / jan["clean_s"],
        "mb_per_s": mb / jan["clean_s"],
        "contaminated": sum(1 for m in jan["matched"] if m),
    }
    n = len(train)
    print(
        f"\nlm-eval {janitor['version']} Janitor (python mode, C++ helper: {janitor['cpp']}), 1 core: "
        f"{janitor['records_per_s']:,.0f} records/s, {janitor['mb_per_s']:.2f} MB/s; "
        f"{janitor['contaminated']:,} texts contaminated, {janitor['ngrams']:,} n-grams registered"
    )
    print(
        "\n| normalize | records/s | MB/s | x Janitor | contaminated | same decision | same matched n-grams | same cut fragments | index bytes/n-gram |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        print(
            f"| {mode} | {r['records_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['mb_per_s'] / janitor['mb_per_s']:.1f} | "
            f"{r['contaminated']:,} | {r['same_contaminated']:,}/{n:,} | {r['same_matched_ngrams']:,}/{n:,} | "
            f"{r['same_fragments']:,}/{n:,} | {r['index_bytes_per_ngram']:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"texts": n, "mb": mb, "janitor": janitor, "curate": results}, indent=2)
        )
    exact = results["janitor"]
    if not (exact["same_contaminated"] == exact["same_fragments"] == exact["same_matched_ngrams"] == n):
        sys.exit("normalize: janitor differs from lm-eval's Janitor on some texts")


if __name__ == "__main__":
    main()
