"""The run card in a real browser: headless Chromium loads it offline, without console errors,
and draws it to a PNG.

Needs the Debian package ``chromium`` (``apt-get install -y chromium``); skipped without it.
Chromium prints every console message (script errors, Content-Security-Policy violations such as
a blocked remote image or script) to stderr as ``INFO:CONSOLE`` lines with ``--enable-logging=stderr``;
the control test shows that a page with a broken script does produce one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from curate.report import write_report
from tests.report.test_run import SECTIONS

pytestmark = pytest.mark.slow

BROWSER = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="headless Chromium not installed (Debian: apt-get install -y chromium)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@needs_browser
def test_report_renders_in_headless_chromium_without_errors(runs, tmp_path):
    page = write_report(runs.a, out=tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = chromium(page, tmp_path / "profile", "--window-size=1200,3000", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 3000)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 200  # text, tables and plots, not a blank page

    dom = chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0
    assert console_messages(dom.stderr) == []
    assert dom.stdout.rstrip().endswith("</html>")
    for anchor in SECTIONS:
        assert re.search(f'<section id="{anchor}">', dom.stdout), anchor
    assert "<script" not in dom.stdout.lower()  # the browser parsed no element out of record text


@needs_browser
def test_console_errors_are_detected(tmp_path):
    """Control: the check above sees a script error and a blocked remote image."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        'content="img-src data:"></head><body><p>x</p><script>no_such_function();</script>'
        '<img src="https://example.invalid/x.png"></body></html>'
    )
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    messages = console_messages(result.stderr)
    assert any("no_such_function" in m for m in messages)
    assert any("example.invalid" in m for m in messages)
