"""Tickets from customer channels, 🎫 reactions and DMs (issue 31): signed Events API requests in, the
stream, the tickets table and the fake Slack API out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.bot_harness import TICKET_CHANNEL, BotHarness

ACME = "C0ACME"  # a watched Slack Connect channel with Acme's people
HELP = "C0HELP"  # a channel the bot is in but does not watch
ACME_TEAM = "T0ACME"
GRACE = "U0GRACE"  # Acme, shows an email
LIN = "U0LIN"  # Acme, no email in users.info (usual for Slack Connect)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TRIAGE_TS = "1765000000.000900"


@pytest.fixture
def bot(start_bot) -> Iterator[BotHarness]:
    clock = [NOW]
    with start_bot(now=lambda: clock[0], customer_channels=f"{ACME}=Acme Corp") as harness:
        harness.slack.add_foreign_user(GRACE, "Grace Hopper", ACME_TEAM, "grace@acme.example")
        harness.slack.add_foreign_user(LIN, "Lin Chen", ACME_TEAM)
        harness.clock = clock  # type: ignore[attr-defined]
        yield harness


def _say(bot: BotHarness, channel: str, ts: str, user: str, text: str, **kw) -> dict:
    team = kw.pop("user_team", ACME_TEAM)
    event = bot.slack.add_message(channel, ts, user, text, user_team=team, **kw)
    assert bot.event(event, event_id=f"Ev{ts.replace('.', '')}").status == 200
    return event


def _tickets(bot: BotHarness) -> list[dict]:
    return bot.records()


def _triaged(bot: BotHarness, ticket_id: str, **fields) -> None:
    """What the workflow and the notifier leave on the item (the e2e test runs them for real)."""
    (record,) = [r for r in bot.records() if r["ticketId"] == ticket_id]
    slack = record["slack"]
    item = {
        "ticket_id": ticket_id,
        "status": "TRIAGED",
        "subject": record["data"]["subject"],
        "response_text": "Hello, we are looking into it.",
        "slack_channel": TICKET_CHANNEL,
        "slack_ts": TRIAGE_TS,
        "slack_user": slack["user_id"],
        "reply_via": "slack_thread",
        "customer_channel": slack["channel_id"],
        "customer_thread_ts": slack.get("thread_ts") or "",
        "customer_team": slack.get("user_team_id") or slack["team_id"],
    } | fields
    bot.dynamodb.put_item(TableName="tickets", Item={k: {"S": v} for k, v in item.items()})


def _thread_posts(bot: BotHarness, channel: str, thread_ts: str) -> list[str]:
    return [
        c.params["text"]
        for c in bot.slack.calls_to("chat.postMessage")
        if c.params["channel"] == channel and c.params.get("thread_ts") == thread_ts
    ]


def test_a_customer_request_in_a_watched_channel_becomes_one_marked_ticket(bot):
    _say(
        bot,
        ACME,
        "1765100000.000100",
        GRACE,
        "Our nightly export to S3 has failed three nights in a row with AccessDenied. Can you check?",
    )

    (ticket,) = _tickets(bot)
    assert ticket["source"] == "slack"
    assert (
        ticket["data"]["subject"]
        == "Our nightly export to S3 has failed three nights in a row with AccessDenied."
    )
    assert ticket["data"]["description"].endswith("Can you check?")
    assert ticket["data"]["customer"] == {
        "first_name": "Grace",
        "last_name": "Hopper",
        "full_name": "Grace Hopper",
        "email": "grace@acme.example",
        "company": "Acme Corp",
    }
    assert (ticket["slack"]["origin"], ticket["slack"]["channel_id"], ticket["slack"]["thread_ts"]) == (
        "channel",
        ACME,
        "1765100000.000100",
    )
    assert ticket["slack"]["user_team_id"] == ACME_TEAM
    (reaction,) = bot.slack.calls_to("reactions.add")
    assert {k: reaction.params[k] for k in ("channel", "timestamp", "name")} == {
        "channel": ACME,
        "timestamp": "1765100000.000100",
        "name": "eyes",
    }
    (ack,) = _thread_posts(bot, ACME, "1765100000.000100")
    assert (
        ack == f"Thanks <@{GRACE}>, this is now ticket `{ticket['ticketId']}`. We will answer in this thread."
    )


def test_greetings_thanks_and_chatter_open_nothing(bot):
    _say(bot, ACME, "1765100001.000100", GRACE, "Good morning everyone :wave:")
    _say(bot, ACME, "1765100002.000100", LIN, "thanks, that fixed it!")
    _say(bot, ACME, "1765100003.000100", GRACE, "have a great weekend all")

    assert _tickets(bot) == []
    assert bot.slack.calls_to("reactions.add") == [] and bot.slack.calls_to("chat.postMessage") == []


def test_a_redelivered_event_opens_one_ticket_with_or_without_the_retry_header(bot):
    event = _say(
        bot,
        ACME,
        "1765100004.000100",
        LIN,
        "Webhooks to our endpoint stopped arriving at 08:10 UTC, please help",
    )
    assert bot.event(event, event_id="Ev1765100004000100", retry=1).status == 200  # HTTP retry
    assert bot.event(event, event_id="Ev1765100004000100").status == 200  # Socket Mode redelivery: no header

    assert len(_tickets(bot)) == 1
    assert len(_thread_posts(bot, ACME, "1765100004.000100")) == 1


def test_unwatched_channels_and_agents_own_posts_open_nothing(bot):
    _say(bot, HELP, "1765100005.000100", GRACE, "The dashboard shows a 502 error, can someone look?")
    _say(
        bot,
        ACME,
        "1765100006.000100",
        "U0ADA",
        "Heads-up: we deploy a fix for the 502 error at noon, can you confirm?",
        user_team="T0FAKE",
    )

    assert _tickets(bot) == []


def test_a_customer_without_an_email_gets_the_placeholder_address_and_is_told(bot):
    _say(
        bot,
        ACME,
        "1765100007.000100",
        LIN,
        "Our invoices for November are missing the VAT number, could you reissue them?",
    )

    (ticket,) = _tickets(bot)
    assert ticket["data"]["customer"]["email"] == f"{LIN}@users.slack.invalid"
    (ack,) = _thread_posts(bot, ACME, "1765100007.000100")
    assert ack.endswith("(Your Slack profile shows no email, so we answer here only.)")


def test_the_customers_thread_replies_append_and_an_agents_reply_is_the_first_response(bot):
    root = "1765100008.000100"
    _say(bot, ACME, root, GRACE, "Login with SSO fails for all our users since this morning, error 500")
    (ticket,) = _tickets(bot)
    tid = ticket["ticketId"]
    _triaged(bot, tid)

    _say(
        bot,
        ACME,
        "1765100009.000100",
        LIN,
        "Same for me, <!channel> it also happens on mobile &lt;@U0LEAD&gt;",
        thread_ts=root,
    )
    item = bot.clients.store.get(tid) or {}
    assert item["status"] == "TRIAGED"  # our reply is not out yet: recorded, the status stays (as mail)
    assert item["last_customer_text"] == "Same for me, @channel it also happens on mobile <@U0LEAD>"
    assert [h["action"] for h in item["history"]] == ["customer_wrote"]
    (note,) = _thread_posts(bot, TICKET_CHANNEL, TRIAGE_TS)
    # Customer text is inert in Slack: no live @channel, a typed mention stays text.
    assert "<!channel>" not in note and "<@U0LEAD>" not in note and "&lt;@U0LEAD&gt;" in note

    bot.clock[0] = NOW + timedelta(minutes=7)  # type: ignore[attr-defined]
    _say(
        bot,
        ACME,
        "1765100010.000100",
        "U0ADA",
        "We see it too and are rolling back the SSO change now.",
        thread_ts=root,
        user_team="T0FAKE",
    )
    item = bot.clients.store.get(tid) or {}
    assert item["first_response_by"] == "U0ADA" and item["first_response_at"] == "2026-12-07T09:07:00.000Z"
    assert item["history"][-1]["action"] == "answered_in_slack"
    assert len(_tickets(bot)) == 1  # no reply opened a ticket


def test_talk_in_the_triage_thread_stays_internal(bot):
    _say(
        bot,
        TICKET_CHANNEL,
        "1765100011.000100",
        "U0ADA",
        "I think this is the SSO rollout again?",
        thread_ts=TRIAGE_TS,
        user_team="T0FAKE",
    )

    assert _tickets(bot) == []
    assert [c for c in bot.slack.calls_to("chat.postMessage") if c.params["channel"] == ACME] == []


def test_a_ticket_reaction_by_an_agent_opens_one_ticket_with_the_thread_so_far(bot):
    root = "1765100012.000100"
    bot.slack.add_message(
        HELP, root, GRACE, "Is the eu-west API slower for anyone else today?", user_team=ACME_TEAM
    )
    bot.slack.add_message(
        HELP,
        "1765100013.000100",
        LIN,
        "yes, p99 went from 200ms to 4s for us",
        thread_ts=root,
        user_team=ACME_TEAM,
    )

    def react(user: str, n: int) -> int:
        event = {
            "type": "reaction_added",
            "user": user,
            "reaction": "ticket",
            "item": {"type": "message", "channel": HELP, "ts": root},
            "item_user": GRACE,
            "event_ts": f"1765100020.00010{n}",
        }
        return bot.event(event, event_id=f"EvReact{n}").status

    assert react("U0STRANGER", 0) == 200  # not an agent: nothing
    assert _tickets(bot) == []
    assert react("U0ADA", 1) == 200
    assert react("U0AGENT", 2) == 200  # the second 🎫 (by another agent): nothing new

    (ticket,) = _tickets(bot)
    assert (
        ticket["slack"]["origin"] == "reaction" and ticket["data"]["customer"]["full_name"] == "Grace Hopper"
    )
    assert ticket["data"]["description"] == (
        "Is the eu-west API slower for anyone else today?\n\nThe thread so far:\n"
        f"@{LIN}: yes, p99 went from 200ms to 4s for us"
    )
    (ack,) = _thread_posts(bot, HELP, root)
    assert ack.startswith("<@U0ADA> opened ticket `TKT-")


def test_a_dm_opens_a_ticket_answered_in_the_dm_and_a_follow_up_joins_it(bot):
    dm = "D0GRACE"
    _say(
        bot,
        dm,
        "1765100030.000100",
        GRACE,
        "Hi! Our API key was leaked in a public repo, how do we rotate it without downtime?",
    )
    (ticket,) = _tickets(bot)
    assert ticket["slack"]["origin"] == "dm" and ticket["slack"]["thread_ts"] is None
    (ack,) = [c.params for c in bot.slack.calls_to("chat.postMessage") if c.params["channel"] == dm]
    assert "thread_ts" not in ack and ticket["ticketId"] in ack["text"]
    assert bot.slack.calls_to("reactions.add") == []
    _triaged(bot, ticket["ticketId"])

    bot.clock[0] = NOW + timedelta(hours=2)  # type: ignore[attr-defined]
    _say(bot, dm, "1765100031.000100", GRACE, "Also: can the old key stay valid for an hour?")
    assert len(_tickets(bot)) == 1
    item = bot.clients.store.get(ticket["ticketId"]) or {}
    assert item["last_customer_text"] == "Also: can the old key stay valid for an hour?"

    bot.clock[0] = NOW + timedelta(hours=30)  # type: ignore[attr-defined]  # past the 24 h window
    _say(bot, dm, "1765100032.000100", GRACE, "New question: why does the billing page show two accounts?")
    assert len(_tickets(bot)) == 2


def test_a_greeting_dm_gets_a_hint_not_a_ticket(bot):
    _say(bot, "D0LIN", "1765100040.000100", LIN, "hello :wave:")

    assert _tickets(bot) == []
    (hint,) = [c.params["text"] for c in bot.slack.calls_to("chat.postMessage")]
    assert hint.startswith("Hi! Tell me what you need help with")


def test_an_edit_and_a_deletion_of_the_original_are_recorded_and_shown_in_the_triage_thread(bot):
    root = "1765100050.000100"
    _say(bot, ACME, root, GRACE, "CSV exports cut off after 10,000 rows, is that a limit?")
    (ticket,) = _tickets(bot)
    _triaged(bot, ticket["ticketId"])
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": ACME,
        "ts": "1765100051.000100",
        "message": {
            "type": "message",
            "user": GRACE,
            "text": "CSV exports cut off after 10,000 rows (also XLSX)",
            "ts": root,
        },
        "previous_message": {
            "type": "message",
            "user": GRACE,
            "text": "CSV exports cut off after 10,000 rows, is that a limit?",
            "ts": root,
        },
    }
    reply_counted = {  # the bot's thread reply changed the parent's reply count, not its text
        **edited,
        "ts": "1765100050.500000",
        "message": {**edited["previous_message"], "reply_count": 1},
    }
    assert bot.event(reply_counted, event_id="EvReplyCount").status == 200
    assert bot.event(edited, event_id="EvEdit").status == 200
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": ACME,
        "ts": "1765100052.000100",
        "deleted_ts": root,
        "previous_message": {"type": "message", "user": GRACE, "text": "...", "ts": root},
    }
    assert bot.event(deleted, event_id="EvDelete").status == 200

    item = bot.clients.store.get(ticket["ticketId"]) or {}
    assert item["original_edited_text"] == "CSV exports cut off after 10,000 rows (also XLSX)"
    assert item["original_deleted"] is True
    notes = _thread_posts(bot, TICKET_CHANNEL, TRIAGE_TS)
    assert notes[0].startswith(":pencil2: The customer edited their message:") and "(also XLSX)" in notes[0]
    assert notes[1] == ":pencil2: The customer deleted their message."
    assert json.dumps(item["history"]).count("original_") == 2


def test_an_admin_watches_and_unwatches_a_channel_with_its_company(bot):
    globex = "C0GLOBEX"
    refused = bot.command("watch Globex Inc", user_id="U0ADA", channel_id=globex)  # an agent, not an admin
    assert refused.status == 200 and "not allowed to watch customer channels" in refused.json()["text"]
    _say(
        bot,
        globex,
        "1765100060.000100",
        GRACE,
        "Our SAML certificate expires Friday, how do we upload the new one?",
    )
    assert _tickets(bot) == []

    ok = bot.command("watch Globex <Inc>", user_id="U0LEAD", channel_id=globex)
    assert ok.json()["text"].startswith(f"Watching <#{globex}> (company: Globex &lt;Inc&gt;)")
    _say(
        bot,
        globex,
        "1765100061.000100",
        GRACE,
        "Our SAML certificate expires Friday, how do we upload the new one?",
    )
    (ticket,) = _tickets(bot)
    assert ticket["data"]["customer"]["company"] == "Globex <Inc>"

    assert bot.command("unwatch", user_id="U0LEAD", channel_id=globex).json()["text"] == (
        f"Stopped watching <#{globex}>."
    )
    _say(bot, globex, "1765100062.000100", GRACE, "Another question: is there an API for SAML certificates?")
    assert len(_tickets(bot)) == 1
    configured = bot.command("unwatch", user_id="U0LEAD", channel_id=ACME).json()["text"]
    assert "watched through configuration (TMS_CUSTOMER_CHANNELS" in configured


def test_the_create_ticket_shortcut_opens_the_ticket_form_prefilled_from_the_message(bot):
    payload = {
        "type": "message_action",
        "callback_id": "create_ticket",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": "U0ADA", "team_id": "T0FAKE"},
        "api_app_id": "A0TMS",
        "token": "deprecated-verification-token",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": ACME, "name": "acme-support"},
        "message": {
            "type": "message",
            "user": GRACE,
            "user_team": ACME_TEAM,
            "ts": "1765100070.000100",
            "text": "Exports to <https://acme.example/bucket|our bucket> fail with 403 since the upgrade. Logs attached.",
        },
        "response_url": "https://hooks.slack.com/app/T0FAKE/1/xyz",
    }
    assert bot.interact(payload).status == 200

    (opened,) = bot.slack.calls_to("views.open")
    inputs = {
        b["block_id"]: b["element"].get("initial_value")
        for b in opened.params["view"]["blocks"]
        if b["type"] == "input"
    }
    assert inputs["subject"] == "Exports to our bucket fail with 403 since the upgrade."
    assert inputs["description"].startswith("Exports to our bucket (https://acme.example/bucket) fail")
    assert (inputs["customer_name"], inputs["customer_email"], inputs["customer_company"]) == (
        "Grace Hopper",
        "grace@acme.example",
        "Acme Corp",
    )
    assert _tickets(bot) == []  # the agent completes and submits the form
