"""Archive: flatten a triaged ticket into its record, store it, and prepare the DynamoDB update and the
SNS message. Everything is derived from the ProcessedRecord contract."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from contract.models import (
    IncidentRef,
    PiiResult,
    ProcessedRecord,
    SentimentResult,
    TicketSubmitted,
    TicketTriagedMessage,
    TicketUsage,
    TriageResult,
)
from contract.names import ARCHIVE_PREFIX, ORIGINALS_PREFIX, TABLE_TTL_ATTR
from pipeline.domain.redaction import redact
from pipeline.domain.sla import SlaPolicy, sla_fields
from pipeline.domain.usage import item_size, workflow_usage


class ArchiveStore(Protocol):
    def put(self, key: str, body: str) -> None:
        """Write one object; the same key overwrites (idempotent)."""
        ...


# Written by the workflow's claim (straight from the execution input), so the long text is not carried in
# the workflow state a second time (Step Functions caps a state at 256 KiB).
WRITTEN_AT_CLAIM = frozenset({"ticket_id", "description"})
# Owned on the item by the link-incident step: a ticket alone when it was archived may have become an
# incident's root since, and recording "" here would erase that.
WRITTEN_BY_INCIDENT_STEP = frozenset({"incident_id"})
# Optional fields a ticket may lack: model_priority (triaged before the bound), retrieval_confidence (drafted
# without a knowledge base). Their absence is the record, not a null attribute.
NULLABLE_UNRECORDED = frozenset({"model_priority", "retrieval_confidence"})


def dynamodb_update(
    record: ProcessedRecord, extra: dict[str, str | int] | None = None, *, redacted: bool = False
) -> dict[str, Any]:
    """An UpdateExpression that sets every record field the claim did not write (and `extra` attributes),
    in DynamoDB's typed JSON. A `redacted` record replaces the claim's description too: the original text
    then lives only in the encrypted originals/ object."""
    data = {**record.model_dump(mode="json"), **(extra or {})}
    skip = {"ticket_id"} if redacted else WRITTEN_AT_CLAIM
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    for i, (field, value) in enumerate(data.items()):
        if field in skip or field in WRITTEN_BY_INCIDENT_STEP:
            continue
        if value is None and field in NULLABLE_UNRECORDED:  # not recorded for this ticket: no attribute
            continue
        names[f"#f{i}"] = field
        if isinstance(value, bool) or value is None:  # pragma: no cover - not in the contract today
            raise TypeError(f"no DynamoDB mapping for {field}={value!r}")
        values[f":v{i}"] = {"N": repr(value)} if isinstance(value, int | float) else {"S": str(value)}
        sets.append(f"#f{i} = :v{i}")
    return {
        "update_expression": "SET " + ", ".join(sets),
        "attribute_names": names,
        "attribute_values": values,
    }


def original_key(record: ProcessedRecord) -> str:
    """Where the full, unredacted record goes: outside the prefix the warehouse load reads."""
    return ORIGINALS_PREFIX + record.archive_key().removeprefix(ARCHIVE_PREFIX)


def archive_ticket(
    ticket: TicketSubmitted,
    sentiment: SentimentResult,
    triage: TriageResult,
    store: ArchiveStore,
    now: datetime | None = None,
    policy: SlaPolicy | None = None,
    *,
    pii: PiiResult | None = None,
    originals: ArchiveStore | None = None,
    incident: IncidentRef | None = None,
    steps_usage: TicketUsage | None = None,
    pii_detected: bool = True,
    incident_failed: bool = False,
    retention: timedelta | None = None,
) -> dict[str, Any]:
    """Store the redacted analytics record (and the original apart) and return what the workflow records next:
    the item update (with the first-response due time, measured from submission) and the timers to arm.

    The analytics record under tickets/ is what the warehouse loads: subject and description carry typed
    placeholders, pii_entity_types says what was found. When anything was found, the full record goes to
    originals/ (encrypted with the data key on AWS), which the warehouse load may not read.

    The record carries the ticket's usage (TicketUsage): `steps_usage` as the earlier functions reported it,
    plus what follows from the path taken (`pii_detected`, `incident_failed`) and the sizes written here.

    With a `retention`, the item gets the table's TTL attribute: it expires that long after triage.
    """
    redaction = redact(ticket, pii or PiiResult())
    record = ProcessedRecord.build(
        redaction.ticket,
        sentiment,
        triage,
        processed_at=now,
        pii_entity_types=redaction.entity_types_column,
        incident_id=incident.incident_id if incident else "",
    )
    draft_update = dynamodb_update(record, redacted=bool(redaction.entity_types))
    usage = workflow_usage(
        ticket,
        steps_usage or TicketUsage(),
        pii_detected=pii_detected,
        incident_failed=incident_failed,
        update_bytes=item_size(
            {
                n: draft_update["attribute_values"][f":v{k[2:]}"]
                for k, n in draft_update["attribute_names"].items()
            }
        ),
        message_bytes=len(
            TicketTriagedMessage.announce(record, ticket.source, ticket.slack, incident).model_dump_json()
        ),
        archive_objects=2 if redaction.entity_types else 1,
    )
    record = record.model_copy(update={"usage": usage})
    key = record.archive_key()
    if redaction.entity_types:
        original = ProcessedRecord.build(
            ticket,
            sentiment,
            triage,
            processed_at=record.processed_at,
            pii_entity_types=record.pii_entity_types,
            incident_id=record.incident_id,
            usage=usage,
        )
        (originals or store).put(original_key(original), original.to_json_line())
    store.put(key, record.to_json_line())
    message = TicketTriagedMessage.announce(record, ticket.source, ticket.slack, incident)
    arm = (policy or SlaPolicy()).arm(record.ticket_id, record.submitted_at, record.priority)
    extra: dict[str, str | int] = {**sla_fields(arm)}
    if retention is not None:
        extra[TABLE_TTL_ATTR] = int((record.processed_at + retention).timestamp())
    return {
        "key": key,
        **dynamodb_update(record, extra, redacted=bool(redaction.entity_types)),
        "sla": arm.model_dump(mode="json"),
        "message": message.model_dump_json(),
        "priority": record.priority.value,
        "sentiment": record.sentiment.value,
    }
