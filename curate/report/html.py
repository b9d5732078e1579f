"""Small HTML building blocks for self-contained pages: escaping, tables, figures, the page shell.

Every value that reaches a page goes through :func:`esc` (``html.escape`` with quotes), so record
text, recipe values and names show as text. The page carries a Content-Security-Policy that
allows no script and no network fetch at all (images only as ``data:`` URIs, styles only inline):
even a value that escaped escaping could neither run nor phone home, and the file opens offline.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { --fg: #1d2330; --muted: #5d6678; --line: #d9dee8; --bg: #ffffff; --soft: #f4f6fa;
        --accent: #2f5fb3; --bad: #b3372f; --good: #2e7d4f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-top: 8px; border-top: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
p.sub, .muted { color: var(--muted); }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px;
          margin: 16px 0; }
nav.toc ol { margin: 4px 0; padding-left: 22px; columns: 2; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.changed td { background: #fff7e0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px;
      overflow-x: auto; white-space: pre-wrap; word-break: break-word; max-height: 420px; overflow-y: auto; }
figure { margin: 8px 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12.5px; }
details { margin: 6px 0; }
summary { cursor: pointer; font-weight: 600; }
.record { border-left: 3px solid var(--line); padding: 2px 0 2px 10px; margin: 8px 0; }
.record.removed { border-left-color: var(--bad); }
.record.kept { border-left-color: var(--good); }
.record .meta { color: var(--muted); font-size: 12.5px; }
.pill { display: inline-block; background: var(--soft); border: 1px solid var(--line); border-radius: 10px;
        padding: 0 8px; margin: 0 4px 4px 0; font-size: 12.5px; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 28px; }
"""


def esc(value: Any) -> str:
    """``value`` as text that HTML shows verbatim (quotes escaped too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any, *, digits: int = 4) -> str:
    """A number or value as short, readable text (thousands separators, significant digits)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return f"{value:.{digits}g}"
    return str(value)


@dataclass(frozen=True)
class Cell:
    """A table cell: its text (escaped on render) or, with ``raw``, ready-made HTML."""

    value: Any
    numeric: bool = False
    raw: bool = False

    def render(self, tag: str = "td") -> str:
        body = self.value if self.raw else esc(fmt(self.value))
        cls = ' class="num"' if self.numeric else ""
        return f"<{tag}{cls}>{body}</{tag}>"


def _cell(value: Any) -> Cell:
    if isinstance(value, Cell):
        return value
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return Cell(value, numeric=numeric)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_classes: Sequence[str] | None = None,
    limit: int | None = None,
) -> str:
    """An HTML table; numbers right-aligned. With ``limit``, further rows are counted, not shown."""
    rows = list(rows)
    shown = rows if limit is None else rows[:limit]
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(shown):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(_cell(v).render() for v in row) + "</tr>")
    more = ""
    if len(rows) > len(shown):
        more = f'<p class="muted">… {len(rows) - len(shown):,} more rows not shown</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of labels (as header cells) and values."""
    rows = "".join(f"<tr>{Cell(k).render('th')}{_cell(v).render()}</tr>" for k, v in pairs)
    return f"<table><tbody>{rows}</tbody></table>"


def figure(png_base64: str, *, alt: str, caption: str | None = None) -> str:
    """An embedded PNG (a ``data:`` URI: no file next to the page, no network)."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{png_base64}">{cap}</figure>'


def pre(text: str, *, limit: int | None = None) -> str:
    """Preformatted text, escaped; cut at ``limit`` characters with a note of how much was cut."""
    text = text or ""
    note = ""
    if limit is not None and len(text) > limit:
        note = f" … ({len(text) - limit:,} more characters)"
        text = text[:limit]
    return f"<pre>{esc(text)}{esc(note)}</pre>"


def paragraph(text: str, *, muted: bool = False) -> str:
    cls = ' class="muted"' if muted else ""
    return f"<p{cls}>{esc(text)}</p>"


@dataclass(frozen=True)
class Section:
    """One titled part of a page; ``anchor`` is its id (the table of contents links to it)."""

    anchor: str
    title: str
    body: str

    def render(self) -> str:
        return f'<section id="{esc(self.anchor)}"><h2>{esc(self.title)}</h2>{self.body}</section>'


def page(
    title: str,
    sections: Sequence[Section],
    *,
    subtitle: str = "",
    skipped: Sequence[tuple[str, str]] = (),
) -> str:
    """A whole self-contained HTML document: inline CSS, a table of contents, the sections, and a
    closing note naming the sections left out for lack of data (title, why)."""
    toc = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(s.render() for s in sections)
    missing = ""
    if skipped:
        items = "".join(f"<li>{esc(name)}: {esc(why)}</li>" for name, why in skipped)
        missing = f'<section id="not-shown"><h2>Not shown</h2><ul class="muted">{items}</ul></section>'
    sub = f'<p class="sub">{esc(subtitle)}</p>' if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main><header><h1>{esc(title)}</h1>{sub}</header>"
        f'<nav class="toc"><strong>Contents</strong><ol>{toc}</ol></nav>'
        f"{body}{missing}</main></body></html>\n"
    )
