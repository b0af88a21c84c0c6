"""Messages on the tickets SNS topic (the Slack notifier, the mailer and email subscribers read these)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from contract.models.ticket import (
    DESCRIPTION_EXCERPT_MAX,
    INCIDENT_ID_MAX,
    SUBJECT_MAX,
    Priority,
    SlackContext,
    Source,
    TicketId,
    TicketStatus,
    UtcDatetime,
    _Strict,
    excerpt,
    text,
)
from contract.models.warehouse import ProcessedRecord

# --- Messages on the tickets SNS topic (the Slack notifier and email subscribers read these) ------------


class IncidentRef(_Strict):
    """Where a triaged ticket stands in its incident (the link-incident step's answer; Slack shows it)."""

    incident_id: text(INCIDENT_ID_MAX)  # type: ignore[valid-type]
    root_ticket_id: TicketId
    position: int = Field(ge=2)  # the root is the 1st report and is never announced as a member
    count: int = Field(ge=2)
    companies: tuple[str, ...] = ()
    priority: Priority  # the highest of the members'
    report_line: str = Field(max_length=2 * SUBJECT_MAX)  # "4th report: <customer>, <company>: <subject>"
    # Roots of the incidents this report's link merged into this one (younger incidents folded into the
    # older), and lone tickets it pulled in: the bot notes the merge in their threads and re-renders them.
    merged_from: tuple[TicketId, ...] = ()


class TicketTriagedMessage(_Strict):
    """Published once a ticket is triaged and stored.

    The record's description is an excerpt when the description is long (`description_truncated`): the
    whole text is in the archive, the warehouse and the ticket's DynamoDB item. That keeps the message far
    below SNS's 256 KiB, and the workflow state that carries it below Step Functions' 256 KiB.
    """

    event_type: Literal["TicketTriaged"] = "TicketTriaged"
    source: Source
    record: ProcessedRecord
    slack: SlackContext | None = None
    description_truncated: bool = False
    incident: IncidentRef | None = None  # set when the ticket joined an incident: Slack threads it

    @classmethod
    def announce(
        cls,
        record: ProcessedRecord,
        source: Source,
        slack: SlackContext | None = None,
        incident: IncidentRef | None = None,
    ) -> TicketTriagedMessage:
        """The message for a stored record, its description cut to DESCRIPTION_EXCERPT_MAX bytes."""
        short = excerpt(record.description, DESCRIPTION_EXCERPT_MAX)
        return cls(
            source=source,
            record=record.model_copy(update={"description": short}),
            slack=slack,
            description_truncated=short != record.description,
            incident=incident,
        )


class TicketFailedMessage(BaseModel):
    """Published by the workflow's Catch path; built in the ASL, so extra keys are tolerated."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    event_type: Literal["TicketFailed"] = "TicketFailed"
    ticket_id: str
    error: str
    cause: str = ""
    slack: SlackContext | None = None


class ReplyApprovedMessage(_Strict):
    """Published by the bot when an agent approves (or retries) a reply; the mailer sends it.

    `version` is the item's version the approval wrote: the mailer's send claim requires it, so a second
    delivery of this message, or a stale one, cannot send again.
    """

    event_type: Literal["ReplyApproved"] = "ReplyApproved"
    ticket_id: TicketId
    approved_by: str
    approved_at: UtcDatetime
    version: int = Field(ge=1)


class MailEventKind(StrEnum):
    REPLY_SENT = "reply_sent"
    REPLY_SEND_FAILED = "reply_send_failed"
    CUSTOMER_REPLIED = "customer_replied"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNVERIFIED_MAIL = "unverified_mail"  # mail about the ticket not proven the customer's (issue 27.2)
    NUDGE_SENT = "nudge_sent"  # issue 32: the customer was reminded once, half-way through the wait
    AUTO_CLOSED = "auto_closed"  # issue 32: no answer in the waiting period
    CSAT_ASKED = "csat_asked"  # issue 32: the rating question went out
    CSAT_RECEIVED = "csat_received"  # issue 32: the customer rated the ticket (text: the redacted comment)


class TicketMailMessage(_Strict):
    """Published by the mailer and the inbound function; the notifier posts it in the ticket's thread."""

    event_type: Literal["TicketMail"] = "TicketMail"
    kind: MailEventKind
    ticket_id: TicketId
    status: TicketStatus
    at: UtcDatetime
    actor: str = ""  # the approving Slack user, or the sender of an inbound mail
    address: str = ""  # recipient (sent) or sender (replied)
    text: str = ""  # the customer's text, the reply posted in Slack, or the failure reason
    mail_message_id: str = ""
    ses_message_id: str = ""
    via: Literal["email", "slack"] = "email"
    mention: str = ""  # Slack user to mention (replies delivered in Slack; the owner of unverified mail)
    flag: str = ""  # a warning shown with the message (e.g. the sender is not the ticket's customer)
    reopened: bool = False
    autoclose_paused: bool = False  # unverified mail stopped the auto-close of a waiting ticket (issue 32)
    rating: str = ""  # CSAT_RECEIVED: "1".."5", "up" or "down"
