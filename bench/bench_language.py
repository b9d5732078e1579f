"""Benchmark the language stage against fastText's own batch prediction, on the same texts, in one run.

    python bench/bench_language.py --corpus /work/bench-data/corpus-lang [--out bench/_work/language]

The corpus is one built by ``shared/bench/make_corpus.py`` (``corpus.jsonl`` with gold ``lang``).
Two methods are compared, in this process, with the model already loaded:

- ``raw``: fastText's binding ``multilinePredict(lines, k=1)`` in one call, the texts already
  newline-free and ending in ``\\n`` (what fastText's own ``predict`` would be given; built before
  the clock starts, fresh for every call). The floor: the C++ prediction and nothing else.
- ``curate``: ``curate.stages.language.apply`` on a batch of text records (``keep`` = the corpus'
  nine languages, ``min_score`` 0.65): text view, newline handling, prediction, reasons, partition
  and counters all included.

**Headline ratio (interleaved).** Other jobs share this machine's cores, and run times drift by
tens of percent within minutes. So the corpus is cut into chunks of ``--chunk`` records and each
chunk is given to raw and to curate back to back (alternating which goes first), ``--repeats``
passes over the corpus. Both see the same load; the ratio is total raw time / total curate time
(1.0 = curate as fast as the bare library), with the median of the per-chunk ratios beside it.

**Whole corpus, round robin** (``--whole-repeats`` rounds, each method once per round; medians,
and the median over rounds of raw time / method time): raw in one call, curate as one batch,
curate in batches of ``--batch-size`` (as the pipe loop gives it shards), curate end to end (read
the JSONL with polars + the stage), and ``max_chars`` prefixes (the speed/accuracy trade-off).
Each of these takes tens of seconds, so load swings weigh more on them than on the interleaved
pairs. Accuracy against the gold labels comes from ``shared/bench/score_langid.py``.

**datatrove** (when ``$BENCH_HOME/SETUP_DONE`` exists, or ``--peers yes``): datatrove's
``LanguageFilter`` peer script, in its own process and venv, end to end (it reads and writes
JSONL, and loads the model): compare it with ``curate e2e``.

Writes ``result.json``, ``summary.md`` and the prediction TSVs under ``--out`` (outside the repo,
or under the ignored ``bench/_work/``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.stages.language import LanguageConfig, apply, load_model  # noqa: E402

KEEP = ("en", "de", "es", "fr", "it", "pl", "ru", "zh", "ja")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path, help="corpus directory or its corpus.jsonl")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "_work" / "language")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved passes over the corpus")
    ap.add_argument("--chunk", type=int, default=500, help="records per interleaved raw/curate pair")
    ap.add_argument("--whole-repeats", type=int, default=3, help="round-robin rounds over the whole corpus")
    ap.add_argument(
        "--batch-size", type=int, default=2000, help="records per batch for the batched curate run"
    )
    ap.add_argument(
        "--max-chars", default="500,2000", help="comma-separated prefix lengths to also measure ('' for none)"
    )
    ap.add_argument(
        "--scorer", type=Path, default=None, help="score_langid.py (default: found under ../shared/bench)"
    )
    ap.add_argument("--peers", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument(
        "--bench-home", type=Path, default=Path(os.environ.get("BENCH_HOME", "/work/bench-peers"))
    )
    return ap.parse_args()


def find_shared_bench(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit.parent
    for folder in (REPO.parent / "shared" / "bench", REPO.parent.parent / "shared" / "bench"):
        if (folder / "score_langid.py").is_file():
            return folder
    raise SystemExit("score_langid.py not found: pass --scorer PATH")


def load_corpus(path: Path) -> pl.DataFrame:
    """The corpus as a batch of text records (id, source, text, meta), as the readers would give it."""
    frame = pl.read_ndjson(path, schema_overrides={"id": pl.String, "text": pl.String, "source": pl.String})
    return frame.select("id", "source", "text", pl.lit("{}").alias("meta"))


def raw_lines(texts: list[str]) -> list[str]:
    """The bare library's input: newline-free text plus the end-of-line fastText's predict appends."""
    return [text.replace("\n", " ") + "\n" for text in texts]


def raw_predict(lines: list[str]) -> tuple[list[list[str]], list[Any]]:
    return load_model().binding.multilinePredict(lines, 1, 0.0, "strict")


def curate_in_batches(batch: pl.DataFrame, cfg: LanguageConfig, size: int) -> pl.DataFrame:
    """The stage over ``batch`` in slices; returns every record's prediction (kept and dropped)."""
    parts = []
    for start in range(0, batch.height, size):
        result = apply(batch.slice(start, size), cfg)
        parts += [
            result.kept.select("id", "lang", "lang_score"),
            result.dropped.select("id", "lang", "lang_score"),
        ]
    return pl.concat(parts)


def timed(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of the process incl. polars threads, result) of ``work()``."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = work()
    return time.perf_counter() - wall0, time.process_time() - cpu0, out


def speed(n_records: int, n_bytes: int, wall: float) -> dict[str, float]:
    return {
        "s": round(wall, 3),
        "records_per_s": round(n_records / wall, 1),
        "mb_per_s": round(n_bytes / 1e6 / wall, 3),
    }


def interleaved(batch: pl.DataFrame, cfg: LanguageConfig, *, chunk: int, repeats: int) -> dict[str, Any]:
    """Raw and curate on the same chunks back to back, alternating order; totals and ratios."""
    totals = {"raw": [0.0, 0.0], "curate": [0.0, 0.0]}
    ratios: list[float] = []
    pair = 0
    for repeat in range(repeats):
        for start in range(0, batch.height, chunk):
            part = batch.slice(start, chunk)
            lines = raw_lines(part["text"].to_list())
            runs = {
                "raw": lambda lines=lines: raw_predict(lines),
                "curate": lambda part=part: apply(part, cfg),
            }
            order = ["raw", "curate"] if pair % 2 == 0 else ["curate", "raw"]
            walls = {}
            for name in order:
                wall, cpu, _ = timed(runs[name])
                totals[name][0] += wall
                totals[name][1] += cpu
                walls[name] = wall
            ratios.append(walls["raw"] / walls["curate"])
            pair += 1
        print(
            f"interleaved pass {repeat + 1}/{repeats}: raw {totals['raw'][0]:.1f}s, curate {totals['curate'][0]:.1f}s",
            file=sys.stderr,
        )
    n, n_bytes = batch.height * repeats, int(batch["text"].str.len_bytes().sum()) * repeats
    return {
        "chunk": chunk,
        "repeats": repeats,
        "pairs": pair,
        "raw": speed(n, n_bytes, totals["raw"][0]) | {"cpu_s": round(totals["raw"][1], 3)},
        "curate": speed(n, n_bytes, totals["curate"][0]) | {"cpu_s": round(totals["curate"][1], 3)},
        "speed_vs_raw": round(totals["raw"][0] / totals["curate"][0], 3),
        "cpu_speed_vs_raw": round(totals["raw"][1] / totals["curate"][1], 3),
        "median_pair_ratio": round(statistics.median(ratios), 3),
    }


def write_predictions(path: Path, predictions: pl.DataFrame) -> None:
    predictions.with_columns(pl.col("lang").fill_null("none"), pl.col("lang_score").fill_null(0.0)).write_csv(
        path, separator="\t", include_header=False, float_precision=4
    )


def score(scorer: Path, corpus: Path, predictions: Path) -> dict[str, Any]:
    report = predictions.with_suffix(".score.json")
    subprocess.run(
        [
            sys.executable,
            str(scorer),
            "--corpus",
            str(corpus),
            "--pred",
            str(predictions),
            "--json",
            str(report),
        ],
        check=True,
        capture_output=True,
    )
    figures = json.loads(report.read_text())
    return {key: figures[key] for key in ("n_eval", "accuracy", "macro_accuracy", "per_lang")}


def run_datatrove(shared: Path, corpus: Path, out: Path, bench_home: Path) -> tuple[float, float, Path]:
    """datatrove's LanguageFilter peer, end to end in its own venv: (wall s, CPU s, predictions)."""
    python = bench_home / ".venv-peers" / "bin" / "python"
    env = os.environ | {
        "BENCH_HOME": str(bench_home),
        "HF_ASSETS_CACHE": str(bench_home / "data" / "hf_assets"),
    }
    result, preds = out / "datatrove.result.json", out / "preds-datatrove.tsv"
    command = [str(python), str(shared / "peers" / "datatrove_langid.py"), "--corpus", str(corpus)]
    command += ["--work", str(out / "datatrove-work"), "--out", str(preds), "--result", str(result)]
    subprocess.run(command, check=True, env=env, capture_output=True)
    peer = json.loads(result.read_text())
    return peer["wall_s"], peer["cpu_s"], preds


RAW, DATATROVE = "raw (one call)", "datatrove LanguageFilter (e2e, own process)"


def raw_frame(ids: pl.Series, labels: list[list[str]], probs: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ids,
            "lang": [found[0].removeprefix("__label__") if found else None for found in labels],
            "lang_score": [float(p[0]) if len(p) else 0.0 for p in probs],
        }
    )


def whole_corpus(
    batch: pl.DataFrame, corpus: Path, args: argparse.Namespace, *, shared: Path, peers: bool
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, pl.DataFrame | Path]]:
    """Every method on the whole corpus, round robin ``--whole-repeats`` times.

    Returns each method's (wall, CPU) per round, and the predictions of the methods that are scored.
    """
    cfg = LanguageConfig(keep=KEEP)
    n = batch.height
    methods: dict[str, Callable[[], Any]] = {
        "curate (one batch)": lambda: curate_in_batches(batch, cfg, n),
        f"curate (batches of {args.batch_size})": lambda: curate_in_batches(batch, cfg, args.batch_size),
        "curate e2e (read JSONL + stage)": lambda: curate_in_batches(load_corpus(corpus), cfg, n),
    }
    for chars in [int(c) for c in args.max_chars.split(",") if c]:
        prefix = LanguageConfig(keep=KEEP, max_chars=chars)
        methods[f"curate max_chars={chars}"] = lambda prefix=prefix: curate_in_batches(batch, prefix, n)
    scored = ["curate (one batch)", *[name for name in methods if "max_chars" in name]]

    times: dict[str, list[tuple[float, float]]] = {RAW: [], **{name: [] for name in methods}}
    predictions: dict[str, pl.DataFrame | Path] = {}
    for round_ in range(args.whole_repeats):
        lines = raw_lines(batch["text"].to_list())
        wall, cpu, (labels, probs) = timed(lambda lines=lines: raw_predict(lines))
        times[RAW].append((wall, cpu))
        predictions[RAW] = raw_frame(batch["id"], labels, probs)
        for name, work in methods.items():
            wall, cpu, out = timed(work)
            times[name].append((wall, cpu))
            if name in scored:
                predictions[name] = out
        if peers:
            wall, cpu, preds = run_datatrove(shared, corpus, args.out, args.bench_home)
            times.setdefault(DATATROVE, []).append((wall, cpu))
            predictions[DATATROVE] = preds
        done = ", ".join(f"{name} {runs[-1][0]:.1f}s" for name, runs in times.items())
        print(f"whole corpus round {round_ + 1}/{args.whole_repeats}: {done}", file=sys.stderr)
    return times, predictions


def paired(times: dict[str, list[tuple[float, float]]], name: str, base: str, index: int) -> float:
    """How many times faster ``name`` is than ``base``: the median over rounds of base time / name time.

    ``index`` 0 compares wall seconds, 1 CPU seconds.
    """
    return round(
        statistics.median(b[index] / own[index] for b, own in zip(times[base], times[name], strict=True)), 3
    )


def main() -> None:
    args = parse_args()
    corpus = args.corpus / "corpus.jsonl" if args.corpus.is_dir() else args.corpus
    shared = find_shared_bench(args.scorer)
    scorer = args.scorer or shared / "score_langid.py"
    args.out.mkdir(parents=True, exist_ok=True)
    peers = args.peers == "yes" or (args.peers == "auto" and (args.bench_home / "SETUP_DONE").exists())

    batch = load_corpus(corpus)
    n, n_bytes = batch.height, int(batch["text"].str.len_bytes().sum())
    raw_predict(raw_lines(batch["text"].head(50).to_list()))  # load the model, warm caches
    load_avg_before = os.getloadavg()

    headline = interleaved(batch, LanguageConfig(keep=KEEP), chunk=args.chunk, repeats=args.repeats)
    times, predictions = whole_corpus(batch, corpus, args, shared=shared, peers=peers)

    results: dict[str, Any] = {}
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        figures = speed(n, n_bytes, wall) | {
            "cpu_s": round(statistics.median(c for _, c in runs), 3),
            "speed_vs_raw": paired(times, name, RAW, 0),
            "cpu_speed_vs_raw": paired(times, name, RAW, 1),
        }
        if name == DATATROVE:
            e2e = "curate e2e (read JSONL + stage)"
            figures["curate_e2e_speed_vs_it"] = paired(times, e2e, DATATROVE, 0)
            figures["curate_e2e_cpu_speed_vs_it"] = paired(times, e2e, DATATROVE, 1)
        pred = predictions.get(name)
        if isinstance(pred, pl.DataFrame):
            path = args.out / f"preds-{name.split(' (')[0].replace(' ', '-').replace('=', '')}.tsv"
            write_predictions(path, pred)
            pred = path
        if pred is not None:
            figures["accuracy"] = score(scorer, corpus, pred)
        figures["rounds_wall_cpu_s"] = [[round(w, 3), round(c, 3)] for w, c in runs]
        results[name] = figures
    raw_pred, curate_pred = predictions[RAW], predictions["curate (one batch)"]
    assert isinstance(raw_pred, pl.DataFrame) and isinstance(curate_pred, pl.DataFrame)
    joined = raw_pred.join(curate_pred, on="id", suffix="_curate")
    agreement = float((joined["lang"] == joined["lang_curate"]).mean())

    summary = {
        "corpus": str(corpus),
        "n_records": n,
        "text_mb": round(n_bytes / 1e6, 2),
        "keep": list(KEEP),
        "min_score": 0.65,
        "curate_vs_raw_label_agreement": agreement,
        "interleaved": headline,
        "whole_corpus_rounds": args.whole_repeats,
        "whole_corpus": results,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_before": load_avg_before,
            "load_avg_after": os.getloadavg(),
        },
    }
    (args.out / "result.json").write_text(json.dumps(summary, indent=1))
    table = markdown(summary)
    (args.out / "summary.md").write_text(table)
    print(table)


def markdown(summary: dict[str, Any]) -> str:
    head = summary["interleaved"]
    lines = [
        f"Language ID, {summary['n_records']} records ({summary['text_mb']} MB of text), keep = "
        f"{len(summary['keep'])} languages, min_score {summary['min_score']}; load average "
        f"{summary['machine']['load_avg_before'][0]:.1f} on {summary['machine']['cpus']} CPUs.",
        "",
        f"Interleaved ({head['repeats']} passes, {head['pairs']} raw/curate pairs of {head['chunk']} records): "
        f"raw {head['raw']['records_per_s']:.0f} rec/s ({head['raw']['mb_per_s']:.2f} MB/s), curate "
        f"{head['curate']['records_per_s']:.0f} rec/s ({head['curate']['mb_per_s']:.2f} MB/s): curate/raw speed "
        f"{head['speed_vs_raw']:.3f} (wall), {head['cpu_speed_vs_raw']:.3f} (CPU), median pair "
        f"{head['median_pair_ratio']:.3f}. curate and raw agree on "
        f"{summary['curate_vs_raw_label_agreement']:.2%} of labels.",
        "",
        f"Whole corpus, {summary['whole_corpus_rounds']} round-robin rounds (medians; speed vs raw = median "
        "over rounds of raw time / method time, wall and CPU):",
        "",
        "| method | s | CPU s | records/s | MB/s | speed vs raw (wall / CPU) | accuracy | macro acc. |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, fig in summary["whole_corpus"].items():
        acc = fig.get("accuracy")
        accuracy = f"{acc['accuracy']:.4f} | {acc['macro_accuracy']:.4f}" if acc else "- | -"
        lines.append(
            f"| {name} | {fig['s']:.2f} | {fig['cpu_s']:.2f} | {fig['records_per_s']:.0f} | {fig['mb_per_s']:.2f} "
            f"| {fig['speed_vs_raw']:.3f} / {fig['cpu_speed_vs_raw']:.3f} | {accuracy} |"
        )
        if "curate_e2e_speed_vs_it" in fig:
            lines.append(
                f"\ncurate e2e vs datatrove: {fig['curate_e2e_speed_vs_it']:.2f}x (wall), "
                f"{fig['curate_e2e_cpu_speed_vs_it']:.2f}x (CPU)."
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
