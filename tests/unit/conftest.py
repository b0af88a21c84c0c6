"""Unit tests make no network connection but to this machine (a local stack or fake server they start)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkAccessError(AssertionError):
    """A unit test tried to reach a host other than this machine."""


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths are local by definition
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be network access


def _guarded(real: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise NetworkAccessError(f"unit tests may not connect to {address!r}; use a fake or moto")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    # A client built without credentials asks the EC2 metadata service for them: not from a unit test.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
