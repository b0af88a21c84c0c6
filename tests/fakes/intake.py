"""Fakes for the intake ports (pipeline.domain.intake.WorkflowStarter / DeadLetters)."""

from __future__ import annotations

import json
import threading
from typing import Any


class FakeStarter:
    """Starts 'executions' by name; a second start of one name is a duplicate."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        with self._lock:
            if name in self.started:
                return False
            self.started[name] = payload
            return True


class FakeDlq:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        json.dumps(message)  # must be serializable as an SQS body
        self.messages.append(message)
