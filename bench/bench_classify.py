"""Benchmark the classify stage and train-classifier against fastText itself, on the same texts.

    python bench/bench_classify.py --corpus /work/bench-data/corpus-dev/corpus.jsonl [--docs 6000]

The corpus is one built by ``shared/bench/make_corpus.py``; its records carry ``source`` (man
pages or fortunes), which serves as the label to learn: the figures are about speed, and the
held-out accuracy shows the model learnt something.

- **train**: ``curate.classifiers.train.train_classifier`` (read the JSONL, hold out 10%, write the
  training file, train, evaluate, save; ``balance`` off) against ``fasttext.train_supervised``
  alone on a file of as many examples, both with one thread and the same fastText options.
- **score**: ``classify.apply`` on batches of ``--chunk`` records (text view, prediction of each
  label's probability, columns, reasons, partition, histogram counters) against the raw binding on
  the same texts, already newline-free: ``predict(line, k=-1)`` per line (what the stage needs:
  every label's probability; fastText's ``multilinePredict`` repeats the top probability for
  k > 1) and ``multilinePredict(k=1)`` (top label only, the floor). Chunks alternate which method
  goes first, so load from other processes hits both alike; ratio = raw time / curate time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import fasttext
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.classifiers.model import model_line  # noqa: E402
from curate.classifiers.train import ClassifierOptions, label_examples, train_classifier  # noqa: E402
from curate.stages import classify  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=6000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    frame = pl.read_ndjson(args.corpus).head(args.docs).select("id", "source", "text")
    mb = frame["text"].str.len_bytes().sum() / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label in ("man", "fortune"):
            frame.filter(pl.col("source") == label).select("text").write_ndjson(root / f"{label}.jsonl")
        examples = label_examples([f"man={root}/man.jsonl", f"fortune={root}/fortune.jsonl"])
        start = time.perf_counter()
        options = ClassifierOptions(seed=0, balance=False)  # all examples, so both train on as many
        report = train_classifier(examples, root / "m.bin", options=options)
        ours_train = time.perf_counter() - start
        lines = [f"__label__{s} {model_line(t)}" for s, t in frame.select("source", "text").iter_rows()]
        (root / "train.txt").write_text("".join(lines[: sum(report.labels.values())]))
        start = time.perf_counter()
        fasttext.train_supervised(
            input=str(root / "train.txt"), epoch=5, lr=0.1, wordNgrams=2, dim=64, bucket=200_000,
            thread=1, seed=0, verbose=0,
        )  # fmt: skip
        raw_train = time.perf_counter() - start
        cfg = classify.ClassifyConfig(model=str(root / "m.bin"), name="kind", keep={"man": 0.5})
        model = classify.load_classifier(cfg.model)
        chunks = list(frame.iter_slices(args.chunk))
        times = {"curate": 0.0, "raw_all_labels": 0.0, "raw_top1": 0.0}
        for r in range(args.repeats):
            for i, chunk in enumerate(chunks):
                text_lines = [model_line(t) for t in chunk["text"].to_list()]
                order = ["curate", "raw_all_labels", "raw_top1"]
                if (i + r) % 2:
                    order.reverse()
                for method in order:
                    start = time.perf_counter()
                    if method == "curate":
                        classify.apply(chunk, cfg)
                    elif method == "raw_all_labels":
                        for line in text_lines:
                            model.binding.predict(line, -1, 0.0, "strict")
                    else:
                        model.binding.multilinePredict(text_lines, 1, 0.0, "strict")
                    times[method] += time.perf_counter() - start
    docs = frame.height * args.repeats
    result = {
        "docs": frame.height,
        "mb": round(mb, 2),
        "train": {
            "examples_per_label": report.labels,
            "held_out_accuracy": report.accuracy,
            "curate_s": round(ours_train, 2),
            "fasttext_s": round(raw_train, 2),
            "fasttext_over_curate": round(raw_train / ours_train, 3),
        },
        "score": {
            method: {
                "docs_per_s": round(docs / t),
                "mb_per_s": round(mb * args.repeats / t, 2),
                "raw_over_curate": round(t / times["curate"], 3),
            }
            for method, t in times.items()
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
