"""The ticket lifecycle after triage, as data: which status each step may start from and where it leads.

TRIAGED -> APPROVED (agent, in the bot) -> SENDING (the mailer's claim) -> SENT -> WAITING_CUSTOMER
(SES delivery event) -> CUSTOMER_REPLIED (inbound mail) -> ... -> RESOLVED. A rejected send goes to
SEND_FAILED, from where "Retry send" returns it to APPROVED. Each step is one conditional write that also
appends who/what/when to the item's history (pipeline.adapters.mail.DynamoLifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from contract import defaults
from contract.models import TicketStatus, format_utc

S = TicketStatus
DEFAULT_REOPEN_WINDOW = timedelta(days=defaults.REOPEN_WINDOW_DAYS)

# A customer may write at any time after triage; a mail to a RESOLVED ticket reopens it within the window.
ANSWERABLE = frozenset(
    {S.TRIAGED, S.APPROVED, S.SENDING, S.SENT, S.SEND_FAILED, S.WAITING_CUSTOMER, S.CUSTOMER_REPLIED}
)
# Before our reply is out, the customer's mail is recorded and the status stays (issue 27.2): moving it would
# hide the Approve button (TRIAGED) or lose the approved send (APPROVED, SENDING: the mailer's claim expects
# APPROVED and the approval's version, so these writes do not count a version either).
REPLY_PENDING = frozenset({S.TRIAGED, S.APPROVED, S.SENDING})
# Our reply is out and the customer has not answered since: the statuses auto-close works on (issue 32).
AWAITING_CUSTOMER = frozenset({S.SENT, S.WAITING_CUSTOMER})


class Step(StrEnum):
    CLAIM_SEND = "claim_send"
    SENT = "sent"
    SEND_FAILED = "send_failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    CUSTOMER_REPLIED = "customer_replied"
    CUSTOMER_WROTE = "customer_wrote"  # the customer's mail before our reply is out: recorded, status stays
    REOPENED = "reopened"
    UNVERIFIED_MAIL = "unverified_mail"  # mail not proven the customer's: recorded, nothing moves
    CONTACT_ADDED = "contact_added"  # another address that speaks for the customer
    # Issue 32: the waiting ticket's one reminder, its close, and the one satisfaction question and answer.
    NUDGED = "nudged"
    AUTO_CLOSED = "auto_closed"
    CSAT_ASKED = "csat_asked"
    CSAT_RECORDED = "csat_recorded"


@dataclass(frozen=True)
class Rule:
    allowed_from: frozenset[TicketStatus]
    to: TicketStatus | None  # None: recorded in the history, the status stays


RULES: dict[Step, Rule] = {
    Step.CLAIM_SEND: Rule(frozenset({S.APPROVED}), S.SENDING),
    Step.SENT: Rule(frozenset({S.SENDING}), S.SENT),
    Step.SEND_FAILED: Rule(frozenset({S.SENDING}), S.SEND_FAILED),
    # A delivery event only moves a ticket that is still waiting on it; later ones are just recorded.
    Step.DELIVERED: Rule(frozenset({S.SENT}), S.WAITING_CUSTOMER),
    Step.BOUNCED: Rule(frozenset(S) - {S.PROCESSING}, None),
    Step.COMPLAINED: Rule(frozenset(S) - {S.PROCESSING}, None),
    Step.CUSTOMER_REPLIED: Rule(ANSWERABLE - REPLY_PENDING, S.CUSTOMER_REPLIED),
    Step.CUSTOMER_WROTE: Rule(REPLY_PENDING, None),
    Step.REOPENED: Rule(frozenset({S.RESOLVED}), S.CUSTOMER_REPLIED),
    Step.UNVERIFIED_MAIL: Rule(frozenset(S) - {S.PROCESSING}, None),
    Step.CONTACT_ADDED: Rule(frozenset(S) - {S.PROCESSING}, None),
    # Only a ticket still waiting on the customer's answer to our reply is reminded or closed.
    Step.NUDGED: Rule(AWAITING_CUSTOMER, None),
    Step.AUTO_CLOSED: Rule(AWAITING_CUSTOMER, S.CLOSED),
    Step.CSAT_ASKED: Rule(frozenset({S.RESOLVED, S.CLOSED}), None),
    # The answer counts whatever happened since (a reopened ticket was still rated for its first end).
    Step.CSAT_RECORDED: Rule(frozenset(S) - {S.PROCESSING}, None),
}
# Steps that record without counting a version: agents' approvals and the mailer's claim keep theirs (a
# reminder or a rating arriving while an agent edits the next reply must not void the edit).
UNCOUNTED = frozenset(
    {
        Step.CUSTOMER_WROTE,
        Step.UNVERIFIED_MAIL,
        Step.CONTACT_ADDED,
        Step.NUDGED,
        Step.CSAT_ASKED,
        Step.CSAT_RECORDED,
    }
)


def next_status(step: Step, current: TicketStatus) -> TicketStatus | None:
    """The status after `step` from `current`; ValueError when the lifecycle forbids it."""
    rule = RULES[step]
    if current not in rule.allowed_from:
        raise ValueError(f"{step} is not allowed from {current}")
    return rule.to if rule.to is not None else current


@dataclass(frozen=True)
class StatusChange:
    """One lifecycle step, ready for a conditional write."""

    ticket_id: str
    step: Step
    actor: str
    at: datetime
    set_fields: dict[str, Any] = field(default_factory=dict)
    # Extra conditions as {attribute: expected value} (e.g. the approval version of a send claim).
    expect: dict[str, Any] = field(default_factory=dict)
    increment: str = ""  # a numeric attribute to add one to (the mail sequence on a send claim)
    expect_absent: tuple[str, ...] = ()  # attributes that must not exist (one rating question per ticket)
    append: dict[str, Any] = field(default_factory=dict)  # {list attribute: value to append}
    set_if_absent: dict[str, Any] = field(default_factory=dict)  # kept when already set (first response)
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def rule(self) -> Rule:
        return RULES[self.step]

    @property
    def counts_version(self) -> bool:
        return self.step not in UNCOUNTED

    def history_entry(self) -> dict[str, Any]:
        """The audit entry appended to the ticket's history."""
        entry: dict[str, Any] = {"action": str(self.step), "actor": self.actor, "at": format_utc(self.at)}
        if self.rule.to is not None:
            entry["status"] = str(self.rule.to)
        return entry | self.detail


class ReplyRoute(StrEnum):
    APPEND = "append"  # the ticket is open: the answer joins it
    REOPEN = "reopen"  # resolved within the window: reopened
    NEW_TICKET = "new_ticket"  # resolved too long ago, CLOSED (final), or unreadable: a new ticket linking it


def route_reply(item: dict[str, Any], now: datetime, window: timedelta = DEFAULT_REOPEN_WINDOW) -> ReplyRoute:
    """Where a customer's answer to this ticket goes."""
    status = item.get("status")
    if status in ANSWERABLE:
        return ReplyRoute.APPEND
    if status == S.RESOLVED:
        resolved_at = _parse_time(item.get("resolved_at"))
        if resolved_at is not None and now - resolved_at <= window:
            return ReplyRoute.REOPEN
    return ReplyRoute.NEW_TICKET


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
