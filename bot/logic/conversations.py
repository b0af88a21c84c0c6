"""Tickets from where customers already talk (issue 31): watched customer channels, 🎫 reactions and DMs.

Pure decisions over Slack message events; the listeners (bot/listeners/events.py) do the I/O.

- Who is a customer: the author of a message whose user team differs from ours (Slack Connect), or anyone
  not in the agents role (internal helpdesks).
- Which customer messages become tickets: the top-level ones the ticketing rule calls requests
  (bot/logic/ticketing_rule.py); a thread reply by the customer's organisation joins the ticket, an agent's
  reply in the customer's thread is a public answer (the first response).
- What a ticket from a message holds: a title made from the text, the text (and, for a 🎫, the thread so
  far) as the description, the author's Slack profile as the customer (docs/slack-intake.md).

The lifecycle rules mirror inbound mail's (pipeline/domain/lifecycle.py, which the bot may not import): the
customer's words before our reply is out are recorded and the status stays (they count no version, so the
mailer's claim on an approval still holds); after it, the ticket becomes CUSTOMER_REPLIED; a resolved ticket
reopens within the reopen window.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

from bot.logic.actions import OPEN, Action, TicketChange
from bot.logic.mrkdwn import user_mention
from bot.logic.ticketing_rule import Strictness
from contract import defaults, names
from contract.models import (
    SlackContext,
    Source,
    TicketData,
    TicketStatus,
    TicketSubmitted,
    format_utc,
    slack_placeholder_email,
)

S = TicketStatus
UNSPECIFIED = "Unspecified"
TITLE_MAX_CHARS = 80
REOPEN_WINDOW = timedelta(days=defaults.REOPEN_WINDOW_DAYS)  # TMS_REOPEN_WINDOW_DAYS overrides (IntakeConfig)
# Before our reply is out the customer's words are recorded and the status stays (as for mail).
REPLY_PENDING = frozenset({S.TRIAGED, S.APPROVED, S.SENDING})
ANSWERABLE = frozenset(
    {S.TRIAGED, S.APPROVED, S.SENDING, S.SENT, S.SEND_FAILED, S.WAITING_CUSTOMER, S.CUSTOMER_REPLIED}
)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
# Message subtypes that are a person writing (https://api.slack.com/events/message#subtypes); the others
# (joins, topic changes, bot messages, ...) are never tickets.
_PERSON_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})

Origin = Literal["channel", "reaction", "dm"]


@dataclass(frozen=True)
class IntakeConfig:
    """What the listeners need of the settings: the configured channels (id -> company), the rule's
    strictness, our team, the DM window and the bot's own user id (its messages are never tickets)."""

    channels: Mapping[str, str] = field(default_factory=dict)
    strictness: Strictness = defaults.TICKETING_STRICTNESS
    team_id: str = ""
    dm_window_hours: float = defaults.SLACK_DM_WINDOW_HOURS
    bot_user_id: str = ""
    reopen_window_days: float = defaults.REOPEN_WINDOW_DAYS  # as inbound mail's (TMS_REOPEN_WINDOW_DAYS)


def parse_customer_channels(raw: str) -> dict[str, str]:
    """`C0ACME=Acme Corp,C0GLOBEX` as {channel id: company}; ValueError naming the setting for a bad id."""
    out: dict[str, str] = {}
    for part in (raw or "").split(","):
        channel, _, company = part.strip().partition("=")
        channel = channel.strip()
        if not channel:
            continue
        if not _CHANNEL_ID.match(channel):
            raise ValueError(
                f"{names.ENV_CUSTOMER_CHANNELS}: {channel!r} is not a Slack channel id (C… or G…); write "
                "CHANNEL_ID or CHANNEL_ID=Company, comma-separated"
            )
        out[channel] = " ".join(company.split())
    return out


class Kind(StrEnum):
    NEW = "new"  # a top-level message in a channel
    THREAD = "thread"  # a reply in a thread
    DM = "dm"  # a message to the bot in a DM
    EDITED = "edited"  # message_changed
    DELETED = "deleted"  # message_deleted
    IGNORE = "ignore"  # the bot's own, joins, topic changes, ...


@dataclass(frozen=True)
class Message:
    """A Slack `message` event as the bot reads it (for an edit or a deletion: the original message's ts)."""

    kind: Kind
    channel: str
    ts: str
    thread_ts: str = ""
    user: str = ""
    user_team: str = ""
    text: str = ""

    @classmethod
    def from_event(cls, event: dict[str, Any], *, bot_user_id: str = "") -> Message:
        """What the event is; anything the bot must not act on is Kind.IGNORE."""
        channel = str(event.get("channel") or "")
        subtype = str(event.get("subtype") or "")
        if subtype == "message_changed":
            new = event.get("message") or {}
            before = event.get("previous_message") or {}
            if before and before.get("text") == new.get("text"):
                # Not an edit: Slack also reports an unfurl or a new thread reply as a change of the parent.
                return cls(Kind.IGNORE, channel, str(new.get("ts") or ""))
            return cls(
                Kind.EDITED,
                channel,
                str(new.get("ts") or ""),
                str(new.get("thread_ts") or ""),
                str(new.get("user") or ""),
                str(new.get("user_team") or ""),
                str(new.get("text") or ""),
            )
        if subtype == "message_deleted":
            old = event.get("previous_message") or {}
            return cls(
                Kind.DELETED,
                channel,
                str(event.get("deleted_ts") or old.get("ts") or ""),
                str(old.get("thread_ts") or ""),
                str(old.get("user") or ""),
            )
        user = str(event.get("user") or "")
        if subtype not in _PERSON_SUBTYPES or event.get("bot_id") or not user or user == bot_user_id:
            return cls(Kind.IGNORE, channel, str(event.get("ts") or ""))
        ts = str(event.get("ts") or "")
        thread_ts = str(event.get("thread_ts") or "")
        if event.get("channel_type") == "im":
            kind = Kind.DM
        elif thread_ts and thread_ts != ts:
            kind = Kind.THREAD
        else:
            kind = Kind.NEW
        return cls(
            kind,
            channel,
            ts,
            thread_ts if kind is Kind.THREAD else "",
            user,
            str(event.get("user_team") or event.get("team") or ""),
            str(event.get("text") or ""),
        )


def is_customer(user_team: str, our_team: str, is_agent: bool) -> bool:
    """Another organisation's user (Slack Connect), or anyone of ours who is not an agent."""
    if user_team and our_team and user_team != our_team:
        return True
    return not is_agent


# --- Text --------------------------------------------------------------------------------------------------
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone|subteam\^[A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^|>\s]*)(?:\|([^>]*))?>", re.IGNORECASE)
_EMOJI = re.compile(r":[a-z0-9_+'-]*[a-z][a-z0-9_+'-]*:", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
# Emphasis marks at a word's edge (`*bold*`, `_it_`, `~strike~`); `updated_since` keeps its underscore.
_EMPHASIS = re.compile(r"(?<!\w)[*_~]+(?=\w)|(?<=\w)[*_~]+(?!\w)")


def plain_text(raw: str, *, urls: bool = True) -> str:
    """Slack's markup as readable text for the ticket: `@name`, `#channel`, `label (url)` (`label` alone
    without `urls`), entities decoded."""
    text = _USER.sub(lambda m: f"@{m.group(2) or m.group(1)}", raw or "")
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: f"@{(m.group(2) or m.group(1)).partition('^')[0]}", text)

    def link(m: re.Match[str]) -> str:
        if not m.group(2):
            return m.group(1)
        return f"{m.group(2)} ({m.group(1)})" if urls else m.group(2)

    text = _LINK.sub(link, text)
    return html.unescape(text).strip()


def title_from(raw: str) -> str:
    """A ticket title from a message: its first line's first sentence, emoji and markup gone, at most
    TITLE_MAX_CHARS characters (cut at a word, with an ellipsis)."""
    text = _EMOJI.sub(" ", plain_text(raw, urls=False).replace("```", " "))
    text = _EMPHASIS.sub("", text).replace("`", "")
    first_line = next((line for line in text.splitlines() if line.strip(" *_~`>")), "")
    sentence = _SENTENCE_END.split(" ".join(first_line.strip(" *_~`>").split()), maxsplit=1)[0]
    if len(sentence) > TITLE_MAX_CHARS:
        cut = sentence[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0]
        sentence = cut.rstrip(",;:-") + "…"
    return sentence or "(message without text)"


# --- Identity ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Customer:
    """The author of a message, from users.info (docs/slack-intake.md "Who the customer is")."""

    user_id: str
    full_name: str
    first_name: str
    last_name: str
    email: str  # "" when Slack shows none (Slack Connect users often): the `.invalid` placeholder is used
    team_id: str = ""
    company: str = ""

    @property
    def address(self) -> str:
        """Their email, or the reserved placeholder naming their user id (never receives mail)."""
        return self.email or slack_placeholder_email(self.user_id)


def ticket_from_message(
    *,
    text: str,
    customer: Customer,
    team_id: str,
    channel: str,
    thread_ts: str | None,
    origin: Origin,
    now: datetime,
    ticket_id: str | None = None,
    thread: tuple[tuple[str, str], ...] = (),
) -> TicketSubmitted:
    """The ticket of a customer's message (its id given when a claim fixed it). `thread` is the rest of its
    thread so far, as (author, text) pairs, for a 🎫. Raises pydantic ValidationError."""
    description = plain_text(text) or "(message without text)"
    if thread:
        lines = [f"{who}: {plain_text(said)}" for who, said in thread]
        description = "\n".join([description, "", "The thread so far:", *lines])
    data = TicketData.model_validate(
        {
            "subject": title_from(text),
            "description": description,
            "customer": {
                "first_name": customer.first_name or customer.full_name,
                "last_name": customer.last_name or "-",
                "full_name": customer.full_name,
                "email": customer.address,
                "company": customer.company,
            },
            "product": UNSPECIFIED,
            "issue_type": UNSPECIFIED,
        }
    )
    slack = SlackContext(
        team_id=team_id,
        channel_id=channel,
        user_id=customer.user_id,
        origin=origin,
        thread_ts=thread_ts,
        user_team_id=customer.team_id or None,
    )
    if ticket_id is None:
        return TicketSubmitted.new(data, Source.SLACK, slack=slack, now=now)
    return TicketSubmitted(ticketId=ticket_id, submittedAt=now, source=Source.SLACK, data=data, slack=slack)


# --- Changes on the ticket -------------------------------------------------------------------------------
def customer_wrote(
    item: dict[str, Any], actor: str, at: datetime, text: str, ref: str, window: timedelta = REOPEN_WINDOW
) -> TicketChange | None:
    """The customer's later message (thread reply, DM follow-up) as a change of the ticket, like an inbound
    mail: recorded with the status kept before our reply is out, CUSTOMER_REPLIED after, reopened when
    resolved within `window`; None when the ticket is past answering (resolved longer ago, failed)."""
    status = item.get("status")
    fields = {"customer_replied_at": format_utc(at), "last_customer_text": plain_text(text)}
    detail = {"via": "slack", "message": ref}
    if status in REPLY_PENDING:
        return TicketChange(
            Action.CUSTOMER_WROTE, actor, at, fields, REPLY_PENDING, "", detail=detail, counts_version=False
        )
    if status in ANSWERABLE:
        return TicketChange(
            Action.CUSTOMER_REPLIED,
            actor,
            at,
            fields | {"status": str(S.CUSTOMER_REPLIED)},
            ANSWERABLE - REPLY_PENDING,
            "",
            detail=detail,
        )
    resolved_at = _parse_time(item.get("resolved_at"))
    if status == S.RESOLVED and resolved_at is not None and at - resolved_at <= window:
        return TicketChange(
            Action.REOPENED,
            actor,
            at,
            fields | {"status": str(S.CUSTOMER_REPLIED)},
            frozenset({S.RESOLVED}),
            "",
            detail=detail,
        )
    return None


def agent_answered(actor: str, at: datetime, text: str, ref: str) -> TicketChange:
    """An agent's own reply in the customer's thread: a public answer, the first response when it is the
    first; the drafted reply stays (approving it later still posts it)."""
    return TicketChange(
        Action.ANSWERED,
        actor,
        at,
        {"last_agent_text": plain_text(text), "answered_at": format_utc(at)},
        OPEN,
        f"{user_mention(actor)} answered the customer in their thread.",
        detail={"via": "slack", "message": ref},
        set_if_absent={"first_response_at": format_utc(at), "first_response_by": actor},
        counts_version=False,
    )


def original_changed(actor: str, at: datetime, text: str | None, ref: str) -> TicketChange:
    """The customer edited (`text`) or deleted (None) the message the ticket came from: recorded on the
    ticket (the description keeps what was triaged; the post's thread says what changed)."""
    edited = text is not None
    fields = {"original_edited_text": plain_text(text or "")} if edited else {"original_deleted": True}
    return TicketChange(
        Action.ORIGINAL_EDITED if edited else Action.ORIGINAL_DELETED,
        actor,
        at,
        fields,
        frozenset(S) - {S.PROCESSING},
        "",
        detail={"via": "slack", "message": ref},
        counts_version=False,
    )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- The port ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """Which ticket a message is (or is becoming): the first claimer's id and time win."""

    ticket_id: str
    submitted_at: str
    fresh: bool  # this attempt made the claim
    written: bool  # the ticket event is on the stream (a redelivery does nothing)


@dataclass(frozen=True)
class DmThread:
    """The sender's latest DM ticket."""

    ticket_id: str
    last_at: str


class Conversations(Protocol):
    """Port: the Slack-born tickets' own items in the tickets table."""

    def claim_message(self, channel: str, ts: str, ticket_id: str, at: datetime) -> Claim:
        """Claim `channel`/`ts` for `ticket_id` unless already claimed (one conditional write)."""

    def mark_written(self, channel: str, ts: str) -> None:
        """The claimed ticket is on the stream."""

    def ticket_of(self, channel: str, ts: str) -> str | None:
        """The ticket a message opened, or None."""

    def dm_thread(self, user: str) -> DmThread | None:
        """The user's latest DM ticket, or None."""

    def set_dm_thread(self, user: str, ticket_id: str, at: datetime) -> None:
        """Remember the user's latest DM ticket and when they last wrote."""

    def hold(self, key: str, message: dict[str, str]) -> None:
        """Keep a customer's message that arrived while its ticket was still in triage, on the item `key`
        (the message claim or the DM pointer); the notifier takes it in once the ticket is posted."""

    def held(self, key: str) -> list[dict[str, str]]:
        """The messages held on `key`, oldest first, removed as they are read."""

    def watched(self) -> dict[str, str]:
        """Channels watched through `/ticket watch`, with their company."""

    def watch(self, channel: str, company: str, actor: str) -> None:
        """Watch a channel."""

    def unwatch(self, channel: str) -> bool:
        """Stop watching a channel; False when it was not watched here."""


def within(last_at: str, now: datetime, hours: float) -> bool:
    """Whether `last_at` (a stored UTC time) is at most `hours` before `now`."""
    last = _parse_time(last_at)
    return last is not None and now - last <= timedelta(hours=hours)


def held_key(slack: SlackContext) -> str:
    """Where messages for a Slack-born ticket still in triage wait: its message claim, or its DM pointer."""
    if slack.origin == "dm":
        return names.SLACK_DM_KEY_PREFIX + slack.user_id
    return f"{names.SLACK_MESSAGE_KEY_PREFIX}{slack.channel_id}#{slack.thread_ts}"
