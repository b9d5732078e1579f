"""What logging a finished run to each tracker costs, against what the run itself took.

    python bench/bench_track.py RUN_DIR [--repeat 3]

RUN_DIR is any finished run (e.g. runs/quickstart after `curate run recipes/quickstart.yaml`).
Each repeat logs the run to a fresh local MLflow store and a fresh W&B offline directory (in a
temporary directory, removed afterwards) and prints the seconds per tracker, the number of
metric points logged, and the ratio to the run's own seconds (manifest.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from curate.track import TrackConfig, log_run, run_content
from curate.train.evalset import flat_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    manifest = json.loads((args.run_dir / "manifest.json").read_text())
    score_file = args.run_dir / "score.json"
    scores = flat_metrics(json.loads(score_file.read_text())) if score_file.exists() else {}
    content = run_content(args.run_dir, scores=scores)
    points = sum(len(m) for _, m in content.curves)
    print(
        f"run {content.name}: {manifest['seconds']:.1f} s; {len(content.params)} params, "
        f"{len(content.curves)} steps / {points} curve points, {len(content.scores)} scores, "
        f"{len(content.files)} files"
    )
    for name in ("mlflow", "wandb"):
        times = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                config = TrackConfig.model_validate(
                    {"mlflow": {"uri": f"{tmp}/mlruns"}} if name == "mlflow" else {"wandb": {"dir": tmp}}
                )
                warned: list[str] = []
                started = time.perf_counter()
                log_run(args.run_dir, config, scores=scores, warn=warned.append)
                times.append(time.perf_counter() - started)
                assert not warned, warned
        median = statistics.median(times)
        print(
            f"{name}: median {median:.2f} s of {args.repeat} (first {times[0]:.2f} s, imports included); "
            f"{median / manifest['seconds']:.2%} of the run"
        )


if __name__ == "__main__":
    main()
