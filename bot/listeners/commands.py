"""`/ticket`: the form, inline tickets, status and help. The ticket is written to Kinesis before ack()."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.errors import BotError, CatalogUnavailableError, TicketWriteError
from bot.logic import intake
from bot.logic.roles import Role
from bot.observability import logger
from contract import names
from contract.models import COMPANY_MAX, SlackContext, format_utc, is_ticket_id

COMMAND = "/ticket"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def register(app: App) -> None:
    """Register the /ticket command."""
    app.command(COMMAND)(handle_ticket)


def handle_ticket(ack: Ack, command: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
    """Route /ticket by its text."""
    clients = context["tms"]
    cmd = intake.parse_command(command.get("text", ""))
    if isinstance(cmd, intake.OpenForm):
        _open_form(ack, command, client, clients)
    elif isinstance(cmd, intake.Inline):
        _create_inline(ack, command, cmd, clients)
    elif isinstance(cmd, intake.Status):
        _status(ack, cmd.ticket_id, client, clients)
    elif isinstance(cmd, intake.Mine):
        _mine(ack, command["user_id"], clients)
    elif isinstance(cmd, intake.Watch):
        _watch(ack, command, cmd.company, clients)
    elif isinstance(cmd, intake.Unwatch):
        _unwatch(ack, command, clients)
    elif isinstance(cmd, intake.Away):
        _away(ack, command["user_id"], cmd.away, clients)
    elif isinstance(cmd, intake.Help):
        ack(**blocks.help_message())
    else:
        ack(**blocks.error_message("I did not understand that. Try `/ticket help`."))


def _slack_context(command: dict[str, Any], *, requester_is_customer: bool = False) -> SlackContext:
    return SlackContext(
        team_id=command["team_id"],
        channel_id=command["channel_id"],
        user_id=command["user_id"],
        requester_is_customer=requester_is_customer,
    )


def _open_form(ack: Ack, command: dict[str, Any], client: WebClient, clients: Any) -> None:
    try:
        catalog = clients.catalog.get()
    except CatalogUnavailableError:
        logger.exception("catalog unavailable")
        ack(
            **blocks.error_message(
                "The ticket form is unavailable (no product catalog). Use `/ticket <subject> | <description>`."
            )
        )
        return
    view = blocks.ticket_form(catalog.products, catalog.issue_types, command["channel_id"])
    # views.open must use the trigger_id within 3 s; with process_before_response it runs before the ack is sent.
    client.views_open(trigger_id=command["trigger_id"], view=view)
    ack()


def _create_inline(ack: Ack, command: dict[str, Any], cmd: intake.Inline, clients: Any) -> None:
    try:
        profile = clients.directory.profile(command["user_id"])
    except SlackApiError:
        logger.exception("users.info failed")
        ack(**blocks.error_message("I could not read your Slack profile. Use `/ticket` to open the form."))
        return
    try:
        event = intake.inline_ticket(
            cmd,
            full_name=profile.full_name,
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            slack=_slack_context(command, requester_is_customer=True),
            now=clients.now(),
        )
    except ValidationError as e:
        ack(**blocks.error_message("The ticket was not created:", intake.inline_errors(e)))
        return
    try:
        clients.tickets.put(event)
    except TicketWriteError:
        logger.exception("ticket write failed", extra={"ticket_id": event.ticketId})
        ack(
            **blocks.error_message(
                f"Ticket {event.ticketId} could not be recorded; nothing was created. Try again."
            )
        )
        return
    logger.info("ticket submitted", extra={"ticket_id": event.ticketId})
    notes = []
    if not profile.complete:
        notes.append("Slack did not return your profile, so the ticket names you by your user id.")
    if not profile.email:
        notes.append(
            f"Your Slack profile shows no email, so the customer address is `{blocks.escape(event.data.customer.email)}`"
            " (a placeholder that never receives mail)."
        )
    ack(**blocks.confirmation(event.ticketId, notes))


def _mine(ack: Ack, user_id: str, clients: Any) -> None:
    try:
        items = clients.store.owned_by(user_id)
    except BotError:
        logger.exception("mine read failed")
        ack(**blocks.error_message("The ticket store is unavailable; try again."))
        return
    ack(**blocks.mine_message(items))


def _away(ack: Ack, user_id: str, away: bool, clients: Any) -> None:
    """The agent's away flag on their routing load (pipeline.domain.routing skips away agents)."""
    fields = {"user_id": user_id, "away": away, "away_changed_at": format_utc(datetime.now(UTC))}
    try:
        clients.store.set_fields(f"{names.ROUTING_KEY_PREFIX}{user_id}", fields)
    except BotError:
        logger.exception("away write failed")
        ack(**blocks.error_message("The ticket store is unavailable; try again."))
        return
    ack(**blocks.away_message(away, on_call=clients.roles.has(user_id, Role.ONCALL)))


def _status(ack: Ack, ticket_id: str, client: WebClient, clients: Any) -> None:
    if not is_ticket_id(ticket_id):
        ack(
            **blocks.error_message(
                f"`{blocks.escape(ticket_id) or '(none)'}` is not a ticket id (letters, digits and - _ . :)."
            )
        )
        return
    try:
        item = clients.store.get(ticket_id)
    except BotError:
        logger.exception("status read failed", extra={"ticket_id": ticket_id})
        ack(**blocks.error_message("The ticket store is unavailable; try again."))
        return
    if item is None:
        ack(
            **blocks.error_message(
                f"No ticket {ticket_id} (a new ticket appears a few seconds after /ticket)."
            )
        )
        return
    permalink = None
    if item.get("slack_channel") and item.get("slack_ts"):
        try:
            permalink = client.chat_getPermalink(channel=item["slack_channel"], message_ts=item["slack_ts"])[
                "permalink"
            ]
        except SlackApiError:
            logger.warning("no permalink", extra={"ticket_id": ticket_id})
    ack(**blocks.status_message(item, permalink))


def _watch(ack: Ack, command: dict[str, Any], company: str, clients: Any) -> None:
    """Watch the channel the command was run in (the middleware let only admins through)."""
    channel = str(command.get("channel_id") or "")
    if not _CHANNEL_ID.match(channel) or clients.conversations is None:
        ack(**blocks.error_message("Run `/ticket watch` in the customer channel itself (not in a DM)."))
        return
    if len(company.encode("utf-8")) > COMPANY_MAX:
        ack(**blocks.error_message(f"The company name is longer than {COMPANY_MAX} bytes."))
        return
    try:
        clients.conversations.watch(channel, company, command["user_id"])
    except BotError:
        logger.exception("watch failed")
        ack(**blocks.error_message("The ticket store is unavailable; try again."))
        return
    logger.info("channel watched", extra={"channel": channel})
    of = f" (company: {blocks.escape(company)})" if company else ""
    ack(
        **blocks.info_message(
            f"Watching <#{channel}>{of}: customers' requests here become tickets, answered in their thread. "
            "The app must be a member of the channel."
        )
    )


def _unwatch(ack: Ack, command: dict[str, Any], clients: Any) -> None:
    """Stop watching the channel (one watched through configuration stays until the setting changes)."""
    channel = str(command.get("channel_id") or "")
    if clients.conversations is None:
        ack(**blocks.error_message("Customer channels are not set up here."))
        return
    if channel in clients.intake.channels:
        ack(
            **blocks.error_message(
                f"<#{channel}> is watched through configuration ({names.ENV_CUSTOMER_CHANNELS}, "
                "or `customer_channels` in cdk.json); remove it there."
            )
        )
        return
    try:
        removed = clients.conversations.unwatch(channel)
    except BotError:
        logger.exception("unwatch failed")
        ack(**blocks.error_message("The ticket store is unavailable; try again."))
        return
    ack(
        **blocks.info_message(
            f"Stopped watching <#{channel}>." if removed else f"<#{channel}> was not being watched."
        )
    )
