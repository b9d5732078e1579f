from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, rows: list, *, raw_lines: list[bytes] = ()) -> Path:
    """Write rows as JSON lines (dicts are dumped, bytes written as is), then any raw lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for row in rows:
            f.write(row if isinstance(row, bytes) else json.dumps(row, ensure_ascii=False).encode())
            f.write(b"\n")
        for line in raw_lines:
            f.write(line + b"\n")
    return path


@pytest.fixture
def repo() -> Path:
    return REPO
