"""Run cards, run diffs and sweep reports: self-contained HTML pages (no network, no script)
with matplotlib plots embedded as PNG.

- :func:`write_report` — ``RUN_DIR/report.html`` for one run.
- :func:`diff_runs` — what differs between two runs (recipe, counts, mix, scores), rendered by
  :func:`diff_tables` (terminal) and :func:`write_diff_html`.
- :func:`write_sweep_report` — a sweep's leaderboard (mean and 95% CI), metric-vs-weight plots
  and training curves; :func:`leaderboard` aggregates the rows on its own.
"""

from __future__ import annotations

from curate.report.diff import RunDiff, diff_runs, diff_tables, render_diff_html, write_diff_html
from curate.report.run import REPORT_FILE, ReportOptions, render_report, write_report
from curate.report.sweep import Standing, leaderboard, write_sweep_report

__all__ = [
    "REPORT_FILE",
    "ReportOptions",
    "RunDiff",
    "Standing",
    "diff_runs",
    "diff_tables",
    "leaderboard",
    "render_diff_html",
    "render_report",
    "write_diff_html",
    "write_report",
    "write_sweep_report",
]
