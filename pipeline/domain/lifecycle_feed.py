"""The lifecycle feed: one DynamoDB stream record of the tickets table -> at most one TicketLifecycle record
in the bucket (lifecycle/), which the warehouse load MERGEs into ticket_lifecycle.

Pure apart from the sink port. Records that carry nothing for the warehouse are skipped: deletions, items
that are not tickets (the alarm threads share the table), items the workflow has only claimed, and
changes that leave every lifecycle column as it was (Slack post claims, history-only steps). The last
rule is why the stream carries old images too: without it every Slack post would add an S3 object for
the load to read (many tiny objects are what makes the Spark load slow).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from contract.models import TicketLifecycle, TicketStatus, is_ticket_id, lifecycle_revision

# Item attributes copied as they are (same names on the item and in the record).
_COPIED = (
    "priority",
    "assignee",
    "approved_by",
    "approved_at",
    "first_response_at",
    "first_response_by",
    "sla_due_at",
    "sent_at",
    "customer_replied_at",
    "resolved_at",
    "updated_at",
    "nudged_at",
    "closed_at",
    "close_reason",
    "csat_rating",
    "csat_at",
    "reply_edit_distance",
    "sent_unchanged",
)


class LifecycleSink(Protocol):
    """Where lifecycle records go (S3 on both runtimes)."""

    def put(self, key: str, body: str) -> None: ...


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    out: dict[str, Any] = {}
    for name, value in image.items():
        v = des.deserialize(value)
        out[name] = int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v
    return out


def projection(item: dict[str, Any]) -> dict[str, Any] | None:
    """The lifecycle columns of a plain item (None when it is not a triaged-or-later ticket)."""
    ticket_id = item.get("ticket_id")
    status = item.get("status")
    if not isinstance(ticket_id, str) or not is_ticket_id(ticket_id):
        return None
    if status not in set(TicketStatus) or status == TicketStatus.PROCESSING:
        return None
    fields = {name: item[name] for name in _COPIED if item.get(name) not in (None, "")}
    return {
        "ticket_id": ticket_id,
        "version": int(item.get("version") or 0),
        "status": status,
        "sla_breached": item.get("sla_breached") is True,
        "reopen_count": int(item.get("reopen_count") or 0),
        **fields,
    }


def _changed_at(value: Any) -> datetime:
    # Lambda delivers ApproximateCreationDateTime as epoch seconds; the DynamoDB Streams API as a datetime.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float | Decimal | str) and str(value):
        return datetime.fromtimestamp(float(value), UTC)
    raise ValueError(f"stream record without a creation time: {value!r}")


def lifecycle_record(record: dict[str, Any]) -> TicketLifecycle | None:
    """The warehouse record of one stream record (Lambda's event shape), or None when it carries nothing."""
    if record.get("eventName") == "REMOVE":
        return None
    change = record.get("dynamodb") or {}
    new = projection(_plain(change.get("NewImage") or {}))
    if new is None:
        return None
    old_image = change.get("OldImage")
    if old_image is not None and projection(_plain(old_image)) == new:
        return None
    return TicketLifecycle.model_validate(
        {
            **new,
            "revision": lifecycle_revision(new["version"], str(change.get("SequenceNumber", ""))),
            "changed_at": _changed_at(change.get("ApproximateCreationDateTime")),
        }
    )


def images(record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The item before and after one stream record, as plain values (None where the record has no image)."""
    change = record.get("dynamodb") or {}
    old, new = change.get("OldImage"), change.get("NewImage")
    return (_plain(old) if old else None), (_plain(new) if new else None)


def record_change(record: dict[str, Any], sink: LifecycleSink) -> str | None:
    """Write the record's lifecycle line under its deterministic key; the key, or None when skipped."""
    lifecycle = lifecycle_record(record)
    if lifecycle is None:
        return None
    key = lifecycle.archive_key()
    sink.put(key, lifecycle.to_json_line())
    return key
