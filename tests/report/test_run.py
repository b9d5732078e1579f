"""The run card of a real run: every section present, figures embedded, record text escaped."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil

import pytest

from curate.report import ReportOptions, write_report
from curate.report.data import length_hist, load_run, score_metrics
from curate.report.html import esc
from tests.report.conftest import IMG, SCRIPT

pytestmark = pytest.mark.slow

SECTIONS = {
    "overview": "Overview",
    "recipe": "Recipe, versions and cache keys",
    "funnel": "Funnel: records per step",
    "reasons": "Removal reasons per step",
    "lengths": "Document lengths before and after",
    "languages": "Language distribution",
    "dedupe": "Dedupe: clusters and S-curve",
    "mix": "Mix: requested vs realised",
    "tokens": "Tokens per source",
    "training": "Training loss",
    "scores": "Eval metrics",
    "samples": "Sample records",
}


@pytest.fixture(scope="module")
def report(runs):
    path = write_report(runs.a)
    return path, path.read_text(encoding="utf-8")


def test_report_has_every_section_and_a_table_of_contents(runs, report):
    path, page = report
    assert path == runs.a / "report.html"
    for anchor, title in SECTIONS.items():
        assert f'<section id="{anchor}"><h2>{esc(title)}</h2>' in page, anchor
        assert f'<a href="#{anchor}">{esc(title)}</a>' in page, anchor
    assert 'id="not-shown"' not in page  # nothing was skipped


def test_report_is_self_contained(report):
    _, page = report
    assert "<script" not in page.lower()  # no script of ours, and record text is escaped
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no CDN, no remote image or font
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 9  # funnel, reasons, lengths, languages, clusters, S-curve, mix, tokens, loss
    from PIL import Image

    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and image.width >= 400 and image.height >= 200


def test_figures_match_the_stats(runs, report):
    """The tables show the run's own numbers (a report that drifted from its stats would fail)."""
    _, page = report
    run = load_run(runs.a)
    for step in run.steps:
        r = step["records"]
        assert (
            f'<td>{step["dir"]}</td><td class="num">{r["in"]:,}</td><td class="num">{r["out"]:,}</td>' in page
        )
    dedupe = next(s for s in run.steps if s["stage"] == "dedupe")
    bands, rows = dedupe["fit"]["minhash"]["bands"], dedupe["fit"]["minhash"]["rows"]
    assert f"{bands} bands x {rows} rows" in page
    language = next(s for s in run.steps if s["stage"] == "language")
    assert f'<td>en</td><td class="num">{int(language["counters"]["lang.en"]):,}</td>' in page
    quality = next(s for s in run.steps if s["stage"] == "quality")
    before = sum(length_hist(quality, "kept").values()) + sum(length_hist(quality, "dropped").values())
    assert before == quality["records"]["in"]  # the "before" histogram covers the whole read output
    for metric, value in score_metrics(run.score).items():
        assert metric in ("nll", "ppl", "bpb")
        assert value > 0


def test_hostile_record_text_is_escaped(runs, report):
    _, page = report
    assert SCRIPT not in page and "<img src=x" not in page
    assert esc(SCRIPT) in page  # the kept page with a script tag shows it as text
    assert esc(IMG) in page  # the removed injection attempt too
    assert "web/part-0.jsonl:1" in page and "web/part-0.jsonl:2" in page  # both records are shown


def test_samples_are_bounded(runs, tmp_path):
    options = ReportOptions(samples_per_reason=1, kept_samples=2, sample_chars=50)
    page = write_report(runs.a, out=tmp_path / "small.html", options=options).read_text()
    texts = re.findall(r'<div class="record (kept|removed)">.*?<pre>(.*?)</pre>', page, re.S)
    assert sum(1 for kind, _ in texts if kind == "kept") == 2
    shown = [re.sub(r" … \([\d,]+ more characters\)$", "", html.unescape(body)) for _, body in texts]
    assert shown and all(len(text) <= 50 for text in shown)
    run = load_run(runs.a)
    reasons = [s for s in run.steps if s.get("reasons")]
    removed = sum(min(len(s["reasons"]), options.max_reasons_sampled) for s in reasons)
    assert sum(1 for kind, _ in texts if kind == "removed") == removed  # one per reason


def test_sections_without_data_are_skipped_and_listed(runs, tmp_path):
    """A run directory holding only its manifest and stats still gives a page."""
    bare = tmp_path / "bare"
    bare.mkdir()
    manifest = json.loads((runs.a / "manifest.json").read_text())
    for step in manifest["steps"]:
        step.pop("fit", None)
        step["counters"] = {}
    (bare / "manifest.json").write_text(json.dumps(manifest))
    page = write_report(bare).read_text()
    for anchor in ("overview", "recipe", "funnel", "reasons"):
        assert f'<section id="{anchor}">' in page
    for anchor in ("lengths", "languages", "dedupe", "mix", "tokens", "training", "scores", "samples"):
        assert f'<section id="{anchor}">' not in page
    assert '<section id="not-shown">' in page and "no dedupe stage ran" in page and "no score.json" in page


def test_an_incomplete_run_says_so(runs, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(runs.a, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    manifest["complete"] = False
    manifest["steps"] = manifest["steps"][:2]
    (partial / "manifest.json").write_text(json.dumps(manifest))
    page = write_report(partial).read_text()
    assert "INCOMPLETE RUN" in page and "has not finished" in page
    assert '<section id="funnel">' in page and '<section id="dedupe">' not in page


def test_report_stays_small(report):
    _, page = report
    # no wall-clock bound (a busy machine fails one for reasons that are not bugs): the page's
    # size is what a browser has to load
    assert len(page) < 2_000_000
