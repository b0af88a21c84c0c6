"""Intake: turn one Kinesis record into one workflow execution, or into a dead letter with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError

from contract import defaults
from contract.errors import InvalidTicketError
from contract.models import EVENT_NAME, TicketSubmitted, execution_name, field_errors
from contract.names import INPUTS_PREFIX
from pipeline.domain.upcast import upcast

# SQS caps a message at 256 KiB; the copy of the rejected record is base64 (4/3 of its size), so 180 KB of
# it leave room for the reason and the shard position. A Kinesis record can be 1 MB: the copy is a prefix.
DLQ_COPY_MAX_BYTES = 180_000


class Outcome(StrEnum):
    STARTED = "started"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    LIMITED = "limited"  # over a new-ticket limit (issue 27.5): dead-lettered with the reason


class AuditOutcome(StrEnum):
    """What the audit mapping saw: the trigger's filter lets the record through (the trigger owns it),
    or drops it (so the audit dead-letters it)."""

    PASSED = "passed"
    FILTERED = "filtered"


class WorkflowStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution called `name`; False when one by that name already exists."""
        ...


class ExecutionInputs(Protocol):
    def put(self, ticket_id: str, payload: dict[str, Any]) -> None:
        """Keep the ticket's execution input where `tms retry` can read it back."""
        ...


class Gate(Protocol):
    def refusal(self, ticket: TicketSubmitted) -> str | None:
        """Why this ticket may not start now (a limit), or None."""
        ...


class DeadLetters(Protocol):
    def send(self, message: dict[str, Any]) -> None:
        """Park a record that can never be processed, with its reason."""
        ...


@dataclass(frozen=True)
class RecordMeta:
    """Where a record came from, so a dead letter can be traced back to the shard."""

    partition_key: str
    sequence_number: str
    event_source_arn: str = ""
    approximate_arrival: float | None = None


def parse_ticket(data: bytes) -> TicketSubmitted:
    """Decode, upcast (older and foreign-but-valid shapes) and validate a record payload;
    InvalidTicketError says which field and why."""
    if not data:
        raise InvalidTicketError(["record: empty body"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidTicketError([f"record: not valid UTF-8 ({e.reason} at byte {e.start})"]) from e
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidTicketError([f"record: not JSON ({e.msg} at line {e.lineno} column {e.colno})"]) from e
    if not isinstance(raw, dict):
        raise InvalidTicketError([f"record: expected a JSON object, got {type(raw).__name__}"])
    return validate_ticket(raw)


def validate_ticket(raw: dict[str, Any]) -> TicketSubmitted:
    """Upcast and validate one decoded record; InvalidTicketError says which field and why."""
    name = raw.get("eventName")
    if name != EVENT_NAME:
        raise InvalidTicketError([f"eventName: expected {EVENT_NAME!r}, got {name!r}"])
    try:
        return TicketSubmitted.model_validate(upcast(raw))
    except ValidationError as e:
        raise InvalidTicketError(field_errors(e)) from e


def matches_trigger_filter(data: bytes, event_names: tuple[str, ...] = (EVENT_NAME,)) -> bool:
    """Whether the trigger mapping's filter {"data": {"eventName": [...event_names]}} lets a record through.

    Lambda evaluates it on the record's data as JSON: data that is not a JSON object (empty, invalid
    UTF-8, not JSON, an array...) never matches; a field holding an array matches when any element does.
    """
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    if not isinstance(body, dict):
        return False
    name = body.get("eventName")
    if isinstance(name, list):
        return any(isinstance(n, str) and n in event_names for n in name)
    return isinstance(name, str) and name in event_names


def execution_input(
    ticket: TicketSubmitted, retention_days: int = defaults.RETENTION_DAYS["tickets"]
) -> dict[str, Any]:
    """The state machine's input: the event itself and its sentiment, computed here (the offline analyzer,
    the same on both runtimes) instead of by a Comprehend call in the workflow: that call's 3-unit minimum
    was $0.30 of the $1.00 a 1,000 tickets may cost (docs/cost.md). PII detection reads subject and the
    whole description, which the workflow builds from the event (TicketData.pii_text): carrying that text a
    second time could take the state past Step Functions' 256 KiB.

    `expires_at` is when the item expires if the ticket ends FAILED (the workflow cannot compute a time):
    `retention_days` after submission, in epoch seconds, the table's TTL attribute. Derived from the event
    only, so a redelivered record builds the same input."""
    from pipeline.domain.sentiment import detect_sentiment

    return {
        "ticket": ticket.model_dump(mode="json"),
        "sentiment": detect_sentiment(ticket.data.sentiment_prefix(), "en"),
        "expires_at": int((ticket.submittedAt + timedelta(days=retention_days)).timestamp()),
    }


def input_key(ticket_id: str) -> str:
    """Where a ticket's execution input is kept (inputs/<ticket id>.json)."""
    return f"{INPUTS_PREFIX}{ticket_id}.json"


def dead_letter(
    meta: RecordMeta, data: bytes, error: InvalidTicketError, stage: str = "intake"
) -> dict[str, Any]:
    """The DLQ message for a record that failed validation."""
    import base64

    return {
        "stage": stage,
        "reason": str(error),
        "problems": error.problems,
        "partition_key": meta.partition_key,
        "sequence_number": meta.sequence_number,
        "event_source_arn": meta.event_source_arn,
        "approximate_arrival": meta.approximate_arrival,
        "data_base64": base64.b64encode(data[:DLQ_COPY_MAX_BYTES]).decode("ascii"),
        "data_bytes": len(data),
    }


def handle_record(
    data: bytes,
    meta: RecordMeta,
    starter: WorkflowStarter,
    dlq: DeadLetters,
    inputs: ExecutionInputs,
    gate: Gate | None = None,
    retention_days: int = defaults.RETENTION_DAYS["tickets"],
) -> Outcome:
    """Start the workflow for one record. Invalid records go to the DLQ and never block the shard;
    transient failures (keeping the input, starting) raise so the batch reports this record as failed and
    it is retried.

    The input is kept before the execution starts, so every ticket that can fail has one to retry with.
    A redelivered record starts a second execution on an Express workflow (names are not deduplicated):
    the workflow's claim ends it in AlreadyClaimed. A Standard workflow refuses the repeated name (DUPLICATE).
    """
    try:
        ticket = parse_ticket(data)
    except InvalidTicketError as e:
        dlq.send(dead_letter(meta, data, e))
        return Outcome.REJECTED
    refusal = gate.refusal(ticket) if gate is not None else None
    if refusal is not None:
        # Nothing is lost: the record waits in the DLQ with the reason (`tms dlq`), to be resubmitted.
        dlq.send(dead_letter(meta, data, InvalidTicketError([refusal]), stage="intake-limit"))
        return Outcome.LIMITED
    payload = execution_input(ticket, retention_days)
    inputs.put(ticket.ticketId, payload)
    started = starter.start(execution_name(ticket.ticketId), payload)
    return Outcome.STARTED if started else Outcome.DUPLICATE


def audit_record(data: bytes, meta: RecordMeta, dlq: DeadLetters) -> AuditOutcome:
    """The audit mapping's job: a record the trigger's filter drops is dead-lettered here, with its
    reason, instead of vanishing; a record the filter lets through is left to the trigger."""
    if matches_trigger_filter(data):
        return AuditOutcome.PASSED
    try:
        parse_ticket(data)
        error = InvalidTicketError([f"eventName: not matched by the trigger's filter ({EVENT_NAME!r})"])
    except InvalidTicketError as e:
        error = e
    dlq.send(dead_letter(meta, data, error, stage="intake-filter"))
    return AuditOutcome.FILTERED
