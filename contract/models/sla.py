"""SLA timer commands and alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
)

from contract.models.ticket import Priority, TicketId, UtcDatetime, _Strict

# --- SLA timers (issue 14) ----------------------------------------------------------------------------
# "First response" = the reply was sent to the customer (the mailer's SENT write), or the ticket was resolved.

SlaTimerKind = Literal["warn", "breach"]
SLA_TIMERS: tuple[SlaTimerKind, ...] = ("warn", "breach")


def schedule_name(ticket_id: str, timer: SlaTimerKind) -> str:
    """One schedule per ticket and timer (names are unique per group: arming twice cannot make two).
    In the contract because erasure deletes a ticket's timers by name too (contract/erasure.py)."""
    return f"{ticket_id}-{timer}"


class SlaArm(_Strict):
    """Arm a ticket's timers (the workflow, once the ticket is triaged and its due time stored)."""

    kind: Literal["arm"] = "arm"
    ticket_id: TicketId
    priority: Priority
    sla_due_at: UtcDatetime
    sla_warn_at: UtcDatetime


class SlaFire(_Strict):
    """What a schedule delivers to the timer function when it fires."""

    kind: Literal["fire"] = "fire"
    ticket_id: TicketId
    timer: SlaTimerKind
    due_at: UtcDatetime  # the due time the timer was armed for; a re-armed ticket ignores older timers
    fire_at: UtcDatetime


class SlaFirstResponse(_Strict):
    """The customer got a first response (reply sent, approved, or the ticket resolved): stop the timers."""

    kind: Literal["first_response"] = "first_response"
    ticket_id: TicketId
    at: UtcDatetime
    by: str = ""


class SlaReprioritised(_Strict):
    """An agent changed the priority: compute the due time again and re-arm."""

    kind: Literal["reprioritised"] = "reprioritised"
    ticket_id: TicketId
    priority: Priority
    at: UtcDatetime


SlaCommand = Annotated[SlaArm | SlaFire | SlaFirstResponse | SlaReprioritised, Field(discriminator="kind")]


class SlaAlertMessage(_Strict):
    """Published on the tickets topic when a timer fires on an unanswered ticket (the notifier posts it)."""

    event_type: Literal["SlaWarning", "SlaBreached"]
    ticket_id: TicketId
    priority: Priority
    subject: str = ""
    due_at: UtcDatetime
    fired_at: UtcDatetime
    assignee: str = ""
