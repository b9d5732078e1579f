"""Sections and samples on hand-made inputs: shapes the small end-to-end run does not produce."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.report.data import RunData, score_metrics, step_tokens, to_samples
from curate.report.html import esc
from curate.report.run import (
    ReportOptions,
    Skip,
    classifier_scores,
    funnel,
    mix,
    render_report,
    scores,
    tokens,
    training,
)

# the stats a tokenize step writes (formats branch: fit = tokenizer, finalize = packing)
TOKENIZE_STEP = {
    "stage": "tokenize",
    "dir": "05-tokenize",
    "records": {"in": 10, "out": 10, "dropped": 0, "added": 0},
    "counters": {"tokens": 900.0, "target_tokens": 400.0},
    "fit": {"vocab_size": 8000, "sha256": "ab" * 32},
    "finalize": {
        "packing": "best_fit",
        "seq_len": 512,
        "rows": 3,
        "fill_ratio": 0.58,
        "tokens": 890,
        "sources": {
            "web": {
                "records": 6,
                "tokens_in": 700,
                "tokens": 690,
                "target_tokens": 690,
                "truncated_tokens": 10,
            },
            "chat": {
                "records": 4,
                "tokens_in": 200,
                "tokens": 200,
                "target_tokens": 90,
                "truncated_tokens": 0,
            },
        },
        "token_mix": {"web": 0.775281, "chat": 0.224719},
    },
}


def run_with(steps, **kw) -> RunData:
    return RunData(root=Path("/nonexistent"), manifest={"name": "x"}, steps=steps, **kw)


def test_tokens_per_source_come_from_the_tokenize_stage():
    section = tokens(run_with([TOKENIZE_STEP]), ReportOptions())
    assert not isinstance(section, Skip)
    assert "counted by the tokenizer" in section.body
    assert (
        '<td>web</td><td class="num">6</td><td class="num">700</td><td class="num">690</td>' in section.body
    )
    assert "77.53" in section.body  # web's token share in %
    assert step_tokens(TOKENIZE_STEP) == (890.0, "packed")


def test_tokens_section_is_skipped_without_counts():
    assert isinstance(tokens(run_with([{"stage": "quality", "dir": "01-quality"}]), ReportOptions()), Skip)


def test_training_reads_the_trainer_log_shape():
    log = [
        {"kind": "train", "step": 10, "loss": 4.0, "lr": 1e-3, "tokens": 100, "tokens_per_s": 50.0},
        {"kind": "train", "step": 20, "loss": 3.5, "lr": 5e-4, "tokens": 200, "tokens_per_s": 55.0},
        {"kind": "eval", "step": 20, "nll": 3.7, "ppl": 40.4, "bpb": 1.9},
    ]
    section = training(run_with([], train_log=log), ReportOptions())
    assert not isinstance(section, Skip)
    assert '<th>final train loss</th><td class="num">3.5</td>' in section.body
    assert (
        '<td class="num">20</td><td class="num">3.7</td><td class="num">40.4</td><td class="num">1.9</td>'
        in section.body
    )


def test_score_metrics_accepts_the_trainer_report_and_a_flat_dict():
    assert score_metrics({"metrics": {"bpb": 1.5, "ppl": 9.0}, "seed": 0}) == {"bpb": 1.5, "ppl": 9.0}
    assert score_metrics({"nll": 2.0, "bits_per_byte": 1.2, "device": "cpu"}) == {
        "nll": 2.0,
        "bits_per_byte": 1.2,
    }
    assert score_metrics(None) == {}


def test_samples_show_chat_preference_and_bad_input_records():
    msg = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
    chat = pl.DataFrame(
        {
            "id": ["c1"],
            "source": ["chat"],
            "messages": [
                [{"role": "user", "content": "<b>hi</b>"}, {"role": "assistant", "content": "hello"}]
            ],
            "reason": ["bad_chat:empty"],
        },
        schema_overrides={"messages": msg},
    )
    [sample] = to_samples(chat, chars=100)
    assert "<b>hi</b>" in sample.text and "hello" in sample.text and sample.reason == "bad_chat:empty"
    bad = pl.DataFrame(
        {
            "id": ["w:3"],
            "source": ["web"],
            "reason": ["bad_input:invalid_json"],
            "error": ["x"],
            "raw": ["{oops"],
        }
    )
    [sample] = to_samples(bad, chars=100)
    assert sample.text == "{oops" and sample.extras == {"error": "x"}
    assert esc(sample.text) == "{oops"


CLASSIFY_STEP = {
    "stage": "classify",
    "dir": "02-classify",
    "records": {"in": 10, "out": 7, "dropped": 3, "added": 0},
    "reasons": {"quality_not_kept": 3},
    "counters": {"quality_hq.p0.1": 3, "quality_hq.p0.9": 7, "quality_lq.p0.0": 7, "len.kept.6": 7},
}


def test_classifier_scores_show_each_label_and_what_was_removed():
    section = classifier_scores(run_with([CLASSIFY_STEP]), ReportOptions())
    assert not isinstance(section, Skip) and section is not None
    assert "<h3>02-classify</h3>" in section.body and "quality_not_kept: 3" in section.body
    assert section.body.count("<img") == 1


def test_classifier_section_is_absent_without_a_classify_step_and_skipped_without_counts():
    assert classifier_scores(run_with([TOKENIZE_STEP]), ReportOptions()) is None
    assert 'id="classifier"' not in render_report(run_with([TOKENIZE_STEP]))
    bare = {**CLASSIFY_STEP, "counters": {}}
    assert isinstance(classifier_scores(run_with([bare]), ReportOptions()), Skip)


def test_scores_show_normalised_preference_figures_and_the_pairs_length_bias():
    score = {
        "metrics": {
            "pref_accuracy": 0.2,
            "pref_margin": -41.0,
            "pref_accuracy_per_token": 0.7,
            "pref_margin_per_token": 0.3,
            "pref_accuracy_per_byte": 0.65,
            "pref_margin_per_byte": 0.1,
        },
        "eval": {"pairs": 80, "pref_chosen_longer": 0.85, "pref_length_ratio": 2.84},
    }
    html = scores(run_with([], score=score), ReportOptions()).body
    assert "preference accuracy (log-prob per token)" in html
    assert "preference accuracy (log-prob per byte)" in html
    assert "longer one (in bytes) in 85% of pairs" in html
    assert "mean length ratio chosen/rejected 2.84" in html


def _step(index: int, stage: str, n_in: int, n_out: int, **kw) -> dict:
    records = {"in": n_in, "out": n_out, "dropped": max(n_in - n_out, 0), "added": 0}
    return {"stage": stage, "dir": f"{index:02d}-{stage}", "records": records, "seconds": 1.0, **kw}


def test_funnel_leaves_training_out(monkeypatch):
    from curate.report import plots

    drawn = []
    monkeypatch.setattr(plots, "funnel", lambda labels, *counts: drawn.append(list(labels)) or "")
    steps = [_step(0, "read", 10, 10), _step(1, "clean", 10, 8), _step(2, "train", 0, 0)]
    body = funnel(run_with(steps), ReportOptions()).body
    assert drawn == [["00-read", "01-clean"]]
    assert "02-train" not in body


def test_mix_caption_says_how_the_shares_were_set():
    sources = {"web": {"records": 8, "requested_share": 0.8, "share_records": 0.8, "share_tokens": 0.8}}
    step = _step(
        4, "mix", 10, 8, fit={"target": 8, "unit": "records", "weighting": "weights", "sources": sources}
    )
    body = mix(run_with([step]), ReportOptions()).body
    assert "weighting weights" not in body
    assert "shares from the recipe&#x27;s weights" in body or "shares from the recipe's weights" in body
