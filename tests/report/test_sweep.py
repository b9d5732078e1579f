"""The sweep report on a synthetic leaderboard: aggregation, ranking, plots, links, escaping."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from curate.errors import UsageError
from curate.report.html import esc
from curate.report.sweep import leaderboard, summarize_metric, write_sweep_report

# t(0.975, df) for the hand computations below
T975 = {1: 12.706204736, 2: 4.302652730}

ROWS = [
    # web-heavy: bpb 1.0, 1.2, 1.1 -> mean 1.1, sd 0.1
    {
        "variant": "web-heavy",
        "seed": 0,
        "weights": {"web": 0.9, "chat": 0.1},
        "metrics": {"bpb": 1.0, "ppl": 9.0},
    },
    {
        "variant": "web-heavy",
        "seed": 1,
        "weights": {"web": 0.9, "chat": 0.1},
        "metrics": {"bpb": 1.2, "ppl": 11.0},
    },
    {
        "variant": "web-heavy",
        "seed": 2,
        "weights": {"web": 0.9, "chat": 0.1},
        "metrics": {"bpb": 1.1, "ppl": 10.0},
    },
    # balanced: bpb 0.9, 1.0 -> mean 0.95, sd 0.0707
    {
        "variant": "balanced",
        "seed": 0,
        "weights": {"web": 0.5, "chat": 0.5},
        "metrics": {"bpb": 0.9, "ppl": 8.0},
    },
    {
        "variant": "balanced",
        "seed": 1,
        "weights": {"web": 0.5, "chat": 0.5},
        "metrics": {"bpb": 1.0, "ppl": 8.5},
    },
    # one seed: no interval
    {
        "variant": "chat-heavy",
        "seed": 0,
        "weights": {"web": 0.2, "chat": 0.8},
        "metrics": {"bpb": 1.4, "ppl": 14.0},
    },
]


def test_mean_and_95_ci_by_hand():
    m = summarize_metric([1.0, 1.2, 1.1])
    assert m.mean == pytest.approx(1.1) and m.std == pytest.approx(0.1)
    assert m.ci95 == pytest.approx(T975[2] * 0.1 / math.sqrt(3))
    two = summarize_metric([0.9, 1.0])
    assert two.ci95 == pytest.approx(T975[1] * math.sqrt(0.005) / math.sqrt(2))
    one = summarize_metric([1.4])
    assert one.ci95 is None and one.std is None and one.n == 1


def test_leaderboard_ranks_lower_bits_per_byte_first():
    board = leaderboard(ROWS)
    assert [s.variant for s in board] == ["balanced", "web-heavy", "chat-heavy"]
    assert board[0].metrics["bpb"].mean == pytest.approx(0.95) and board[0].seeds == (0, 1)
    assert board[1].weights == {"web": 0.9, "chat": 0.1}
    flat = board[1].flat()
    assert flat["variant"] == "web-heavy" and flat["n_seeds"] == 3 and flat["weight.web"] == 0.9
    assert flat["bpb_mean"] == pytest.approx(1.1) and flat["bpb_ci95"] == pytest.approx(
        T975[2] * 0.1 / math.sqrt(3)
    )


def test_leaderboard_ranks_accuracy_highest_first_and_accepts_flat_rows():
    rows = [
        {"variant": "a", "seed": 0, "pref_accuracy": 0.6},
        {"variant": "b", "seed": 0, "pref_accuracy": 0.8},
        {"variant": "c", "seed": 0, "other": 1.0},  # lacks the metric: last
    ]
    assert [s.variant for s in leaderboard(rows)] == ["b", "a", "c"]
    assert [s.variant for s in leaderboard(rows, sort_by="pref_accuracy", higher_is_better=False)] == [
        "a",
        "b",
        "c",
    ]
    with pytest.raises(UsageError, match="variant"):
        leaderboard([{"seed": 0, "bpb": 1.0}])


def write_run(directory: Path, losses: list[float], *, with_report: bool = True) -> Path:
    (directory / "train").mkdir(parents=True)
    lines = [
        {"kind": "train", "step": 10 * (i + 1), "loss": loss, "lr": 1e-3} for i, loss in enumerate(losses)
    ]
    lines.append({"kind": "eval", "step": 10 * len(losses), "nll": losses[-1] + 0.1, "ppl": 9.0, "bpb": 1.0})
    (directory / "train" / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    if with_report:
        (directory / "report.html").write_text("<!DOCTYPE html><title>run</title>")
    return directory


def test_sweep_report_has_leaderboard_plots_and_curves(tmp_path):
    sweep = tmp_path / "sweep"
    dirs = [
        write_run(sweep / "runs" / f"{r['variant']}-s{r['seed']}", [3.0, 2.5, 2.0 + 0.1 * i])
        for i, r in enumerate(ROWS)
    ]
    path = write_sweep_report(
        sweep, ROWS, run_dirs=dirs, extra={"predicted best": "web 0.55, chat 0.45"}, plots_dir=sweep / "plots"
    )
    assert path == sweep / "report.html"
    page = path.read_text()
    for anchor in ("overview", "leaderboard", "runs", "weights", "curves"):
        assert f'<section id="{anchor}">' in page, anchor
    assert "not-shown" not in page
    # leaderboard rows in rank order with mean ± CI
    order = [
        m.start() for m in (re.search(f"<td>{v}</td>", page) for v in ("balanced", "web-heavy", "chat-heavy"))
    ]
    assert order == sorted(order)
    assert f"1.1 ± {T975[2] * 0.1 / math.sqrt(3):.2g}" in page
    assert "predicted best" in page and "web 0.55, chat 0.45" in page
    # links to every run's own report, relative to the page
    assert 'href="runs/balanced-s0/report.html"' in page
    images = re.findall(r'src="data:image/png;base64,', page)
    assert len(images) == 4  # bpb vs weights, ppl vs weights, train loss curves, eval NLL curves
    assert "<script" not in page.lower()
    pngs = sorted(p.name for p in (sweep / "plots").iterdir())
    assert pngs == ["bpb_vs_weights.png", "eval_nll.png", "ppl_vs_weights.png", "train_loss.png"]
    assert all((sweep / "plots" / name).read_bytes().startswith(b"\x89PNG") for name in pngs)


def test_sweep_report_without_run_dirs_skips_curves_and_escapes_names(tmp_path):
    rows = [{**r, "variant": f'<img src=x onerror="{r["variant"]}">'} for r in ROWS]
    page = write_sweep_report(tmp_path, rows).read_text()
    assert "<img src=x" not in page and esc(rows[0]["variant"]) in page
    assert '<section id="curves">' not in page and "no run directory with train/metrics.jsonl" in page
    assert '<section id="weights">' in page


def test_run_dirs_must_match_the_rows(tmp_path):
    with pytest.raises(UsageError, match="run_dirs"):
        write_sweep_report(tmp_path, ROWS, run_dirs=[tmp_path])
