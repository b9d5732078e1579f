"""Record data printed on a terminal: escape sequences are shown, never sent (curate inspect, the
summary table, error messages quoting record text)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import StageError
from curate.terminal import printable
from tests.conftest import write_jsonl

HOSTILE = "\x1b]0;owned title\x07\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \x9b31m\r\x7f"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_printable_shows_controls_and_keeps_text_newlines_and_tabs():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("é 中文 🙂") == "é 中文 🙂"
    shown = printable(HOSTILE)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert shown.startswith("\\x1b]0;owned title\\x07\\x1b[2J") and "\\x9b31m\\x0d\\x7f" in shown


@pytest.fixture
def hostile_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    docs = [{"text": f"{HOSTILE} record {i} with enough words to pass", "note": HOSTILE} for i in range(3)]
    write_jsonl(tmp_path / "data/a.jsonl", docs)
    (tmp_path / "r.yaml").write_text(
        "name: hostile\nsources: [{name: web, path: data/*.jsonl}]\nstages: []\n"
    )
    assert invoke("run", "r.yaml", "-q", "--workers", "1").exit_code == 0
    return tmp_path / "runs/hostile"


def test_inspect_prints_no_escape_sequence_from_records(hostile_run):
    result = invoke("inspect", str(hostile_run), "--stage", "read")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\x9b" not in result.output
    assert "\\x1b]0;owned title\\x07" in result.output


def test_the_summary_table_prints_no_escape_sequence_from_the_manifest(hostile_run):
    manifest_path = hostile_run / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["name"] = HOSTILE
    manifest["steps"][0]["reasons"] = {f"bad_input:{HOSTILE}[bold]": 2}
    manifest_path.write_text(json.dumps(manifest))
    result = invoke("stats", str(hostile_run))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\\x1b[2J" in result.output and "[bold]" in result.output


def test_an_error_quoting_record_text_prints_no_escape_sequence(hostile_run, monkeypatch):
    import curate.report.inspect_run

    def fail(*_args, **_kwargs):
        raise StageError(f"stage clean failed on record {HOSTILE!s}")

    monkeypatch.setattr(curate.report.inspect_run, "sample_records", fail)
    result = invoke("inspect", str(hostile_run), "--stage", "read")
    assert result.exit_code != 0
    assert "\x1b" not in result.output and "failed on record \\x1b]0;owned title" in result.output
