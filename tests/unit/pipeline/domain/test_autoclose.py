"""Auto-close with a nudge (issue 32) on moto with the real adapters: a mailed reply starts a wait, the nudge
goes out once half-way, the ticket closes once at the end; the customer's answer, a later reply and unverified
mail each stop the timers of the wait they belong to. A CLOSED ticket stays closed: an answer opens a new one."""

# ruff: noqa: F811  (test functions take the `world` fixture imported from test_mailflow)
from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from contract import names
from contract.errors import SlaConfigError
from contract.models import AutoCloseFire, AwaitCustomer
from pipeline.domain.autoclose import AutoClosePolicy, AutoCloseService
from pipeline.domain.mail_trust import Verdicts
from tests.unit.pipeline.domain.test_mailflow import (  # noqa: F401  (the moto world and its fixture)
    CONFIG,
    EVENTS,
    NOW,
    TID,
    World,
    world,
)

WAIT = timedelta(seconds=60)


class RecordingTimers:
    """The Timers port: what was armed, at what time, with which payload."""

    def __init__(self) -> None:
        self.armed: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self.cancelled: list[str] = []

    def arm(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        self.armed[name] = (at, payload)

    def cancel(self, name: str) -> None:
        self.cancelled.append(name)


class RecordingRating:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, ticket_id: str, now: datetime) -> str:
        self.asked.append(ticket_id)
        return "asked"


class Waits:
    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def await_customer(self, ticket_id: str, since: datetime) -> None:
        self.calls.append((ticket_id, since))


def _service(world: World, rating: RecordingRating | None = None) -> tuple[AutoCloseService, RecordingTimers]:
    timers = RecordingTimers()
    service = AutoCloseService(
        AutoClosePolicy(WAIT), world.store, timers, world.sender, world.events, CONFIG, rating
    )
    return service, timers


def _sent(world: World) -> datetime:
    """A reply mailed at NOW: the ticket waits on its customer from then."""
    world.put_ticket()
    msg_outcome = world.approve(now=NOW)
    assert msg_outcome.outcome == "sent"
    world.published()  # the reply_sent event
    return NOW


def _fire(service: AutoCloseService, step: str, since: datetime, at: datetime) -> str:
    return service.fire(AutoCloseFire(ticket_id=TID, step=step, since=since), at)  # type: ignore[arg-type]


def _eml_count(world: World) -> int:
    return len(list(world.outbox.glob("*.eml")))


def test_the_waiting_period_is_a_duration_or_off_with_a_clear_error_otherwise():
    assert AutoClosePolicy.from_env({}).after == timedelta(days=7)
    assert AutoClosePolicy.from_env({names.ENV_AUTOCLOSE_AFTER: "60s"}).after == timedelta(seconds=60)
    assert AutoClosePolicy.from_env({names.ENV_AUTOCLOSE_AFTER: "off"}).after is None
    with pytest.raises(SlaConfigError, match="TMS_AUTOCLOSE_AFTER: '7 days' is not a duration"):
        AutoClosePolicy.from_env({names.ENV_AUTOCLOSE_AFTER: "7 days"})


def test_a_mailed_reply_tells_the_timers_and_they_arm_a_nudge_half_way_and_a_close_at_the_end(world):
    world.put_ticket()
    waits = Waits()
    from contract.models import ReplyApprovedMessage
    from pipeline.domain.mailflow import send_approved_reply

    msg = ReplyApprovedMessage(ticket_id=TID, approved_by="U0LEAD", approved_at=NOW, version=1)
    send_approved_reply(msg, world.store, world.sender, world.events, CONFIG, NOW, waits=waits)
    assert waits.calls == [(TID, NOW)]
    assert world.item()["awaiting_since"] == "2025-01-02T10:30:00.000Z"

    service, timers = _service(world)
    service.arm(AwaitCustomer(ticket_id=TID, since=NOW))

    assert timers.armed[f"{TID}-nudge"][0] == NOW + WAIT / 2
    assert timers.armed[f"{TID}-close"][0] == NOW + WAIT
    assert timers.armed[f"{TID}-close"][1] == {
        "kind": "autoclose",
        "ticket_id": TID,
        "step": "close",
        "since": "2025-01-02T10:30:00.000Z",
    }


def test_waiting_ticket_gets_one_nudge_then_is_closed_once_and_asked_for_a_rating(world):
    since = _sent(world)
    rating = RecordingRating()
    service, _ = _service(world, rating)

    # When the nudge timer fires, and is delivered again
    first = _fire(service, "nudge", since, NOW + WAIT / 2)
    again = _fire(service, "nudge", since, NOW + WAIT / 2 + timedelta(seconds=1))

    # Then the customer got one reminder, threaded under the reply, and the status did not move
    assert (first, again) == ("nudged", "skipped")
    assert _eml_count(world) == 2
    nudge = message_from_bytes((world.outbox / f"{TID}-2.eml").read_bytes(), policy=policy.default)
    assert nudge["In-Reply-To"] == f"<{TID}.1@tms.example.com>"
    assert "check whether our last reply solved your problem" in nudge.get_body(("plain",)).get_content()
    assert world.item()["status"] == "SENT"
    (event,) = world.published()
    assert event["kind"] == "nudge_sent"

    # When the close timer fires (twice)
    closed = _fire(service, "close", since, NOW + WAIT)
    closed_again = _fire(service, "close", since, NOW + WAIT)

    # Then the ticket is CLOSED once, says why, and the customer is asked for a rating once
    assert (closed, closed_again) == ("closed", "skipped")
    item = world.item()
    assert item["status"] == "CLOSED" and item["close_reason"] == "no_answer" and item["closed_by"] == "tms"
    assert rating.asked == [TID]
    (event,) = world.published()
    assert event["kind"] == "auto_closed" and event["status"] == "CLOSED" and "1m" in event["text"]


def test_customer_answer_stops_the_nudge_and_the_close(world):
    since = _sent(world)
    service, _ = _service(world)

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes(), now=NOW + timedelta(seconds=10))
    assert out.outcome == "appended"

    assert _fire(service, "nudge", since, NOW + WAIT / 2) == "skipped"
    assert _fire(service, "close", since, NOW + WAIT) == "skipped"
    assert world.item()["status"] == "CUSTOMER_REPLIED" and _eml_count(world) == 1


def test_a_later_reply_starts_a_new_wait_and_the_older_timers_do_nothing(world):
    since = _sent(world)
    service, _ = _service(world)
    world.receive((EVENTS / "reply_plain.eml").read_bytes(), now=NOW + timedelta(seconds=5))
    # the agent answers again: the ticket waits anew from then
    later = NOW + timedelta(seconds=20)
    world.ddb.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET #s = :a",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": {"S": "APPROVED"}},
    )
    assert world.approve(version=int(world.item()["version"]), now=later).outcome == "sent"

    assert _fire(service, "close", since, NOW + WAIT) == "skipped"
    assert world.item()["status"] == "SENT"
    assert _fire(service, "close", later, later + WAIT) == "closed"


def test_unverified_mail_pauses_the_close_and_pings_the_owner(world):
    since = _sent(world)
    world.ddb.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET assignee = :o",
        ExpressionAttributeValues={":o": {"S": "U0OWNER"}},
    )
    service, _ = _service(world)

    # When mail from the customer's address arrives without authentication
    out = world.receive(
        (EVENTS / "reply_plain.eml").read_bytes(),
        verdicts=Verdicts(spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="reject"),
        now=NOW + timedelta(seconds=10),
    )

    # Then it is unverified, the owner is named and told auto-close is paused
    assert out.outcome == "unverified"
    (event,) = world.published()
    assert event["mention"] == "U0OWNER" and event["autoclose_paused"] is True
    # and neither the nudge nor the close acts on the ticket any more
    assert _fire(service, "nudge", since, NOW + WAIT / 2) == "skipped"
    assert _fire(service, "close", since, NOW + WAIT) == "skipped"
    assert world.item()["status"] == "SENT" and world.item()["autoclose_paused_at"]


def test_closed_is_final_a_later_answer_opens_a_new_linked_ticket(world):
    since = _sent(world)
    service, _ = _service(world)
    assert _fire(service, "close", since, NOW + WAIT) == "closed"
    world.published()

    out = world.receive((EVENTS / "reply_plain.eml").read_bytes(), now=NOW + WAIT + timedelta(minutes=1))

    assert out.outcome == "new_ticket" and world.item()["status"] == "CLOSED"
    (record,) = world.stream()
    assert record["data"]["description"].startswith(f"Follow-up to {TID}.")
