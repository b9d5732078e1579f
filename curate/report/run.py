"""The run card: ``RUN_DIR/report.html``, one self-contained page that answers "what happened to
my data?" — recipe and versions, the funnel, why records went, lengths before and after,
languages, dedupe clusters and its S-curve, the mix, tokens, training and scores, sample records.

Each section is built from the run's files by one function that returns the section, or why it
has nothing to show (the page lists those at its end). Nothing here fails a run for lack of data.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.io.rundir import REPORT
from curate.io.writers import write_text
from curate.report import plots
from curate.report.data import (
    RunData,
    Sample,
    has_lengths,
    kept_samples,
    length_hist,
    load_run,
    prefixed,
    rejected_samples,
    score_metrics,
    step_tokens,
)
from curate.report.html import Cell, Section, esc, figure, fmt, key_values, page, paragraph, pre, table
from curate.terminal import printable

REPORT_FILE = REPORT


@dataclass(frozen=True)
class ReportOptions:
    """How much of the data the page shows (its size stays bounded whatever the run's size)."""

    samples_per_reason: int = 3
    kept_samples: int = 5
    sample_chars: int = 600
    max_reasons_sampled: int = 12
    max_table_rows: int = 40
    max_languages: int = 20


@dataclass(frozen=True)
class Skip:
    """A section left out, and why."""

    title: str
    why: str


SectionResult = Section | Skip | None
"""None: the section is about an optional stage this run does not have; it is not mentioned."""


def write_report(
    run_dir: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Write the run card of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``); return its path.

    Needs only ``manifest.json``; every other file adds its sections when present. Safe to call
    on an incomplete run (the page says so) and again after more files appear.
    """
    run = load_run(run_dir)
    path = Path(out) if out is not None else run.root / REPORT_FILE
    write_text(render_report(run, options=options), path)
    return path


def render_report(run: RunData, *, options: ReportOptions | None = None) -> str:
    """The HTML of the run card of a loaded run."""
    options = options or ReportOptions()
    sections: list[Section] = []
    skipped: list[tuple[str, str]] = []
    for build in SECTIONS:
        result = build(run, options)
        if result is None:
            continue
        if isinstance(result, Skip):
            skipped.append((result.title, result.why))
        else:
            sections.append(result)
    complete = run.manifest.get("complete", True)
    subtitle = f"curate run card · {run.root}" + ("" if complete else " · INCOMPLETE RUN")
    return page(f"Run {run.name}", sections, subtitle=subtitle, skipped=skipped)


# -- sections ------------------------------------------------------------------------------------


def overview(run: RunData, options: ReportOptions) -> SectionResult:
    m = run.manifest
    acc = m.get("accounting") or {}
    description = (run.recipe or {}).get("description")
    pairs: list[tuple[str, Any]] = [
        ("run", run.name),
        ("directory", str(run.root)),
        ("complete", m.get("complete")),
        ("seed", m.get("seed")),
        ("seconds", m.get("seconds")),
        ("records read", acc.get("records_in")),
        ("records added by sampling", acc.get("added")),
        ("records in output", acc.get("records_out")),
        ("records rejected", acc.get("rejected")),
        ("balanced (read + added = output + rejected)", acc.get("balanced")),
    ]
    body = (paragraph(description) if description else "") + key_values(pairs)
    if m.get("complete") is False:
        body = paragraph("This run has not finished: figures cover the steps done so far.") + body
    return Section("overview", "Overview", body)


def warnings(run: RunData, options: ReportOptions) -> SectionResult:
    """What the run warned about (empty files, a rule removing most of a step's input, training
    that repeats its data): shown near the top, where a reader starts."""
    found = list(run.manifest.get("warnings") or ())
    found += [w for w in (run.score or {}).get("warnings") or () if w not in found]
    if not found:
        return None
    body = "<ul>" + "".join(f"<li>{esc(w)}</li>" for w in found) + "</ul>"
    return Section("warnings", "Warnings", body)


def recipe(run: RunData, options: ReportOptions) -> SectionResult:
    m = run.manifest
    versions = [("curate", m.get("curate_version")), ("python", m.get("python"))]
    versions += sorted((m.get("versions") or {}).items())
    keys = m.get("keys") or {s.get("dir"): s.get("key") for s in run.steps}
    cached = {s.get("dir"): s.get("cached") for s in run.steps}
    body = "<h3>Resolved recipe (defaults filled in)</h3>"
    body += pre(run.recipe_text) if run.recipe_text else paragraph("recipe.yaml is missing.", muted=True)
    body += '<div class="grid"><div><h3>Versions</h3>' + key_values(versions) + "</div>"
    body += "<div><h3>Cache keys</h3>"
    body += table(
        ["step", "key", "reused from cache"],
        [(Cell(d), Cell(k), cached.get(d)) for d, k in keys.items()],
    )
    body += "</div></div>"
    return Section("recipe", "Recipe, versions and cache keys", body)


def funnel(run: RunData, options: ReportOptions) -> SectionResult:
    # training reads tokens, not records: it has no place among the record counts
    steps = [s for s in run.steps if s.get("stage") != "train"]
    if not steps:
        return Skip("Funnel", "the manifest lists no step yet")
    rows = []
    for s in steps:
        r = s["records"]
        tokens, how = step_tokens(s)
        kept = f"{100 * r['out'] / r['in']:.1f}" if r["in"] else "–"
        rows.append(
            (
                Cell(s["dir"]),
                r["in"],
                r["out"],
                r["dropped"],
                r["added"],
                Cell(kept, numeric=True),
                Cell(f"{fmt(int(tokens))} ({how})" if tokens is not None else "–", numeric=True),
                Cell("cached" if s.get("cached") else fmt(round(s.get("seconds") or 0.0, 2)), numeric=True),
                Cell(fmt(round(s["records_per_s"])) if s.get("records_per_s") else "–", numeric=True),
            )
        )
    image = plots.funnel(
        [s["dir"] for s in steps], [s["records"]["in"] for s in steps], [s["records"]["out"] for s in steps]
    )
    body = figure(image, alt="records in and out of each step")
    body += table(
        ["step", "in", "out", "removed", "added", "kept %", "tokens out", "seconds", "records/s"], rows
    )
    body += paragraph(
        "Added records are copies made by sampling (a mix repeating a source). Tokens are counted by the "
        "tokenizer when a tokenize stage ran, else estimated by mix.",
        muted=True,
    )
    return Section("funnel", "Funnel: records per step", body)


def removal_reasons(run: RunData, options: ReportOptions) -> SectionResult:
    steps = [s for s in run.steps if s.get("reasons")]
    if not steps:
        return Skip("Removal reasons", "no step removed any record")
    items = [(s["dir"], reason, int(n)) for s in steps for reason, n in s["reasons"].items()]
    body = figure(
        plots.reasons(items), alt="records removed per reason", caption="largest reasons, all steps"
    )
    for s in steps:
        total_in = s["records"]["in"] or 1
        ordered = sorted(s["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
        body += f"<h3>{esc(s['dir'])}: {fmt(s['records']['dropped'])} removed</h3>"
        body += table(
            ["reason", "records", "% of step input"],
            [
                (Cell(reason), int(n), Cell(f"{100 * n / total_in:.2f}", numeric=True))
                for reason, n in ordered
            ],
            limit=options.max_table_rows,
        )
    return Section("reasons", "Removal reasons per step", body)


def lengths(run: RunData, options: ReportOptions) -> SectionResult:
    measured = [s for s in run.stage_steps() if has_lengths(s)]
    if not measured:
        return Skip("Length histograms", "no stage recorded length counters")
    first, last = measured[0], measured[-1]
    before = _add(length_hist(first, "kept"), length_hist(first, "dropped"))
    after = length_hist(last, "kept")
    removed: dict[int, int] = {}
    for s in measured:
        removed = _add(removed, length_hist(s, "dropped"))
    image = plots.lengths({"before (read output)": before, "after (final output)": after, "removed": removed})
    caption = (
        f"before: the input of {first['dir']}; after: the output of {last['dir']}; removed: every stage's "
        "removals. Bins are powers of two of the text view's length in characters."
    )
    return Section(
        "lengths",
        "Document lengths before and after",
        figure(image, alt="length histograms", caption=caption),
    )


def _add(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def languages(run: RunData, options: ReportOptions) -> SectionResult:
    body = ""
    for s in run.steps:
        seen = {k: int(v) for k, v in prefixed(s.get("counters"), "lang.").items()}
        if not seen:
            continue
        kept = {k: int(v) for k, v in prefixed(s.get("counters"), "lang_kept.").items()}
        ordered = sorted(seen, key=lambda k: (-seen[k], k))
        top, rest = ordered[: options.max_languages], ordered[options.max_languages :]
        labels = [*top, *(["other"] if rest else [])]
        all_counts = [seen[k] for k in top] + ([sum(seen[k] for k in rest)] if rest else [])
        kept_counts = [kept.get(k, 0) for k in top] + ([sum(kept.get(k, 0) for k in rest)] if rest else [])
        image = plots.stacked_bars(
            labels,
            {"kept": kept_counts, "removed": [a - k for a, k in zip(all_counts, kept_counts, strict=True)]},
            ylabel="records",
            rotate=len(labels) > 12,
        )
        total = sum(seen.values()) or 1
        body += f"<h3>{esc(s['dir'])}</h3>" + figure(image, alt=f"languages identified by {s['dir']}")
        body += table(
            ["language", "records", "kept", "share %"],
            [
                (Cell(k), seen[k], kept.get(k, 0), Cell(f"{100 * seen[k] / total:.1f}", numeric=True))
                for k in ordered
            ],
            limit=options.max_table_rows,
        )
    if not body:
        return Skip("Languages", "no language stage ran")
    return Section("languages", "Language distribution", body)


_SCORE_BIN = re.compile(r"^(?P<column>\w+)\.p(?P<low>[01]\.\d)$")


def classifier_scores(run: RunData, options: ReportOptions) -> SectionResult:
    """Per classify step: how many records fell in each tenth of probability, per scored label."""
    body = ""
    for s in (s for s in run.steps if s.get("stage") == "classify"):
        counts: dict[str, dict[str, int]] = {}
        for key, value in (s.get("counters") or {}).items():
            match = _SCORE_BIN.match(key)
            if match:
                counts.setdefault(match["column"], {})[match["low"]] = int(value)
        if not counts:
            continue
        bins = [f"{b / 10:.1f}" for b in range(10)]
        image = plots.grouped_bars(
            [f"{b}-{float(b) + 0.1:.1f}" for b in bins],
            {column: [per_bin.get(b, 0) for b in bins] for column, per_bin in sorted(counts.items())},
            ylabel="records",
        )
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted((s.get("reasons") or {}).items())) or "none"
        body += f"<h3>{esc(s['dir'])}</h3>" + paragraph(f"Removed: {reasons}.")
        body += figure(image, alt=f"classifier probabilities in {s['dir']}")
    if not any(s.get("stage") == "classify" for s in run.steps):
        return None
    if not body:
        return Skip("Classifier scores", "the classify step left no score counts")
    return Section("classifier", "Classifier scores", body)


def dedupe(run: RunData, options: ReportOptions) -> SectionResult:
    body = ""
    for s in run.steps:
        fit = s.get("fit") or {}
        units = _repeated_units(s, fit, options)
        if "cluster_sizes" not in fit and "minhash" not in fit:
            if units:
                body += f"<h3>{esc(s['dir'])}</h3>" + units
            continue
        body += f"<h3>{esc(s['dir'])}</h3>" + units
        summary = [
            ("records", fit.get("records")),
            ("duplicate clusters", fit.get("clusters")),
            ("largest cluster", fit.get("largest_cluster")),
            ("candidate pairs (MinHash)", fit.get("candidate_pairs")),
            ("exact-duplicate pairs", fit.get("exact_pairs")),
            ("scope", fit.get("scope")),
            ("keep rule", fit.get("keep")),
            ("state bytes per record", fit.get("state_bytes_per_record")),
        ]
        summary += [(f"removed: {k}", v) for k, v in (fit.get("removed") or {}).items()]
        images = ""
        sizes = _by_lower_bound(fit.get("cluster_sizes") or {})
        if sizes:
            image = plots.stacked_bars(list(sizes), {"clusters": list(sizes.values())}, ylabel="clusters")
            images += (
                "<div>"
                + figure(
                    image, alt="cluster sizes", caption="duplicate clusters by size (records per cluster)"
                )
                + "</div>"
            )
        minhash = fit.get("minhash") or {}
        if minhash.get("bands") and minhash.get("rows"):
            points = [(p["jaccard"], p["p_detect"]) for p in minhash.get("s_curve") or []]
            image = plots.s_curve(
                int(minhash["bands"]), int(minhash["rows"]), minhash.get("threshold"), points
            )
            caption = (
                f"S-curve of {minhash['bands']} bands x {minhash['rows']} rows "
                f"({minhash.get('num_perm', '?')} permutations, {minhash.get('shingle', '?')} {minhash.get('ngram', '?')}-grams)"
            )
            images += "<div>" + figure(image, alt="LSH S-curve", caption=caption) + "</div>"
            summary += [
                ("bands x rows", f"{minhash['bands']} x {minhash['rows']}"),
                ("threshold", minhash.get("threshold")),
            ]
        body += (
            '<div class="grid">' + images + "</div>" + key_values([p for p in summary if p[1] is not None])
        )
    if not body:
        return Skip("Dedupe", "no dedupe stage ran")
    return Section("dedupe", "Dedupe: clusters and S-curve", body)


def _repeated_units(step: dict[str, Any], fit: dict[str, Any], options: ReportOptions) -> str:
    """The most repeated lines/paragraphs of a dedupe step, and the characters removed per source."""
    body = ""
    counters = step.get("counters") or {}
    for kind in ("lines", "paragraphs"):
        found = fit.get(kind)
        if not found:
            continue
        body += paragraph(
            f"Repeated {kind}: {fmt(found.get('repeated'))} distinct of {fmt(found.get('distinct'))} seen at least "
            f"{found.get('min_repeats')} times (remove: {found.get('remove')}, units under {found.get('min_chars')} "
            f"characters not counted); state {fmt(found.get('state_bytes'))} bytes."
        )
        top = found.get("top") or []
        if top:
            body += f"<h4>Most repeated {esc(kind)}</h4>" + table(
                ["occurrences", "text"], [(t.get("count"), printable(t.get("text") or "")) for t in top]
            )
        prefix = f"dup_{kind}."
        sources = sorted({k.split(".", 2)[2] for k in counters if k.startswith(prefix + "chars_in.")})
        rows = []
        for source in sources:
            total = counters.get(f"{prefix}chars_in.{source}", 0)
            removed = counters.get(f"{prefix}chars_removed.{source}", 0)
            rows.append((source, int(total), int(removed), _pct(removed / total if total else 0)))
        if rows:
            body += table(["source", "characters in", "characters removed", "% removed"], rows)
    return body


def decontamination(run: RunData, options: ReportOptions) -> SectionResult:
    """Per decontaminate step with n-gram matching: per benchmark, the records hit, the n-grams
    matched, and the benchmark items found in the most records."""
    steps = [s for s in run.steps if s.get("stage") == "decontaminate"]
    if not steps:
        return None
    body = ""
    for s in steps:
        found = s.get("contamination") or {}
        benchmarks = found.get("benchmarks") or {}
        if not benchmarks:
            continue
        counters = s.get("counters") or {}
        body += f"<h3>{esc(s['dir'])}</h3>" + paragraph(
            f"{found.get('n')}-grams of normalised words; action: {found.get('action')}"
            + (
                f"; {int(counters['contaminated.cut_records']):,} records cut"
                if "contaminated.cut_records" in counters
                else ""
            )
            + "."
        )
        body += table(
            ["benchmark", "items", "n-grams indexed", "records hit", "n-grams matched", "items found"],
            [
                (
                    name,
                    b.get("items"),
                    b.get("ngrams_indexed"),
                    b.get("records"),
                    b.get("ngrams_matched"),
                    b.get("items_found"),
                )
                for name, b in benchmarks.items()
            ],
        )
        rows = [
            (
                name,
                t.get("records"),
                t.get("origin", t.get("item")),
                (t.get("text") or "")[: options.sample_chars],
            )
            for name, b in benchmarks.items()
            for t in b.get("top_items") or ()
        ]
        if rows:
            body += paragraph("Benchmark items found in the most records:") + table(
                ["benchmark", "records", "item", "text"], rows
            )
    if not body:
        return Skip("Decontamination", "no decontaminate step matched n-grams (ngram/against not set)")
    return Section("decontamination", "Decontamination: benchmarks found in the data", body)


def _by_lower_bound(sizes: dict[str, Any]) -> dict[str, Any]:
    """Cluster-size buckets ("2", "5-9", "100+") in numeric order (JSON files sort them as text)."""

    def lower(label: str) -> float:
        digits = label.split("-")[0].rstrip("+")
        return float(digits) if digits.isdigit() else float("inf")

    return dict(sorted(sizes.items(), key=lambda kv: lower(kv[0])))


def mix(run: RunData, options: ReportOptions) -> SectionResult:
    body = ""
    for s in run.steps:
        fit = s.get("fit") or {}
        sources = fit.get("sources")
        if (
            not isinstance(sources, dict)
            or not sources
            or "share_records" not in next(iter(sources.values()))
        ):
            continue
        names = list(sources)
        groups = {
            "requested": [_num(sources[n].get("requested_share")) for n in names],
            "realised (records)": [_num(sources[n].get("share_records")) for n in names],
            "realised (tokens)": [_num(sources[n].get("share_tokens")) for n in names],
        }
        image = plots.grouped_bars(names, groups, ylabel="share of the mix (%)", percent=True)
        counted = fit.get("tokens_counted")
        body += f"<h3>{esc(s['dir'])}</h3>" + figure(
            image,
            alt="requested and realised mix",
            caption=f"target {fmt(fit.get('target'))} {fit.get('unit', '')}; "
            f"{WEIGHTING.get(fit.get('weighting'), 'shares: ' + str(fit.get('weighting', '?')))}; "
            f"tokens {counted or '?'}",
        )
        rows = []
        for n in names:
            src = sources[n]
            rows.append(
                (
                    Cell(n),
                    src.get("records"),
                    _pct(src.get("requested_share")),
                    _pct(src.get("share_records")),
                    _pct(src.get("share_tokens")),
                    src.get("records_out"),
                    src.get("epochs_records"),
                    src.get("records_repeated"),
                    src.get("records_not_sampled"),
                    src.get("shortfall"),
                )
            )
        body += table(
            [
                "source",
                "available",
                "requested %",
                "realised % (records)",
                "realised % (tokens)",
                "records out",
                "epochs",
                "repeated",
                "not sampled",
                "shortfall",
            ],
            rows,
        )
        if fit.get("shortfall"):
            body += paragraph(f"Shortfall: {fit['shortfall']}")
    if not body:
        return Skip("Mix", "no mix stage ran")
    return Section("mix", "Mix: requested vs realised", body)


WEIGHTING = {
    "weights": "shares from the recipe's weights",
    "temperature": "shares by temperature sampling",
    "size": "shares by source size",
}


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _pct(value: Any) -> Cell:
    return Cell(f"{100 * value:.2f}" if isinstance(value, (int, float)) else "–", numeric=True)


def tokens(run: RunData, options: ReportOptions) -> SectionResult:
    for s in reversed(run.steps):
        packed = (s.get("finalize") or {}).get("sources")
        if isinstance(packed, dict) and packed:
            return _tokenize_tokens(s, packed)
    for s in reversed(run.steps):
        sources = (s.get("fit") or {}).get("sources")
        if isinstance(sources, dict) and sources and "tokens_out" in next(iter(sources.values())):
            return _mix_tokens(s, sources)
    return Skip("Tokens per source", "no tokenize or mix stage counted tokens")


def _tokenize_tokens(s: dict[str, Any], packed: dict[str, dict[str, Any]]) -> Section:
    finalize = s["finalize"]
    names = list(packed)
    image = plots.grouped_bars(
        names,
        {
            "tokens": [_num(packed[n].get("tokens")) for n in names],
            "target tokens": [_num(packed[n].get("target_tokens")) for n in names],
        },
        ylabel="tokens",
    )
    columns = [
        "records",
        "tokens_in",
        "tokens",
        "target_tokens",
        "truncated_tokens",
        "dropped_records",
        "dropped_tokens",
    ]
    mix_share = finalize.get("token_mix") or {}
    body = figure(image, alt="tokens per source", caption=f"packed by {s['dir']} (counted by the tokenizer)")
    body += table(
        ["source", *columns, "token share %"],
        [(Cell(n), *[packed[n].get(c) for c in columns], _pct(mix_share.get(n))) for n in names],
    )
    summary = [
        (k, finalize.get(k))
        for k in ("packing", "seq_len", "rows", "fill_ratio", "target_ratio", "pad_tokens")
    ]
    fit = s.get("fit") or {}
    summary += [("vocab size", fit.get("vocab_size")), ("tokenizer sha256", fit.get("sha256"))]
    body += key_values([p for p in summary if p[1] is not None])
    return Section("tokens", "Tokens per source", body)


def _mix_tokens(s: dict[str, Any], sources: dict[str, dict[str, Any]]) -> Section:
    fit = s["fit"]
    names = list(sources)
    image = plots.grouped_bars(
        names,
        {
            "available": [_num(sources[n].get("tokens")) for n in names],
            "in the mix": [_num(sources[n].get("tokens_out")) for n in names],
        },
        ylabel="tokens",
    )
    how = fit.get("token_count") or fit.get("tokens_counted") or "estimated"
    body = figure(
        image,
        alt="tokens per source",
        caption=f"from {s['dir']}; no tokenize stage ran, so tokens are: {how}",
    )
    body += table(
        ["source", "tokens available", "tokens in the mix", "token share %"],
        [
            (
                Cell(n),
                sources[n].get("tokens"),
                sources[n].get("tokens_out"),
                _pct(sources[n].get("share_tokens")),
            )
            for n in names
        ],
    )
    return Section("tokens", "Tokens per source", body)


def training(run: RunData, options: ReportOptions) -> SectionResult:
    train = [
        r
        for r in run.train_log
        if r.get("kind", "train") == "train" and isinstance(r.get("loss"), (int, float))
    ]
    if not train:
        return Skip("Training", "no train/metrics.jsonl (the recipe has no train block)")
    evals = [r for r in run.train_log if r.get("kind") == "eval" and isinstance(r.get("nll"), (int, float))]
    body = figure(plots.training(train, evals), alt="training loss curve")
    last = train[-1]
    body += key_values(
        [
            ("steps", last.get("step")),
            ("final train loss", last.get("loss")),
            ("tokens seen", last.get("tokens")),
            ("tokens/s (last interval)", last.get("tokens_per_s")),
            ("elapsed seconds", last.get("elapsed")),
        ]
    )
    if evals:
        keys = [k for k in ("nll", "ppl", "bpb", "pref_accuracy", "pref_margin") if k in evals[-1]]
        names = list(evals[-1].get("sets") or {})  # several eval sets: keys are their average
        body += "<h3>Evals during training</h3>" + table(
            ["step", *(f"avg {k}" if names else k for k in keys), *(f"{n} bpb" for n in names)],
            [
                (
                    r["step"],
                    *[r.get(k) for k in keys],
                    *[((r.get("sets") or {}).get(n) or {}).get("bpb") for n in names],
                )
                for r in evals
            ],
            limit=options.max_table_rows,
        )
    return Section("training", "Training loss", body)


METRIC_NAMES = {
    "nll": "mean NLL (nats/token)",
    "ppl": "perplexity",
    "bpb": "bits per byte",
    "bits_per_byte": "bits per byte",
    "pref_accuracy": "preference accuracy (summed log-prob)",
    "pref_margin": "mean log-prob margin (chosen - rejected, summed)",
    "pref_accuracy_per_token": "preference accuracy (log-prob per token)",
    "pref_margin_per_token": "mean log-prob margin per token",
    "pref_accuracy_per_byte": "preference accuracy (log-prob per byte)",
    "pref_margin_per_byte": "mean log-prob margin per byte",
}


def _length_bias(evaluated: dict[str, Any]) -> str:
    """A note on the eval pairs' length bias, beside the preference figures."""
    longer, ratio = evaluated.get("pref_chosen_longer"), evaluated.get("pref_length_ratio")
    if not isinstance(longer, (int, float)) or not isinstance(ratio, (int, float)):
        return ""
    text = (
        f"Length bias of the eval pairs: the chosen response is the longer one (in bytes) in "
        f"{100 * longer:.0f}% of pairs; mean length ratio chosen/rejected {ratio:.2f}. "
        "A summed log-probability favours the shorter response: where the pairs lean one way, "
        "read the per-token and per-byte figures."
    )
    return paragraph(text, muted=abs(longer - 0.5) <= 0.15)


def scores(run: RunData, options: ReportOptions) -> SectionResult:
    metrics = score_metrics(run.score)
    if not metrics:
        return Skip("Eval metrics", "no score.json")
    score = run.score or {}
    base = (score.get("base") or {}).get("metrics") or {}
    if base:  # the model the run started from, before fine-tuning: the change the data made
        rows = [
            (Cell(METRIC_NAMES.get(k, k)), v, base.get(k), None if k not in base else v - base[k])
            for k, v in metrics.items()
        ]
        body = table(["metric", "value", "before fine-tuning", "change"], rows)
    else:
        body = table(["metric", "value"], [(Cell(METRIC_NAMES.get(k, k)), v) for k, v in metrics.items()])
    body += _length_bias(score.get("eval") or {})
    details = [
        (f"eval {k}", v) for k, v in (score.get("eval") or {}).items() if not isinstance(v, (dict, list))
    ]
    details += [
        (k.replace("_", " "), score.get(k))
        for k in ("tokens_seen", "wall_s", "tokens_per_s", "device", "n_params", "seed")
        if score.get(k) is not None
    ]
    body += _per_set_and_task(score)
    if details:
        body += "<h3>How it was measured</h3>" + key_values(details)
    return Section("scores", "Eval metrics", body)


def _per_set_and_task(score: dict[str, Any]) -> str:
    """Bar charts of bits per byte per eval set (and their average) and of accuracy per task
    (acc, acc_norm, the chance level dotted), with a table of every figure."""
    sets = {k: v for k, v in (score.get("sets") or {}).items() if isinstance(v, dict)}
    tasks = {k: v for k, v in (score.get("tasks") or {}).items() if isinstance(v, dict)}
    body = ""
    bpb = {k: (v.get("metrics") or {}).get("bpb") for k, v in sets.items()}
    bpb = {k: v for k, v in bpb.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if len(sets) > 1 or any(v.get("added") for v in sets.values()):
        avg = (score.get("avg") or {}).get("bpb")
        labels = [*bpb, *(["avg"] if isinstance(avg, (int, float)) and len(bpb) > 1 else [])]
        values = [*bpb.values(), *([avg] if len(labels) > len(bpb) else [])]
        if labels:
            body += "<h3>Per eval set</h3>" + figure(
                plots.hbars(labels, {"bpb": values}, xlabel="bits per byte (lower is better)"),
                alt="bits per byte per eval set",
                caption="Bits per byte on each eval set"
                + (" and their average." if len(labels) > len(bpb) else "."),
            )
        rows = [
            (
                Cell(name + (" (added by curate score)" if entry.get("added") else "")),
                (entry.get("metrics") or {}).get("bpb"),
                (entry.get("metrics") or {}).get("nll"),
                (entry.get("eval") or {}).get("records"),
                (entry.get("eval") or {}).get("bytes"),
            )
            for name, entry in sets.items()
        ]
        body += table(["eval set", "bpb", "nll", "records", "bytes"], rows)
    if tasks:
        names = list(tasks)

        def numbers(key: str) -> list[float]:
            return [float(tasks[n].get(key) or 0.0) for n in names]

        body += "<h3>Multiple-choice tasks</h3>" + figure(
            plots.hbars(
                names,
                {"acc": numbers("acc"), "acc_norm": numbers("acc_norm")},
                xlabel="accuracy (higher is better)",
                marks=[tasks[n].get("chance") for n in names],
                xmax=1.0,
            ),
            alt="accuracy per multiple-choice task",
            caption="Accuracy per task by log-likelihood (acc) and per character of the choice (acc_norm), "
            "as lm-eval scores them; the dotted tick is chance.",
        )
        body += table(
            ["task", "items", "acc", "acc_norm", "acc_bytes", "chance", "bpb of the answer"],
            [
                (
                    Cell(n),
                    tasks[n].get("items"),
                    tasks[n].get("acc"),
                    tasks[n].get("acc_norm"),
                    tasks[n].get("acc_bytes"),
                    tasks[n].get("chance"),
                    tasks[n].get("bpb"),
                )
                for n in names
            ],
        )
    return body


def samples(run: RunData, options: ReportOptions) -> SectionResult:
    body = ""
    final = [s["dir"] for s in run.stage_steps()]
    kept = kept_samples(
        run.root, final[-1] if final else None, n=options.kept_samples, chars=options.sample_chars
    )
    if kept:
        body += "<h3>Kept (final output)</h3>" + "".join(_record(x, "kept") for x in kept)
    for s in run.steps:
        reasons = sorted((s.get("reasons") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        if not reasons:
            continue
        chosen = [r for r, _ in reasons[: options.max_reasons_sampled]]
        found = rejected_samples(
            run.root, s["dir"], chosen, n=options.samples_per_reason, chars=options.sample_chars
        )
        parts = ""
        for reason in chosen:
            if found.get(reason):
                records = "".join(_record(x, "removed") for x in found[reason])
                parts += f"<details><summary>{esc(reason)} ({fmt(s['reasons'][reason])})</summary>{records}</details>"
        if parts:
            more = len(reasons) - len(chosen)
            note = paragraph(f"{more} further reasons not sampled.", muted=True) if more > 0 else ""
            body += f"<h3>Removed by {esc(s['dir'])}</h3>{parts}{note}"
    if not body:
        return Skip("Sample records", "no record shards to sample")
    return Section("samples", "Sample records", body)


def _record(sample: Sample, kind: str) -> str:
    meta = f"{esc(sample.id)} · source {esc(sample.source)}"
    if sample.reason:
        meta += f" · reason <code>{esc(sample.reason)}</code>"
    meta += "".join(f" · {esc(k)}={esc(v)}" for k, v in sample.extras.items())
    return f'<div class="record {kind}"><div class="meta">{meta}</div>{pre(sample.text)}</div>'


SECTIONS: tuple[Callable[[RunData, ReportOptions], SectionResult], ...] = (
    overview,
    warnings,
    recipe,
    funnel,
    removal_reasons,
    lengths,
    languages,
    classifier_scores,
    dedupe,
    decontamination,
    mix,
    tokens,
    training,
    scores,
    samples,
)
