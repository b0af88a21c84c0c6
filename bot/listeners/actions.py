"""The ticket post's buttons: Approve reply, Edit reply (opens a modal), Change priority, Resolve.

Each action is one conditional DynamoDB write (bot.logic.actions); on success the post is re-rendered from
the stored item and the change is announced in the ticket's thread; on a lost race the agent is told why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.errors import ReplyQueueError, SlackPostError, TicketConflictError
from bot.logic import actions
from bot.logic.notify import customer_thread
from bot.observability import logger
from contract.models import Priority


def register(app: App) -> None:
    """Register the ticket post's actions."""
    app.action(blocks.ACTION_APPROVE)(handle_approve)
    app.action(blocks.ACTION_RESOLVE)(handle_resolve)
    app.action(blocks.ACTION_PRIORITY)(handle_priority)
    app.action(blocks.ACTION_EDIT)(handle_edit)
    app.action(blocks.ACTION_DESCRIPTION)(handle_description)
    app.action(blocks.ACTION_RETRY_SEND)(handle_retry_send)
    app.action(blocks.ACTION_TAKE)(handle_take)
    app.action(blocks.ACTION_REASSIGN)(handle_reassign)
    app.action(blocks.ACTION_REMOVE_SOURCE)(handle_remove_source)


def _where(body: dict[str, Any]) -> tuple[str, str]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
    return channel, ts


def apply_and_publish(
    client: WebClient,
    clients: Any,
    ticket_id: str,
    change: actions.TicketChange,
    *,
    channel: str,
    ts: str,
) -> dict[str, Any] | None:
    """Apply the change; on success update the post and reply in its thread, else tell the agent why."""
    try:
        item = clients.store.apply(ticket_id, change)
    except TicketConflictError as e:
        logger.info("action lost a race", extra={"ticket_id": ticket_id, "action": str(change.action)})
        if channel:
            reason = actions.conflict_reason(change, e.current)
            client.chat_postEphemeral(channel=channel, user=change.actor, **blocks.error_message(reason))
        if e.current and actions.stale_draft(change, e.current):
            # The approver saw an older draft: show the current one (with its own Approve) at once.
            rerender_post(
                client,
                e.current,
                str(e.current.get("slack_channel") or channel),
                str(e.current.get("slack_ts") or ts),
                approvers_configured=clients.roles.approvers_configured,
            )
        return None
    publish(client, clients, item, change, channel=channel, ts=ts)
    if change.action in actions.FIRST_RESPONSE:
        clients.sla.first_response(ticket_id, change.at, change.actor)
    if change.action is actions.Action.RESOLVE:
        clients.sla.resolved(ticket_id, change.at)
    elif change.action is actions.Action.PRIORITY:
        clients.sla.reprioritised(ticket_id, Priority(change.set_fields["priority"]), change.at)
    return item


def publish(
    client: WebClient,
    clients: Any,
    item: dict[str, Any],
    change: actions.TicketChange,
    *,
    channel: str,
    ts: str,
) -> None:
    """Re-render the ticket post from the stored item and announce the change in its thread."""
    ticket_id = str(item.get("ticket_id"))
    logger.info("action applied", extra={"ticket_id": ticket_id, "action": str(change.action)})
    channel = item.get("slack_channel") or channel
    ts = item.get("slack_ts") or ts
    if not (channel and ts):
        return
    # The write is what counts: if the edit fails, the thread reply below still records the change.
    rerender_post(client, item, channel, ts, approvers_configured=clients.roles.approvers_configured)
    posted = clients.poster.post(blocks.thread_message(channel, ts, change.summary))
    clients.store.record_post(ticket_id, posted, {})  # erasure redacts it with the ticket's other posts


def rerender_post(
    client: WebClient, item: dict[str, Any], channel: str, ts: str, *, approvers_configured: bool
) -> None:
    """Re-render the post at channel/ts from the stored item; a failed edit is logged, never raised."""
    if not (channel and ts):
        return
    view = blocks.TicketView.from_item(item, approvers_configured=approvers_configured)
    try:
        client.chat_update(**blocks.ticket_update(channel, ts, view))
    except SlackApiError:
        logger.exception("chat.update failed", extra={"ticket_id": item.get("ticket_id")})


def send_approved(
    client: WebClient,
    clients: Any,
    item: dict[str, Any],
    change: actions.TicketChange,
    *,
    channel: str,
    ts: str,
) -> None:
    """Hand an approval to the mailer. If that fails, the ticket goes to SEND_FAILED with Retry send, so an
    approval is never silently lost."""
    ticket_id = str(item["ticket_id"])
    try:
        clients.replies.approved(actions.approved_message(item, change))
    except ReplyQueueError:
        logger.exception("approved reply not queued", extra={"ticket_id": ticket_id})
        failed = actions.queue_failed(change.actor, clients.now(), "it could not be handed to the mailer")
        apply_and_publish(client, clients, ticket_id, failed, channel=channel, ts=ts)


Handler = Callable[[Ack, dict[str, Any], dict[str, Any], WebClient, dict[str, Any]], None]


def _button_value(action: dict[str, Any]) -> str:
    return str(action["value"])


def _change_handler(
    make: Callable[[str, datetime, dict[str, Any]], actions.TicketChange],
    *,
    ticket_of: Callable[[dict[str, Any]], str] = _button_value,
    then_send: bool = False,
    doc: str,
) -> Handler:
    """A listener for a button or select that is one ticket change: ack, build the change from the clicking
    agent, the time and the action, apply and publish it; `then_send` hands an approval to the mailer."""

    def handle(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
    ) -> None:
        ack()
        clients = context["tms"]
        channel, ts = _where(body)
        change = make(body["user"]["id"], clients.now(), action)
        item = apply_and_publish(client, clients, ticket_of(action), change, channel=channel, ts=ts)
        if then_send and item is not None:
            send_approved(client, clients, item, change, channel=channel, ts=ts)

    handle.__doc__ = doc
    return handle


def handle_approve(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Approve the draft version that was on screen and hand it to the mailer (one conditional write, one SNS
    publish). A stale version, or (four eyes) the draft's last editor, is refused and told why."""
    ack()
    clients = context["tms"]
    channel, ts = _where(body)
    ticket_id, draft_version = blocks.parse_approve_value(str(action.get("value") or ""))
    # A value without a version cannot say what was on screen: it is refused as stale (-1 matches nothing).
    change = actions.approve(
        body["user"]["id"],
        clients.now(),
        -1 if draft_version is None else draft_version,
        four_eyes=clients.roles.four_eyes,
    )
    item = apply_and_publish(client, clients, ticket_id, change, channel=channel, ts=ts)
    if item is not None:
        send_approved(client, clients, item, change, channel=channel, ts=ts)


handle_retry_send = _change_handler(
    lambda actor, at, _action: actions.retry_send(actor, at),
    then_send=True,
    doc="Send a rejected reply again (after the agent fixed the cause, e.g. verified the address).",
)


def handle_resolve(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Resolve the ticket; a Slack-born one also gets a short closing line in the customer's thread (once
    per resolution: the claim is keyed on the version the resolve wrote)."""
    ack()
    clients = context["tms"]
    channel, ts = _where(body)
    ticket_id = _button_value(action)
    change = actions.resolve(body["user"]["id"], clients.now())
    item = apply_and_publish(client, clients, ticket_id, change, channel=channel, ts=ts)
    where = customer_thread(item or {})
    if item is None or where is None:
        return
    key = f"closed:{actions.version_of(item)}"
    if not clients.store.claim_post(ticket_id, key):
        return
    try:
        posted = clients.poster.post(blocks.closing_message(where[0], where[1], ticket_id))
    except SlackPostError:
        clients.store.release_post(ticket_id, key)
        logger.exception("closing line not posted", extra={"ticket_id": ticket_id})
        return
    clients.store.record_post(ticket_id, posted, {})


handle_priority = _change_handler(
    lambda actor, at, action: actions.change_priority(
        actor, at, Priority(action["selected_option"]["value"].partition("|")[2])
    ),
    ticket_of=lambda action: str(action["selected_option"]["value"].partition("|")[0]),
    doc="Set the priority chosen in the select (its value is `<ticket id>|<priority>`).",
)
handle_take = _change_handler(
    lambda actor, at, _action: actions.take(actor, at),
    doc="The clicking agent becomes the ticket's owner (unless someone else already is).",
)
handle_reassign = _change_handler(
    lambda actor, at, action: actions.reassign(actor, at, action["selected_user"]),
    ticket_of=lambda action: str(action.get("block_id", "")).removeprefix(blocks.OWNER_BLOCK_PREFIX),
    doc="Give the ticket to the member chosen in the users select (its block id carries the ticket id).",
)


def handle_remove_source(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Take one knowledge-base source off the draft on screen (value `<ticket id> <source id>`); a source
    already gone, or a newer draft, changes nothing and the agent is told."""
    ack()
    clients = context["tms"]
    channel, ts = _where(body)
    user = body["user"]["id"]
    ticket_id, _, source_id = str(action.get("value") or "").partition(" ")
    item = clients.store.get(ticket_id)
    change = actions.remove_source(user, clients.now(), item, source_id) if item else None
    if change is None:
        if channel:
            client.chat_postEphemeral(
                channel=channel, user=user, **blocks.error_message("That source is no longer on the draft.")
            )
        return
    apply_and_publish(client, clients, ticket_id, change, channel=channel, ts=ts)


def handle_edit(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Open the Edit reply modal with the current reply and the version it was read at."""
    ack()
    clients = context["tms"]
    ticket_id = action["value"]
    channel, ts = _where(body)
    item = clients.store.get(ticket_id)
    if item is None:
        client.chat_postEphemeral(
            channel=channel,
            user=body["user"]["id"],
            **blocks.error_message(f"No ticket {blocks.escape(ticket_id)}."),
        )
        return
    view = blocks.edit_reply_form(
        ticket_id,
        str(item.get("response_text", "")),
        actions.version_of(item),
        str(item.get("slack_channel") or channel),
        str(item.get("slack_ts") or ts),
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_description(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Open a modal with the whole description, read from the ticket's item (the post shows an excerpt)."""
    ack()
    clients = context["tms"]
    ticket_id = action["value"]
    item = clients.store.get(ticket_id)
    if item is None or not item.get("description"):
        channel, _ts = _where(body)
        client.chat_postEphemeral(
            channel=channel,
            user=body["user"]["id"],
            **blocks.error_message(
                f"The description of {blocks.escape(ticket_id)} is not in the ticket store."
            ),
        )
        return
    view = blocks.description_view(ticket_id, str(item.get("subject", "")), str(item["description"]))
    client.views_open(trigger_id=body["trigger_id"], view=view)
