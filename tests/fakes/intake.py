"""Fakes for the intake ports (pipeline.domain.intake.WorkflowStarter / DeadLetters / ExecutionInputs)."""

from __future__ import annotations

import base64
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


class FakeInputs:
    """Keeps execution inputs by ticket id (the inputs/ objects); `fail` makes every put raise."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.puts = 0
        self._fail = fail

    def put(self, ticket_id: str, payload: dict[str, Any]) -> None:
        if self._fail is not None:
            raise self._fail
        self.puts += 1
        self.stored[ticket_id] = json.loads(json.dumps(payload))

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        return self.stored.get(ticket_id)


class FakeDlq:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        json.dumps(message)  # must be serializable as an SQS body
        self.messages.append(message)


def kinesis_event(payloads: list[bytes], first_sequence: int = 1000) -> dict[str, Any]:
    """A Lambda Kinesis event as an event source mapping delivers it: one record per payload."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": f"pk{i}",
                    "sequenceNumber": str(first_sequence + i),
                    "data": base64.b64encode(p).decode(),
                    "approximateArrivalTimestamp": 1_700_000_000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{first_sequence + i}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/x",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/tms-tickets",
            }
            for i, p in enumerate(payloads)
        ]
    }
