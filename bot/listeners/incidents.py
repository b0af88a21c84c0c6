"""The incident buttons: "Not the same issue" on a later report, "Resolve incident" on the root's post.

Split: the report leaves the incident (one conditional write on the root's member set), is posted on its
own like any ticket, and the root's post is re-rendered. Resolve: every open member is resolved through the
same conditional Resolve as its own button (so each customer's loop closes as for a single ticket).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.errors import TicketStoreError
from bot.listeners.actions import _where, apply_and_publish, rerender_post
from bot.logic import actions
from bot.logic.mrkdwn import escape, user_mention
from bot.observability import logger


def register(app: App) -> None:
    """Register the incident buttons."""
    app.action(blocks.ACTION_SPLIT_INCIDENT)(handle_split)
    app.action(blocks.ACTION_RESOLVE_INCIDENT)(handle_resolve_incident)


def _rerender(client: WebClient, clients: Any, item: dict[str, Any] | None) -> None:
    if item and item.get("slack_ts") and item.get("slack_channel"):
        rerender_post(
            client,
            item,
            str(item["slack_channel"]),
            str(item["slack_ts"]),
            approvers_configured=clients.roles.approvers_configured,
        )


def handle_split(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Take the report out of its incident and post it on its own."""
    ack()
    clients = context["tms"]
    channel, ts = _where(body)
    user, member_id = body["user"]["id"], action["value"]
    try:
        root_id, member = clients.store.split_incident_member(member_id, user)
    except TicketStoreError as e:
        client.chat_postEphemeral(channel=channel, user=user, **blocks.error_message(escape(str(e))))
        return
    logger.info("incident member split out", extra={"ticket_id": member_id, "root": root_id})
    thread_ts = str(member.get("slack_thread_ts") or "")
    home = str(member.get("slack_channel") or channel)
    view = blocks.TicketView.from_item(member, approvers_configured=clients.roles.approvers_configured)
    posted = clients.poster.post(blocks.ticket_message(home, view))
    clients.store.record_post(member_id, posted, {"slack_channel": posted.channel, "slack_ts": posted.ts})
    note = f"{user_mention(user)}: {escape(member_id)} is not the same issue; it is posted on its own now."
    if thread_ts:
        clients.store.record_post(
            member_id, clients.poster.post(blocks.thread_message(home, thread_ts, note)), {}
        )
    if ts:  # the old card in the thread says where the ticket went instead of offering stale buttons
        try:
            client.chat_update(channel=channel, ts=ts, **blocks.error_message(note))
        except SlackApiError:
            logger.exception("chat.update failed", extra={"ticket_id": member_id})
    _rerender(client, clients, clients.store.get(root_id))


def handle_resolve_incident(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Resolve every open member of the incident (the root's post carries the button)."""
    ack()
    clients = context["tms"]
    channel, ts = _where(body)
    user, root_id = body["user"]["id"], action["value"]
    root = clients.store.get(root_id) or {}
    members = sorted(root.get("incident_members") or ())
    resolved = 0
    for ticket_id in members:
        item = clients.store.get(ticket_id)
        if not item or str(item.get("status")) == "RESOLVED":
            continue
        change = actions.resolve(user, clients.now())
        where_ts = str(item.get("slack_ts") or "")
        if apply_and_publish(
            client, clients, ticket_id, change, channel=str(item.get("slack_channel") or channel), ts=where_ts
        ):
            resolved += 1
    logger.info("incident resolved", extra={"ticket_id": root_id, "resolved": resolved})
    if ts:
        clients.poster.post(
            blocks.thread_message(
                channel,
                ts,
                f"{user_mention(user)} resolved the incident: {resolved} of {len(members)} reports closed now.",
            )
        )
    _rerender(client, clients, clients.store.get(root_id))
