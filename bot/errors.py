"""Typed errors of the Slack front end. Names end in `Error`, like the pipeline's."""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """Base of every bot error."""


class BotConfigurationError(BotError):
    """Settings are missing or invalid; raised at cold start or command start."""


class TicketWriteError(BotError):
    """The ticket event could not be written to the stream; nothing was created."""


class TicketStoreError(BotError):
    """The tickets table could not be read or written."""


class TicketNotFoundError(BotError):
    """No ticket has this id."""


class TicketConflictError(BotError):
    """A conditional write lost: the ticket changed since it was read, or its status forbids the action."""

    def __init__(self, ticket_id: str, current: dict[str, Any] | None):
        self.ticket_id = ticket_id
        self.current = current
        super().__init__(f"ticket {ticket_id} changed or does not allow this action")


class CatalogUnavailableError(BotError):
    """The scenario catalog (products, issue types) could not be read."""


class SlackPostError(BotError):
    """Slack refused a post even after honouring Retry-After."""


class SlackMessageGoneError(SlackPostError):
    """chat.update of a message that is no longer there (deleted in Slack)."""


class ReplyQueueError(BotError):
    """The approved reply could not be handed to the mailer; the ticket shows it with Retry send."""


class MailEventTooEarlyError(BotError):
    """An SES event arrived before the mailer recorded the send; raised so the delivery is retried."""


class ErasureError(BotError):
    """A store refused part of an erasure; the run can be repeated (every eraser is idempotent)."""


class SlackThreadUnreadableError(BotError):
    """conversations.replies could not read a ticket's thread (scope, channel gone, bot not in it)."""

    def __init__(self, channel: str, ts: str, error: str, reason: str):
        self.channel, self.ts, self.error, self.reason = channel, ts, error, reason
        super().__init__(f"cannot read the thread {channel}/{ts}: {error} ({reason})")
