"""Sending an approved reply exactly once, and taking a customer's answer back into its ticket.

Both are domain functions over ports (Protocols); the handlers wire the adapters. Nothing here knows
whether SES is AWS or the local endpoint.

Exactly once: the mailer first claims the send with a conditional write (status APPROVED and the version
the approval wrote -> SENDING, mail sequence + 1). Only the claim's winner calls SES; a double click, a
Slack retry or an SNS redelivery loses the claim and does nothing. The SES message id is recorded after the
call. A crash between the SES call and that record leaves the ticket SENDING (visible in `tms ticket show`
and never resent automatically: at most once beats twice for a customer's inbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from contract.models import (
    MailEventKind,
    ReplyApprovedMessage,
    Source,
    TicketData,
    TicketMailMessage,
    TicketStatus,
    TicketSubmitted,
    field_errors,
    format_utc,
)
from pipeline.domain import lifecycle, mail
from pipeline.domain.lifecycle import ReplyRoute, StatusChange, Step

UNKNOWN_PRODUCT = "Unspecified"
SYSTEM_ACTOR = "tms"


class TransitionRefusedError(Exception):
    """A lifecycle write lost its condition: the ticket is not in a state that allows the step."""

    def __init__(self, ticket_id: str, step: str, current: dict[str, Any] | None):
        self.ticket_id = ticket_id
        self.current = current
        super().__init__(f"{step} refused for {ticket_id} (status {(current or {}).get('status')})")


class MailRejectedError(Exception):
    """SES refused the mail for good (or after the SDK's retries); `reason` is shown to the agent."""

    def __init__(self, reason: str, code: str = ""):
        self.reason = reason
        self.code = code
        super().__init__(reason)


class Lifecycle(Protocol):
    """Port: the tickets table's lifecycle writes."""

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The item, or None."""

    def apply(self, change: StatusChange) -> dict[str, Any]:
        """One conditional write; the new item, or TransitionRefusedError."""


class MailSender(Protocol):
    """Port: hands one raw message to the mail service."""

    def send(self, raw: bytes, *, to: str, from_address: str, ticket_id: str) -> str:
        """Send; the service's message id, or MailRejectedError."""


class Events(Protocol):
    """Port: the tickets topic."""

    def publish(self, message: TicketMailMessage) -> None:
        """Publish one mail event for the notifier."""


class FirstResponses(Protocol):
    """Port: tell the SLA timers that the customer got their first response (they can go)."""

    def first_response(self, ticket_id: str, at: datetime, by: str) -> None:
        """Stop the ticket's timers (best effort: the SENT write already recorded the response)."""


class Intake(Protocol):
    """Port: the tickets stream (a mail that starts a new ticket goes through normal triage)."""

    def put(self, event: TicketSubmitted) -> None:
        """Write one ticket event."""


@dataclass(frozen=True)
class MailConfig:
    """Who we are on the mail side."""

    from_address: str
    reply_to: str = ""
    reopen_window: timedelta = lifecycle.DEFAULT_REOPEN_WINDOW

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2]


@dataclass(frozen=True)
class SendOutcome:
    """What the mailer did with one approval (for logs and tests)."""

    ticket_id: str
    outcome: str  # sent | posted_in_slack | failed | duplicate
    detail: str = ""
    message_id: str = ""


def send_approved_reply(
    msg: ReplyApprovedMessage,
    store: Lifecycle,
    sender: MailSender,
    events: Events,
    config: MailConfig,
    now: datetime,
    responses: FirstResponses | None = None,
) -> SendOutcome:
    """Claim, send, record: the approved reply reaches the customer once, or the ticket says why not.

    The SENT write is the ticket's first response (issue 14's definition: the reply reached the customer)
    unless one was recorded before; `responses` then stops the SLA timers."""
    tid = msg.ticket_id
    claim = StatusChange(
        tid,
        Step.CLAIM_SEND,
        msg.approved_by,
        now,
        expect={"version": msg.version},
        increment="mail_seq",
        set_fields={"send_claimed_at": now},
    )
    try:
        item = store.apply(claim)
    except TransitionRefusedError as e:
        return SendOutcome(tid, "duplicate", f"not claimed: status {(e.current or {}).get('status')}")
    if item.get("reply_via") == "slack":
        outcome = _post_in_slack(item, msg, store, events, now)
        if responses is not None:
            responses.first_response(tid, now, msg.approved_by)
        return outcome
    sequence = int(item.get("mail_seq", 1))
    to_address = str(item.get("customer_email", ""))
    reply = mail.OutgoingReply(
        ticket_id=tid,
        sequence=sequence,
        subject=str(item.get("subject", "")),
        body=str(item.get("response_text", "")),
        to_name=str(item.get("customer_full_name", "")),
        to_address=to_address,
        from_address=config.from_address,
        reply_to=config.reply_to,
        sent_at=now,
        references=tuple(item.get("mail_references") or ()),
    )
    mid = mail.message_id(tid, sequence, config.from_address)
    try:
        raw = mail.build_reply(reply).as_bytes()
        ses_id = sender.send(raw, to=to_address, from_address=config.from_address, ticket_id=tid)
    except (MailRejectedError, ValueError) as e:
        reason = e.reason if isinstance(e, MailRejectedError) else f"the mail could not be built: {e}"
        failed = StatusChange(
            tid,
            Step.SEND_FAILED,
            SYSTEM_ACTOR,
            now,
            set_fields={"send_error": reason},
            detail={"reason": reason},
        )
        store.apply(failed)
        events.publish(
            _event(
                MailEventKind.REPLY_SEND_FAILED,
                tid,
                TicketStatus.SEND_FAILED,
                now,
                text=reason,
                actor=msg.approved_by,
                address=to_address,
            )
        )
        return SendOutcome(tid, "failed", reason)
    store.apply(
        StatusChange(
            tid,
            Step.SENT,
            msg.approved_by,
            now,
            set_fields={
                "ses_message_id": ses_id,
                "sent_at": now,
                "last_mail_message_id": mid,
                "send_error": "",
            },
            append={"mail_references": mid, "mail_ids": f"out:{mid}:{ses_id}"},
            set_if_absent=first_response(msg.approved_by, now),
            detail={"message_id": mid, "ses_message_id": ses_id, "to": to_address},
        )
    )
    if responses is not None:
        responses.first_response(tid, now, msg.approved_by)
    events.publish(
        _event(
            MailEventKind.REPLY_SENT,
            tid,
            TicketStatus.SENT,
            now,
            actor=msg.approved_by,
            address=to_address,
            mail_message_id=mid,
            ses_message_id=ses_id,
        )
    )
    return SendOutcome(tid, "sent", to_address, mid)


def first_response(actor: str, at: datetime) -> dict[str, str]:
    """The attributes a first response sets (only when absent: a later reply is not the first)."""
    return {"first_response_at": format_utc(at), "first_response_by": actor}


def _post_in_slack(
    item: dict[str, Any], msg: ReplyApprovedMessage, store: Lifecycle, events: Events, now: datetime
) -> SendOutcome:
    """An agent-opened ticket: the agent is the customer, so the reply is posted to them in the thread."""
    tid = msg.ticket_id
    user = str(item.get("slack_user", ""))
    store.apply(
        StatusChange(
            tid,
            Step.SENT,
            msg.approved_by,
            now,
            set_fields={"sent_at": now},
            set_if_absent=first_response(msg.approved_by, now),
            detail={"via": "slack", "to": user},
        )
    )
    events.publish(
        _event(
            MailEventKind.REPLY_SENT,
            tid,
            TicketStatus.SENT,
            now,
            actor=msg.approved_by,
            via="slack",
            mention=user,
            text=str(item.get("response_text", "")),
        )
    )
    return SendOutcome(tid, "posted_in_slack", user)


def _event(
    kind: MailEventKind, tid: str, status: TicketStatus, at: datetime, **fields: Any
) -> TicketMailMessage:
    return TicketMailMessage(kind=kind, ticket_id=tid, status=status, at=at, **fields)


# --- Inbound ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdicts:
    """SES receipt verdicts (PASS, FAIL, GRAY, PROCESSING_FAILED, DISABLED)."""

    spf: str = "PASS"
    dkim: str = "PASS"
    spam: str = "PASS"
    virus: str = "PASS"

    def refusal(self) -> str:
        """Why the mail is refused ("" when it is not). GRAY/DISABLED are not failures."""
        failed = [
            n
            for n, v in (("SPF", self.spf), ("DKIM", self.dkim), ("spam", self.spam), ("virus", self.virus))
            if v.upper() == "FAIL"
        ]
        return f"{', '.join(failed)} verdict FAIL" if failed else ""


@dataclass(frozen=True)
class ReceiveOutcome:
    """What happened to one inbound mail (printed by `tms mail receive`)."""

    outcome: str  # appended | reopened | new_ticket | refused | ignored_automated | malformed | duplicate
    ticket_id: str = ""
    detail: str = ""
    new_ticket_id: str = ""
    status: str = ""


def receive_mail(
    raw: bytes,
    verdicts: Verdicts,
    store: Lifecycle,
    intake: Intake,
    events: Events,
    config: MailConfig,
    now: datetime,
) -> ReceiveOutcome:
    """Take one customer mail into its ticket (or a new ticket). Never raises for bad input: every kind of
    bad mail has an outcome, so SES/Lambda never retries it and nothing loops."""
    try:
        return _receive(raw, verdicts, store, intake, events, config, now)
    except ValidationError as e:  # e.g. a sender address our ticket contract does not accept
        return ReceiveOutcome("malformed", detail="; ".join(field_errors(e))[:500])


def _receive(
    raw: bytes,
    verdicts: Verdicts,
    store: Lifecycle,
    intake: Intake,
    events: Events,
    config: MailConfig,
    now: datetime,
) -> ReceiveOutcome:
    refusal = verdicts.refusal()
    if refusal:
        return ReceiveOutcome("refused", detail=refusal)
    try:
        parsed = mail.parse_inbound(raw)
    except mail.MalformedMailError as e:
        return ReceiveOutcome("malformed", detail=str(e))
    if parsed.automated:
        # Never answered, never a ticket: an auto-reply answering our reply would otherwise ping-pong.
        return ReceiveOutcome("ignored_automated", detail=parsed.automated)
    if parsed.from_address.lower() == config.from_address.lower():
        return ReceiveOutcome("ignored_automated", detail="sent by our own address (loop)")
    tid = mail.find_ticket_id(parsed, config.domain)
    item = store.get(tid) if tid else None
    if tid is None or item is None:
        detail = f"no ticket {tid}" if tid else "no ticket id in the subject or headers"
        new = _new_ticket(parsed, intake, now, None)
        return ReceiveOutcome("new_ticket", tid or "", detail, new)
    if parsed.message_id and f"in:{parsed.message_id}" in set(item.get("mail_ids") or ()):
        return ReceiveOutcome("duplicate", tid or "", "this mail was already taken in")
    route = lifecycle.route_reply(item, now, config.reopen_window)
    if route is ReplyRoute.NEW_TICKET:
        new = _new_ticket(parsed, intake, now, tid)
        return ReceiveOutcome("new_ticket", tid, f"{tid} is {item.get('status')}; a new ticket links it", new)
    customer = str(item.get("customer_email", "")).lower()
    flag = (
        ""
        if parsed.from_address == customer
        else (f"sent from {parsed.from_address}, not the ticket's customer address {customer or '(none)'}")
    )
    step = Step.REOPENED if route is ReplyRoute.REOPEN else Step.CUSTOMER_REPLIED
    change = StatusChange(
        tid,
        step,
        parsed.from_address,
        now,
        set_fields={"customer_replied_at": now, "last_customer_text": parsed.text},
        append={"mail_ids": f"in:{parsed.message_id}", "mail_references": parsed.message_id}
        if parsed.message_id
        else {},
        detail={"from": parsed.from_address, "message_id": parsed.message_id}
        | ({"flag": flag} if flag else {}),
    )
    try:
        store.apply(change)
    except TransitionRefusedError as e:
        # Raced with a status change (e.g. resolved this instant): route again on what is there now.
        return ReceiveOutcome("refused", tid, f"ticket changed meanwhile: {e}")
    events.publish(
        _event(
            MailEventKind.CUSTOMER_REPLIED,
            tid,
            TicketStatus.CUSTOMER_REPLIED,
            now,
            actor=parsed.from_address,
            address=parsed.from_address,
            text=parsed.text or "(no text)",
            mail_message_id=parsed.message_id,
            flag=flag,
            reopened=step is Step.REOPENED,
        )
    )
    return ReceiveOutcome(
        "reopened" if step is Step.REOPENED else "appended",
        tid,
        flag,
        status=str(TicketStatus.CUSTOMER_REPLIED),
    )


def _new_ticket(parsed: mail.InboundMail, intake: Intake, now: datetime, follows: str | None) -> str:
    """A new ticket from a mail, through the normal intake (Kinesis), so the same triage runs on it."""
    name = parsed.from_name or parsed.from_address.partition("@")[0]
    first, _, last = name.partition(" ")
    subject = " ".join(mail.SUBJECT_TICKET_RE.sub("", parsed.subject).split()) or "(no subject)"
    description = parsed.text or "(no text)"
    if follows:
        description = f"Follow-up to {follows}.\n\n{description}"
    data = TicketData.model_validate(
        {
            "subject": subject.encode("utf-8")[:256].decode("utf-8", errors="ignore"),
            "description": description.encode("utf-8")[:4500].decode("utf-8", errors="ignore"),
            "customer": {
                "first_name": first or name,
                "last_name": last or "-",
                "full_name": name,
                "email": parsed.from_address,
            },
            "product": UNKNOWN_PRODUCT,
            "issue_type": UNKNOWN_PRODUCT,
        }
    )
    event = TicketSubmitted.new(data, Source.EMAIL, now=now)
    intake.put(event)
    return event.ticketId
