"""Modal submissions: the /ticket form and Edit reply. Per-field errors go back to the modal."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import blocks
from bot.errors import TicketConflictError, TicketWriteError
from bot.listeners.actions import publish
from bot.logic import actions, intake
from bot.observability import logger
from contract.models import RESPONSE_MAX, SlackContext


def register(app: App) -> None:
    """Register the modal submissions."""
    app.view(blocks.TICKET_FORM)(handle_ticket_form)
    app.view(blocks.EDIT_REPLY_FORM)(handle_edit_reply)


def handle_ticket_form(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Validate, write to Kinesis, then ack (closing the modal) and confirm ephemerally."""
    clients = context["tms"]
    meta = json.loads(view.get("private_metadata") or "{}")
    user = body["user"]["id"]
    channel = meta.get("channel_id", "")
    slack = SlackContext(
        team_id=body["user"].get("team_id") or body["team"]["id"],
        channel_id=channel or "unknown",
        user_id=user,
    )
    values = intake.form_values(view["state"]["values"])
    try:
        event = intake.form_ticket(values, slack, now=clients.now())
    except ValidationError as e:
        ack(response_action="errors", errors=intake.form_errors(e))
        return
    try:
        clients.tickets.put(event)
    except TicketWriteError:
        logger.exception("ticket write failed", extra={"ticket_id": event.ticketId})
        ack(
            response_action="errors",
            errors={"subject": "The ticket could not be recorded; nothing was created. Try again."},
        )
        return
    logger.info("ticket submitted", extra={"ticket_id": event.ticketId})
    ack()
    if channel:
        client.chat_postEphemeral(channel=channel, user=user, **blocks.confirmation(event.ticketId))


def handle_edit_reply(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Save the edited reply if nobody changed the ticket since the modal opened."""
    clients = context["tms"]
    meta = json.loads(view["private_metadata"])
    text = intake.form_values(view["state"]["values"]).get(blocks.REPLY_FIELD, "").strip()
    if not text or len(text.encode("utf-8")) > RESPONSE_MAX:
        ack(
            response_action="errors",
            errors={blocks.REPLY_FIELD: f"The reply must be 1 to {RESPONSE_MAX} bytes."},
        )
        return
    change = actions.edit_reply(body["user"]["id"], clients.now(), text, int(meta["version"]))
    try:
        item = clients.store.apply(meta["ticket_id"], change)
    except TicketConflictError as e:
        # Keep the modal open with the agent's text, and say why it was not saved.
        ack(response_action="errors", errors={blocks.REPLY_FIELD: actions.conflict_reason(change, e.current)})
        return
    ack()
    publish(client, clients, item, change, channel=meta.get("channel", ""), ts=meta.get("ts", ""))
