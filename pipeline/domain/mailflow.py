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

from collections.abc import Mapping
from dataclasses import dataclass, field
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
from contract.names import ASSIGNEE_ATTR
from pipeline.domain import acceptance, lifecycle, mail, mail_trust
from pipeline.domain.lifecycle import ReplyRoute, StatusChange, Step
from pipeline.domain.limits import Decision, Limit, MailLimits, RateLimiter, count_new_ticket
from pipeline.domain.mail_trust import SenderCheck, Verdicts

UNKNOWN_PRODUCT = "Unspecified"
SYSTEM_ACTOR = "tms"
# Tickets answered in Slack, never by mail: an agent's inline /ticket ("slack": the agent is the customer) and a
# customer's own Slack message ("slack_thread", issue 31: the notifier posts the reply in their thread).
SLACK_REPLIES = frozenset({"slack", "slack_thread"})
CONTACTS_ATTR = "contacts"  # addresses besides customer_email whose authenticated mail is the customer's


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


class CustomerWaits(Protocol):
    """Port: tell the timer function that our reply reached the customer (the nudge and close timers)."""

    def await_customer(self, ticket_id: str, since: datetime) -> None:
        """Arm the ticket's auto-close for a wait that started at `since` (best effort)."""


class Intake(Protocol):
    """Port: the tickets stream (a mail that starts a new ticket goes through normal triage)."""

    def put(self, event: TicketSubmitted) -> None:
        """Write one ticket event."""


@dataclass(frozen=True)
class MailConfig:
    """Who we are on the mail side, and whom we trust."""

    from_address: str
    reply_to: str = ""
    reopen_window: timedelta = lifecycle.DEFAULT_REOPEN_WINDOW
    # The HMAC key of signed reply addresses (pipeline.domain.mail_trust); empty: a plain Reply-To.
    reply_key: bytes = field(default=b"", repr=False)
    trusted_domains: frozenset[str] = frozenset()
    limits: MailLimits = field(default_factory=MailLimits)

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    @property
    def reply_base(self) -> str:
        """The address answers go to, before its per-ticket tag."""
        return self.reply_to or self.from_address


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
    waits: CustomerWaits | None = None,
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
    if item.get("reply_via") in SLACK_REPLIES:
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
        reply_to=mail_trust.reply_address(config.reply_base, tid, config.reply_key)
        if config.reply_key
        else config.reply_to,
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
                **awaiting_fields(now),
                **acceptance.measure(item).fields(),
            },
            append={"mail_references": mid, "mail_ids": f"out:{mid}:{ses_id}"},
            set_if_absent=first_response(msg.approved_by, now),
            detail={"message_id": mid, "ses_message_id": ses_id, "to": to_address},
        )
    )
    if responses is not None:
        responses.first_response(tid, now, msg.approved_by)
    if waits is not None:
        waits.await_customer(tid, now)
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


# Issue 32: each mailed reply starts a new wait for the customer. The nudge and close timers name the wait
# they were armed for (`awaiting_since`), and each fires only while these markers are still empty: the
# nudge sets NUDGED_FOR, unverified mail about the ticket sets PAUSED_AT. DynamoDB conditions compare values,
# so the SENT write resets them to "" rather than removing them.
AWAITING_SINCE = "awaiting_since"
NUDGED_FOR = "nudged_for"
PAUSED_AT = "autoclose_paused_at"


def awaiting_fields(now: datetime) -> dict[str, str]:
    """The attributes the SENT write of a mailed reply sets: a new wait, not yet nudged nor paused."""
    return {AWAITING_SINCE: format_utc(now), NUDGED_FOR: "", PAUSED_AT: ""}


def followup_mail(
    item: dict[str, Any], sequence: int, body: str, config: MailConfig, now: datetime
) -> tuple[bytes, str]:
    """A mail of ours after the reply (the nudge, the rating question), threaded under the conversation
    and answerable like the reply; the raw bytes and its Message-ID."""
    tid = str(item["ticket_id"])
    outgoing = mail.OutgoingReply(
        ticket_id=tid,
        sequence=sequence,
        subject=str(item.get("subject", "")),
        body=body,
        to_name=str(item.get("customer_full_name", "")),
        to_address=str(item.get("customer_email", "")),
        from_address=config.from_address,
        reply_to=mail_trust.reply_address(config.reply_base, tid, config.reply_key)
        if config.reply_key
        else config.reply_to,
        sent_at=now,
        references=tuple(item.get("mail_references") or ()),
    )
    return mail.build_reply(outgoing).as_bytes(), mail.message_id(tid, sequence, config.from_address)


def send_followup(
    kind: MailEventKind,
    item: dict[str, Any],
    body: str,
    *,
    to: str,
    sender: MailSender,
    events: Events,
    config: MailConfig,
    now: datetime,
) -> bool:
    """Mail a follow-up (followup_mail, numbered by the item's mail_seq) to `to` and publish kind about it:
    with its Message-ID when sent, with the reason when the mail service refused it. Whether it was sent."""
    raw, mid = followup_mail(item, int(item.get("mail_seq", 1)), body, config, now)
    try:
        sender.send(raw, to=to, from_address=config.from_address, ticket_id=str(item["ticket_id"]))
    except MailRejectedError as e:
        publish_followup(events, kind, item, now, text=f"not sent: {e.reason}")
        return False
    publish_followup(events, kind, item, now, mail_message_id=mid)
    return True


def first_response(actor: str, at: datetime) -> dict[str, str]:
    """The attributes a first response sets (only when absent: a later reply is not the first)."""
    return {"first_response_at": format_utc(at), "first_response_by": actor}


def _post_in_slack(
    item: dict[str, Any], msg: ReplyApprovedMessage, store: Lifecycle, events: Events, now: datetime
) -> SendOutcome:
    """A ticket answered in Slack: the event carries the reply, the notifier posts it (to the agent in the
    triage thread, or in the customer's own thread). The SENDING claim made this the only publish."""
    tid = msg.ticket_id
    user = str(item.get("slack_user", ""))
    store.apply(
        StatusChange(
            tid,
            Step.SENT,
            msg.approved_by,
            now,
            set_fields={"sent_at": now, **acceptance.measure(item).fields()},
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


def publish_followup(
    events: Events, kind: MailEventKind, item: Mapping[str, object], now: datetime, **fields: str
) -> None:
    """A step tms took on its own about a ticket (a nudge, an auto-close, a rating asked or received), as the
    message the notifier threads under the ticket's post."""
    events.publish(
        _event(
            kind,
            str(item["ticket_id"]),
            TicketStatus(str(item.get("status"))),
            now,
            actor=SYSTEM_ACTOR,
            address=str(item.get("customer_email", "")),
            **fields,
        )
    )


# --- Inbound ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """What the receipt event says beside the verdicts: the SMTP envelope and where the raw mail is."""

    recipients: tuple[str, ...] = ()  # RCPT TO (SES receipt.recipients); the mail's To/Cc when empty
    mail_from: str = ""  # MAIL FROM (SES mail.source); the topmost Return-Path when empty
    raw_key: str = ""  # the S3 key of the raw message (named by held records)


class HeldMail(Protocol):
    """Port: where mail that may not open a ticket or join one is kept, for agents to look at."""

    def hold(self, record: dict[str, Any]) -> str:
        """Store one record; where it is (shown to agents)."""


class LimitAlerts(Protocol):
    """Port: one message to the agents when a limit is first hit in a window."""

    def limit_hit(self, subject: str, message: str) -> None:
        """Publish the announcement."""


@dataclass(frozen=True)
class InboundPorts:
    """The optional ports of inbound mail: without a limiter every mail may open a ticket."""

    limiter: RateLimiter | None = None
    held: HeldMail | None = None
    alerts: LimitAlerts | None = None


@dataclass(frozen=True)
class ReceiveOutcome:
    """What happened to one inbound mail (printed by `tms mail receive`)."""

    # appended | reopened | new_ticket | unverified | rate_limited | held | refused | ignored_automated |
    # malformed | duplicate (see `tms mail receive --help`)
    outcome: str
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
    envelope: Envelope | None = None,
    ports: InboundPorts | None = None,
) -> ReceiveOutcome:
    """Take one mail into its ticket (or a new ticket). Never raises for bad input: every kind of bad mail
    has an outcome, so SES/Lambda never retries it and nothing loops."""
    inbound = _Inbound(store, intake, events, config, now, envelope or Envelope(), ports or InboundPorts())
    try:
        return inbound.receive(raw, verdicts)
    except ValidationError as e:  # e.g. a sender address our ticket contract does not accept
        return ReceiveOutcome("malformed", detail="; ".join(field_errors(e))[:500])


@dataclass
class _Inbound:
    store: Lifecycle
    intake: Intake
    events: Events
    config: MailConfig
    now: datetime
    envelope: Envelope
    ports: InboundPorts

    def receive(self, raw: bytes, verdicts: Verdicts) -> ReceiveOutcome:
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
        if parsed.from_address.lower() == self.config.from_address.lower():
            return ReceiveOutcome("ignored_automated", detail="sent by our own address (loop)")
        check = mail_trust.authenticate(
            parsed.from_address,
            verdicts,
            envelope_from=self.envelope.mail_from or parsed.return_path,
            dkim_domains=parsed.dkim_domains,
            trusted_domains=self.config.trusted_domains,
            from_count=parsed.from_count,
        )
        # Which ticket: a signed reply address names it; our Message-IDs and the subject tag are hints only.
        # Either way the mail is the customer's only when its sender passes the check below.
        token = mail_trust.ticket_from_recipients(
            self.envelope.recipients or parsed.recipients, self.config.reply_base, self.config.reply_key
        )
        tid = token.ticket_id or mail.find_ticket_id(parsed, self.config.domain)
        item = self.store.get(tid) if tid else None
        if tid is None or item is None:
            detail = f"no ticket {tid}" if tid else "no ticket id in the address, subject or headers"
            if token.forged:
                detail += "; the reply address's ticket tag did not verify"
            return self.new_ticket(parsed, check, None, detail)
        if parsed.message_id and _seen(item, parsed.message_id):
            return ReceiveOutcome("duplicate", tid, "this mail was already taken in")
        route = lifecycle.route_reply(item, self.now, self.config.reopen_window)
        if route is ReplyRoute.NEW_TICKET:
            detail = f"{tid} is {item.get('status')}; a new ticket links it"
            return self.new_ticket(parsed, check, tid, detail)
        doubt = _doubt(parsed, item, check)
        if doubt:
            return self.unverified(parsed, tid, item, doubt)
        return self.take_in(parsed, tid, item)

    def take_in(self, parsed: mail.InboundMail, tid: str, item: dict[str, Any]) -> ReceiveOutcome:
        """The customer's own mail: recorded on the ticket. It moves the status only once our reply is out
        (CUSTOMER_REPLIED, or reopened); before, the status stays so that the approval and send go on."""
        for attempt in range(2):  # one more time on what is there now, when the ticket changed meanwhile
            route = lifecycle.route_reply(item, self.now, self.config.reopen_window)
            if route is ReplyRoute.NEW_TICKET:
                return self.new_ticket(parsed, _CHECKED, tid, f"{tid} is {item.get('status')}")
            if route is ReplyRoute.REOPEN:
                step = Step.REOPENED
            elif item.get("status") in lifecycle.REPLY_PENDING:
                step = Step.CUSTOMER_WROTE
            else:
                step = Step.CUSTOMER_REPLIED
            change = StatusChange(
                tid,
                step,
                parsed.from_address,
                self.now,
                set_fields={"customer_replied_at": self.now, "last_customer_text": parsed.text},
                append={"mail_ids": f"in:{parsed.message_id}", "mail_references": parsed.message_id}
                if parsed.message_id
                else {},
                detail={"from": parsed.from_address, "message_id": parsed.message_id},
                increment="reopen_count" if step is Step.REOPENED else "",  # the reopen rate (issue 32)
            )
            try:
                new = self.store.apply(change)
                break
            except TransitionRefusedError as e:
                if attempt or e.current is None:
                    return ReceiveOutcome("refused", tid, f"ticket changed meanwhile: {e}")
                item = e.current
        status = TicketStatus(new.get("status", TicketStatus.CUSTOMER_REPLIED))
        self.events.publish(
            _event(
                MailEventKind.CUSTOMER_REPLIED,
                tid,
                status,
                self.now,
                actor=parsed.from_address,
                address=parsed.from_address,
                text=parsed.text or "(no text)",
                mail_message_id=parsed.message_id,
                reopened=step is Step.REOPENED,
            )
        )
        outcome = "reopened" if step is Step.REOPENED else "appended"
        return ReceiveOutcome(outcome, tid, status=str(status))

    def unverified(
        self, parsed: mail.InboundMail, tid: str, item: dict[str, Any], doubt: str
    ) -> ReceiveOutcome:
        """Mail about a ticket not proven the customer's: in the thread, marked, the owner pinged; the status,
        the customer's last text and the mail thread we answer in stay as they are."""
        key = f"unverified:{parsed.message_id}" if parsed.message_id else ""
        # Issue 32: a waiting ticket does not close under someone who may be the customer writing back; the
        # owner is pinged below and decides.
        pause = item.get("status") in lifecycle.AWAITING_CUSTOMER and item.get(AWAITING_SINCE)
        try:
            new = self.store.apply(
                StatusChange(
                    tid,
                    Step.UNVERIFIED_MAIL,
                    parsed.from_address,
                    self.now,
                    set_fields={PAUSED_AT: format_utc(self.now)} if pause else {},
                    append={"mail_ids": key} if key else {},
                    detail={"from": parsed.from_address, "message_id": parsed.message_id, "flag": doubt},
                )
            )
        except TransitionRefusedError as e:
            return ReceiveOutcome("refused", tid, f"ticket changed meanwhile: {e}")
        status = TicketStatus(str(new.get("status") or item.get("status")))
        self.events.publish(
            _event(
                MailEventKind.UNVERIFIED_MAIL,
                tid,
                status,
                self.now,
                actor=parsed.from_address,
                address=parsed.from_address,
                text=parsed.text or "(no text)",
                mail_message_id=parsed.message_id,
                flag=doubt,
                mention=str(item.get(ASSIGNEE_ATTR) or ""),
                autoclose_paused=bool(pause),
            )
        )
        return ReceiveOutcome("unverified", tid, doubt, status=str(status))

    def new_ticket(
        self, parsed: mail.InboundMail, check: SenderCheck, follows: str | None, why: str
    ) -> ReceiveOutcome:
        """A new ticket through the normal intake, within the per-sender and per-domain limits."""
        event = _ticket_event(parsed, self.now, follows, check)
        refused = self._over_limit(parsed.from_address, event.ticketId)
        if refused is None:
            self.intake.put(event)
            return ReceiveOutcome("new_ticket", follows or "", why, event.ticketId)
        limit, key, decision = refused
        over = f"over the limit of {limit.max_count} new tickets per hour from {key}"
        if decision.first_refusal and self.ports.alerts is not None:
            self.ports.alerts.limit_hit(
                f"Mail limit hit: {limit.name} {key}",
                f"{over}. Until the hour is over, more mail from {key} joins the sender's latest open "
                "ticket when the sender is verified, else it is held under inbound-mail/held/. One message per hour.",
            )
        if check.authenticated and limit == self.config.limits.per_sender:
            joined = self._join_latest(parsed, check, decision.refs)
            if joined is not None:
                return ReceiveOutcome(
                    "rate_limited", joined.ticket_id, f"{over}; joined it", status=joined.status
                )
        return self.hold(parsed, check, over)

    def _join_latest(
        self, parsed: mail.InboundMail, check: SenderCheck, refs: tuple[str, ...]
    ) -> ReceiveOutcome | None:
        """Take the mail into the newest still-open ticket this sender opened in the window, if any."""
        for tid in reversed(refs):
            item = self.store.get(tid)
            answerable = item is not None and lifecycle.route_reply(item, self.now) is ReplyRoute.APPEND
            if item is not None and answerable and not _doubt(parsed, item, check):
                taken = self.take_in(parsed, tid, item)
                if taken.outcome == "appended":
                    return taken
        return None

    def _over_limit(self, sender: str, ticket_id: str) -> tuple[Limit, str, Decision] | None:
        limiter = self.ports.limiter
        if limiter is None:
            return None
        limits = self.config.limits
        return count_new_ticket(
            limiter,
            limits.per_sender,
            limits.per_domain,
            sender,
            self.now,
            ref=ticket_id,
            exempt_domains=limits.exempt_domains,
        )

    def hold(self, parsed: mail.InboundMail, check: SenderCheck, why: str) -> ReceiveOutcome:
        """Kept where agents can see it, on no ticket."""
        if self.ports.held is None:
            return ReceiveOutcome("held", detail=f"{why} (no held-mail store configured: dropped)")
        where = self.ports.held.hold(
            {
                "at": format_utc(self.now),
                "from": parsed.from_address,
                "subject": parsed.subject[:256],
                "message_id": parsed.message_id,
                "reason": why,
                "sender_check": check.reason,
                "verified": check.authenticated,
                "raw_key": self.envelope.raw_key,
            }
        )
        return ReceiveOutcome("held", detail=f"{why}; held at {where}")


_CHECKED = SenderCheck(True, "checked before")


def _seen(item: dict[str, Any], message_id: str) -> bool:
    ids = set(item.get("mail_ids") or ())
    return f"in:{message_id}" in ids or f"unverified:{message_id}" in ids


def _doubt(parsed: mail.InboundMail, item: dict[str, Any], check: SenderCheck) -> str:
    """Why this mail is not the customer's ("" when it is): From is the customer or a contact, and the
    sender is authenticated."""
    speakers = {str(item.get("customer_email", "")).lower()} | {
        str(c).lower() for c in item.get(CONTACTS_ATTR) or ()
    }
    reasons = []
    if parsed.from_address not in speakers:
        reasons.append(f"sent from {parsed.from_address}, not the ticket's customer or a contact")
    if not check.authenticated:
        reasons.append(f"sender not authenticated: {check.reason}")
    return "; ".join(reasons)


def _ticket_event(
    parsed: mail.InboundMail, now: datetime, follows: str | None, check: SenderCheck
) -> TicketSubmitted:
    """A new ticket from a mail, for the normal intake (Kinesis), so the same triage runs on it."""
    name = parsed.from_name or parsed.from_address.partition("@")[0]
    first, _, last = name.partition(" ")
    subject = " ".join(mail.SUBJECT_TICKET_RE.sub("", parsed.subject).split()) or "(no subject)"
    description = parsed.text or "(no text)"
    if follows:
        description = f"Follow-up to {follows}.\n\n{description}"
    if not check.authenticated:
        description = f"(Sender not verified: {check.reason}.)\n\n{description}"
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
    return TicketSubmitted.new(data, Source.EMAIL, now=now)


# --- Contacts ---------------------------------------------------------------------------------------------


def add_contact(store: Lifecycle, ticket_id: str, address: str, actor: str, now: datetime) -> bool:
    """Let `address` speak for the ticket's customer (its mail still has to authenticate); False when it
    already could. One conditional write with a history entry; no version counted."""
    address = address.strip().lower()
    if "@" not in address:
        raise ValueError(f"not an email address: {address!r}")
    item = store.get(ticket_id)
    if item is None:
        raise ValueError(f"no ticket {ticket_id}")
    known = {str(item.get("customer_email", "")).lower()} | {
        str(c).lower() for c in item.get(CONTACTS_ATTR) or ()
    }
    if address in known:
        return False
    store.apply(
        StatusChange(
            ticket_id,
            Step.CONTACT_ADDED,
            actor,
            now,
            append={CONTACTS_ATTR: address},
            detail={"contact": address},
        )
    )
    return True
