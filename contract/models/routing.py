"""Routing (issue 32): the reassignment timer's payload and the message that tells Slack a ticket moved."""

from __future__ import annotations

from typing import Literal

from contract.models.ticket import Priority, TicketId, UtcDatetime, _Strict

ReassignReason = Literal["no_first_response"]


def reassign_schedule_name(ticket_id: str) -> str:
    """The one reassignment timer of a ticket (alongside its SLA timers, in the same schedule group)."""
    return f"{ticket_id}-reassign"


class ReassignDue(_Strict):
    """What the reassignment schedule delivers to the timer function: `assignee` had the ticket since the
    routing assigned it; if they gave no first response by `fire_at`, it goes to the next on-call agent."""

    kind: Literal["reassign"] = "reassign"
    ticket_id: TicketId
    assignee: str
    fire_at: UtcDatetime


class TicketReassignedMessage(_Strict):
    """Published on the tickets topic when routing moved a ticket (the notifier says so in its thread)."""

    event_type: Literal["TicketReassigned"] = "TicketReassigned"
    ticket_id: TicketId
    priority: Priority
    previous: str
    assignee: str
    reason: ReassignReason = "no_first_response"
    due_at: UtcDatetime  # the first-response due time (unchanged by the move)
    at: UtcDatetime
