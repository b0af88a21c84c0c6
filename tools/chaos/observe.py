"""What a chaos run observes: every store of the running stack read back, keyed by ticket id."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contract import names
from local.outbox import SlackPosts


@dataclass
class Observed:
    """Everything the stores hold after the run, keyed by ticket id (or partition key for the DLQ)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> status, error
    executions: Counter[str] = field(default_factory=Counter)  # ticket id -> executions
    s3_objects: Counter[str] = field(default_factory=Counter)
    notifications: Counter[tuple[str, str]] = field(default_factory=Counter)  # (ticket id, event type)
    warehouse: Counter[str] | None = None  # None: no analytics ETL
    slack: SlackPosts | None = None  # None: no notifier
    dlq: list[dict[str, Any]] = field(default_factory=list)  # message bodies


def scan_items(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Ticket items (not alarm threads) by id: status and error."""
    out: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="ticket_id, #s, #e, #p, #i",
        ExpressionAttributeNames={"#s": "status", "#e": "error", "#p": "slack_posted", "#i": "incident_id"},
    ):
        for raw in page["Items"]:
            tid = raw["ticket_id"]["S"]
            if tid.startswith("TKT-"):
                out[tid] = {
                    "status": raw.get("status", {}).get("S"),
                    "error": raw.get("error", {}).get("S"),
                    "slack_posted": raw.get("slack_posted", {}).get("SS", []),
                    "incident_id": raw.get("incident_id", {}).get("S") or None,
                }
    return out


def count_executions(sfn: Any, state_machine_arn: str) -> Counter[str]:
    """Executions per name (= ticket id)."""
    seen: Counter[str] = Counter()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        seen.update(ex["name"] for ex in page["executions"])
    return seen


def count_objects(s3: Any, bucket: str) -> Counter[str]:
    """Archive objects per ticket id."""
    seen: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=names.ARCHIVE_PREFIX):
        for obj in page.get("Contents", []):
            seen[obj["Key"].rsplit("/", 1)[-1].removesuffix(".json")] += 1
    return seen


def drain_queue(sqs: Any, queue_url: str, *, delete: bool = True) -> list[str]:
    """Every message body in the queue (received until two empty reads)."""
    bodies: list[str] = []
    empty = 0
    while empty < 2:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=600
        )
        messages = resp.get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        bodies.extend(m["Body"] for m in messages)
        if delete:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    return bodies


class QueueTap:
    """Drains a queue on a background thread for the whole run, keeping every body.

    moto's SQS receive scans the whole queue, so draining 10,000 messages at the end takes hours; kept
    short while the run goes, each receive stays cheap."""

    def __init__(self, sqs: Any, queue_url: str, idle_s: float = 0.2):
        self._sqs = sqs
        self._url = queue_url
        self._idle = idle_s
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tms-chaos-tap", daemon=True)

    def __enter__(self) -> QueueTap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[str]:
        """Stop the thread, drain what is left, return every body (idempotent)."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(timeout=60)
            self.bodies.extend(drain_queue(self._sqs, self._url))
        return self.bodies

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resp = self._sqs.receive_message(
                    QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                )
            except Exception:  # the endpoint is busy: the final drain picks up whatever is left
                self._stop.wait(self._idle)
                continue
            messages = resp.get("Messages", [])
            if not messages:
                self._stop.wait(self._idle)
                continue
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            self.bodies.extend(m["Body"] for m in messages)


def notifications_by_ticket(bodies: Iterable[str]) -> Counter[tuple[str, str]]:
    """(ticket id, event type) per SNS envelope of the notifications tap queue."""
    seen: Counter[tuple[str, str]] = Counter()
    for body in bodies:
        attrs = json.loads(body).get("MessageAttributes", {})
        tid = (attrs.get(names.ATTR_TICKET_ID) or {}).get("Value", "")
        kind = (attrs.get(names.ATTR_EVENT_TYPE) or {}).get("Value", "")
        seen[(tid, kind)] += 1
    return seen


def warehouse_rows_by_ticket() -> Counter[str] | None:
    """Warehouse rows per ticket id, or None without the analytics package."""
    try:
        from tools.analytics.warehouse import open_warehouse
    except ImportError:
        return None
    wh = open_warehouse()
    try:
        _, rows = wh.query("SELECT ticket_id, COUNT(*) FROM tickets GROUP BY ticket_id")
    finally:
        wh.close()
    return Counter({str(r[0]): int(r[1]) for r in rows})


def dlq_body(body: str) -> dict[str, Any]:
    """A DLQ message as a dict (the poller's on-failure records carry no partition key or reason)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {"raw": body[:200]}
    return value if isinstance(value, dict) else {"raw": body[:200]}


def lambda_error_type(payload: str) -> str:
    """The errorType of a Lambda function-error payload."""
    try:
        return str(json.loads(payload).get("errorType", "?"))
    except (ValueError, AttributeError):
        return "?"
