"""Tickets from where customers already talk (issue 31): Events API listeners.

- `message` in a watched customer channel: a customer's top-level request becomes a ticket (👀 and a thread
  reply with its id); a reply in a ticket's thread joins it (the customer's organisation) or answers it (an
  agent); an edit or deletion of the original is recorded.
- `message` in a DM to the bot: a ticket, or the sender's open DM ticket within the DM window.
- `reaction_added` :ticket: by an agent (the authz middleware checks the role): a ticket from that message.
- the "Create ticket" message shortcut: /ticket's form, prefilled from the message (the agent completes it).
Everything is decided in bot.logic.conversations; a redelivered event finds its message claimed and does
nothing. Text shown in Slack is built from ids and escaped customer text only (bot.logic.mrkdwn).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.adapters.conversations import message_key
from bot.adapters.slack import Posted
from bot.errors import CatalogUnavailableError, SlackPostError, TicketConflictError
from bot.logic import conversations as conv
from bot.logic.conversations import Customer, Kind, Message
from bot.logic.mrkdwn import escape, user_mention
from bot.logic.roles import Role
from bot.logic.ticketing_rule import decide
from bot.observability import logger
from contract import names
from contract.models import field_errors, format_utc, new_ticket_id

TICKET_REACTION = "ticket"  # 🎫
SEEN_REACTION = "eyes"  # 👀 on every message that became a ticket


def register(app: App) -> None:
    """Register the message and reaction listeners."""
    app.event("message")(handle_message)
    app.event("reaction_added")(handle_reaction)
    app.shortcut(blocks.CREATE_TICKET_SHORTCUT)(handle_create_ticket_shortcut)


def handle_message(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """Route one message event by what it is."""
    clients = context["tms"]
    if clients.conversations is None:
        return
    cfg = clients.intake
    msg = Message.from_event(event, bot_user_id=cfg.bot_user_id or str(context.get("bot_user_id") or ""))
    if msg.kind is Kind.IGNORE:
        return
    our_team = cfg.team_id or str(body.get("team_id") or "")
    if msg.kind is Kind.DM:
        _dm(msg, our_team, client, clients)
    elif msg.kind is Kind.THREAD:
        _thread_reply(msg, our_team, clients)
    elif msg.kind in (Kind.EDITED, Kind.DELETED):
        _original_changed(msg, clients)
    elif msg.kind is Kind.NEW:
        _channel_message(msg, our_team, client, clients)


def watched_channels(clients: Any) -> dict[str, str]:
    """Configured channels, then those added by `/ticket watch` (their company wins when both name one)."""
    return {**clients.intake.channels, **clients.conversations.watched()}


def _channel_message(msg: Message, our_team: str, client: WebClient, clients: Any) -> None:
    channels = watched_channels(clients)
    if msg.channel not in channels:
        return
    if not conv.is_customer(msg.user_team, our_team, clients.roles.has(msg.user, Role.AGENT)):
        return  # an agent's own post in the channel
    decision = decide(msg.text, clients.intake.strictness)
    logger.info("customer channel message", extra={"channel": msg.channel, "ticketed": decision.ticket})
    if not decision.ticket:
        return
    _open(
        msg,
        origin="channel",
        reply_ts=msg.ts,
        company=channels[msg.channel],
        client=client,
        clients=clients,
        team_id=our_team,
        note=f"Thanks {user_mention(msg.user)}, this is now ticket `{{ticket_id}}`. We will answer in this thread.",
    )


def _open(
    msg: Message,
    *,
    origin: conv.Origin,
    reply_ts: str | None,
    company: str,
    client: WebClient,
    clients: Any,
    team_id: str,
    note: str,
    thread: tuple[tuple[str, str], ...] = (),
) -> str | None:
    """Claim the message, put its ticket on the stream, mark it (👀 + a reply): once per message."""
    now = clients.now()
    claim = clients.conversations.claim_message(msg.channel, msg.ts, new_ticket_id(now), now)
    if claim.written:
        logger.info("message already ticketed", extra={"ticket_id": claim.ticket_id})
        return None
    customer = _customer(msg.user, msg.user_team, company, clients)
    try:
        event = conv.ticket_from_message(
            text=msg.text,
            customer=customer,
            team_id=team_id,
            channel=msg.channel,
            thread_ts=reply_ts,
            origin=origin,
            now=datetime.fromisoformat(claim.submitted_at.replace("Z", "+00:00")),
            ticket_id=claim.ticket_id,
            thread=thread,
        )
    except ValidationError as e:
        logger.warning("message not ticketed", extra={"errors": field_errors(e)[:5]})
        return None
    # A failed write raises: Slack redelivers the event, and the retry writes the same ticket id.
    clients.tickets.put(event)
    clients.conversations.mark_written(msg.channel, msg.ts)
    logger.info("ticket from slack", extra={"ticket_id": event.ticketId, "origin": origin})
    if origin != "dm":
        try:
            client.reactions_add(channel=msg.channel, timestamp=msg.ts, name=SEEN_REACTION)
        except SlackApiError as e:
            if e.response.get("error") != "already_reacted":
                logger.warning("could not add the seen reaction", extra={"ticket_id": event.ticketId})
    text = note.format(ticket_id=escape(event.ticketId))
    if not customer.email:
        text += " (Your Slack profile shows no email, so we answer here only.)"
    _post_once(
        clients,
        message_key(msg.channel, msg.ts),
        "ack",
        blocks.thread_message(msg.channel, reply_ts or "", text),
    )
    return event.ticketId


def _post_once(clients: Any, key: str, event_key: str, payload: dict[str, Any]) -> Posted | None:
    """Post unless this key already was (the notifier's claim-before-post); a failed post is released."""
    if not payload.get("thread_ts"):
        payload.pop("thread_ts", None)
    if not clients.store.claim_post(key, event_key):
        return None
    try:
        posted: Posted = clients.poster.post(payload)
    except SlackPostError:
        clients.store.release_post(key, event_key)
        raise
    clients.store.record_post(key, posted, {})  # erasure redacts it with the ticket's other posts
    return posted


def _customer(user: str, user_team: str, company: str, clients: Any) -> Customer:
    """The author's identity from users.info (Slack Connect users often show no email: then none)."""
    try:
        p = clients.directory.profile(user)
        full, first, last, email = p.full_name, p.first_name, p.last_name, p.email
    except SlackApiError:
        logger.warning(
            "users.info failed; the customer is named by their user id", extra={"slack_user": user}
        )
        full = first = last = user
        email = ""
    return Customer(user, full or user, first, last, email, team_id=user_team, company=company)


def _note_in_triage_thread(clients: Any, item: dict[str, Any], text: str) -> None:
    """A line in the ticket's triage thread (internal); nothing when the ticket is not posted yet."""
    channel, ts = item.get("slack_channel"), item.get("slack_ts")
    if not (channel and ts):
        return
    try:
        posted = clients.poster.post(blocks.thread_message(str(channel), str(ts), text))
    except SlackPostError:
        logger.exception("triage thread note not posted", extra={"ticket_id": item.get("ticket_id")})
        return
    clients.store.record_post(str(item["ticket_id"]), posted, {})


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in escape(blocks.clip(conv.plain_text(text), 2500)).split("\n"))


def _thread_reply(msg: Message, our_team: str, clients: Any) -> None:
    ticket_id = clients.conversations.ticket_of(msg.channel, msg.thread_ts)
    if ticket_id is None:
        return  # not a customer thread of ours (the triage thread included: it stays internal)
    item = clients.store.get(ticket_id)
    ref = f"{msg.channel} {msg.ts}"
    now = clients.now()
    foreign = bool(msg.user_team and our_team and msg.user_team != our_team)
    agent = not foreign and clients.roles.has(msg.user, Role.AGENT)
    if item is None:  # still in triage (seconds): held on the claim, the notifier takes it in
        _hold(clients, ticket_id, msg, message_key(msg.channel, msg.thread_ts), agent=agent)
        return
    if agent:
        change = conv.agent_answered(msg.user, now, msg.text, ref)
        _apply_once(clients, ticket_id, msg, change)
        clients.sla.first_response(ticket_id, now, msg.user)
        _note_in_triage_thread(
            clients,
            item,
            f":speech_balloon: {user_mention(msg.user)} answered in the customer's thread:\n{_quote(msg.text)}",
        )
        return
    customer_team = str(item.get("customer_team") or our_team)
    if msg.user != item.get("slack_user") and (msg.user_team or our_team) != customer_team:
        logger.info(
            "thread reply by someone outside the customer's organisation", extra={"ticket_id": ticket_id}
        )
        return
    _customer_wrote(clients, ticket_id, item, msg, now)


def _hold(clients: Any, ticket_id: str, msg: Message, key: str, *, agent: bool) -> None:
    """Keep a message for a ticket still in triage, once per message."""
    claim = clients.conversations.claim_message(msg.channel, msg.ts, ticket_id, clients.now())
    if claim.written:
        return
    clients.conversations.hold(
        key,
        {
            "user": msg.user,
            "ts": msg.ts,
            "channel": msg.channel,
            "text": msg.text,
            "at": format_utc(clients.now()),
            "kind": "agent" if agent else "customer",
            "user_team": msg.user_team,
        },
    )
    clients.conversations.mark_written(msg.channel, msg.ts)
    logger.info("message held until the ticket is triaged", extra={"ticket_id": ticket_id})


def _apply_once(clients: Any, ticket_id: str, msg: Message, change: Any) -> dict[str, Any] | None:
    """Apply a change for one message, once: a redelivered event finds the message claimed."""
    claim = clients.conversations.claim_message(msg.channel, msg.ts, ticket_id, clients.now())
    if claim.written:
        return None
    try:
        item = clients.store.apply(ticket_id, change)
    except TicketConflictError:
        logger.info("message not recorded: the ticket moved on", extra={"ticket_id": ticket_id})
        return None
    clients.conversations.mark_written(msg.channel, msg.ts)
    return dict(item)


def _customer_wrote(clients: Any, ticket_id: str, item: dict[str, Any], msg: Message, now: datetime) -> bool:
    change = conv.customer_wrote(
        item,
        msg.user,
        now,
        msg.text,
        f"{msg.channel} {msg.ts}",
        window=timedelta(days=clients.intake.reopen_window_days),
    )
    if change is None:
        logger.info("customer message on a closed ticket", extra={"ticket_id": ticket_id})
        return False
    new = _apply_once(clients, ticket_id, msg, change)
    if new is None:
        return True
    status = new.get("status", "")
    reopened = " (reopened)" if change.action is conv.Action.REOPENED else ""
    _note_in_triage_thread(
        clients,
        new,
        f":speech_balloon: {user_mention(msg.user)} wrote in Slack{reopened}. Status: {escape(status)}\n{_quote(msg.text)}",
    )
    return True


def _original_changed(msg: Message, clients: Any) -> None:
    ticket_id = clients.conversations.ticket_of(msg.channel, msg.ts)
    item = clients.store.get(ticket_id) if ticket_id else None
    if not ticket_id or item is None:
        return
    edited = msg.kind is Kind.EDITED
    change = conv.original_changed(
        msg.user or str(item.get("slack_user") or ""),
        clients.now(),
        msg.text if edited else None,
        f"{msg.channel} {msg.ts}",
    )
    try:
        clients.store.apply(ticket_id, change)
    except TicketConflictError:
        return
    what = f"edited their message:\n{_quote(msg.text)}" if edited else "deleted their message."
    _note_in_triage_thread(clients, item, f":pencil2: The customer {what}")


def _dm(msg: Message, our_team: str, client: WebClient, clients: Any) -> None:
    now = clients.now()
    current = clients.conversations.dm_thread(msg.user)
    if current and conv.within(current.last_at, now, clients.intake.dm_window_hours):
        item = clients.store.get(current.ticket_id)
        if item is None:  # the DM ticket is still in triage: held on the DM pointer
            _hold(clients, current.ticket_id, msg, names.SLACK_DM_KEY_PREFIX + msg.user, agent=False)
            clients.conversations.set_dm_thread(msg.user, current.ticket_id, now)
            return
        if _customer_wrote(clients, current.ticket_id, item, msg, now):
            clients.conversations.set_dm_thread(msg.user, current.ticket_id, now)
            return
    if not decide(msg.text, clients.intake.strictness).ticket:
        _post_once(
            clients,
            message_key(msg.channel, msg.ts),
            "hint",
            blocks.thread_message(
                msg.channel, "", "Hi! Tell me what you need help with, and I will open a ticket for our team."
            ),
        )
        return
    ticket_id = _open(
        msg,
        origin="dm",
        reply_ts=None,
        company="",
        client=client,
        clients=clients,
        team_id=our_team,
        note="Thanks, this is now ticket `{ticket_id}`. We will answer you here.",
    )
    if ticket_id:
        clients.conversations.set_dm_thread(msg.user, ticket_id, now)


def handle_reaction(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """:ticket: on a message (the middleware let only agents through): a ticket from that message and its
    thread so far, once per message."""
    if event.get("reaction") != TICKET_REACTION:
        return
    clients = context["tms"]
    if clients.conversations is None:
        return
    item = event.get("item") or {}
    if item.get("type") != "message":
        return
    channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
    if clients.conversations.ticket_of(channel, ts):
        return  # the second 🎫 (or the message was ticketed already)
    found = _fetch_message(client, channel, ts)
    if found is None:
        return
    message, thread = found
    author = str(message.get("user") or event.get("item_user") or "")
    if not author or message.get("bot_id"):
        return
    our_team = clients.intake.team_id or str(body.get("team_id") or "")
    msg = Message(
        Kind.NEW,
        channel,
        ts,
        "",
        author,
        str(message.get("user_team") or message.get("team") or ""),
        str(message.get("text") or ""),
    )
    reactor = str(event.get("user") or "")
    _open(
        msg,
        origin="reaction",
        reply_ts=str(message.get("thread_ts") or ts),
        company=watched_channels(clients).get(channel, ""),
        client=client,
        clients=clients,
        team_id=our_team,
        note=f"{user_mention(reactor)} opened ticket `{{ticket_id}}` from this message. We will answer in this thread.",
        thread=thread,
    )


def _fetch_message(
    client: WebClient, channel: str, ts: str
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]] | None:
    """The message at channel/ts and the other messages of its thread so far (conversations.replies)."""
    try:
        messages = client.conversations_replies(channel=channel, ts=ts, limit=100).get("messages") or []
        message = next((m for m in messages if m.get("ts") == ts), None)
        if message is None:
            return None
        parent = str(message.get("thread_ts") or "")
        if parent and parent != ts:
            messages = (
                client.conversations_replies(channel=channel, ts=parent, limit=100).get("messages") or []
            )
    except SlackApiError as e:
        logger.warning("could not read the reacted message", extra={"error": e.response.get("error")})
        return None
    thread = tuple(
        (user_label(m), str(m.get("text") or "")) for m in messages if m.get("ts") != ts and m.get("text")
    )
    return message, thread


def user_label(message: dict[str, Any]) -> str:
    """Who wrote a message, for the description (`@U…`)."""
    return f"@{message.get('user') or message.get('username') or 'someone'}"


def handle_create_ticket_shortcut(
    ack: Any, body: dict[str, Any], client: WebClient, context: dict[str, Any]
) -> None:
    """The "Create ticket" message shortcut: /ticket's form, prefilled from the message and its author."""
    clients = context["tms"]
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    author = str(message.get("user") or "")
    prefill = {
        "subject": conv.title_from(str(message.get("text") or "")),
        "description": conv.plain_text(str(message.get("text") or "")),
    }
    if author:
        customer = _customer(
            author,
            str(message.get("user_team") or ""),
            watched_channels(clients).get(channel, "") if clients.conversations else "",
            clients,
        )
        prefill |= {
            "customer_name": customer.full_name,
            "customer_email": customer.email,
            "customer_company": customer.company,
        }
    try:
        catalog = clients.catalog.get()
    except CatalogUnavailableError:
        logger.exception("catalog unavailable")
        ack()
        client.chat_postEphemeral(
            channel=channel,
            user=body["user"]["id"],
            **blocks.error_message("The ticket form is unavailable (no product catalog)."),
        )
        return
    client.views_open(
        trigger_id=body["trigger_id"],
        view=blocks.ticket_form(catalog.products, catalog.issue_types, channel, prefill),
    )
    ack()
