"""Small JSONL files read whole: eval sets and benchmark files (never a corpus, which streams
through :mod:`curate.io.readers`)."""

from __future__ import annotations

from typing import Any

import orjson

from curate.errors import InputError
from curate.io.compressed import open_decompressed


def read_jsonl(path: str) -> list[Any]:
    """Every JSON value of a JSONL file (plain, ``.gz`` or ``.zst``), blank lines skipped; an
    InputError naming ``path:line`` for a line that is not JSON."""
    values = []
    with open_decompressed(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                values.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON ({exc})") from None
    return values
