"""Tests cannot open connections beyond this machine (conftest.py's _no_network guard)."""

from __future__ import annotations

import socket

import pytest


def test_outside_connections_are_refused() -> None:
    with pytest.raises(ConnectionRefusedError, match="may not open network connections"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1, never routed


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
