"""The unit suite's network guard (tests/unit/conftest.py) refuses every host but this machine."""

from __future__ import annotations

import socket

import pytest

from tests.unit.conftest import NetworkAccessError


def test_a_unit_test_cannot_reach_another_host() -> None:
    with socket.socket() as s, pytest.raises(NetworkAccessError):
        s.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed, and refused before any packet
    with socket.socket() as s, pytest.raises(NetworkAccessError):
        s.connect(("example.com", 443))
