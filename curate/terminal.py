"""Text from records (and from files a user did not write) made safe to print on a terminal.

A record can hold escape sequences that a terminal obeys: clear the screen, set the window title,
make hyperlinks, rewrite lines with carriage returns. Everything curate prints from record data
goes through :func:`printable`, which shows each control character (C0 except newline and tab,
DEL, C1) as a visible escape such as ``\\x1b``, and :func:`markup_safe`, which also escapes rich
markup (``[bold]``) so that it is shown, not applied.
"""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: object) -> str:
    """``str(text)`` with every control character but newline and tab shown as ``\\xNN``."""
    return _CONTROL.sub(_visible, str(text))


def markup_safe(text: object) -> str:
    """``printable(text)``, escaped for rich markup (a string rich prints as it is)."""
    return escape(printable(text))
