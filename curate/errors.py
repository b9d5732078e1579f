"""The errors curate raises on purpose.

Every message names the bad value and says how to fix it. The CLI prints the message alone (the
traceback only with ``--debug``) and maps the class to an exit code: ``RecipeError`` and
``UsageError`` exit 2, every other ``CurateError`` exits 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class CurateError(Exception):
    """Base class: an error curate explains itself."""

    exit_code = 1


class RecipeError(CurateError):
    """The recipe is invalid: unknown key, wrong type, bad value, input pattern matching nothing."""

    exit_code = 2


class UsageError(CurateError):
    """The command line asks for something impossible (e.g. a run directory that already exists)."""

    exit_code = 2


class InputError(CurateError):
    """Input data cannot be used at all (every record bad, a file unreadable)."""


class StageError(CurateError):
    """A stage failed at run time for a reason it can explain (e.g. a mix target out of reach)."""


class RunDirError(CurateError):
    """The run directory is in a state curate cannot continue from."""


def suggest(given: str, options: Sequence[str]) -> str:
    """A message tail: ' — did you mean ...?' with the closest option, else the options listed."""
    close = difflib.get_close_matches(given, list(options), n=1, cutoff=0.6)
    if close:
        return f" — did you mean {close[0]!r}?"
    return f" (expected one of: {', '.join(options)})" if options else ""
