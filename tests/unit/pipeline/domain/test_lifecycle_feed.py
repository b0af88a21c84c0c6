"""The lifecycle feed: a DynamoDB stream record of the tickets table -> one warehouse record under
lifecycle/, keyed so that a redelivery overwrites itself, and nothing for changes the warehouse cannot see."""

from __future__ import annotations

import json
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from contract import names
from contract.models import LIFECYCLE_PREFIX, TicketLifecycle, TicketStatus, lifecycle_revision
from pipeline.domain.lifecycle_feed import lifecycle_record, record_change

_ser = TypeSerializer()
TID = "TKT-20261127-ABCDEFGHJK"


def _image(**attrs: Any) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in attrs.items()}


def _triaged(**extra: Any) -> dict[str, Any]:
    item = {
        "ticket_id": TID,
        "status": "TRIAGED",
        "priority": "HIGH",
        "sla_due_at": "2026-11-27T11:00:00.000Z",
        "subject": "Cannot log in",  # free text on the item never reaches the record
        "customer_email": "ana@example.com",
    }
    return item | extra


def _record(
    new: dict[str, Any] | None,
    old: dict[str, Any] | None = None,
    *,
    seq: str = "1100000000017454423009",
    event: str = "MODIFY",
) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": {"ticket_id": {"S": TID}},
        "SequenceNumber": seq,
        "ApproximateCreationDateTime": 1796382000.0,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = _image(**new)
    if old is not None:
        change["OldImage"] = _image(**old)
    return {"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": change}


class _Sink:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put(self, key: str, body: str) -> None:
        self.objects[key] = body


def test_an_approved_and_taken_ticket_becomes_one_record_with_its_owner_and_first_response() -> None:
    new = _triaged(
        status="APPROVED",
        version=2,
        assignee="U123",
        approved_by="U123",
        approved_at="2026-11-27T10:05:00.000Z",
        first_response_at="2026-11-27T10:05:00.000Z",
        first_response_by="U123",
    )
    rec = lifecycle_record(_record(new, _triaged(version=1, assignee="U123")))
    assert rec is not None
    assert rec.status is TicketStatus.APPROVED
    assert (rec.assignee, rec.approved_by, rec.first_response_by, rec.version) == ("U123", "U123", "U123", 2)
    assert (
        rec.first_response_at is not None and rec.first_response_at.isoformat() == "2026-11-27T10:05:00+00:00"
    )
    assert rec.sla_breached is False
    assert "subject" not in json.loads(rec.to_json_line())
    assert "ana@example.com" not in rec.to_json_line()


def test_a_redelivered_stream_record_overwrites_its_own_object() -> None:
    sink = _Sink()
    record = _record(_triaged(version=1, status="APPROVED"), _triaged())
    first = record_change(record, sink)
    second = record_change(record, sink)
    assert first == second
    assert list(sink.objects) == [first]
    assert first.startswith(LIFECYCLE_PREFIX + TID + "/")
    assert LIFECYCLE_PREFIX == names.LIFECYCLE_PREFIX


def test_an_sla_write_without_a_new_version_still_orders_after_the_earlier_image() -> None:
    before = lifecycle_record(_record(_triaged(version=1, status="APPROVED"), _triaged(), seq="100"))
    after = lifecycle_record(
        _record(
            _triaged(version=1, status="APPROVED", sla_breached=True),
            _triaged(version=1, status="APPROVED"),
            seq="101",
        )
    )
    assert before is not None and after is not None
    assert after.sla_breached is True
    assert after.revision > before.revision
    assert after.archive_key() != before.archive_key()


def test_revisions_order_by_version_first_then_sequence_number_as_strings() -> None:
    assert lifecycle_revision(2, "5") > lifecycle_revision(1, "99999999999999999999")
    assert lifecycle_revision(10, "1") > lifecycle_revision(9, "1")
    with pytest.raises(ValueError):
        lifecycle_revision(1, "abc")


@pytest.mark.parametrize(
    ("new", "old", "event"),
    [
        (None, _triaged(), "REMOVE"),  # deletions
        (
            {"ticket_id": "ALARM#tms-dlq", "status": "TRIAGED"},
            None,
            "INSERT",
        ),  # alarm threads share the table
        ({"ticket_id": TID, "status": "PROCESSING"}, None, "INSERT"),  # only claimed by the workflow
        # A Slack post claim changes the item but no lifecycle column.
        (_triaged(version=1, slack_posted={"triaged"}), _triaged(version=1), "MODIFY"),
    ],
)
def test_changes_the_warehouse_cannot_see_write_nothing(new: Any, old: Any, event: str) -> None:
    sink = _Sink()
    assert record_change(_record(new, old, event=event), sink) is None
    assert sink.objects == {}


def test_the_first_triaged_image_is_recorded_with_version_zero() -> None:
    rec = lifecycle_record(_record(_triaged(), {"ticket_id": TID, "status": "PROCESSING"}))
    assert rec is not None and rec.version == 0 and rec.status is TicketStatus.TRIAGED
    assert rec.sla_due_at is not None


def test_the_record_round_trips_through_its_json_line() -> None:
    rec = lifecycle_record(
        _record(_triaged(version=3, status="RESOLVED", resolved_at="2026-11-28T09:00:00.000Z"))
    )
    assert rec is not None
    assert TicketLifecycle.model_validate_json(rec.to_json_line()) == rec


def test_a_sent_reply_carries_its_acceptance_to_the_warehouse_but_neither_text() -> None:
    from decimal import Decimal

    new = _triaged(
        status="SENT",
        version=4,
        sent_at="2026-11-27T10:30:00.000Z",
        response_text="Ana, we cleared your session; log in again.",
        drafted_reply="Dear Ana, we reset your session.",
        reply_edit_distance=Decimal("0.625"),
        sent_unchanged=False,
    )
    rec = lifecycle_record(_record(new, _triaged(version=3, status="SENDING")))
    assert rec is not None
    assert (rec.reply_edit_distance, rec.sent_unchanged) == (0.625, False)
    line = rec.to_json_line()
    assert "session" not in line and "drafted_reply" not in line


def test_a_ticket_not_yet_sent_has_no_acceptance_recorded() -> None:
    rec = lifecycle_record(_record(_triaged(version=1, status="APPROVED"), _triaged()))
    assert rec is not None
    assert (rec.reply_edit_distance, rec.sent_unchanged) == (None, None)
