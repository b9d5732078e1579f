"""The report's plots: matplotlib figures rendered with the Agg canvas to base64 PNG.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no global backend
switch), so rendering is safe inside a library call and leaves the caller's matplotlib alone.
Each function takes plain numbers and returns the PNG as a base64 string for
:func:`curate.report.html.figure`.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

DPI = 96
MAX_POINTS = 2000  # points per curve; longer curves are thinned evenly
COLORS = ("#2f5fb3", "#e07b39", "#2e7d4f", "#b3372f", "#7b5fb3", "#8c6d31", "#3a9fb0", "#c75a9b")


CHAR_INCHES = 0.068  # average width of a 9 pt DejaVu Sans character


@contextmanager
def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.75,
    bottom: float = 0.5,
    right: float = 0.15,
    top: float = 0.15,
    wspace: float = 0.25,
) -> Iterator[Any]:
    """A Figure whose PNG is taken by :func:`_png`; user strings never parse as mathtext.

    Margins are given in inches and set once: a layout engine (constrained or tight) would draw
    every figure twice, which is half the report's time."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"text.parse_math": False, "font.size": 9, "axes.titlesize": 10}):
        fig = Figure(figsize=(width, height), dpi=DPI)
        fig.subplots_adjust(
            left=min(left / width, 0.6),
            right=1 - right / width,
            bottom=min(bottom / height, 0.6),
            top=1 - top / height,
            wspace=wspace,
        )
        yield fig


def _label_inches(labels: Sequence[str], *, pad: float = 0.25) -> float:
    """Room for the longest of ``labels`` beside an axis."""
    return pad + CHAR_INCHES * max((len(str(x)) for x in labels), default=4)


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # names in scripts the bundled font lacks (CJK source or variant names) draw as boxes
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _thin(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    if len(xs) <= MAX_POINTS:
        return list(xs), list(ys)
    step = math.ceil(len(xs) / MAX_POINTS)
    return [*xs[::step], xs[-1]], [*ys[::step], ys[-1]]


def _style(ax: Any, *, thousands: bool = False, integer_x: bool = False) -> None:
    if integer_x:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if thousands:
        from matplotlib.ticker import StrMethodFormatter

        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="both", alpha=0.25, linewidth=0.6)
    ax.set_axisbelow(True)


def funnel(labels: Sequence[str], records_in: Sequence[int], records_out: Sequence[int]) -> str:
    """Records entering (light) and leaving (dark) each step, top to bottom."""
    n = len(labels)
    with _figure(7.2, 0.42 * n + 1.0, left=_label_inches(labels), top=0.4) as fig:
        ax = fig.subplots()
        ys = list(range(n))[::-1]
        ax.barh(ys, records_in, color="#c9d6ee", label="in", height=0.7)
        bars = ax.barh(ys, records_out, color=COLORS[0], label="out", height=0.45)
        first = records_in[0] if records_in and records_in[0] else None
        for bar, out in zip(bars, records_out, strict=True):
            share = f"  {out:,}" + (f" ({100 * out / first:.1f}% of read)" if first else "")
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, share, va="center", fontsize=8)
        ax.set_yticks(ys, labels)
        ax.set_xlabel("records")
        ax.set_xlim(0, max([*records_in, *records_out, 1]) * 1.35)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False)
        _style(ax)
        return _png(fig)


def reasons(items: Sequence[tuple[str, str, int]], *, top: int = 25) -> str:
    """The largest removal reasons as horizontal bars ``(step, reason, count)``, coloured by step."""
    items = sorted(items, key=lambda t: -t[2])[:top]
    steps = list(dict.fromkeys(step for step, _, _ in items))
    color = {step: COLORS[i % len(COLORS)] for i, step in enumerate(steps)}
    with _figure(7.2, 0.3 * len(items) + 1.0, left=_label_inches([r for _, r, _ in items])) as fig:
        ax = fig.subplots()
        ys = list(range(len(items)))[::-1]
        ax.barh(ys, [c for _, _, c in items], color=[color[s] for s, _, _ in items], height=0.7)
        ax.set_yticks(ys, [f"{reason}" for _, reason, _ in items])
        for y, (_, _, count) in zip(ys, items, strict=True):
            ax.text(count, y, f" {count:,}", va="center", fontsize=8)
        handles = [ax.bar(0, 0, color=color[s], label=s) for s in steps]
        ax.legend(handles=handles, frameon=False, loc="lower right", title="step")
        ax.set_xlabel("records removed")
        ax.set_xlim(0, max(c for _, _, c in items) * 1.2 if items else 1)
        _style(ax)
        return _png(fig)


def bin_label(b: int) -> str:
    """Label of power-of-two length bin ``b``: lengths n with floor(log2(n + 1)) == b."""
    low, high = 2**b - 1, 2 ** (b + 1) - 2
    return f"{_short(low)}–{_short(high)}" if high > low else f"{low}"


def _short(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def lengths(series: Mapping[str, Mapping[int, int]]) -> str:
    """Grouped bars of document-length histograms (power-of-two character bins), one colour each."""
    bins = sorted({b for counts in series.values() for b in counts})
    bins = list(range(bins[0], bins[-1] + 1)) if bins else []
    width = 0.8 / max(len(series), 1)
    with _figure(7.2, 3.0, bottom=1.05) as fig:
        ax = fig.subplots()
        for i, (name, counts) in enumerate(series.items()):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(bins))]
            ax.bar(
                xs, [counts.get(b, 0) for b in bins], width=width, label=name, color=COLORS[i % len(COLORS)]
            )
        ax.set_xticks(range(len(bins)), [bin_label(b) for b in bins], rotation=35, ha="right")
        ax.set_xlabel("characters (text view)")
        ax.set_ylabel("records")
        ax.legend(frameon=False)
        _style(ax)
        return _png(fig)


def stacked_bars(
    labels: Sequence[str], parts: Mapping[str, Sequence[float]], *, ylabel: str, rotate: bool = False
) -> str:
    """Vertical bars, one per label, stacked from ``parts`` (name -> value per label)."""
    room = _label_inches(labels, pad=0.3) * 0.6 if rotate else 0.5
    with _figure(7.2, 3.0, bottom=room) as fig:
        ax = fig.subplots()
        bottom = [0.0] * len(labels)
        for i, (name, values) in enumerate(parts.items()):
            ax.bar(range(len(labels)), values, bottom=bottom, label=name, color=COLORS[i % len(COLORS)])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(
            range(len(labels)), labels, rotation=35 if rotate else 0, ha="right" if rotate else "center"
        )
        ax.set_ylabel(ylabel)
        if len(parts) > 1:
            ax.legend(frameon=False)
        _style(ax, thousands=True)
        return _png(fig)


def grouped_bars(
    labels: Sequence[str], groups: Mapping[str, Sequence[float]], *, ylabel: str, percent: bool = False
) -> str:
    """Side-by-side bars per label, one per group (e.g. requested vs realised share per source)."""
    width = 0.8 / max(len(groups), 1)
    with _figure(7.2, 3.0, left=0.85) as fig:
        ax = fig.subplots()
        for i, (name, values) in enumerate(groups.items()):
            xs = [j + (i - (len(groups) - 1) / 2) * width for j in range(len(labels))]
            shown = [100 * v if percent else v for v in values]
            bars = ax.bar(xs, shown, width=width, label=name, color=COLORS[i % len(COLORS)])
            ax.bar_label(bars, labels=[f"{v:.1f}%" if percent else f"{v:,.0f}" for v in shown], fontsize=7)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
        _style(ax, thousands=not percent)
        return _png(fig)


def hbars(
    labels: Sequence[str],
    groups: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    marks: Sequence[float | None] | None = None,
    digits: int = 3,
    xmax: float | None = None,
) -> str:
    """A small horizontal bar chart: one row per label, one bar per group (e.g. acc, acc_norm),
    each labelled with its value; ``marks``: a tick per label (e.g. the chance level)."""
    labels = list(labels)
    height = 0.6 + 0.32 * len(labels) * max(1, len(groups))
    right = 1.1 if len(groups) > 1 else 0.3
    with _figure(5.6, height, left=_label_inches(labels), right=right, bottom=0.45) as fig:
        ax = fig.subplots()
        bar = 0.8 / max(len(groups), 1)
        for i, (name, values) in enumerate(groups.items()):
            ys = [j + (i - (len(groups) - 1) / 2) * bar for j in range(len(labels))]
            bars = ax.barh(ys, values, height=bar, label=name, color=COLORS[i % len(COLORS)])
            ax.bar_label(bars, labels=[f"{v:.{digits}f}" for v in values], fontsize=7, padding=2)
        for j, mark in enumerate(marks or ()):
            if mark is not None:
                ax.plot([mark, mark], [j - 0.45, j + 0.45], color="#555555", linestyle=":", linewidth=1)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        if xmax is not None:
            ax.set_xlim(0, xmax)
        else:
            ax.margins(x=0.15)
        if len(groups) > 1:
            ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _style(ax)
        return _png(fig)


def s_curve(bands: int, rows: int, threshold: float | None, points: Sequence[tuple[float, float]]) -> str:
    """Probability that a pair of Jaccard similarity s becomes an LSH candidate: 1 - (1 - s^r)^b."""
    xs = [i / 200 for i in range(201)]
    ys = [1 - (1 - x**rows) ** bands for x in xs]
    with _figure(5.0, 3.0) as fig:
        ax = fig.subplots()
        ax.plot(xs, ys, color=COLORS[0], label=f"{bands} bands x {rows} rows")
        if points:
            ax.scatter(
                [p[0] for p in points], [p[1] for p in points], s=14, color=COLORS[1], zorder=3, label="stats"
            )
        if threshold is not None:
            ax.axvline(
                threshold, color=COLORS[3], linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
            )
        ax.set_xlabel("Jaccard similarity of a pair")
        ax.set_ylabel("P(candidate)")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(frameon=False, loc="upper left")
        _style(ax)
        return _png(fig)


def training(train: Sequence[Mapping[str, Any]], evals: Sequence[Mapping[str, Any]]) -> str:
    """Training loss (and held-out NLL at eval steps) against step, with the learning rate beside."""
    with _figure(8.0, 3.0, left=0.6, wspace=0.35) as fig:
        ax, ax_lr = fig.subplots(1, 2, width_ratios=[2.2, 1])
        xs, ys = _thin([r["step"] for r in train], [r["loss"] for r in train])
        ax.plot(xs, ys, color=COLORS[0], linewidth=1.2, label="train loss")
        if evals:
            ax.plot(
                [r["step"] for r in evals],
                [r["nll"] for r in evals],
                "o-",
                color=COLORS[1],
                ms=3,
                label="eval NLL" + (" (avg)" if evals[-1].get("sets") else ""),
            )
            for i, name in enumerate(evals[-1].get("sets") or {}):  # each eval set's curve
                rows = [
                    r for r in evals if isinstance(((r.get("sets") or {}).get(name) or {}).get("nll"), float)
                ]
                ax.plot(
                    [r["step"] for r in rows],
                    [r["sets"][name]["nll"] for r in rows],
                    "--",
                    color=COLORS[(3 + i) % len(COLORS)],
                    linewidth=1.0,
                    label=f"{name} NLL",
                )
        ax.set_xlabel("step")
        ax.set_ylabel("nats / token")
        ax.legend(frameon=False)
        _style(ax, integer_x=True)
        lr_rows = [r for r in train if r.get("lr") is not None]
        xs, ys = _thin([r["step"] for r in lr_rows], [r["lr"] for r in lr_rows])
        ax_lr.plot(xs, ys, color=COLORS[2], linewidth=1.2)
        ax_lr.set_xlabel("step")
        ax_lr.set_ylabel("learning rate")
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        _style(ax_lr, integer_x=True)
        from matplotlib.ticker import MaxNLocator

        # a third of the width: few step labels, or "0 200 400 ... 1400" runs together
        ax_lr.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True, min_n_ticks=2))
        return _png(fig)


def metric_vs_weights(
    metric: str,
    sources: Sequence[str],
    points: Sequence[tuple[str, Mapping[str, float], float]],
    means: Sequence[tuple[str, Mapping[str, float], float, float | None]],
) -> str:
    """One panel per source: the metric of every run (dots) and each variant's mean with its 95% CI
    (bars) against that source's weight. ``points``: (variant, weights, value); ``means``:
    (variant, weights, mean, ci half-width)."""
    n = max(len(sources), 1)
    with _figure(min(3.0 * n, 10.0), 2.9, wspace=0.1) as fig:
        axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
        for ax, source in zip(axes, sources, strict=False):
            ax.scatter(
                [w.get(source, 0.0) for _, w, _ in points],
                [v for _, _, v in points],
                s=12,
                alpha=0.5,
                color=COLORS[0],
            )
            for variant, weights, mean, ci in means:
                x = weights.get(source, 0.0)
                ax.errorbar(x, mean, yerr=ci or 0.0, fmt="o", color=COLORS[1], ms=4, capsize=3)
                ax.annotate(variant, (x, mean), xytext=(5, 3), textcoords="offset points", fontsize=7)
            ax.set_xlabel(f"weight of {source}")
            _style(ax)
        axes[0].set_ylabel(metric)
        return _png(fig)


def curves(
    runs: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, ylabel: str = "train loss"
) -> str:
    """Training curves of several runs ``(label, steps, values)``; one colour per distinct label."""
    labels = list(dict.fromkeys(label for label, _, _ in runs))
    color = {label: COLORS[i % len(COLORS)] for i, label in enumerate(labels)}
    with _figure(7.2, 3.2) as fig:
        ax = fig.subplots()
        seen: set[str] = set()
        for label, xs, ys in runs:
            xs, ys = _thin(xs, ys)
            ax.plot(
                xs,
                ys,
                color=color[label],
                linewidth=1.0,
                alpha=0.8,
                marker="o" if len(xs) < 30 else None,  # a curve of one or two evals still shows
                ms=3,
                label=None if label in seen else label,
            )
            seen.add(label)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=8, ncols=2 if len(labels) > 6 else 1)
        _style(ax, integer_x=True)
        return _png(fig)
