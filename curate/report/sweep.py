"""The sweep report: ``SWEEP_DIR/report.html`` with the leaderboard (mean and 95% CI over seeds),
metric-vs-weight plots and the training curves of every run.

Input is the sweep's leaderboard, one row per (variant, seed) run::

    {"variant": "web-heavy", "seed": 0, "weights": {"web": 0.9, "chat": 0.1},
     "metrics": {"bpb": 1.91, "ppl": 30.2}, "run_dir": "sweeps/x/web-heavy-s0"}

``weights`` and ``run_dir`` are optional; a row without ``metrics`` takes its other numeric keys
as metrics. :func:`leaderboard` does the aggregation alone (for the terminal table and CSV).
"""

from __future__ import annotations

import base64
import math
import os
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import UsageError
from curate.io.rundir import RunLayout
from curate.io.writers import write_atomic, write_text
from curate.report import plots
from curate.report.compare import (
    VERDICT_TEXT,
    Comparison,
    advice_lines,
    compare_variants,
    eval_noise_of,
    row_metrics,
)
from curate.report.data import TRAIN_METRICS, read_train_log
from curate.report.html import Cell, Section, esc, figure, fmt, key_values, page, paragraph, table

HIGHER_IS_BETTER = frozenset(
    {
        "pref_accuracy",
        "pref_margin",
        "pref_accuracy_per_token",
        "pref_margin_per_token",
        "pref_accuracy_per_byte",
        "pref_margin_per_byte",
        "accuracy",
        "acc",
        "acc_norm",
        "acc_bytes",
    }
)
PREFERRED_SORT = ("bpb", "avg.bpb", "bits_per_byte", "ppl", "nll", "avg.nll", "pref_accuracy")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better: accuracies and margins, also as the last part
    of a dotted name (``tasks.arith.acc``, ``chat.pref_accuracy``); bpb, ppl and nll are not."""
    return metric in HIGHER_IS_BETTER or metric.rsplit(".", 1)[-1] in HIGHER_IS_BETTER


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one variant over its seeds: mean, sample std and the 95% CI half-width
    (Student t; None with a single seed)."""

    mean: float
    std: float | None
    ci95: float | None
    n: int
    values: tuple[float, ...]


@dataclass(frozen=True)
class Standing:
    """One variant on the leaderboard."""

    variant: str
    seeds: tuple[Any, ...]
    weights: dict[str, float]
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    realised: dict[str, float] = field(default_factory=dict)
    """Mean over seeds of the shares the mix delivered (empty when the rows do not say)."""

    def flat(self) -> dict[str, Any]:
        """One flat row for CSV/Parquet: variant, n_seeds, weight.<source>, realised.<source>,
        <metric>_mean/_ci95/_std."""
        row: dict[str, Any] = {"variant": self.variant, "n_seeds": len(self.seeds)}
        row.update({f"weight.{k}": v for k, v in self.weights.items()})
        row.update({f"realised.{k}": v for k, v in self.realised.items()})
        for name, m in self.metrics.items():
            row.update({f"{name}_mean": m.mean, f"{name}_ci95": m.ci95, f"{name}_std": m.std})
        return row


def summarize_metric(values: Sequence[float]) -> MetricSummary:
    """Mean, std and Student-t 95% CI half-width of one metric's values over seeds."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return MetricSummary(mean, None, None, n, tuple(values))
    from scipy.stats import t

    std = statistics.stdev(values)
    return MetricSummary(mean, std, float(t.ppf(0.975, n - 1)) * std / math.sqrt(n), n, tuple(values))


def default_sort_metric(names: Sequence[str]) -> str | None:
    return next((m for m in PREFERRED_SORT if m in names), names[0] if names else None)


_higher = higher_is_better  # the name of leaderboard's keyword hides the function inside it


def leaderboard(
    rows: Sequence[Mapping[str, Any]], *, sort_by: str | None = None, higher_is_better: bool | None = None
) -> list[Standing]:
    """Variants with each metric's mean and 95% CI over seeds, best first by ``sort_by`` (default:
    bits per byte, else perplexity, else NLL...; lower is better unless the metric is an accuracy
    or margin, or ``higher_is_better`` says so). Variants lacking the metric go last."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if "variant" not in row:
            raise UsageError(f"a leaderboard row needs a 'variant': {dict(row)!r}")
        groups.setdefault(str(row["variant"]), []).append(row)
    standings = []
    for variant, members in groups.items():
        values: dict[str, list[float]] = {}
        for row in members:
            for name, value in row_metrics(row).items():
                values.setdefault(name, []).append(value)
        weights = dict(members[0].get("weights") or {})
        seeds = tuple(row.get("seed") for row in members)
        metrics = {k: summarize_metric(v) for k, v in values.items()}
        standings.append(Standing(variant, seeds, weights, metrics, _mean_shares(members)))
    metric = sort_by or default_sort_metric(metric_names(standings))
    if metric is None:
        return standings
    higher = _higher(metric) if higher_is_better is None else higher_is_better

    def key(s: Standing) -> tuple[int, float]:
        m = s.metrics.get(metric)
        if m is None:
            return (1, 0.0)
        return (0, -m.mean if higher else m.mean)

    return sorted(standings, key=key)


def _mean_shares(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    shares = [row["realised"] for row in rows if row.get("realised")]
    names = list(dict.fromkeys(k for s in shares for k in s))
    return {k: statistics.fmean(float(s.get(k, 0.0)) for s in shares) for k in names}


_TOP_ORDER = ("bpb", "ppl", "nll", "pref_accuracy", "pref_margin")


def metric_order(name: str) -> tuple[int, int, str]:
    """Sort key of metric names: the score's own (bpb, ppl, nll...), then avg.*, then per set,
    then per task; bpb before the others inside each group."""
    parts = name.split(".")
    group = 0 if len(parts) == 1 else 1 if parts[0] == "avg" else 3 if parts[0] == "tasks" else 2
    leaf = parts[-1]
    rank = _TOP_ORDER.index(leaf) if leaf in _TOP_ORDER else len(_TOP_ORDER)
    return (group, rank, name if group != 3 else f"{'.'.join(parts[:-1])}.{rank}")


def shown_metrics(names: Sequence[str], metric: str | None = None) -> list[str]:
    """The metrics a leaderboard table shows (the CSV keeps all): the score's own, avg.bpb, one
    column per eval set (its bpb) and one per task (its acc), and the ranking metric."""
    keep = [
        n
        for n in names
        if "." not in n
        or n == metric
        or (n.startswith("tasks.") and n.endswith(".acc"))
        or (not n.startswith("tasks.") and n.endswith(".bpb"))
    ]
    return sorted(keep, key=metric_order)


def metric_names(standings: Sequence[Standing]) -> list[str]:
    names: dict[str, None] = {}
    for s in standings:
        names.update(dict.fromkeys(s.metrics))
    return list(names)


def write_sweep_report(
    sweep_dir: str | os.PathLike,
    rows: Sequence[Mapping[str, Any]],
    *,
    run_dirs: Sequence[str | os.PathLike | None] | None = None,
    sort_by: str | None = None,
    higher_is_better: bool | None = None,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    plots_dir: str | os.PathLike | None = None,
    baseline: str | None = None,
) -> Path:
    """Write ``SWEEP_DIR/report.html`` (or ``out``) for a sweep's leaderboard ``rows``.

    ``run_dirs`` (parallel to ``rows``; else each row's ``run_dir``) locate the runs whose
    ``train/metrics.jsonl`` give the training curves and whose ``report.html`` the page links to.
    ``extra`` is shown as label/value pairs in the overview (e.g. a regression's predicted best
    mixture). With ``plots_dir``, the plots are also written there as PNG files
    (``<metric>_vs_weights.png``, ``train_loss.png``, ``eval_nll.png``). Every variant is
    compared with the best and with ``baseline`` (a variant name), paired over seeds (see
    :mod:`curate.report.compare`). Returns the page's path.
    """
    sweep_dir = Path(sweep_dir)
    if run_dirs is not None and len(run_dirs) != len(rows):
        raise UsageError(f"run_dirs has {len(run_dirs)} entries for {len(rows)} leaderboard rows")
    dirs = [Path(d) if d else None for d in (run_dirs or [r.get("run_dir") for r in rows])]
    path = Path(out) if out is not None else sweep_dir / "report.html"
    images: dict[str, str] = {}
    html = render_sweep_report(
        sweep_dir,
        rows,
        dirs,
        sort_by=sort_by,
        higher_is_better=higher_is_better,
        title=title,
        extra=extra,
        page_dir=path.parent,
        images=images,
        baseline=baseline,
    )
    if plots_dir is not None:
        for name, data in images.items():
            png = base64.b64decode(data)
            write_atomic(Path(plots_dir) / f"{name}.png", lambda tmp, png=png: tmp.write_bytes(png))
    return write_text(html, path)


def render_sweep_report(
    sweep_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    dirs: Sequence[Path | None],
    *,
    sort_by: str | None = None,
    higher_is_better: bool | None = None,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    page_dir: Path | None = None,
    images: dict[str, str] | None = None,
    baseline: str | None = None,
) -> str:
    """The sweep page; ``images`` (when given) receives every plot as name -> base64 PNG."""
    images = {} if images is None else images
    standings = leaderboard(rows, sort_by=sort_by, higher_is_better=higher_is_better)
    metric = sort_by or default_sort_metric(metric_names(standings))
    metrics = shown_metrics(metric_names(standings), metric)
    sources = list(dict.fromkeys(k for s in standings for k in s.weights))
    comparisons = sweep_comparisons(
        rows, standings, metric, higher_is_better=higher_is_better, baseline=baseline
    )
    sections = [
        _overview(sweep_dir, rows, standings, metric, extra),
        _leaderboard(standings, metrics, sources, metric),
    ]
    if comparisons:
        sections.append(_comparisons(rows, standings, comparisons, metric, baseline))  # type: ignore[arg-type]
    sections.append(_runs(rows, dirs, sources, metrics, page_dir or sweep_dir))
    skipped: list[tuple[str, str]] = []
    weight_section = _metric_vs_weight(rows, standings, metrics, sources, images)
    if weight_section is None:
        skipped.append(("Metric vs weight", "the rows carry no per-source weights or no metric"))
    else:
        sections.append(weight_section)
    curves = _curves(rows, dirs, images)
    if curves is None:
        skipped.append(("Training curves", "no run directory with train/metrics.jsonl"))
    else:
        sections.append(curves)
    name = title or f"Sweep {sweep_dir.name}"
    return page(name, sections, subtitle=f"curate sweep report · {sweep_dir}", skipped=skipped)


def sweep_comparisons(
    rows: Sequence[Mapping[str, Any]],
    standings: Sequence[Standing],
    metric: str | None,
    *,
    higher_is_better: bool | None = None,
    baseline: str | None = None,
) -> dict[str, dict[str, Comparison]]:
    """Each variant against the best and against ``baseline`` in the ranking ``metric``, paired
    over seeds (empty without a metric or with fewer than two variants that have it). A baseline
    without the metric (its runs failed) is left out."""
    ranked = [s.variant for s in standings if metric is not None and metric in s.metrics]
    if metric is None or len(ranked) < 2:
        return {}
    if baseline is not None and baseline not in ranked:
        baseline = None  # its runs failed or lack the metric: only the comparison with the best
    higher = _higher(metric) if higher_is_better is None else higher_is_better
    return compare_variants(rows, ranked, metric=metric, higher_is_better=higher, baseline=baseline)  # type: ignore[return-value]


def _comparisons(
    rows: Sequence[Mapping[str, Any]],
    standings: Sequence[Standing],
    comparisons: Mapping[str, Mapping[str, Comparison]],
    metric: str,
    baseline: str | None,
) -> Section:
    references = [("best", f"vs best ({standings[0].variant})")]
    if baseline is not None:
        references.append(("baseline", f"vs baseline ({baseline})"))
    headers = [
        "variant",
        f"{metric} seed sd",
        f"{metric} eval-set ± (bootstrap)",
        *[f"{label}: paired Δ [95% CI]" for _, label in references],
        *[f"{label}: verdict" for _, label in references],
    ]
    body = []
    for s in standings:
        if s.variant not in comparisons:
            continue
        summary = s.metrics.get(metric)
        by_role = comparisons[s.variant]
        noise = eval_noise_of(rows, s.variant, metric)
        body.append(
            (
                Cell(s.variant),
                None if summary is None else summary.std,
                noise,
                *[
                    Cell(by_role[r].interval_text() if r in by_role else "–", numeric=True)
                    for r, _ in references
                ],
                *[Cell(VERDICT_TEXT[by_role[r].verdict] if r in by_role else "–") for r, _ in references],
            )
        )
    notes = advice_lines(comparisons)  # type: ignore[arg-type]
    text = paragraph(
        "Paired Δ: the variant minus the reference in each seed both ran (same seed: same initialisation "
        "and data order), its mean and 95% Student-t interval. The seed-to-seed spread cancels in the "
        "difference, so a small consistent difference shows here when the means' intervals overlap. Verdict: "
        "better or worse when the interval excludes zero, else cannot tell at this budget. Eval-set ±: "
        "the half-width of a bootstrap interval over the eval documents (mean over the variant's runs): how "
        "far the score would move on another draw of eval documents, beside the seed sd. For bits per byte the "
        "interval also holds the eval set's error of the difference itself (a bootstrap of the per-document "
        "difference over the same documents, far smaller than the eval-set ±): half-width = sqrt(seed half-width² "
        "+ eval half-width²), so better or worse needs both small; runs without per-document scores "
        "(RUN_DIR/eval_docs/) keep the seed-only interval.",
        muted=True,
    )
    advice = "".join(paragraph(line) for line in notes)
    return Section("comparisons", "Paired comparisons", table(headers, body) + text + advice)


def _mean_ci(m: MetricSummary | None) -> Cell:
    if m is None:
        return Cell("–", numeric=True)
    text = fmt(m.mean) + (f" ± {fmt(m.ci95, digits=2)}" if m.ci95 is not None else "")
    return Cell(text, numeric=True)


def _overview(
    sweep_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    standings: list[Standing],
    metric: str | None,
    extra: Mapping[str, Any] | None,
) -> Section:
    pairs: list[tuple[str, Any]] = [
        ("sweep directory", str(sweep_dir)),
        ("variants", len(standings)),
        ("runs", len(rows)),
        ("seeds", ", ".join(sorted({str(r.get("seed")) for r in rows}))),
        (
            "ranked by",
            f"{metric} ({'higher' if _higher(metric) else 'lower'} is better)" if metric else "–",
        ),
    ]
    if standings and metric and metric in standings[0].metrics:
        best = standings[0]
        pairs.append(("best variant", f"{best.variant}: {_mean_ci(best.metrics[metric]).value}"))
    pairs += [(str(k), v if isinstance(v, (int, float, str)) else str(v)) for k, v in (extra or {}).items()]
    return Section("overview", "Overview", key_values(pairs))


def _leaderboard(
    standings: list[Standing], metrics: list[str], sources: list[str], metric: str | None
) -> Section:
    headers = [
        "rank",
        "variant",
        "seeds",
        *[f"w.{s}" for s in sources],
        *[f"{m} (mean ± 95% CI)" for m in metrics],
    ]
    body_rows = [
        (
            i + 1,
            Cell(s.variant),
            len(s.seeds),
            *[s.weights.get(src) for src in sources],
            *[_mean_ci(s.metrics.get(m)) for m in metrics],
        )
        for i, s in enumerate(standings)
    ]
    note = paragraph(
        "CI: 95% Student-t interval of the mean over seeds (half-width shown); one seed gives no interval.",
        muted=True,
    )
    return Section("leaderboard", "Leaderboard", table(headers, body_rows) + note)


def _runs(
    rows: Sequence[Mapping[str, Any]],
    dirs: Sequence[Path | None],
    sources: list[str],
    metrics: list[str],
    page_dir: Path,
) -> Section:
    body_rows = []
    for row, directory in zip(rows, dirs, strict=True):
        link = Cell("–")
        if directory is not None and RunLayout(directory).report_file.exists():
            target = os.path.relpath(RunLayout(directory).report_file, page_dir)
            link = Cell(f'<a href="{esc(Path(target).as_posix())}">{esc(directory.name)}</a>', raw=True)
        elif directory is not None:
            link = Cell(directory.name)
        values = row_metrics(row)
        weights = row.get("weights") or {}
        body_rows.append(
            (
                Cell(row.get("variant")),
                Cell(row.get("seed")),
                *[weights.get(s) for s in sources],
                *[values.get(m) for m in metrics],
                link,
            )
        )
    headers = ["variant", "seed", *[f"w.{s}" for s in sources], *metrics, "run"]
    return Section("runs", "Every run", table(headers, body_rows))


def _metric_vs_weight(
    rows: Sequence[Mapping[str, Any]],
    standings: list[Standing],
    metrics: list[str],
    sources: list[str],
    images: dict[str, str],
) -> Section | None:
    if not sources or not metrics:
        return None
    body = ""
    for metric in metrics[:4]:
        points = [
            (str(r["variant"]), dict(r.get("weights") or {}), row_metrics(r)[metric])
            for r in rows
            if metric in row_metrics(r)
        ]
        means = [
            (s.variant, s.weights, s.metrics[metric].mean, s.metrics[metric].ci95)
            for s in standings
            if metric in s.metrics
        ]
        image = images[f"{_file_name(metric)}_vs_weights"] = plots.metric_vs_weights(
            metric, sources, points, means
        )
        body += figure(
            image,
            alt=f"{metric} against each source weight",
            caption=f"{metric}: runs (dots), variant means with 95% CI (orange)",
        )
    return Section("weights", "Metric vs weight", body)


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _curves(
    rows: Sequence[Mapping[str, Any]], dirs: Sequence[Path | None], images: dict[str, str]
) -> Section | None:
    train_runs: list[tuple[str, list[float], list[float]]] = []
    eval_runs: list[tuple[str, list[float], list[float]]] = []
    for row, directory in zip(rows, dirs, strict=True):
        if directory is None:
            continue
        log = read_train_log(directory / TRAIN_METRICS)
        train = [
            r for r in log if r.get("kind", "train") == "train" and isinstance(r.get("loss"), (int, float))
        ]
        evals = [r for r in log if r.get("kind") == "eval" and isinstance(r.get("nll"), (int, float))]
        label = str(row.get("variant"))
        if train:
            train_runs.append((label, [r["step"] for r in train], [r["loss"] for r in train]))
        if evals:
            eval_runs.append((label, [r["step"] for r in evals], [r["nll"] for r in evals]))
    if not train_runs:
        return None
    images["train_loss"] = plots.curves(train_runs)
    body = figure(
        images["train_loss"],
        alt="training loss of every run",
        caption="train loss, one line per run, one colour per variant",
    )
    if eval_runs:
        images["eval_nll"] = plots.curves(eval_runs, ylabel="eval NLL")
        body += figure(images["eval_nll"], alt="held-out NLL during training")
    return Section("curves", "Training curves", body)
