"""Issue 31 end to end: signed Events API requests into the bot, the local stack triaging, the fake Slack API
showing what customers and agents see. Customer channel → one ticket; greeting → none; retried event → one
ticket; thread reply → appended; approve → the reply in the customer's thread and no mail; Resolve → a
closing line; 🎫 twice → one ticket; DM → a ticket answered in the DM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logic.mrkdwn import escape
from contract import names
from tests.fakes.bot_harness import TICKET_CHANNEL, BotHarness, bot_on_local_stack, button_value
from tests.fakes.slack_api import block_action_payload

pytestmark = pytest.mark.integration

ACME = "C0ACME"
HELP = "C0HELP"
ACME_TEAM = "T0ACME"
GRACE = "U0GRACE"
LIN = "U0LIN"


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> Iterator[tuple[BotHarness, object]]:
    with bot_on_local_stack(
        tmp_path_factory.mktemp("slack-intake"), customer_channels=f"{ACME}=Acme Corp"
    ) as (
        bot,
        stack,
        slack,
    ):
        slack.add_foreign_user(GRACE, "Grace Hopper", ACME_TEAM, "grace@acme.example")
        slack.add_foreign_user(LIN, "Lin Chen", ACME_TEAM)
        yield bot, stack


def _say(bot: BotHarness, channel: str, ts: str, user: str, text: str, *, retry: int = 0, **kw) -> dict:
    event = bot.slack.add_message(channel, ts, user, text, user_team=kw.pop("user_team", ACME_TEAM), **kw)
    assert bot.event(event, event_id=f"Ev{ts.replace('.', '')}", retry=retry).status == 200
    return event


def _posts(bot: BotHarness, channel: str, thread_ts: str | None = None) -> list[dict]:
    return [
        c.params
        for c in bot.slack.calls_to("chat.postMessage")
        if c.params["channel"] == channel and c.params.get("thread_ts") == thread_ts
    ]


def _new_ticket_ids(bot: BotHarness, before: set[str]) -> list[str]:
    return [r["ticketId"] for r in bot.records() if r["ticketId"] not in before]


def _approve(bot: BotHarness, ticket_id: str) -> None:
    item = bot.clients.store.get(ticket_id) or {}
    (post,) = [p for p in _posts(bot, TICKET_CHANNEL) if ticket_id in json.dumps(p)]
    click = block_action_payload(
        action_id="ticket_approve",
        value=button_value(post["blocks"], "ticket_approve"),
        user_id="U0LEAD",
        channel_id=TICKET_CHANNEL,
        message_ts=item["slack_ts"],
    )
    assert bot.interact(click).status == 200


def _mails(stack: object, ticket_id: str) -> list[Path]:
    return list(Path(stack.info.extra[names.ENV_MAIL_OUTBOX_DIR]).glob(f"{ticket_id}-*.eml"))  # type: ignore[attr-defined]


def test_a_channel_request_is_one_ticket_answered_and_closed_in_the_customers_thread(e2e):
    bot, stack = e2e
    before = {r["ticketId"] for r in bot.records()}
    root = "1765200000.000100"

    _say(bot, ACME, "1765199999.000100", GRACE, "Morning all! :sunny:")  # a greeting: no ticket
    _say(
        bot,
        ACME,
        root,
        GRACE,
        "Our nightly export to S3 fails with AccessDenied since Friday. Can you check?",
    )
    _say(
        bot,
        ACME,
        root,
        GRACE,
        "Our nightly export to S3 fails with AccessDenied since Friday. Can you check?",
        retry=1,
    )
    (ticket_id,) = _new_ticket_ids(bot, before)
    # A follow-up while the ticket is still in triage is held and taken in once it is posted.
    _say(bot, ACME, "1765200000.000200", GRACE, "Forgot: the bucket is acme-exports-prod", thread_ts=root)
    stack.wait_idle(timeout=120)

    item = bot.clients.store.get(ticket_id) or {}
    assert item["status"] == "TRIAGED" and item["reply_via"] == "slack_thread"
    assert item["last_customer_text"] == "Forgot: the bucket is acme-exports-prod"
    assert [h["action"] for h in item["history"]] == ["customer_wrote"]
    held = _posts(bot, TICKET_CHANNEL, item["slack_ts"])[0]["text"]
    assert (
        held.startswith(f":speech_balloon: <@{GRACE}> wrote in Slack (during triage).")
        and "acme-exports-prod" in held
    )
    assert item["customer_channel"] == ACME and item["customer_thread_ts"] == root
    assert [p["text"] for p in _posts(bot, ACME, root)] == [
        f"Thanks <@{GRACE}>, this is now ticket `{ticket_id}`. We will answer in this thread."
    ]

    # The customer's colleague adds detail in the thread: it joins the ticket (and the triage thread).
    _say(
        bot,
        ACME,
        "1765200001.000100",
        LIN,
        "Same on our staging account, bucket acme-exports-stg",
        thread_ts=root,
    )
    item = bot.clients.store.get(ticket_id) or {}
    assert item["last_customer_text"] == "Same on our staging account, bucket acme-exports-stg"
    assert "Same on our staging account" in _posts(bot, TICKET_CHANNEL, item["slack_ts"])[-1]["text"]

    _approve(bot, ticket_id)
    stack.wait_idle(timeout=60)
    replies = _posts(bot, ACME, root)
    assert [p["text"] for p in replies[1:]] == [escape(item["response_text"])]
    assert _mails(stack, ticket_id) == []  # answered in Slack, never mailed
    assert (bot.clients.store.get(ticket_id) or {})["status"] == "SENT"

    resolve = block_action_payload(
        action_id="ticket_resolve",
        value=ticket_id,
        user_id="U0ADA",
        channel_id=TICKET_CHANNEL,
        message_ts=item["slack_ts"],
    )
    assert bot.interact(resolve).status == 200
    assert _posts(bot, ACME, root)[-1]["text"].startswith(
        f":white_check_mark: We have resolved ticket `{ticket_id}`"
    )
    assert len(_posts(bot, ACME, root)) == 3
    assert _new_ticket_ids(bot, before) == [ticket_id]


def test_a_ticket_reaction_twice_opens_one_ticket(e2e):
    bot, stack = e2e
    before = {r["ticketId"] for r in bot.records()}
    ts = "1765200100.000100"
    bot.slack.add_message(
        HELP, ts, LIN, "Is anyone else seeing 504s from the eu-west API?", user_team=ACME_TEAM
    )

    for n, agent in enumerate(("U0ADA", "U0AGENT")):
        reaction = {
            "type": "reaction_added",
            "user": agent,
            "reaction": "ticket",
            "item": {"type": "message", "channel": HELP, "ts": ts},
            "item_user": LIN,
            "event_ts": f"1765200101.00010{n}",
        }
        assert bot.event(reaction, event_id=f"EvTicketReaction{n}").status == 200

    (ticket_id,) = _new_ticket_ids(bot, before)
    stack.wait_idle(timeout=120)
    item = bot.clients.store.get(ticket_id) or {}
    assert item["customer_email"] == f"{LIN}@users.slack.invalid" and item["customer_channel"] == HELP


def test_a_dm_becomes_a_ticket_answered_in_the_dm(e2e):
    bot, stack = e2e
    before = {r["ticketId"] for r in bot.records()}
    dm = "D0GRACE"

    _say(
        bot,
        dm,
        "1765200200.000100",
        GRACE,
        "How do we rotate our API key without downtime? The old one leaked.",
    )
    (ticket_id,) = _new_ticket_ids(bot, before)
    stack.wait_idle(timeout=120)
    item = bot.clients.store.get(ticket_id) or {}
    assert item["customer_channel"] == dm and item["customer_thread_ts"] == ""

    _approve(bot, ticket_id)
    stack.wait_idle(timeout=60)
    in_dm = [p["text"] for p in _posts(bot, dm)]
    assert in_dm == [
        f"Thanks, this is now ticket `{ticket_id}`. We will answer you here.",
        escape(item["response_text"]),
    ]
    assert _mails(stack, ticket_id) == []
