"""From a signed /ticket request through the local stack to the Slack post, then an agent's click."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from contract import names
from tests.fakes.bot_harness import (
    TICKET_CHANNEL,
    BotHarness,
    bot_on_local_stack,
    button_value,
)
from tests.fakes.slack_api import block_action_payload

pytestmark = pytest.mark.integration

AGENT = "U0AGENT"


def mail_outbox(stack: object) -> Path:
    return Path(stack.info.extra[names.ENV_MAIL_OUTBOX_DIR])  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> Iterator[tuple[BotHarness, object]]:
    with bot_on_local_stack(tmp_path_factory.mktemp("slack-e2e")) as (bot, stack, slack):
        slack.add_user(AGENT, "Ada Lovelace", "ada@example.com")
        yield bot, stack


def test_ticket_from_slack_is_triaged_posted_and_acted_on_in_its_thread(e2e):
    bot, stack = e2e

    ack = bot.command(
        "Production is down | Every request to our API has failed since 09:00, customers are furious."
    )
    assert ack.status == 200
    (event,) = bot.records()
    ticket_id = event["ticketId"]
    assert ticket_id in ack.json()["text"]

    stack.wait_idle(timeout=120)

    posts = [c for c in bot.slack.calls_to("chat.postMessage") if ticket_id in json.dumps(c.params)]
    assert len(posts) == 1, bot.slack.calls
    post = posts[0].params
    item = bot.clients.store.get(ticket_id) or {}
    assert item["status"] == "TRIAGED"
    text = json.dumps(post)
    assert f"[{item['priority']}]" in post["text"] and item["sentiment"] in text
    assert post["channel"] == TICKET_CHANNEL and item["slack_channel"] == TICKET_CHANNEL

    click = block_action_payload(
        action_id="ticket_approve",
        value=button_value(post["blocks"], "ticket_approve"),  # the draft version on screen
        user_id="U0LEAD",
        channel_id=TICKET_CHANNEL,
        message_ts=item["slack_ts"],
    )
    assert bot.interact(click).status == 200

    after = bot.clients.store.get(ticket_id) or {}
    assert after["approved_by"] == "U0LEAD"
    update = bot.slack.calls_to("chat.update")[0]
    assert update.params["ts"] == item["slack_ts"]

    # An inline /ticket: the agent is the customer, so the approved reply reaches them in the thread.
    stack.wait_idle(timeout=60)
    replies = [
        c for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == item["slack_ts"]
    ]
    assert [r.params["text"] for r in replies] == [
        "<@U0LEAD> approved the reply.",
        ":email: Reply sent to <@U0AGENT> in Slack (approved by <@U0LEAD>). Status: SENT",
    ]
    first_line = item["response_text"].splitlines()[0]
    assert f"<@U0AGENT> > {first_line}" in replies[1].params["blocks"][1]["text"]["text"]
    assert (bot.clients.store.get(ticket_id) or {})["status"] == "SENT"
    assert not list(mail_outbox(stack).glob(f"{ticket_id}-*.eml"))  # no mail for an agent-opened ticket


def _customer_ticket(stack: object) -> str:
    """A ticket from the form (a real customer address), put on the stream as intake does."""
    from contract.models import Source, TicketData, TicketSubmitted

    data = TicketData.model_validate(
        {
            "subject": "Invoices page times out",
            "description": "Since this morning the invoices page never loads; we cannot bill anyone.",
            "customer": {
                "first_name": "Grace",
                "last_name": "Hopper",
                "full_name": "Grace Hopper",
                "email": "grace@customer.example",
            },
            "product": "Amazon EC2",
            "issue_type": "Instance Connectivity",
        }
    )
    event = TicketSubmitted.new(data, Source.API, now=datetime.now(UTC))
    stack.client("kinesis").put_record(  # type: ignore[attr-defined]
        StreamName=stack.info.stream_name,
        Data=event.to_record_bytes(),
        PartitionKey=event.ticketId,  # type: ignore[attr-defined]
    )
    return event.ticketId


def _thread(bot: BotHarness, ts: str) -> list[str]:
    return [
        c.params["text"] for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts
    ]


def test_approved_reply_is_mailed_once_and_the_customers_answer_comes_back_to_the_thread(
    e2e, tmp_path, capsys
):
    from tools.cli import main

    bot, stack = e2e
    ticket_id = _customer_ticket(stack)
    stack.wait_idle(timeout=120)
    item = bot.clients.store.get(ticket_id) or {}
    assert item["status"] == "TRIAGED"

    click = block_action_payload(
        action_id="ticket_approve",
        value=f"{ticket_id}|0",
        user_id="U0LEAD",
        channel_id=TICKET_CHANNEL,
        message_ts=item["slack_ts"],
    )
    assert bot.interact(click).status == 200
    assert bot.interact(click).status == 200  # a double click (or Slack's retry)
    stack.wait_idle(timeout=60)

    (eml,) = mail_outbox(stack).glob(f"{ticket_id}-*.eml")
    sent = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert sent["To"] == "Grace Hopper <grace@customer.example>"
    assert sent["Subject"] == f"[{ticket_id}] Invoices page times out"
    assert sent["Message-ID"] == f"<{ticket_id}.1@{names.LOCAL_REPLY_FROM.split('@')[1]}>"
    assert item["response_text"] in sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    after = bot.clients.store.get(ticket_id) or {}
    # SES accepted it (SENT), then the configuration set reported the delivery.
    assert after["status"] == "WAITING_CUSTOMER" and after["ses_message_id"]
    thread = _thread(bot, item["slack_ts"])
    assert thread[0] == "<@U0LEAD> approved the reply."
    # The mailer's "sent" event and SES's delivery event are two SNS deliveries handled concurrently (on AWS
    # too), so their two posts may land in either order.
    assert sorted(thread[1:3]) == [
        ":email: Reply sent to grace@customer.example (approved by <@U0LEAD>). Status: SENT",
        ":inbox_tray: Reply delivered (grace@customer.example). Status: WAITING_CUSTOMER",
    ]

    answer = tmp_path / "answer.eml"
    answer.write_bytes(
        (
            "From: Grace Hopper <grace@customer.example>\r\n"
            f"To: {names.LOCAL_REPLY_FROM}\r\n"
            f"Subject: Re: {sent['Subject']}\r\n"
            "Message-ID: <answer-1@customer.example>\r\n"
            f"In-Reply-To: {sent['Message-ID']}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Thanks! It loads now, but the totals are wrong.\r\n\r\n"
            f"On Monday, tms wrote:\r\n> {item['response_text'][:30]}\r\n"
        ).encode()
    )
    capsys.readouterr()
    assert main(["mail", "receive", str(answer), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == "appended" and result["ticket_id"] == ticket_id
    stack.wait_idle(timeout=60)

    last = [
        c for c in bot.slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == item["slack_ts"]
    ][-1]
    assert (
        last.params["text"]
        == ":speech_balloon: The customer replied (grace@customer.example). Status: CUSTOMER_REPLIED"
    )
    assert "> Thanks! It loads now, but the totals are wrong." in json.dumps(
        last.params["blocks"], ensure_ascii=False
    )
    assert "On Monday" not in json.dumps(last.params["blocks"])
    assert (bot.clients.store.get(ticket_id) or {})["status"] == "CUSTOMER_REPLIED"
    assert len(list(mail_outbox(stack).glob(f"{ticket_id}-*.eml"))) == 1
    # the root post shows the new status too (re-rendered by the notifier on each mail event)
    root_edits = [c for c in bot.slack.calls_to("chat.update") if c.params.get("ts") == item["slack_ts"]]
    assert "CUSTOMER_REPLIED" in json.dumps(root_edits[-1].params["blocks"])

    capsys.readouterr()
    assert main(["ticket", "show", ticket_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [h["action"] for h in shown["history"]] == [
        "approve",
        "claim_send",
        "sent",
        "delivered",
        "customer_replied",
    ]
    assert (
        shown["mail_ids"][0].startswith(f"out:<{ticket_id}.1@")
        and shown["mail_ids"][1] == "in:<answer-1@customer.example>"
    )
