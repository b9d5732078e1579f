"""How much of an eval set's sampling error is left in a comparison of two sweep variants?

For every pair of variants of a finished sweep (its runs scored with per-document files,
``RUN_DIR/eval_docs/``; `curate score RUN_DIR` adds them to older runs), prints the paired
difference in a bits-per-byte metric over seeds, the seed-only half-width, the eval set's error of
the *difference* (a bootstrap of the seed-averaged per-document difference over the same
documents), the eval set's absolute error (``bpb_ci95`` of score.json, mean over the two
variants' runs), and the combined half-width ``sqrt(seed^2 + eval^2)`` the verdict uses.

    python bench/paired_eval_error.py SWEEP_DIR [--metric avg.bpb]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from curate.io.writers import read_json
from curate.report.compare import compare, load_eval_docs
from curate.report.sweep import higher_is_better
from curate.train.evalset import eval_noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--metric", default=None, help="a bpb metric of the runs (default: the sweep's)")
    args = parser.parse_args()
    summary = read_json(args.sweep_dir / "sweep.json")
    metric = args.metric or summary["metric"]
    rows = [r for r in summary["runs"] if r.get("status") != "failed"]
    for row in rows:  # the absolute eval-set error, from each run's score.json (older sweeps lack it)
        score = read_json(Path(row["run_dir"]) / "score.json")
        row["eval"] = {"noise": eval_noise(score), "tokens": (score.get("eval") or {}).get("tokens")}
    docs = load_eval_docs(rows)
    variants = list(dict.fromkeys(str(r["variant"]) for r in rows))
    print(f"metric {metric}; {len(rows)} runs")
    print(
        "variant - reference | diff | seeds | seed ± | eval ± of diff (paired) | eval-set ± (absolute) | combined ± | verdict"
    )
    for a, b in itertools.combinations(variants, 2):
        c = compare(rows, a, b, metric=metric, higher_is_better=higher_is_better(metric), eval_docs=docs)
        d = c.difference

        def f(x: float | None) -> str:
            return "–" if x is None else f"{x:.4f}"

        half = None if d.low is None or d.high is None else (d.high - d.low) / 2
        print(
            f"{a} - {b} | {d.mean:+.4f} | {d.n} | {f(d.seed_half_width)} | {f(c.eval_error)} | "
            f"{f(c.eval_noise)} | {f(half)} | {c.verdict}"
        )
        if c.eval_fallback:
            print(f"  ({c.eval_fallback})")


if __name__ == "__main__":
    main()
