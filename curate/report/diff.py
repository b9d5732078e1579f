"""``curate diff RUN_A RUN_B``: what differs between two runs.

Four comparisons, each from the run directories alone: the resolved recipes (defaults filled on
both sides, stages and sources matched by name, as key paths such as ``stages[3].mix.weights.web``,
only the paths whose values differ; a block one side lacks is one difference), the records in
and out of every step (and whether its cache key changed, i.e. whether it was recomputed), the
removal reasons whose counts differ, the realised mix per source, and the eval scores.

And a verdict: for two runs of two variants of one sweep (``SWEEP/runs/<variant>-s<seed>``), the
paired difference in the sweep's ranking metric over every seed both variants ran, with its 95%
interval and better / worse / cannot tell; for two runs of no common sweep, each run's eval-set
error (a bootstrap over eval documents) and, plainly, no verdict: one seed each cannot separate a
difference from seed noise.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from curate.io.writers import write_text
from curate.report.compare import VERDICT_TEXT, Comparison
from curate.report.data import RunData, load_run, score_metrics
from curate.report.html import Cell, Section, fmt, key_values, page, paragraph, table


class _Absent:
    """A key path one recipe has and the other lacks."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings and lists as {key path: leaf}: ``{"a": [{"b": 1}]}`` -> ``{"a[0].b": 1}``.
    Empty mappings and lists are leaves, so that ``{}`` and ``{x: 1}`` differ."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def diff_mappings(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key path, value in a, value in b) for every path whose values differ, in a's order then
    b's new paths.

    A block (mapping or list) that one side lacks (or has as null) is one difference, with the
    value :data:`ABSENT` on that side, not one per key inside it. Lists whose items name
    themselves (stages ``{clean: {...}}``, sources ``{name: web, ...}``) are matched by name, so a
    stage that one recipe adds does not shift every later stage: where the order of the names
    differs, the list's order is one difference (``stages (order)``) and its items are keyed by
    name (``stages.dedupe.exact``); where it is the same, by position (``stages[2].dedupe.exact``).
    """
    out: list[tuple[str, Any, Any]] = []
    _diff(a, b, "", out)
    return out


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _diff(a: Any, b: Any, path: str, out: list[tuple[str, Any, Any]]) -> None:
    a = ABSENT if a is None else a
    b = ABSENT if b is None else b
    if isinstance(a, dict) and isinstance(b, dict) and a and b:
        for key in list(a) + [k for k in b if k not in a]:
            _diff(a.get(key, ABSENT), b.get(key, ABSENT), _join(path, str(key)), out)
        return
    if isinstance(a, list) and isinstance(b, list) and a and b and not (_scalars(a) and _scalars(b)):
        names_a, names_b = _item_names(a), _item_names(b)
        if names_a is not None and names_b is not None and names_a != names_b:
            out.append((f"{path} (order)", ", ".join(names_a), ", ".join(names_b)))
            items_a, items_b = dict(zip(names_a, a, strict=True)), dict(zip(names_b, b, strict=True))
            for name in names_a + [n for n in names_b if n not in items_a]:
                _diff(
                    _unwrap(items_a.get(name, ABSENT)),
                    _unwrap(items_b.get(name, ABSENT)),
                    f"{path}.{name}",
                    out,
                )
            return
        for i in range(max(len(a), len(b))):
            _diff(a[i] if i < len(a) else ABSENT, b[i] if i < len(b) else ABSENT, f"{path}[{i}]", out)
        return
    if not _equal(a, b):
        out.append((path, a, b))


def _scalars(items: list[Any]) -> bool:
    """A list of plain values (a keep-list, roles): compared whole, shown whole."""
    return all(not isinstance(x, (dict, list)) for x in items)


def _item_name(item: Any) -> str | None:
    """What a list item calls itself: a stage's one key, a source's ``name``; None otherwise."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return item["name"]
    if (
        isinstance(item, dict)
        and len(item) == 1
        and isinstance(next(iter(item.values())), (dict, type(None)))
    ):
        return str(next(iter(item)))
    return None


def _item_names(items: list[Any]) -> list[str] | None:
    """The names of a list's items, repeats numbered (``clean``, ``clean#2``); None unless every
    item has a name of the same kind."""
    names = [_item_name(x) for x in items]
    if any(n is None for n in names):
        return None
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _unwrap(item: Any) -> Any:
    """A stage's config without its one-key wrapper (sources stay whole)."""
    if isinstance(item, dict) and len(item) == 1 and "name" not in item:
        return next(iter(item.values()))
    return item


def _equal(a: Any, b: Any) -> bool:
    """Equal values of the same kind (1 equals 1.0; true does not equal 1; absent equals absent)."""
    if a is ABSENT or b is ABSENT or a is None or b is None:
        return (a is ABSENT or a is None) and (b is ABSENT or b is None)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class StepCounts:
    """One step in both runs (None where a run lacks the step)."""

    step: str
    in_a: int | None
    out_a: int | None
    in_b: int | None
    out_b: int | None
    same_key: bool | None

    @property
    def changed(self) -> bool:
        return (self.in_a, self.out_a) != (self.in_b, self.out_b)


@dataclass(frozen=True)
class MixShare:
    """One source of the mix in both runs: requested and realised shares, records taken."""

    source: str
    requested_a: float | None
    requested_b: float | None
    realised_a: float | None
    realised_b: float | None
    records_a: int | None
    records_b: int | None

    @property
    def changed(self) -> bool:
        return (self.requested_a, self.realised_a, self.records_a) != (
            self.requested_b,
            self.realised_b,
            self.records_b,
        )


@dataclass
class RunDiff:
    """What differs between runs ``a`` and ``b``."""

    a: Path
    b: Path
    name_a: str
    name_b: str
    recipe: list[tuple[str, Any, Any]] = field(default_factory=list)
    steps: list[StepCounts] = field(default_factory=list)
    reasons: list[tuple[str, str, int, int]] = field(default_factory=list)
    mix: list[MixShare] = field(default_factory=list)
    scores: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    noise: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    """Per bits-per-byte metric: the half-width of each run's eval-set bootstrap interval."""
    paired: Comparison | None = None
    """Two variants of one sweep: B's variant minus A's in the sweep's metric, over their seeds."""

    @property
    def recipe_keys(self) -> list[str]:
        return [key for key, _, _ in self.recipe]

    @property
    def same(self) -> bool:
        """Nothing measurable differs (recipes, counts, reasons, mix, scores)."""
        return not (
            self.recipe
            or any(s.changed for s in self.steps)
            or self.reasons
            or any(m.changed for m in self.mix)
            or any(a != b for _, a, b in self.scores)
        )


def diff_runs(a: str | os.PathLike, b: str | os.PathLike) -> RunDiff:
    """Compare two run directories (each needs its ``manifest.json``)."""
    run_a, run_b = load_run(a), load_run(b)
    return RunDiff(
        run_a.root,
        run_b.root,
        run_a.name,
        run_b.name,
        recipe=diff_mappings(_resolved(run_a.recipe), _resolved(run_b.recipe)),
        steps=_steps(run_a, run_b),
        reasons=_reasons(run_a, run_b),
        mix=_mix(run_a, run_b),
        scores=_scores(run_a, run_b),
        noise=_noise(run_a, run_b),
        paired=sweep_variants(run_a.root, run_b.root),
    )


def _noise(a: RunData, b: RunData) -> list[tuple[str, float | None, float | None]]:
    from curate.train.evalset import eval_noise

    na, nb = eval_noise(a.score), eval_noise(b.score)
    return [(k, na.get(k), nb.get(k)) for k in list(na) + [k for k in nb if k not in na]]


def _sweep_entry(run_dir: Path) -> tuple[Path, dict[str, Any], dict[str, Any]] | None:
    """The sweep a run directory belongs to (``SWEEP/runs/<run>``, listed in ``SWEEP/sweep.json``):
    the sweep directory, its summary and the run's entry; None for a run of no sweep."""
    from curate.io.writers import read_json

    root = run_dir.resolve()
    summary_file = root.parent.parent / "sweep.json"
    if root.parent.name != "runs" or not summary_file.is_file():
        return None
    try:
        summary = read_json(summary_file)
    except (OSError, ValueError):
        return None
    for entry in summary.get("runs") or []:
        if isinstance(entry, dict) and Path(str(entry.get("run_dir"))).name == root.name:
            return root.parent.parent, summary, entry
    return None


def sweep_variants(a: str | os.PathLike, b: str | os.PathLike) -> Comparison | None:
    """Runs of two variants of one sweep: B's variant minus A's in the sweep's ranking metric,
    paired over every seed both ran (not only the two runs given); None otherwise."""
    from curate.report.compare import compare
    from curate.report.sweep import higher_is_better

    found_a, found_b = _sweep_entry(Path(a)), _sweep_entry(Path(b))
    if found_a is None or found_b is None or found_a[0] != found_b[0]:
        return None
    (_, summary, entry_a), (_, _, entry_b) = found_a, found_b
    metric = summary.get("metric")
    if not metric or entry_a.get("variant") == entry_b.get("variant"):
        return None
    rows = [r for r in summary.get("runs") or [] if isinstance(r, dict) and r.get("status") != "failed"]
    return compare(
        rows,
        str(entry_b["variant"]),
        str(entry_a["variant"]),
        metric=metric,
        higher_is_better=higher_is_better(metric),
    )


def single_run_note(d: RunDiff) -> str:
    """What the scores of two runs of no common sweep can and cannot say."""
    text = (
        "One seed each: a difference in the scores cannot be told from seed-to-seed noise (another "
        "initialisation and data order move bits per byte by about 0.01-0.02 at small scale), so there is no "
        "verdict. Run both as variants of a sweep with several seeds (`curate sweep`) for a paired one."
    )
    outside = [
        k
        for k, na, nb in d.noise
        if na is not None and nb is not None and _gap(d, k) is not None and abs(_gap(d, k)) > na + nb  # type: ignore[arg-type]
    ]
    if outside:
        text += (
            f" The difference in {', '.join(outside)} is larger than the two eval sets' own errors together "
            "(bootstrap over documents): another draw of eval documents would not undo it, seeds still might."
        )
    elif d.noise:
        text += " The differences lie within the eval sets' own errors (bootstrap over documents) too."
    return text


def _gap(d: RunDiff, metric: str) -> float | None:
    for k, va, vb in d.scores:
        if k == metric and va is not None and vb is not None:
            return vb - va
    return None


def _resolved(recipe: dict[str, Any] | None) -> dict[str, Any]:
    """A run's recipe with every default filled in, as this version of curate resolves it (a run
    written by an older version may lack newer keys); as written where it no longer validates."""
    if not recipe:
        return {}
    from curate.errors import CurateError
    from curate.recipe import dump_resolved, parse_recipe

    try:
        import yaml

        text = yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)
        resolved = yaml.safe_load(dump_resolved(parse_recipe(text, source_name="recipe.yaml")))
    except (CurateError, ValueError):
        return recipe
    return resolved if isinstance(resolved, dict) else recipe


def _by_dir(run: RunData) -> dict[str, dict[str, Any]]:
    return {s["dir"]: s for s in run.steps}


def _steps(a: RunData, b: RunData) -> list[StepCounts]:
    sa, sb = _by_dir(a), _by_dir(b)
    rows = []
    for step in list(sa) + [d for d in sb if d not in sa]:
        ra = (sa.get(step) or {}).get("records") or {}
        rb = (sb.get(step) or {}).get("records") or {}
        same_key = sa[step].get("key") == sb[step].get("key") if step in sa and step in sb else None
        rows.append(StepCounts(step, ra.get("in"), ra.get("out"), rb.get("in"), rb.get("out"), same_key))
    return rows


def _reasons(a: RunData, b: RunData) -> list[tuple[str, str, int, int]]:
    sa, sb = _by_dir(a), _by_dir(b)
    out = []
    for step in list(sa) + [d for d in sb if d not in sa]:
        ra = (sa.get(step) or {}).get("reasons") or {}
        rb = (sb.get(step) or {}).get("reasons") or {}
        for reason in sorted(set(ra) | set(rb)):
            if ra.get(reason, 0) != rb.get(reason, 0):
                out.append((step, reason, int(ra.get(reason, 0)), int(rb.get(reason, 0))))
    return out


def _mix_sources(run: RunData) -> dict[str, dict[str, Any]]:
    for step in reversed(run.steps):
        sources = (step.get("fit") or {}).get("sources")
        if isinstance(sources, dict) and sources and "share_records" in next(iter(sources.values())):
            return sources
    return {}


def _mix(a: RunData, b: RunData) -> list[MixShare]:
    ma, mb = _mix_sources(a), _mix_sources(b)
    rows = []
    for source in list(ma) + [s for s in mb if s not in ma]:
        xa, xb = ma.get(source, {}), mb.get(source, {})
        rows.append(
            MixShare(
                source,
                xa.get("requested_share"),
                xb.get("requested_share"),
                xa.get("share_records"),
                xb.get("share_records"),
                xa.get("records_out"),
                xb.get("records_out"),
            )
        )
    return rows


def _scores(a: RunData, b: RunData) -> list[tuple[str, float | None, float | None]]:
    sa, sb = score_metrics(a.score), score_metrics(b.score)
    return [(k, sa.get(k), sb.get(k)) for k in list(sa) + [k for k in sb if k not in sa]]


# -- rendering -----------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A recipe value as the diff prints it: strings bare, everything else as JSON."""
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):  # a whole block: what it sets, not its nulls
        value = {k: v for k, v in value.items() if v is not None}
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (dict, list)) and len(text) > SHOW_LIMIT:  # a whole block one side lacks
        return text[: SHOW_LIMIT - 1] + "…"
    return text


SHOW_LIMIT = 160


def _delta(a: float | int | None, b: float | int | None, *, percent: bool = False) -> str:
    if not _is_number(a) or not _is_number(b):
        return "–"
    d = b - a
    if percent:
        return f"{100 * d:+.2f} pts"
    return f"{d:+,}" if isinstance(d, int) else f"{d:+.4g}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def diff_header(d: RunDiff) -> Text:
    """Which run is A and which is B."""
    return Text(f"A: {d.name_a} ({d.a})\nB: {d.name_b} ({d.b})")


def diff_tables(d: RunDiff) -> list[Table]:
    """The diff as rich tables (terminal); user values are shown as text, never as markup."""
    recipe = Table(title=f"recipe: {len(d.recipe)} differing key(s)", title_justify="left")
    # keys stay whole on one line (a key cut mid-word cannot be searched for); values fold
    recipe.add_column("key", no_wrap=True, min_width=max((len(k) for k in d.recipe_keys), default=3))
    for column in ("A", "B"):
        recipe.add_column(column, overflow="fold")
    for key, va, vb in d.recipe:
        recipe.add_row(Text(key), Text(show(va)), Text(show(vb)))

    steps = Table(title="records per step", title_justify="left")
    for column in ("step", "A in", "A out", "B in", "B out", "Δ out", "recomputed"):
        steps.add_column(column, justify="left" if column in ("step", "recomputed") else "right")
    for s in d.steps:
        style = "yellow" if s.changed else None
        recomputed = "–" if s.same_key is None else ("no (same key)" if s.same_key else "yes (new key)")
        steps.add_row(
            Text(s.step),
            fmt(s.in_a),
            fmt(s.out_a),
            fmt(s.in_b),
            fmt(s.out_b),
            _delta(s.out_a, s.out_b),
            recomputed,
            style=style,
        )
    tables = [recipe, steps]
    if d.reasons:
        reasons = Table(title="removal reasons that changed", title_justify="left")
        for column in ("step", "reason", "A", "B", "Δ"):
            reasons.add_column(column, justify="left" if column in ("step", "reason") else "right")
        for step, reason, ca, cb in d.reasons:
            reasons.add_row(Text(step), Text(reason), fmt(ca), fmt(cb), _delta(ca, cb))
        tables.append(reasons)
    if d.mix:
        mix = Table(title="mix per source", title_justify="left")
        for column in (
            "source",
            "A requested",
            "A realised",
            "B requested",
            "B realised",
            "Δ realised",
            "A records",
            "B records",
        ):
            mix.add_column(column, justify="left" if column == "source" else "right")
        for m in d.mix:
            mix.add_row(
                Text(m.source),
                _pct(m.requested_a),
                _pct(m.realised_a),
                _pct(m.requested_b),
                _pct(m.realised_b),
                _delta(m.realised_a, m.realised_b, percent=True),
                fmt(m.records_a),
                fmt(m.records_b),
                style="yellow" if m.changed else None,
            )
        tables.append(mix)
    if d.scores:
        scores = Table(title="scores", title_justify="left")
        for column in ("metric", "A", "B", "Δ"):
            scores.add_column(column, justify="left" if column == "metric" else "right")
        for metric, va, vb in d.scores:
            scores.add_row(Text(metric), fmt(va), fmt(vb), _delta(va, vb))
        tables.append(scores)
    if d.paired is not None or d.scores:
        tables.append(_verdict_table(d))
    return tables


def _noise_text(value: float | None) -> str:
    return "–" if value is None else f"± {value:.2g}"


def _verdict_table(d: RunDiff) -> Table:
    """The paired comparison of two sweep variants, else each run's eval-set error and why one
    seed each gives no verdict."""
    if d.paired is not None:
        c = d.paired
        table = Table(
            title=f"verdict: {c.variant} (B) vs {c.reference} (A), paired over {c.difference.n} seed(s) of their sweep",
            title_justify="left",
            caption=c.advice(),
            caption_justify="left",
        )
        columns = (
            "metric",
            "Δ B - A [95% CI]",
            "paired sd",
            "verdict",
            "eval ± of Δ (paired)",
            "eval-set ± (bootstrap)",
        )
        for column in columns:
            table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
        sd = c.difference.sd
        table.add_row(
            Text(c.metric),
            c.interval_text(),
            "–" if sd is None else f"{sd:.2g}",
            VERDICT_TEXT[c.verdict],
            _noise_text(c.eval_error),
            _noise_text(c.eval_noise),
        )
        return table
    table = Table(
        title="verdict: none (one seed each)",
        title_justify="left",
        caption=single_run_note(d),
        caption_justify="left",
    )
    for column in ("metric", "A eval-set ± (bootstrap)", "B eval-set ± (bootstrap)", "Δ"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric, na, nb in d.noise:
        table.add_row(Text(metric), _noise_text(na), _noise_text(nb), _delta(*_pair(d, metric)))
    return table


def _pair(d: RunDiff, metric: str) -> tuple[float | None, float | None]:
    for k, va, vb in d.scores:
        if k == metric:
            return va, vb
    return None, None


def render_diff_html(d: RunDiff) -> str:
    """The diff as a self-contained HTML page."""
    sections = [
        Section("runs", "Runs", key_values([("A", f"{d.name_a} ({d.a})"), ("B", f"{d.name_b} ({d.b})")])),
    ]
    if d.recipe:
        body = table(["key", "A", "B"], [(Cell(k), Cell(show(va)), Cell(show(vb))) for k, va, vb in d.recipe])
    else:
        body = paragraph("The resolved recipes are identical.")
    sections.append(Section("recipe", f"Recipe: {len(d.recipe)} differing key(s)", body))
    step_rows = [
        (
            Cell(s.step),
            s.in_a,
            s.out_a,
            s.in_b,
            s.out_b,
            Cell(_delta(s.out_a, s.out_b), numeric=True),
            Cell("–" if s.same_key is None else ("no" if s.same_key else "yes")),
        )
        for s in d.steps
    ]
    sections.append(
        Section(
            "steps",
            "Records per step",
            table(
                ["step", "A in", "A out", "B in", "B out", "Δ out", "recomputed (new cache key)"],
                step_rows,
                row_classes=["changed" if s.changed else "" for s in d.steps],
            ),
        )
    )
    if d.reasons:
        sections.append(
            Section(
                "reasons",
                "Removal reasons that changed",
                table(
                    ["step", "reason", "A", "B", "Δ"],
                    [
                        (Cell(s), Cell(r), ca, cb, Cell(_delta(ca, cb), numeric=True))
                        for s, r, ca, cb in d.reasons
                    ],
                ),
            )
        )
    if d.mix:
        rows = [
            (
                Cell(m.source),
                Cell(_pct(m.requested_a), numeric=True),
                Cell(_pct(m.realised_a), numeric=True),
                Cell(_pct(m.requested_b), numeric=True),
                Cell(_pct(m.realised_b), numeric=True),
                Cell(_delta(m.realised_a, m.realised_b, percent=True), numeric=True),
                m.records_a,
                m.records_b,
            )
            for m in d.mix
        ]
        sections.append(
            Section(
                "mix",
                "Mix per source",
                table(
                    [
                        "source",
                        "A requested",
                        "A realised",
                        "B requested",
                        "B realised",
                        "Δ realised",
                        "A records",
                        "B records",
                    ],
                    rows,
                    row_classes=["changed" if m.changed else "" for m in d.mix],
                ),
            )
        )
    if d.scores:
        sections.append(
            Section(
                "scores",
                "Scores",
                table(
                    ["metric", "A", "B", "Δ"],
                    [(Cell(k), va, vb, Cell(_delta(va, vb), numeric=True)) for k, va, vb in d.scores],
                ),
            )
        )
    if d.paired is not None or d.scores:
        sections.append(_verdict_section(d))
    title = f"Diff {d.name_a} → {d.name_b}"
    return page(title, sections, subtitle=f"curate diff · {d.a} vs {d.b}")


def _verdict_section(d: RunDiff) -> Section:
    if d.paired is not None:
        c = d.paired
        sd = c.difference.sd
        body = table(
            [
                "metric",
                "Δ B - A [95% CI]",
                "paired sd",
                "seeds",
                "verdict",
                "eval ± of Δ (paired)",
                "eval-set ± (bootstrap)",
            ],
            [
                (
                    Cell(c.metric),
                    Cell(c.interval_text(), numeric=True),
                    sd,
                    c.difference.n,
                    Cell(VERDICT_TEXT[c.verdict]),
                    Cell(_noise_text(c.eval_error), numeric=True),
                    Cell(_noise_text(c.eval_noise), numeric=True),
                )
            ],
        )
        body = (
            paragraph(
                f"B is variant {c.variant}, A variant {c.reference} of one sweep: the difference is paired over "
                "every seed both ran."
            )
            + body
        )
        if c.advice():
            body += paragraph(c.advice() or "")
        return Section("verdict", "Verdict (paired over seeds)", body)
    rows = [
        (
            Cell(k),
            Cell(_noise_text(na), numeric=True),
            Cell(_noise_text(nb), numeric=True),
            Cell(_delta(*_pair(d, k)), numeric=True),
        )
        for k, na, nb in d.noise
    ]
    body = (
        table(["metric", "A eval-set ± (bootstrap)", "B eval-set ± (bootstrap)", "Δ"], rows) if rows else ""
    )
    return Section("verdict", "Verdict: none (one seed each)", body + paragraph(single_run_note(d)))


def write_diff_html(d: RunDiff, path: str | os.PathLike) -> Path:
    return write_text(render_diff_html(d), path)
