"""/ticket intake: parse the command text and turn inline text or the modal's state into a ticket event.

Validation is the shared models' (TicketData, Customer); this module only maps Slack input onto them and maps
their errors back onto the modal's blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contract.models import (
    SlackContext,
    Source,
    TicketData,
    TicketSubmitted,
    field_errors,
    is_own_ticket_id,
    slack_placeholder_email,
)

# Inline tickets carry no product or issue type; the triage still works and the agent can see why.
UNSPECIFIED = "Unspecified"


@dataclass(frozen=True)
class Help:
    """`/ticket help`."""


@dataclass(frozen=True)
class OpenForm:
    """`/ticket` with no text."""


@dataclass(frozen=True)
class Status:
    """`/ticket status <id>`."""

    ticket_id: str


@dataclass(frozen=True)
class Mine:
    """`/ticket mine`: the agent's open tickets with their due times."""


@dataclass(frozen=True)
class Away:
    """`/ticket away` (routing skips the agent) and `/ticket back`."""

    away: bool


@dataclass(frozen=True)
class Inline:
    """`/ticket <subject> | <description>`."""

    subject: str
    description: str


@dataclass(frozen=True)
class Watch:
    """`/ticket watch [company]`: watch this channel for customer requests (issue 31)."""

    company: str


@dataclass(frozen=True)
class Unwatch:
    """`/ticket unwatch`: stop watching this channel."""


@dataclass(frozen=True)
class Unknown:
    """Anything else: answered with a usage hint."""

    text: str


Command = Help | OpenForm | Status | Mine | Away | Inline | Watch | Unwatch | Unknown


def parse_command(text: str) -> Command:
    """What the agent asked for."""
    text = (text or "").strip()
    if not text:
        return OpenForm()
    if "|" in text:
        # A pipe is an inline ticket, whatever its first word: no ticket id contains one, and "status | the
        # API is down" is a ticket about a status page, not a lookup of the id "|".
        subject, _, description = text.partition("|")
        return Inline(subject.strip(), description.strip())
    word, _, rest = text.partition(" ")
    if word.lower() == "help":
        return Help()
    if word.lower() == "status":
        ticket_id = rest.strip()
        # Our own ids are upper case (agents type them any way); a producer's id is taken as typed.
        return Status(ticket_id.upper() if is_own_ticket_id(ticket_id.upper()) else ticket_id)
    if word.lower() == "mine" and not rest.strip():
        return Mine()
    if word.lower() == "watch":
        return Watch(" ".join(rest.split()))
    if word.lower() == "unwatch" and not rest.strip():
        return Unwatch()
    if word.lower() in ("away", "back") and not rest.strip():
        return Away(word.lower() == "away")
    return Unknown(text)


def inline_ticket(
    cmd: Inline,
    *,
    full_name: str,
    first_name: str,
    last_name: str,
    email: str,
    slack: SlackContext,
    now: datetime | None = None,
) -> TicketSubmitted:
    """A ticket from inline text, with the agent as the customer; raises pydantic ValidationError."""
    # Validated as one document so errors carry their full path (customer.email, not email).
    data = TicketData.model_validate(
        {
            "subject": cmd.subject,
            "description": cmd.description,
            "customer": {
                "first_name": first_name,
                "last_name": last_name,
                "full_name": full_name,
                # No email on the agent's profile must not block the ticket: a reserved, undeliverable
                # address names the agent instead (contract.models.slack_placeholder_email).
                "email": email or slack_placeholder_email(slack.user_id),
            },
            "product": UNSPECIFIED,
            "issue_type": UNSPECIFIED,
        }
    )
    return TicketSubmitted.new(data, Source.SLACK, slack=slack, now=now)


def form_values(state: dict[str, Any]) -> dict[str, str]:
    """The modal's `view.state.values` as {field: text} (selects give their value, empty inputs "")."""
    out: dict[str, str] = {}
    for block_id, actions in state.items():
        element: dict[str, Any] = next(iter(actions.values()), {}) or {}
        selected = element.get("selected_option") or {}
        out[block_id] = str(selected.get("value") or element.get("value") or "")
    return out


def form_ticket(values: dict[str, str], slack: SlackContext, now: datetime | None = None) -> TicketSubmitted:
    """A ticket from the modal's values; raises pydantic ValidationError."""
    full_name = " ".join(values.get("customer_name", "").split())
    first, _, last = full_name.partition(" ")
    data = TicketData.model_validate(
        {
            "subject": values.get("subject", ""),
            "description": values.get("description", ""),
            "customer": {
                "first_name": first,
                "last_name": last,
                "full_name": full_name,
                "email": values.get("customer_email", ""),
                "company": values.get("customer_company", ""),
            },
            "product": values.get("product", ""),
            "issue_type": values.get("issue_type", ""),
        }
    )
    return TicketSubmitted.new(data, Source.SLACK, slack=slack, now=now)


_BLOCK_OF = {
    "subject": "subject",
    "description": "description",
    "product": "product",
    "issue_type": "issue_type",
    "customer.first_name": "customer_name",
    "customer.last_name": "customer_name",
    "customer.full_name": "customer_name",
    "customer.email": "customer_email",
    "customer.company": "customer_company",
}
_NAME_HINT = "enter the customer's first and last name"


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Per-block error texts for `response_action: errors` (one message per block, the first wins)."""
    errors: dict[str, str] = {}
    for line in field_errors(exc):
        loc, _, msg = line.partition(": ")
        block = _BLOCK_OF.get(loc, "subject")
        if block == "customer_name" and "blank" in msg:
            msg = _NAME_HINT
        errors.setdefault(block, msg)
    return errors


def inline_errors(exc: ValidationError) -> list[str]:
    """Readable lines for an ephemeral error (customer fields come from the agent's Slack profile)."""
    lines = []
    for line in field_errors(exc):
        if line.startswith("customer."):
            line = f"your Slack profile {line.removeprefix('customer.')}"
        lines.append(line)
    return lines
