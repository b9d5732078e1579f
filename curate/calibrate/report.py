"""The calibration's page and plot: the paired difference against the clean data by dose, one
line per defect with its interval, and the table behind it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.calibrate.result import CalibrationResult
from curate.calibrate.table import Detection, describe
from curate.io.writers import write_atomic, write_text
from curate.report import html
from curate.report.plots import COLORS, _figure, _png, _style


def dose_plot(rows: Sequence[Detection], *, metric: str, confidence: float = 0.95) -> str:
    """Paired difference (damaged - clean) against dose, per defect, with its interval; filled
    markers are detections. Returns a base64 PNG."""
    defects = list(dict.fromkeys(r.defect for r in rows))
    with _figure(6.4, 3.6, left=0.8, right=1.5, top=0.35) as fig:
        ax = fig.add_subplot(1, 1, 1)
        ax.axhline(0, color="#888888", linewidth=0.8)
        for k, defect in enumerate(defects):
            color = COLORS[k % len(COLORS)]
            mine = [r for r in rows if r.defect == defect and r.difference.n]
            if not mine:
                continue
            shift = (k - (len(defects) - 1) / 2) * 0.6  # side by side at one dose, not on top
            xs = [100 * r.dose + shift for r in mine]
            ys = [r.difference.mean for r in mine]
            ax.plot(xs, ys, color=color, linewidth=1.2, label=defect)
            for r, x, y in zip(mine, xs, ys, strict=True):
                if r.difference.low is not None and r.difference.high is not None:
                    ax.errorbar(
                        [x],
                        [y],
                        yerr=[[y - r.difference.low], [r.difference.high - y]],
                        color=color,
                        capsize=3,
                        linewidth=1,
                    )
                ax.plot(
                    [x],
                    [y],
                    marker="o",
                    markersize=6,
                    color=color,
                    markerfacecolor=color if r.detected else "white",
                )
        ax.set_xlabel("dose (% of documents damaged)")
        ax.set_ylabel(f"Δ {metric} vs clean (paired)")
        ax.set_title(f"damage against clean, {confidence:.0%} interval over seeds (filled: detected)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        _style(ax)
        return _png(fig)


def table_rows(rows: Sequence[Detection]) -> list[list[Any]]:
    out = []
    for r in rows:
        d = r.difference
        out.append(
            [
                r.defect,
                f"{r.dose:.0%}",
                d.mean,
                "–" if d.low is None else f"[{d.low:+.4f}, {d.high:+.4f}]",
                d.verdict,
                d.n,
                d.seeds_needed if d.seeds_needed is not None else "–",
            ]
        )
    return out


HEADERS = ("defect", "dose", "mean paired difference", "interval", "verdict", "seeds", "seeds needed")


def write_calibration_report(result: CalibrationResult) -> dict[str, Path]:
    """``report.html`` and ``plots/calibrate.png`` in the calibration directory."""
    png = dose_plot(result.rows, metric=result.metric, confidence=result.confidence)
    plot = write_atomic(
        result.cal_dir / "plots" / "calibrate.png", lambda tmp: tmp.write_bytes(base64.b64decode(png))
    )
    overview = [
        (
            "metric",
            f"{result.metric} (lower is better)" if result.metric != "pref_accuracy" else result.metric,
        ),
        ("confidence", f"{result.confidence:.0%}"),
        ("curated documents", result.documents),
        ("passes over the clean data", "–" if result.epochs is None else f"{result.epochs:.2f}"),
        ("wrong-language text", result.wrong_lang_source or "–"),
        ("sweep", str(result.sweep.sweep_dir / "report.html")),
        ("time", f"{result.seconds:.0f} s"),
    ]
    overview += [(f"warning {i + 1}", w) for i, w in enumerate(result.warnings)]
    verdicts = "<ul>" + "".join(f"<li>{html.esc(line)}</li>" for line in result.lines) + "</ul>"
    note = html.paragraph(
        "A defect is detected at a dose when the paired difference of the metric (damaged copy minus "
        "clean data, seed by seed) is worse with its whole interval. A defect not detected at any dose "
        "is not detectable at this budget: the loop cannot see it, which says nothing about whether "
        "the data has it.",
        muted=True,
    )
    sections = [
        html.Section("verdicts", "What this loop can detect", verdicts + note),
        html.Section(
            "plot",
            "Damage against dose",
            html.figure(
                png, alt="paired difference against dose per defect", caption=describe_caption(result)
            ),
        ),
        html.Section("table", "Every defect and dose", html.table(HEADERS, table_rows(result.rows))),
        html.Section("setup", "Setup", html.key_values(overview)),
    ]
    page = html.page(f"Calibration of {result.sweep.sweep_dir.parent.name}", sections)
    return {"report": write_text(page, result.cal_dir / "report.html"), "plot": plot}


def describe_caption(result: CalibrationResult) -> str:
    detected = [r for r in result.rows if r.detected]
    if not detected:
        return "no dose of any defect was detected"
    smallest = min(detected, key=lambda r: r.dose)
    return f"e.g. {smallest.defect} at {smallest.dose:.0%}: {describe(smallest, metric=result.metric)}"
