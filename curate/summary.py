"""The end-of-run summary: one table, per step, of what went in, what came out and why."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from curate.terminal import markup_safe


def _top_reasons(reasons: dict[str, int], n: int = 3) -> str:
    items = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    lines = [f"{count:>6,} {markup_safe(name)}" for name, count in items]
    if len(reasons) > n:
        lines.append(
            f"{sum(reasons.values()) - sum(c for _, c in items):>6,} other ({len(reasons) - n} rules)"
        )
    return "\n".join(lines)


def _train_row(step: dict[str, Any]) -> list[str]:
    report = step.get("train") or {}
    metrics = report.get("metrics") or {}
    shown = [
        f"{name} {metrics[key]:.4g}"
        for key, name in (
            ("ppl", "ppl"),
            ("bpb", "bits/byte"),
            ("pref_accuracy", "pref acc"),
            ("pref_accuracy_per_token", "pref acc/token"),
        )
        if metrics.get(key) is not None
    ]
    dpo = report.get("dpo") or {}
    if dpo.get("before") and dpo.get("after"):
        shown.append(
            f"DPO pref acc {dpo['before']['pref_accuracy']:.3g} -> {dpo['after']['pref_accuracy']:.3g}"
        )
    rate = report.get("tokens_per_s")
    return [
        markup_safe(step["dir"]),
        f"{report.get('tokens_seen') or 0:,} tok",
        "-",
        "-",
        "\n".join(shown) or "no eval set",
        "cached" if step.get("cached") else f"{step['seconds']:.1f}",
        "-" if step.get("cached") or not rate else f"{rate:,.0f} tok/s",
    ]


def summary_table(manifest: dict[str, Any]) -> Table:
    table = Table(title=f"curate run: {markup_safe(manifest['name'])}", title_justify="left", show_lines=True)
    for column, justify in [
        ("step", "left"),
        ("in", "right"),
        ("out", "right"),
        ("kept %", "right"),
        ("top reasons", "left"),
        ("seconds", "right"),
        ("records/s", "right"),
    ]:
        table.add_column(column, justify=justify, no_wrap=column != "top reasons")  # type: ignore[arg-type]
    for step in manifest["steps"]:
        if step["stage"] == "train":
            table.add_row(*_train_row(step))
            continue
        r = step["records"]
        kept = f"{100 * r['out'] / r['in']:.1f}" if r["in"] else "-"
        rate = step.get("records_per_s")
        table.add_row(
            markup_safe(step["dir"]),
            f"{r['in']:,}",
            f"{r['out']:,}",
            kept,
            _top_reasons(step.get("reasons", {})),
            "cached" if step.get("cached") else f"{step['seconds']:.1f}",
            "-" if step.get("cached") or not rate else f"{rate:,.0f}",
        )
    return table


def accounting_line(manifest: dict[str, Any]) -> str:
    a = manifest["accounting"]
    if a.get("records_out") is None:
        return "run incomplete"
    check = "balanced" if a["balanced"] else "NOT BALANCED"
    added = f" + {a['added']:,} added by sampling" if a["added"] else ""
    return (
        f"{a['records_in']:,} records read{added} = {a['records_out']:,} in output + "
        f"{a['rejected']:,} rejected ({check})"
    )


SCORE_ROWS = (
    ("nll", "NLL (nats/token)"),
    ("ppl", "perplexity"),
    ("bpb", "bits per byte"),
    ("pref_accuracy", "preference accuracy (summed log-prob)"),
    ("pref_margin", "preference margin (summed)"),
    ("pref_accuracy_per_token", "preference accuracy (per token)"),
    ("pref_margin_per_token", "preference margin (per token)"),
    ("pref_accuracy_per_byte", "preference accuracy (per byte)"),
    ("pref_margin_per_byte", "preference margin (per byte)"),
)


def score_table(report: dict[str, Any]) -> Table:
    """The metrics of a score report (``score.json``) and what the eval covered."""
    evaluated = report.get("eval") or {}
    path = evaluated.get("path")
    title = "score" + (f" on {path if isinstance(path, str) else ', '.join(path)}" if path else "")
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    metrics = report.get("metrics") or {}
    base = (report.get("base") or {}).get("metrics")
    if base:  # the model the run started from, before fine-tuning, on the same eval set
        table.add_column("before fine-tuning", justify="right")
        table.add_column("change", justify="right")
    for key, label in SCORE_ROWS:
        if metrics.get(key) is not None:
            row = [label, f"{metrics[key]:.4f}"]
            if base:
                before = base.get(key)
                row += ["", ""] if before is None else [f"{before:.4f}", f"{metrics[key] - before:+.4f}"]
            table.add_row(*row)
    for key in ("records", "tokens", "bytes"):
        if evaluated.get(key) is not None:
            table.add_row(f"eval {key}", f"{evaluated[key]:,}")
    if evaluated.get("pref_chosen_longer") is not None:
        table.add_row("eval pairs: chosen longer", f"{100 * evaluated['pref_chosen_longer']:.0f}%")
    if evaluated.get("pref_length_ratio") is not None:
        table.add_row("eval pairs: length ratio", f"{evaluated['pref_length_ratio']:.2f}")
    sets = report.get("sets") or {}
    if len(sets) > 1 or any(entry.get("added") for entry in sets.values()):
        for name, entry in sets.items():
            m = entry.get("metrics") or {}
            figures = "  ".join(
                f"{k} {m[k]:.4f}" for k in ("bpb", "nll", "pref_accuracy") if m.get(k) is not None
            )
            table.add_row(f"set {name}", figures)
    for name, m in (report.get("tasks") or {}).items():
        figures = "  ".join(
            f"{k} {m[k]:.4f}" for k in ("acc", "acc_norm", "bpb") if isinstance(m.get(k), (int, float))
        )
        table.add_row(f"task {name} ({m.get('items', '?')} items)", figures)
    return table
