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


# --- Auto-close and the satisfaction question (issue 32): the same timer function and scheduler group --
AutoCloseStep = Literal["nudge", "close"]
AUTOCLOSE_TIMERS: tuple[AutoCloseStep, ...] = ("nudge", "close")


def autoclose_schedule_name(ticket_id: str, step: AutoCloseStep) -> str:
    """One schedule per ticket and step; a later reply moves it (same name) rather than adding one."""
    return f"{ticket_id}-{step}"


class AwaitCustomer(_Strict):
    """The reply reached the customer at `since` (the mailer's SENT write): arm the nudge and the close."""

    kind: Literal["await_customer"] = "await_customer"
    ticket_id: TicketId
    since: UtcDatetime


class AutoCloseFire(_Strict):
    """What a nudge or close schedule delivers; `since` names the wait it was armed for (a later reply
    starts a new wait, and the older timers then do nothing)."""

    kind: Literal["autoclose"] = "autoclose"
    ticket_id: TicketId
    step: AutoCloseStep
    since: UtcDatetime


class CsatAsk(_Strict):
    """An agent resolved the ticket: send the customer the one rating question."""

    kind: Literal["csat_ask"] = "csat_ask"
    ticket_id: TicketId
    at: UtcDatetime


SlaCommand = Annotated[
    SlaArm | SlaFire | SlaFirstResponse | SlaReprioritised | AwaitCustomer | AutoCloseFire | CsatAsk,
    Field(discriminator="kind"),
]


class SlaAlertMessage(_Strict):
    """Published on the tickets topic when a timer fires on an unanswered ticket (the notifier posts it)."""

    event_type: Literal["SlaWarning", "SlaBreached"]
    ticket_id: TicketId
    priority: Priority
    subject: str = ""
    due_at: UtcDatetime
    fired_at: UtcDatetime
    assignee: str = ""
