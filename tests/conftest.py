from __future__ import annotations

import ipaddress
import json
import socket
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


_real_connect = socket.socket.connect


def _local_only_connect(sock: socket.socket, address, *args, **kwargs):
    """Tests must never reach a network: only loopback and Unix sockets (Ray, local servers)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise OSError(f"test tried to reach the network ({host}); tests must run offline")
    return _real_connect(sock, address, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def no_network():
    socket.socket.connect = _local_only_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
