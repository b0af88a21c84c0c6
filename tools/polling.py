"""Waiting for an asynchronous effect of the local stack (a mail in the outbox, a status, a post)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.2) -> bool:
    """Poll `predicate` every `step` seconds until it is true or `timeout` seconds passed; whether it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
