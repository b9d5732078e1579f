"""Tests run offline: the session-wide guard in conftest refuses any non-loopback connection."""

import socket

import pytest


def test_the_network_guard_refuses_remote_addresses():
    with pytest.raises(OSError, match="must run offline"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1, never routable


def test_loopback_stays_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=1):
        pass
    server.close()
