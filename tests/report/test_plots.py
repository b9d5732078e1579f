"""Figures of the run card: their tick labels are readable."""

from __future__ import annotations

import itertools

import pytest

from curate.report import plots


def _overlapping_tick_labels(fig) -> list[tuple[str, str]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    clashes = []
    for ax in fig.axes:
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels if t.get_text()]
            for (a, box_a), (b, box_b) in itertools.pairwise(boxes):
                if box_a.overlaps(box_b):
                    clashes.append((a, b))
    return clashes


@pytest.mark.parametrize("last_step", [30, 1500, 100_000])
def test_training_plot_tick_labels_do_not_run_together(monkeypatch, last_step):
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or "")
    every = max(1, last_step // 150)
    train = [
        {"step": s, "loss": 5 - s / last_step, "lr": 1e-3 * min(1.0, s / (last_step / 20))}
        for s in range(every, last_step + 1, every)
    ]
    plots.training(train, [{"step": last_step, "nll": 4.0}])
    (fig,) = figures
    assert _overlapping_tick_labels(fig) == []
