"""The ticket post's buttons: conditional writes recording who/what/when, post update, thread reply."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fakes.bot_harness import TICKET_CHANNEL, BotHarness
from tests.fakes.slack_api import block_action_payload, text_value, view_submission_payload

TID = "TKT-20250102-ABCDEFGHJK"
POST_TS = "1700000000.000100"
NOW = datetime(2025, 1, 2, 10, 30, tzinfo=UTC)


@pytest.fixture
def bot(start_bot) -> Iterator[BotHarness]:
    with start_bot(now=lambda: NOW) as harness:
        harness.dynamodb.put_item(
            TableName="tickets",
            Item={
                "ticket_id": {"S": TID},
                "status": {"S": "TRIAGED"},
                "priority": {"S": "NORMAL"},
                "sentiment": {"S": "NEGATIVE"},
                "sentiment_score_negative": {"N": "0.8"},
                "subject": {"S": "Login broken"},
                "customer_full_name": {"S": "Ada Lovelace"},
                "response_text": {"S": "Dear Ada, we are on it."},
                "priority_reasoning": {"S": "One user affected."},
                "slack_channel": {"S": TICKET_CHANNEL},
                "slack_ts": {"S": POST_TS},
            },
        )
        yield harness


def _click(bot: BotHarness, action_id: str, user: str, **kwargs) -> int:
    payload = block_action_payload(
        action_id=action_id, user_id=user, channel_id=TICKET_CHANNEL, message_ts=POST_TS, **kwargs
    )
    return bot.interact(payload).status


def _item(bot: BotHarness) -> dict:
    return bot.clients.store.get(TID) or {}


def test_approve_records_who_and_when_updates_the_post_and_replies_in_its_thread(bot):
    assert _click(bot, "ticket_approve", "U0ALICE", value=f"{TID}|0") == 200

    item = _item(bot)
    assert item["status"] == "APPROVED" and item["approved_by"] == "U0ALICE" and item["version"] == 1
    assert item["history"] == [
        {"action": "approve", "actor": "U0ALICE", "at": "2025-01-02T10:30:00.000Z", "draft_version": "0"}
    ]
    (update,) = bot.slack.calls_to("chat.update")
    assert update.params["ts"] == POST_TS and update.params["channel"] == TICKET_CHANNEL
    action_ids = [
        e["action_id"] for b in update.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "ticket_approve" not in action_ids and "ticket_resolve" in action_ids
    (reply,) = bot.slack.calls_to("chat.postMessage")
    assert reply.params["thread_ts"] == POST_TS and "<@U0ALICE> approved" in reply.params["text"]


def test_second_resolve_loses_and_the_agent_is_told_who_won(bot):
    _click(bot, "ticket_resolve", "U0ALICE", value=TID)
    _click(bot, "ticket_resolve", "U0BOB", value=TID)

    item = _item(bot)
    assert item["resolved_by"] == "U0ALICE" and item["version"] == 1
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    (eph,) = bot.slack.calls_to("chat.postEphemeral")
    assert eph.params["user"] == "U0BOB" and "RESOLVED by <@U0ALICE>" in eph.params["text"]


def test_resolved_post_has_no_buttons_left(bot):
    _click(bot, "ticket_resolve", "U0ALICE", value=TID)

    (update,) = bot.slack.calls_to("chat.update")
    assert not [b for b in update.params["blocks"] if b["type"] == "actions"]


def test_concurrent_priority_changes_are_both_recorded(bot):
    clicks = [
        threading.Thread(
            target=_click, args=(bot, "ticket_priority", user), kwargs={"selected": f"{TID}|{p}"}
        )
        for user, p in (("U0ALICE", "HIGH"), ("U0BOB", "MEDIUM"))
    ]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()

    item = _item(bot)
    assert item["version"] == 2
    assert sorted((h["actor"], h["priority"]) for h in item["history"]) == [
        ("U0ALICE", "HIGH"),
        ("U0BOB", "MEDIUM"),
    ]
    assert item["priority"] == item["history"][-1]["priority"]
    assert len(bot.slack.calls_to("chat.postMessage")) == 2


def _edit_submission(bot: BotHarness, user: str, text: str, meta: str):
    payload = view_submission_payload(
        callback_id="ticket_edit_reply",
        values={"response_text": text_value(text)},
        private_metadata=meta,
        user_id=user,
    )
    return bot.interact(payload)


def test_edit_reply_opens_a_prefilled_modal_and_saves_the_new_text(bot):
    _click(bot, "ticket_edit", "U0ALICE", value=TID)
    (opened,) = bot.slack.calls_to("views.open")
    view = opened.params["view"]
    assert view["blocks"][1]["element"]["initial_value"] == "Dear Ada, we are on it."

    resp = _edit_submission(bot, "U0ALICE", "Dear Ada, fixed in v2.", view["private_metadata"])

    assert resp.status == 200 and resp.body == ""
    item = _item(bot)
    assert item["response_text"] == "Dear Ada, fixed in v2." and item["updated_by"] == "U0ALICE"
    assert "edited the reply" in bot.slack.calls_to("chat.postMessage")[0].params["text"]


def test_edit_based_on_a_stale_version_keeps_the_modal_open_and_loses_nothing(bot):
    _click(bot, "ticket_edit", "U0ALICE", value=TID)
    meta = bot.slack.calls_to("views.open")[0].params["view"]["private_metadata"]
    _edit_submission(bot, "U0BOB", "Bob's reply", json.dumps(json.loads(meta)))  # Bob saves first

    resp = _edit_submission(bot, "U0ALICE", "Alice's reply", meta)

    body = resp.json()
    assert body["response_action"] == "errors" and "changed" in body["errors"]["response_text"]
    assert _item(bot)["response_text"] == "Bob's reply"


def test_approve_after_resolve_is_refused(bot):
    _click(bot, "ticket_resolve", "U0ALICE", value=TID)
    _click(bot, "ticket_approve", "U0BOB", value=f"{TID}|0")

    assert _item(bot)["status"] == "RESOLVED"
    assert "cannot be approved" in bot.slack.calls_to("chat.postEphemeral")[0].params["text"]


# --- issue 12: long descriptions --------------------------------------------------------------------------

LONG_LOG = "Our nightly sync fails.\n" + "".join(
    f"2026-11-27T02:00:{i % 60:02d}Z ERROR worker-{i % 7} request {i} timed out after 30 s\n"
    for i in range(900)
)


def test_show_full_description_opens_a_modal_with_every_character_of_it(bot):
    bot.dynamodb.update_item(
        TableName="tickets",
        Key={"ticket_id": {"S": TID}},
        UpdateExpression="SET description = :d",
        ExpressionAttributeValues={":d": {"S": LONG_LOG}},
    )
    assert len(LONG_LOG.encode()) > 60_000

    assert _click(bot, "ticket_description", "U0ALICE", value=TID) == 200

    (call,) = bot.slack.calls_to("views.open")
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert "".join(texts) == LONG_LOG
    assert all(len(t) <= 3000 for t in texts) and len(view["blocks"]) <= 100


def test_the_post_of_a_long_ticket_shows_an_excerpt_and_the_button(bot):
    from bot import blocks

    item = {"ticket_id": TID, "status": "TRIAGED", "subject": "Sync", "description": LONG_LOG}
    rendered = blocks.ticket_blocks(blocks.TicketView.from_item(item))

    (section,) = [b for b in rendered if b.get("block_id", "").startswith("description:")]
    assert "Our nightly sync fails." in section["text"]["text"]
    assert "request 899 timed out" in section["text"]["text"]  # the tail, where the error usually is
    assert len(section["text"]["text"]) <= 3000
    assert section["accessory"]["action_id"] == "ticket_description"
    assert section["accessory"]["value"] == TID


def test_the_post_of_a_short_ticket_shows_the_whole_description_without_a_button(bot):
    from bot import blocks

    item = {"ticket_id": TID, "status": "TRIAGED", "subject": "Sync", "description": "It fails."}
    rendered = blocks.ticket_blocks(blocks.TicketView.from_item(item))

    (section,) = [b for b in rendered if b.get("block_id", "").startswith("description:")]
    assert section["text"]["text"].endswith("It fails.") and "accessory" not in section
