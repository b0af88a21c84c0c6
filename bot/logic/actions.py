"""Agent actions on a ticket (approve, edit, change priority, resolve) as conditional state changes.

Each action is a `TicketChange`: the fields to set, the statuses it may start from, and optionally the
version the agent saw. The store applies it in one conditional write that also records who, what and when,
so two agents clicking at once never lose an update: the second write fails its condition and is told why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.adapters.slack import Posted
from bot.logic.mrkdwn import escape, user_mention
from contract.models import Priority, ReplyApprovedMessage, TicketStatus, format_utc
from contract.names import ITEM_DRAFTED_REPLY


class Action(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    PRIORITY = "priority"
    RESOLVE = "resolve"
    RETRY_SEND = "retry_send"
    QUEUE_FAILED = "send_failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    TAKE = "take"
    REASSIGN = "reassign"
    # A Slack-born ticket's conversation (issue 31; the same history names as inbound mail's).
    CUSTOMER_WROTE = "customer_wrote"
    CUSTOMER_REPLIED = "customer_replied"
    REOPENED = "reopened"
    ANSWERED = "answered_in_slack"
    ORIGINAL_EDITED = "original_edited"
    ORIGINAL_DELETED = "original_deleted"
    REMOVE_SOURCE = "remove_source"


# Actions that are the ticket's first response when the bot applies them: resolving it. Sending the approved
# reply is the other one, recorded by the mailer's SENT write (pipeline.domain.mailflow), not by the approval:
# an approved reply that SES rejects has not reached the customer. The first one sets first_response_at.
FIRST_RESPONSE = frozenset({Action.RESOLVE})


# Statuses agents can still edit, re-prioritise or resolve (after a reply was sent, too: the customer may
# answer, and the agent edits and approves the next reply).
OPEN = frozenset(
    {
        TicketStatus.TRIAGED,
        TicketStatus.APPROVED,
        TicketStatus.SENT,
        TicketStatus.SEND_FAILED,
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.CUSTOMER_REPLIED,
    }
)


@dataclass(frozen=True)
class TicketChange:
    """One agent action, ready for a conditional write."""

    action: Action
    actor: str
    at: datetime
    set_fields: dict[str, Any]
    allowed_from: frozenset[TicketStatus]
    summary: str
    expected_version: int | None = None
    detail: dict[str, str] = field(default_factory=dict)
    # Set only when absent (the first response is recorded once, by whichever action comes first).
    set_if_absent: dict[str, Any] = field(default_factory=dict)
    # Only when nobody else owns the ticket (Take it); the same agent taking it again is fine.
    unowned_or_mine: bool = False
    # Approve: only the draft version that was on screen (a stale click is refused), and (four eyes) not
    # by the draft's last editor.
    expected_draft_version: int | None = None
    not_last_editor: bool = False
    # Counters incremented by the write (each edit is a new draft version).
    increments: tuple[str, ...] = ()
    # attribute -> attribute whose value (before this change) it takes, once: the first edit keeps the
    # model's draft beside the edited reply, for measured acceptance (issue 30.5)
    copy_if_absent: dict[str, str] = field(default_factory=dict)
    # False: recorded without a new version (a customer's words must not void the version an approval
    # wrote, which the mailer's send claim expects).
    counts_version: bool = True

    def history_entry(self) -> dict[str, Any]:
        """The audit entry appended to the ticket's history."""
        return {"action": str(self.action), "actor": self.actor, "at": format_utc(self.at), **self.detail}


class TicketStore(Protocol):
    """Port: the tickets table as the bot sees it."""

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The ticket item, or None."""

    def apply(self, ticket_id: str, change: TicketChange) -> dict[str, Any]:
        """Apply the change conditionally; return the new item or raise TicketConflictError."""

    def claim_post(self, key: str, event_key: str) -> bool:
        """Record that `event_key` is being posted for `key`; False when it already was."""

    def release_post(self, key: str, event_key: str) -> None:
        """Forget a claim whose post failed, so a redelivery can post it."""

    def set_fields(self, key: str, fields: dict[str, Any]) -> None:
        """Set plain attributes on an item (thread coordinates, alarm state)."""

    def record_post(self, key: str, posted: Posted, fields: dict[str, Any]) -> None:
        """Add `posted` to the item's Slack posts and set `fields`, in one atomic update."""

    def owned_by(self, user_id: str) -> list[dict[str, Any]]:
        """The open tickets `user_id` owns."""


class SlaNotifier(Protocol):
    """Port: tell the SLA timers about a first response or a new priority."""

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        """The ticket got its first response: its timers can go."""

    def reprioritised(self, ticket_id: str, priority: Priority, at: datetime) -> None:
        """The priority changed: the due time moves."""

    def resolved(self, ticket_id: str, at: datetime) -> None:
        """The ticket ended (issue 32): its wait timers go, and the customer gets the rating question."""


def _first_response(actor: str, at: datetime) -> dict[str, Any]:
    return {"first_response_at": format_utc(at), "first_response_by": actor}


DRAFT_VERSION = "draft_version"  # item attribute: +1 on every edit of the drafted reply
DRAFT_EDITED_BY = "draft_edited_by"  # item attribute: who edited the draft last


def approve(actor: str, at: datetime, draft_version: int, *, four_eyes: bool = True) -> TicketChange:
    """Approve the drafted reply at `draft_version` (the one on the agent's screen), and only that one."""
    return TicketChange(
        Action.APPROVE,
        actor,
        at,
        {"status": str(TicketStatus.APPROVED), "approved_by": actor, "approved_at": format_utc(at)},
        frozenset({TicketStatus.TRIAGED}),
        f"{user_mention(actor)} approved the reply.",
        detail={DRAFT_VERSION: str(draft_version)},
        expected_draft_version=draft_version,
        not_last_editor=four_eyes,
    )


def edit_reply(actor: str, at: datetime, text: str, seen_version: int) -> TicketChange:
    """Replace the drafted reply; it needs approval again. Fails if anyone changed the ticket since."""
    return TicketChange(
        Action.EDIT,
        actor,
        at,
        {"response_text": text, "status": str(TicketStatus.TRIAGED), DRAFT_EDITED_BY: actor},
        OPEN,
        f"{user_mention(actor)} edited the reply.",
        expected_version=seen_version,
        increments=(DRAFT_VERSION,),
        copy_if_absent={ITEM_DRAFTED_REPLY: "response_text"},
    )


def change_priority(actor: str, at: datetime, priority: Priority) -> TicketChange:
    """Set the priority by hand."""
    return TicketChange(
        Action.PRIORITY,
        actor,
        at,
        {"priority": str(priority)},
        OPEN,
        f"{user_mention(actor)} changed the priority to {priority}.",
        detail={"priority": str(priority)},
    )


def resolve(actor: str, at: datetime) -> TicketChange:
    """Close the ticket."""
    return TicketChange(
        Action.RESOLVE,
        actor,
        at,
        {"status": str(TicketStatus.RESOLVED), "resolved_by": actor, "resolved_at": format_utc(at)},
        OPEN | {TicketStatus.FAILED},
        f"{user_mention(actor)} resolved the ticket.",
        set_if_absent=_first_response(actor, at),
    )


def take(actor: str, at: datetime) -> TicketChange:
    """The agent takes the ticket (refused when someone else already owns it)."""
    return TicketChange(
        Action.TAKE,
        actor,
        at,
        {"assignee": actor, "assigned_at": format_utc(at)},
        OPEN,
        f"{user_mention(actor)} took the ticket.",
        detail={"assignee": actor},
        unowned_or_mine=True,
    )


def reassign(actor: str, at: datetime, assignee: str) -> TicketChange:
    """Give the ticket to another member."""
    return TicketChange(
        Action.REASSIGN,
        actor,
        at,
        {"assignee": assignee, "assigned_at": format_utc(at)},
        OPEN,
        f"{user_mention(actor)} assigned the ticket to {user_mention(assignee)}.",
        detail={"assignee": assignee},
    )


def remove_source(actor: str, at: datetime, item: dict[str, Any], source_id: str) -> TicketChange | None:
    """Take a wrong knowledge-base source off the draft before it is approved; None when the draft has no
    such source (already removed). Only the draft version on screen: a newer draft keeps its own sources."""
    try:
        sources = json.loads(str(item.get("sources") or "[]"))
    except ValueError:
        sources = []
    kept = [s for s in sources if isinstance(s, dict) and s.get("id") != source_id]
    if len(kept) == len(sources):
        return None
    title = next(str(s.get("title", "")) for s in sources if isinstance(s, dict) and s.get("id") == source_id)
    return TicketChange(
        Action.REMOVE_SOURCE,
        actor,
        at,
        {"sources": json.dumps(kept, separators=(",", ":")) if kept else ""},
        OPEN,
        f"{user_mention(actor)} removed the source {escape(title)}.",
        expected_draft_version=draft_version_of(item),
        detail={"source": source_id},
    )


def retry_send(actor: str, at: datetime) -> TicketChange:
    """Approve a rejected send again: the mailer claims it like a first approval."""
    return TicketChange(
        Action.RETRY_SEND,
        actor,
        at,
        {"status": str(TicketStatus.APPROVED), "approved_by": actor, "approved_at": format_utc(at)},
        frozenset({TicketStatus.SEND_FAILED}),
        f"{user_mention(actor)} asked to send the reply again.",
    )


def queue_failed(actor: str, at: datetime, reason: str) -> TicketChange:
    """The approval could not be handed to the mailer: visible, with Retry send."""
    return TicketChange(
        Action.QUEUE_FAILED,
        actor,
        at,
        {"status": str(TicketStatus.SEND_FAILED), "send_error": reason},
        frozenset({TicketStatus.APPROVED}),
        f":warning: The reply was not sent: {escape(reason)}. Use *Retry send*.",
        detail={"reason": reason},
    )


# SES events (through the configuration set) recorded on the ticket. A delivery moves SENT to
# WAITING_CUSTOMER; bounces and complaints are recorded whatever the status.
_ANY = frozenset(TicketStatus) - {TicketStatus.PROCESSING}


def mail_feedback(kind: Action, at: datetime, address: str, detail: str, ses_message_id: str) -> TicketChange:
    """A delivery, bounce or complaint SES reported for one of the ticket's mails."""
    fields: dict[str, Any] = {f"last_{kind}_at": format_utc(at)}
    allowed = _ANY
    if kind == Action.DELIVERED:
        fields["status"] = str(TicketStatus.WAITING_CUSTOMER)
        allowed = frozenset({TicketStatus.SENT})
    else:
        fields[f"last_{kind}"] = detail
    return TicketChange(
        kind,
        "ses",
        at,
        fields,
        allowed,
        "",
        detail={"address": address, "ses_message_id": ses_message_id}
        | ({"detail": detail} if detail else {}),
    )


def approved_message(item: dict[str, Any], change: TicketChange) -> ReplyApprovedMessage:
    """What the mailer is told once an approval (or a retry) was applied: `item` is the ticket as that write
    left it, whose version the mailer's send claim requires (a second delivery cannot send again)."""
    return ReplyApprovedMessage(
        ticket_id=str(item["ticket_id"]),
        approved_by=change.actor,
        approved_at=change.at,
        version=version_of(item),
    )


def version_of(item: dict[str, Any] | None) -> int:
    """The item's optimistic-lock version (0 before any agent action)."""
    return int((item or {}).get("version", 0))


def draft_version_of(item: dict[str, Any] | None) -> int:
    """The drafted reply's version (0 for the triage's draft, +1 per edit)."""
    return int((item or {}).get(DRAFT_VERSION, 0))


def stale_draft(change: TicketChange, current: dict[str, Any] | None) -> bool:
    """Whether an approval lost because the draft changed after the agent saw it."""
    return (
        current is not None
        and change.expected_draft_version is not None
        and draft_version_of(current) != change.expected_draft_version
    )


def four_eyes_refused(change: TicketChange, current: dict[str, Any] | None) -> bool:
    """Whether an approval lost because its approver edited the draft last."""
    return bool(
        current is not None and change.not_last_editor and current.get(DRAFT_EDITED_BY) == change.actor
    )


def conflict_reason(change: TicketChange, current: dict[str, Any] | None) -> str:
    """Why a conditional write lost, in words for the agent."""
    if current is None:
        return "That ticket no longer exists."
    status = current.get("status", "?")
    who = current.get("updated_by")
    by = f" by {user_mention(str(who))}" if who else ""
    if stale_draft(change, current):
        return (
            f"Not sent: the draft changed{by} since you saw it; review it again (the post shows the new "
            "draft) and approve that."
        )
    if four_eyes_refused(change, current) and str(status) in {str(s) for s in change.allowed_from}:
        return (
            "Not approved: you edited this draft last, so another approver must approve it (four eyes; "
            "one-person teams set TMS_FOUR_EYES=off)."
        )
    if change.expected_version is not None and version_of(current) != change.expected_version:
        return f"The ticket changed{by} while you were editing; reopen *Edit reply* to see the latest text."
    owner = current.get("assignee")
    if change.unowned_or_mine and owner and owner != change.actor and status in OPEN:
        return f"Not done: {user_mention(str(owner))} already owns the ticket; ask them, or use *Reassign*."
    return f"Not done: the ticket is {escape(status)}{by}, so it cannot be {_past(change.action)}."


def _past(action: Action) -> str:
    return {
        Action.APPROVE: "approved",
        Action.EDIT: "edited",
        Action.PRIORITY: "re-prioritised",
        Action.RESOLVE: "resolved",
        Action.RETRY_SEND: "sent again",
        Action.TAKE: "taken",
        Action.REASSIGN: "reassigned",
        Action.REMOVE_SOURCE: "changed",
    }.get(action, str(action))
